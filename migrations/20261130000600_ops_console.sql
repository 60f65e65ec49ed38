-- The operator console (/ops).
--
-- The inbox is listed newest first by keyset (received_at, id): this index serves every page
-- of the unfiltered list and, scanned backwards, any "before this cursor" page in O(page).
CREATE INDEX idx_webhook_events_received_id ON webhook_events (received_at, id);
-- Filtered by sender (e.g. every unmatched VAPI event): served without sorting.
CREATE INDEX idx_webhook_events_source_received_id ON webhook_events (source, received_at, id);

-- What each catalogue tick did, for the console's periodic-jobs page: the tick's JSON result or
-- its error, and when it finished (NULL while running or when the process died mid-tick).
ALTER TABLE job_ticks
  ADD COLUMN finished_at TIMESTAMPTZ,
  ADD COLUMN result JSONB,
  ADD COLUMN error TEXT;
CREATE INDEX idx_job_ticks_name_tick_at ON job_ticks (name, tick_at DESC);
