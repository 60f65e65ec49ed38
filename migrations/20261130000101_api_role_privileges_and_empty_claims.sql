-- API roles get only what row-level security can gate (docs/schema-deviations.md, "API role
-- privileges"), and empty JWT claims count as absent.
--
-- TRUNCATE ignores RLS (it emptied every clinic's rows), TRIGGER lets a caller plant code that
-- runs as the table owner when the service writes, REFERENCES lets a caller probe key existence:
-- none of them is row-scoped, so anon and authenticated hold none of them, on today's tables and,
-- through default privileges, on tables created later by the role running migrations (on
-- Supabase, the platform's own defaults grant ALL to the API roles on new tables).
REVOKE TRUNCATE, TRIGGER, REFERENCES ON ALL TABLES IN SCHEMA public FROM anon, authenticated, PUBLIC;
-- Both the global and the per-schema defaults: a per-schema REVOKE cannot take back a global
-- default grant (Supabase's platform grants are global for its admin roles).
ALTER DEFAULT PRIVILEGES
  REVOKE TRUNCATE, TRIGGER, REFERENCES ON TABLES FROM anon, authenticated, PUBLIC;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
  REVOKE TRUNCATE, TRIGGER, REFERENCES ON TABLES FROM anon, authenticated, PUBLIC;
-- Nothing is granted by default: a new table is closed to the API roles until its migration
-- grants SELECT/INSERT/UPDATE/DELETE together with its policies (no table uses a sequence).
-- The service-only tables stay closed to the API roles (the default above would not reach them,
-- they already exist; this says it).
REVOKE ALL ON webhook_events, clerk_sync_state FROM anon, authenticated;
DO $$
BEGIN
  IF to_regclass('public._sqlx_migrations') IS NOT NULL THEN
    REVOKE ALL ON TABLE public._sqlx_migrations FROM anon, authenticated, service_role;
  END IF;
END
$$;

-- Empty claims are absent: an `org_id` of "" must not match clinics whose clerk_org_id is '',
-- nor a `sub` of "" a user whose clerk_user_id is ''.
CREATE OR REPLACE FUNCTION get_user_clinic_ids()
RETURNS SETOF UUID
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
  SELECT clinic_id
  FROM user_clinic_access uca
  JOIN users u ON u.id = uca.user_id
  WHERE u.clerk_user_id = NULLIF(auth.jwt() ->> 'sub', '')
$$;

CREATE OR REPLACE FUNCTION get_org_clinic_ids()
RETURNS SETOF UUID
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
  SELECT id
  FROM clinics
  WHERE clerk_org_id IS NOT NULL
    AND clerk_org_id IN (NULLIF(auth.jwt() ->> 'org_id', ''), NULLIF(auth.jwt() -> 'o' ->> 'id', ''))
$$;

CREATE OR REPLACE FUNCTION get_user_admin_clinic_ids()
RETURNS SETOF UUID
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
  SELECT uca.clinic_id
  FROM user_clinic_access uca
  JOIN users u ON u.id = uca.user_id
  WHERE u.clerk_user_id = NULLIF(auth.jwt() ->> 'sub', '')
    AND uca.role IN ('owner', 'admin')
  UNION
  SELECT id
  FROM clinics
  WHERE clerk_org_id IS NOT NULL
    AND (
      (clerk_org_id = NULLIF(auth.jwt() ->> 'org_id', '')
        AND auth.jwt() ->> 'org_role' IN ('org:admin', 'admin'))
      OR (clerk_org_id = NULLIF(auth.jwt() -> 'o' ->> 'id', '')
        AND auth.jwt() -> 'o' ->> 'rol' IN ('org:admin', 'admin'))
    )
$$;

ALTER POLICY "Users can view own profile" ON users
  USING (clerk_user_id = NULLIF(auth.jwt() ->> 'sub', ''));
ALTER POLICY "Users can update own profile" ON users
  USING (clerk_user_id = NULLIF(auth.jwt() ->> 'sub', ''));
