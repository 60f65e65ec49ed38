-- Guards and indexes for the auto-scheduling run and discharge batch processing (issue 5).

-- At most one live auto-scheduled item per case: a second run (or two racing runs) cannot
-- schedule a case twice even if the case's own marker were cleared by hand. A cancelled or
-- finished item does not block a deliberate re-schedule.
CREATE UNIQUE INDEX IF NOT EXISTS uq_auto_scheduled_items_case_live
  ON auto_scheduled_items (case_id) WHERE status = 'scheduled';

-- The run's candidate scan: newest unscheduled cases of one clinic.
CREATE INDEX IF NOT EXISTS idx_cases_auto_schedule_candidates
  ON cases (clinic_id, created_at DESC, id DESC)
  WHERE auto_scheduled_at IS NULL AND scheduling_source IS NULL;

-- Latest discharge summary per case (LATERAL ... ORDER BY created_at DESC LIMIT 1).
CREATE INDEX IF NOT EXISTS idx_discharge_summaries_case_latest
  ON discharge_summaries (case_id, created_at DESC);

-- "Does this case already have a live call?" and the per-clinic occupied-minute lookup.
CREATE INDEX IF NOT EXISTS idx_outbound_calls_case_status ON outbound_calls (case_id, status);
CREATE INDEX IF NOT EXISTS idx_outbound_calls_clinic_queued
  ON outbound_calls (clinic_id, scheduled_for) WHERE status = 'queued';

-- Batch items in processing order (created_at, id).
CREATE INDEX IF NOT EXISTS idx_discharge_batch_items_order
  ON discharge_batch_items (batch_id, created_at, id);
