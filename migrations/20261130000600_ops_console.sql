-- The operator console (/ops).
--
-- The inbox is listed newest first by keyset (received_at, id): this index serves every page
-- of the unfiltered list and, scanned backwards, any "before this cursor" page in O(page).
CREATE INDEX idx_webhook_events_received_id ON webhook_events (received_at, id);
-- Filtered by sender (e.g. every unmatched VAPI event): served without sorting.
CREATE INDEX idx_webhook_events_source_received_id ON webhook_events (source, received_at, id);

-- The VAPI call a delivery is about (`message.call.id`), written at ingest, so an operator finds
-- a call's deliveries by index instead of scanning payloads.
ALTER TABLE webhook_events ADD COLUMN vapi_call_id TEXT;
CREATE INDEX idx_webhook_events_vapi_call_id ON webhook_events (vapi_call_id)
  WHERE vapi_call_id IS NOT NULL;
-- Existing VAPI events: a body that is not UTF-8 JSON (kept byte for byte) has no call id.
CREATE FUNCTION pg_temp.vapi_call_id_of(body BYTEA) RETURNS TEXT LANGUAGE plpgsql AS $$
BEGIN
  RETURN convert_from(body, 'UTF8')::jsonb #>> '{message,call,id}';
EXCEPTION WHEN others THEN
  RETURN NULL;
END $$;
UPDATE webhook_events SET vapi_call_id = pg_temp.vapi_call_id_of(payload) WHERE source = 'vapi';

-- What each catalogue tick did, for the console's periodic-jobs page: the tick's JSON result or
-- its error, and when it finished (NULL while running or when the process died mid-tick).
ALTER TABLE job_ticks
  ADD COLUMN finished_at TIMESTAMPTZ,
  ADD COLUMN result JSONB,
  ADD COLUMN error TEXT;
CREATE INDEX idx_job_ticks_name_tick_at ON job_ticks (name, tick_at DESC);
