-- The auto-scheduling claim as a HOT update, and cheaper email bodies (docs/benchmarks.md,
-- auto-scheduling; docs/schema-deviations.md).
--
-- 1. The claim (`UPDATE cases SET auto_scheduled_at, scheduling_source`) could not be a HOT
--    update while an index mentioned those columns (the candidate index's predicate did): every
--    claimed case then got a new entry in each of the ten indexes of `cases`, about a quarter of
--    a run's PostgreSQL time. No index mentions them now. The candidate page walks the clinic's
--    cases newest first through `idx_cases_created_at`, widened to (clinic_id, created_at DESC,
--    id DESC) for the keyset order, and skips claimed ones on the heap row it reads anyway; the
--    window is bounded by `maxCaseAgeDays` and the run is daily, so the claimed cases it passes
--    over cost little. The spec's (clinic_id, created_at DESC) is a prefix of the new key, so
--    every read it served is still served.
DROP INDEX IF EXISTS idx_cases_auto_schedule_candidates;
DROP INDEX IF EXISTS idx_cases_created_at;
CREATE INDEX idx_cases_created_at ON cases (clinic_id, created_at DESC, id DESC);

-- 2. Room on each heap page for the claimed version of its rows (a HOT update needs it on the
--    same page); applies to pages filled from now on, existing pages keep their rows.
ALTER TABLE cases SET (fillfactor = 90);

-- 3. The retry look-up (`metadata->>'retry_of' = $1`, docs/behaviour.md#vapi-end-of-call) only
--    ever asks for rows that have the key; every other call (all of a run's) was still given an
--    entry for NULL. Partial: an equality on the expression implies it is NOT NULL, so the
--    look-up still uses the index.
DROP INDEX IF EXISTS idx_outbound_calls_retry_of;
CREATE INDEX idx_outbound_calls_retry_of ON outbound_calls ((metadata ->> 'retry_of'))
  WHERE (metadata ->> 'retry_of') IS NOT NULL;

-- 4. A rendered email (HTML and text, ~4 KB) is compressed on insert once the row passes the
--    TOAST threshold; lz4 costs less CPU than the default pglz for about the same size. Only
--    where the server was built with lz4 (it lists lz4 among default_toast_compression's
--    values); existing values keep their compression.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_settings
             WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
    ALTER TABLE outbound_emails
      ALTER COLUMN html_content SET COMPRESSION lz4,
      ALTER COLUMN text_content SET COMPRESSION lz4;
  END IF;
END
$$;
