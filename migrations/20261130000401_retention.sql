-- Retention (docs/behaviour.md#retention): the daily `prune` entry drops the raw payload of
-- processed/skipped inbox events once they are old (the row and its status stay, as the record
-- that the delivery was handled); this column says when, and keeps such events out of replay.
ALTER TABLE webhook_events ADD COLUMN payload_pruned_at TIMESTAMPTZ;
