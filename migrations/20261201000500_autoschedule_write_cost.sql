-- What an auto-scheduling run makes PostgreSQL do per case (docs/benchmarks.md, auto-scheduling;
-- docs/schema-deviations.md). Each page claims its cases (a non-HOT UPDATE: the claimed columns
-- are in the candidate index's predicate, so every index of `cases` gets a new entry) and inserts
-- one email, one call and one item per case; every index and foreign key below is work done for
-- each of those rows.

-- 1. The candidate page: an index-only scan in keyset order. With `status` included, the page's
--    ids come straight from the index (no heap visit, no sort of the clinic's remaining
--    candidates on every page).
DROP INDEX IF EXISTS idx_cases_auto_schedule_candidates;
CREATE INDEX idx_cases_auto_schedule_candidates
  ON cases (clinic_id, created_at DESC, id DESC) INCLUDE (status)
  WHERE auto_scheduled_at IS NULL AND scheduling_source IS NULL;

-- 2. Indexes that duplicate another index (same leading columns), maintained by every claim or
--    insert and never the better choice for a read:
--    idx_cases_clinic (clinic_id): led by clinic_id in idx_cases_status, idx_cases_created_at and
--      the (clinic_id, external_id) unique key;
--    idx_cases_external (clinic_id, external_id) WHERE external_id IS NOT NULL: the same columns
--      as the unique constraint cases_clinic_id_external_id_key;
--    idx_outbound_calls_case (case_id): the prefix of idx_outbound_calls_case_status;
--    idx_outbound_calls_vapi (vapi_call_id): the same column as the unique constraint
--      outbound_calls_vapi_call_id_key.
DROP INDEX IF EXISTS idx_cases_clinic;
DROP INDEX IF EXISTS idx_cases_external;
DROP INDEX IF EXISTS idx_outbound_calls_case;
DROP INDEX IF EXISTS idx_outbound_calls_vapi;

-- 3. The foreign-key index on auto_scheduled_items.cancelled_by only serves deleting a user
--    (`WHERE cancelled_by = $1`, which implies NOT NULL); items are written with it NULL.
DROP INDEX IF EXISTS idx_auto_scheduled_items_cancelled_by_fk;
CREATE INDEX idx_auto_scheduled_items_cancelled_by_fk
  ON auto_scheduled_items (cancelled_by) WHERE cancelled_by IS NOT NULL;

-- 4. clinic_id -> clinics on rows whose case_id is NOT NULL is implied by the composite key
--    (case_id, clinic_id) -> cases (id, clinic_id) and cases.clinic_id -> clinics: the row's
--    clinic is its case's clinic, which exists. Deleting a clinic is still refused while such a
--    row exists (the cascade to its cases meets the composite key). One row-by-row check fewer
--    per written row.
ALTER TABLE outbound_emails DROP CONSTRAINT IF EXISTS outbound_emails_clinic_id_fkey;
ALTER TABLE outbound_calls DROP CONSTRAINT IF EXISTS outbound_calls_clinic_id_fkey;
ALTER TABLE auto_scheduled_items DROP CONSTRAINT IF EXISTS auto_scheduled_items_clinic_id_fkey;
