-- The VAPI end-of-call processing creates an outbound retry only if no row already has
-- `metadata.retry_of` = the ended attempt; this index keeps that check from scanning the table.
CREATE INDEX IF NOT EXISTS idx_outbound_calls_retry_of ON outbound_calls ((metadata ->> 'retry_of'));
