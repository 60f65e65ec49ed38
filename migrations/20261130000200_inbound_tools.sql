-- Inbound voice tools: slot capacity, a per-room exclusion on schedule_appointments, the
-- answers of write tools (so a redelivered tool call gets the same answer instead of a
-- second booking), and the indexes the tools' lookups use. See docs/schema-deviations.md.

-- How many appointments one slot holds (the spec has no capacity column; the old system's
-- default was 2).
ALTER TABLE clinic_schedule_config
  ADD COLUMN slot_capacity INTEGER NOT NULL DEFAULT 2 CHECK (slot_capacity >= 1);

-- The spec's exclusion forbids two appointments of one clinic in *different* rooms from
-- overlapping, which contradicts any capacity above 1. The exclusion is per room instead.
DO $$
DECLARE c TEXT;
BEGIN
  FOR c IN
    SELECT conname FROM pg_constraint
    WHERE conrelid = 'schedule_appointments'::regclass AND contype = 'x'
  LOOP
    EXECUTE format('ALTER TABLE schedule_appointments DROP CONSTRAINT %I', c);
  END LOOP;
END $$;
ALTER TABLE schedule_appointments
  ADD CONSTRAINT schedule_appointments_room_no_overlap
  EXCLUDE USING GIST (clinic_id WITH =, room_id WITH =, time_range WITH &&)
  WHERE (deleted_at IS NULL AND room_id IS NOT NULL);

-- The answer of every tool call that wrote something, keyed by VAPI call and tool call id.
-- Stored in the same transaction as the write: a redelivery of the same tool call (or two
-- racing copies) reads the stored answer and never writes twice.
CREATE TABLE vapi_tool_results (
  vapi_call_id TEXT NOT NULL,
  tool_call_id TEXT NOT NULL,
  tool TEXT NOT NULL,
  result JSONB NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (vapi_call_id, tool_call_id)
);
-- Service-only bookkeeping (no clinic column: the answers are only ever read back by the
-- service, by key): no policies, so dashboard roles see nothing.
ALTER TABLE vapi_tool_results ENABLE ROW LEVEL SECURITY;

-- Holds the sweeper confirms or expires.
CREATE INDEX idx_vapi_bookings_pending_holds ON vapi_bookings (hold_expires_at)
  WHERE status = 'pending';
-- Fuzzy owner / pet lookups of verify, cancel and reschedule.
CREATE INDEX idx_appointments_client_name_trgm ON schedule_appointments
  USING GIN (lower(client_name) gin_trgm_ops);
CREATE INDEX idx_bookings_client_name_trgm ON vapi_bookings
  USING GIN (lower(client_name) gin_trgm_ops);
-- Refill reference numbers (`RX-YYYYMMDD-XXXX`) are spoken to the caller: never two alike.
CREATE UNIQUE INDEX uq_refill_requests_reference_id ON refill_requests ((metadata->>'reference_id'))
  WHERE metadata ? 'reference_id';
