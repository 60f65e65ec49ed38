-- The webhook inbox (a table of ours, beside the spec's 44): every verified delivery is stored
-- here first, exactly as received, then processed. A delivery we cannot process yet (unknown
-- assistant, missing clinic) stays `unmatched` and can be replayed; a processing failure stays
-- `failed` and is retried with backoff by the job worker (`next_attempt_at`).
CREATE TABLE webhook_events (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  source TEXT NOT NULL CHECK (source IN ('vapi', 'clerk', 'qstash')),
  -- svix-id (Clerk), Upstash-Message-Id (QStash), SHA-256 of the raw body (VAPI has no delivery id).
  delivery_id TEXT NOT NULL,
  event_type TEXT,
  received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  -- Request headers minus credentials (Authorization, X-Vapi-Secret, signatures).
  headers JSONB NOT NULL DEFAULT '{}',
  -- The raw body, byte for byte (BYTEA: exact even for a body that is not valid UTF-8).
  payload BYTEA NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'processed', 'skipped', 'unmatched', 'invalid', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  processed_at TIMESTAMPTZ,
  next_attempt_at TIMESTAMPTZ,
  clinic_id UUID REFERENCES clinics(id) ON DELETE SET NULL,
  UNIQUE (source, delivery_id)
);

CREATE INDEX idx_webhook_events_retry ON webhook_events (next_attempt_at)
  WHERE status IN ('failed', 'pending');
CREATE INDEX idx_webhook_events_status ON webhook_events (status, received_at);
CREATE INDEX idx_webhook_events_clinic_id_fk ON webhook_events (clinic_id);

-- Service only: payloads carry transcripts and phone numbers of every clinic.
ALTER TABLE webhook_events ENABLE ROW LEVEL SECURITY;
GRANT ALL ON webhook_events TO service_role;

-- Deviation (docs/schema-deviations.md #11): one call_analysis row per call. The spec's
-- "1:1" relationship is enforced so a redelivered end-of-call report upserts instead of adding
-- a second analysis.
CREATE UNIQUE INDEX call_analysis_inbound_call_id_key ON call_analysis (inbound_call_id)
  WHERE inbound_call_id IS NOT NULL;
CREATE UNIQUE INDEX call_analysis_outbound_call_id_key ON call_analysis (outbound_call_id)
  WHERE outbound_call_id IS NOT NULL;
