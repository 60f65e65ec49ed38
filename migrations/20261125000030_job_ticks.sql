-- Catalogue ticks already fired. Every process computes the same tick instants from the
-- catalogue; the one whose INSERT succeeds runs the tick, the others see the primary key and
-- skip it, so a tick fires once however many workers run. Old rows are pruned by the sweeper.
CREATE TABLE job_ticks (
  name TEXT NOT NULL,
  tick_at TIMESTAMPTZ NOT NULL,
  claimed_by TEXT NOT NULL,
  claimed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (name, tick_at)
);

-- Service-only bookkeeping: no policies, so dashboard roles see nothing.
ALTER TABLE job_ticks ENABLE ROW LEVEL SECURITY;
