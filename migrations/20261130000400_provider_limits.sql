-- Provider limits shared by every process (docs/behaviour.md#provider-limits).
--
-- VAPI's concurrent-call limit is per account: each live call (from its create-call request to
-- its end) holds one slot row. Slots 1..VAPI_MAX_CONCURRENT_CALLS are created on demand; a slot
-- is free when it names no call or its lease has passed (a process that died mid-request, or a
-- call whose end was never reported). Claimed with FOR UPDATE SKIP LOCKED.
CREATE TABLE provider_call_slots (
  slot INTEGER PRIMARY KEY CHECK (slot > 0),
  -- No foreign key: a slot outlives nothing and must never block deleting a call row.
  outbound_call_id UUID,
  holder TEXT,
  acquired_at TIMESTAMPTZ,
  lease_until TIMESTAMPTZ,
  CHECK ((outbound_call_id IS NULL) = (lease_until IS NULL))
);
CREATE INDEX provider_call_slots_call_idx ON provider_call_slots (outbound_call_id)
  WHERE outbound_call_id IS NOT NULL;

-- Resend's rate is per team: one row per provider holds the earliest instant the next request
-- may be sent; each send books it and moves it on by 1/RESEND_MAX_RPS.
CREATE TABLE provider_rate_buckets (
  provider TEXT PRIMARY KEY,
  next_free_at TIMESTAMPTZ NOT NULL
);

-- Service-only bookkeeping: no policies, so dashboard roles see nothing.
ALTER TABLE provider_call_slots ENABLE ROW LEVEL SECURITY;
ALTER TABLE provider_rate_buckets ENABLE ROW LEVEL SECURITY;
