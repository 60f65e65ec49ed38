-- Row-level security, as docs/spec/schema-v2.md "RLS Policy Patterns" says, driven by Clerk JWT
-- claims read through auth.jwt() (Supabase's function, or the shim of the first migration).
--
-- * get_user_clinic_ids(): the spec's helper (clinics the JWT's `sub` has user_clinic_access to),
--   SECURITY DEFINER so policies that call it do not recurse into user_clinic_access's own RLS,
--   with a fixed search_path so a caller cannot shadow `users`/`user_clinic_access`.
-- * get_org_clinic_ids(): the spec's org-based pattern as a helper. The organization id is taken
--   from the `org_id` claim (Clerk v1 templates) and from Clerk's v2 session-token claim
--   `o` = {"id": ..., "rol": ...}; either one matching `clinics.clerk_org_id` grants access.
-- * Every table with `clinic_id` gets the spec's four standard policies (names verbatim) plus the
--   four org-based ones. Permissive policies are OR-ed, so a row is reachable through membership
--   or through the active organization. UPDATE policies have no WITH CHECK, so PostgreSQL reuses
--   USING for the new row: a row cannot be moved into a clinic the caller does not belong to.
-- * service_role has BYPASSRLS; the service itself connects as the tables' owner.

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
  WHERE u.clerk_user_id = auth.jwt() ->> 'sub'
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
    AND clerk_org_id IN (auth.jwt() ->> 'org_id', auth.jwt() -> 'o' ->> 'id')
$$;

-- Privileges: RLS decides which rows; grants decide which tables a role may touch at all.
-- authenticated: every table (RLS gates rows). anon: only the public marketing inserts and the
-- global AI templates. service_role: everything (and BYPASSRLS).
GRANT ALL ON ALL TABLES IN SCHEMA public TO authenticated, service_role;
GRANT INSERT ON waitlist_signups, contact_submissions TO anon;
GRANT SELECT ON ai_templates TO anon;
GRANT EXECUTE ON FUNCTION get_user_clinic_ids(), get_org_clinic_ids() TO anon, authenticated, service_role;
-- The blanket grant above also caught sqlx's migration history, when the service's migrator
-- keeps it in public (it has no RLS): take it back, or any signed-in user could rewrite it.
DO $$
BEGIN
  IF to_regclass('public._sqlx_migrations') IS NOT NULL THEN
    REVOKE ALL ON TABLE public._sqlx_migrations FROM anon, authenticated, service_role;
  END IF;
END
$$;

-- appointment_audit_log
ALTER TABLE appointment_audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users can view their clinic data" ON appointment_audit_log FOR SELECT
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can insert into their clinic" ON appointment_audit_log FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can update their clinic data" ON appointment_audit_log FOR UPDATE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can delete their clinic data" ON appointment_audit_log FOR DELETE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Org members can view" ON appointment_audit_log FOR SELECT
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can insert" ON appointment_audit_log FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can update" ON appointment_audit_log FOR UPDATE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can delete" ON appointment_audit_log FOR DELETE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));

-- auto_scheduled_items
ALTER TABLE auto_scheduled_items ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users can view their clinic data" ON auto_scheduled_items FOR SELECT
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can insert into their clinic" ON auto_scheduled_items FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can update their clinic data" ON auto_scheduled_items FOR UPDATE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can delete their clinic data" ON auto_scheduled_items FOR DELETE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Org members can view" ON auto_scheduled_items FOR SELECT
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can insert" ON auto_scheduled_items FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can update" ON auto_scheduled_items FOR UPDATE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can delete" ON auto_scheduled_items FOR DELETE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));

-- auto_scheduling_config
ALTER TABLE auto_scheduling_config ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users can view their clinic data" ON auto_scheduling_config FOR SELECT
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can insert into their clinic" ON auto_scheduling_config FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can update their clinic data" ON auto_scheduling_config FOR UPDATE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can delete their clinic data" ON auto_scheduling_config FOR DELETE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Org members can view" ON auto_scheduling_config FOR SELECT
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can insert" ON auto_scheduling_config FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can update" ON auto_scheduling_config FOR UPDATE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can delete" ON auto_scheduling_config FOR DELETE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));

-- call_analysis
ALTER TABLE call_analysis ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users can view their clinic data" ON call_analysis FOR SELECT
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can insert into their clinic" ON call_analysis FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can update their clinic data" ON call_analysis FOR UPDATE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can delete their clinic data" ON call_analysis FOR DELETE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Org members can view" ON call_analysis FOR SELECT
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can insert" ON call_analysis FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can update" ON call_analysis FOR UPDATE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can delete" ON call_analysis FOR DELETE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));

-- cases
ALTER TABLE cases ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users can view their clinic data" ON cases FOR SELECT
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can insert into their clinic" ON cases FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can update their clinic data" ON cases FOR UPDATE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can delete their clinic data" ON cases FOR DELETE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Org members can view" ON cases FOR SELECT
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can insert" ON cases FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can update" ON cases FOR UPDATE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can delete" ON cases FOR DELETE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));

-- clients
ALTER TABLE clients ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users can view their clinic data" ON clients FOR SELECT
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can insert into their clinic" ON clients FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can update their clinic data" ON clients FOR UPDATE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can delete their clinic data" ON clients FOR DELETE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Org members can view" ON clients FOR SELECT
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can insert" ON clients FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can update" ON clients FOR UPDATE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can delete" ON clients FOR DELETE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));

-- clinic_blocked_periods
ALTER TABLE clinic_blocked_periods ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users can view their clinic data" ON clinic_blocked_periods FOR SELECT
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can insert into their clinic" ON clinic_blocked_periods FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can update their clinic data" ON clinic_blocked_periods FOR UPDATE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can delete their clinic data" ON clinic_blocked_periods FOR DELETE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Org members can view" ON clinic_blocked_periods FOR SELECT
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can insert" ON clinic_blocked_periods FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can update" ON clinic_blocked_periods FOR UPDATE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can delete" ON clinic_blocked_periods FOR DELETE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));

-- clinic_case_type_cadence
ALTER TABLE clinic_case_type_cadence ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users can view their clinic data" ON clinic_case_type_cadence FOR SELECT
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can insert into their clinic" ON clinic_case_type_cadence FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can update their clinic data" ON clinic_case_type_cadence FOR UPDATE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can delete their clinic data" ON clinic_case_type_cadence FOR DELETE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Org members can view" ON clinic_case_type_cadence FOR SELECT
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can insert" ON clinic_case_type_cadence FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can update" ON clinic_case_type_cadence FOR UPDATE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can delete" ON clinic_case_type_cadence FOR DELETE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));

-- clinic_invitations
ALTER TABLE clinic_invitations ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users can view their clinic data" ON clinic_invitations FOR SELECT
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can insert into their clinic" ON clinic_invitations FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can update their clinic data" ON clinic_invitations FOR UPDATE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can delete their clinic data" ON clinic_invitations FOR DELETE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Org members can view" ON clinic_invitations FOR SELECT
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can insert" ON clinic_invitations FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can update" ON clinic_invitations FOR UPDATE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can delete" ON clinic_invitations FOR DELETE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));

-- clinic_messages
ALTER TABLE clinic_messages ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users can view their clinic data" ON clinic_messages FOR SELECT
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can insert into their clinic" ON clinic_messages FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can update their clinic data" ON clinic_messages FOR UPDATE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can delete their clinic data" ON clinic_messages FOR DELETE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Org members can view" ON clinic_messages FOR SELECT
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can insert" ON clinic_messages FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can update" ON clinic_messages FOR UPDATE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can delete" ON clinic_messages FOR DELETE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));

-- clinic_schedule_config
ALTER TABLE clinic_schedule_config ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users can view their clinic data" ON clinic_schedule_config FOR SELECT
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can insert into their clinic" ON clinic_schedule_config FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can update their clinic data" ON clinic_schedule_config FOR UPDATE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can delete their clinic data" ON clinic_schedule_config FOR DELETE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Org members can view" ON clinic_schedule_config FOR SELECT
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can insert" ON clinic_schedule_config FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can update" ON clinic_schedule_config FOR UPDATE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can delete" ON clinic_schedule_config FOR DELETE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));

-- clinic_settings
ALTER TABLE clinic_settings ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users can view their clinic data" ON clinic_settings FOR SELECT
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can insert into their clinic" ON clinic_settings FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can update their clinic data" ON clinic_settings FOR UPDATE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can delete their clinic data" ON clinic_settings FOR DELETE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Org members can view" ON clinic_settings FOR SELECT
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can insert" ON clinic_settings FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can update" ON clinic_settings FOR UPDATE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can delete" ON clinic_settings FOR DELETE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));

-- discharge_batches
ALTER TABLE discharge_batches ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users can view their clinic data" ON discharge_batches FOR SELECT
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can insert into their clinic" ON discharge_batches FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can update their clinic data" ON discharge_batches FOR UPDATE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can delete their clinic data" ON discharge_batches FOR DELETE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Org members can view" ON discharge_batches FOR SELECT
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can insert" ON discharge_batches FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can update" ON discharge_batches FOR UPDATE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can delete" ON discharge_batches FOR DELETE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));

-- discharge_summaries
ALTER TABLE discharge_summaries ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users can view their clinic data" ON discharge_summaries FOR SELECT
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can insert into their clinic" ON discharge_summaries FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can update their clinic data" ON discharge_summaries FOR UPDATE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can delete their clinic data" ON discharge_summaries FOR DELETE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Org members can view" ON discharge_summaries FOR SELECT
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can insert" ON discharge_summaries FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can update" ON discharge_summaries FOR UPDATE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can delete" ON discharge_summaries FOR DELETE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));

-- discharge_templates
ALTER TABLE discharge_templates ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users can view their clinic data" ON discharge_templates FOR SELECT
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can insert into their clinic" ON discharge_templates FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can update their clinic data" ON discharge_templates FOR UPDATE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can delete their clinic data" ON discharge_templates FOR DELETE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Org members can view" ON discharge_templates FOR SELECT
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can insert" ON discharge_templates FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can update" ON discharge_templates FOR UPDATE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can delete" ON discharge_templates FOR DELETE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));

-- inbound_calls
ALTER TABLE inbound_calls ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users can view their clinic data" ON inbound_calls FOR SELECT
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can insert into their clinic" ON inbound_calls FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can update their clinic data" ON inbound_calls FOR UPDATE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can delete their clinic data" ON inbound_calls FOR DELETE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Org members can view" ON inbound_calls FOR SELECT
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can insert" ON inbound_calls FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can update" ON inbound_calls FOR UPDATE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can delete" ON inbound_calls FOR DELETE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));

-- outbound_calls
ALTER TABLE outbound_calls ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users can view their clinic data" ON outbound_calls FOR SELECT
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can insert into their clinic" ON outbound_calls FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can update their clinic data" ON outbound_calls FOR UPDATE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can delete their clinic data" ON outbound_calls FOR DELETE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Org members can view" ON outbound_calls FOR SELECT
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can insert" ON outbound_calls FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can update" ON outbound_calls FOR UPDATE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can delete" ON outbound_calls FOR DELETE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));

-- outbound_emails
ALTER TABLE outbound_emails ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users can view their clinic data" ON outbound_emails FOR SELECT
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can insert into their clinic" ON outbound_emails FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can update their clinic data" ON outbound_emails FOR UPDATE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can delete their clinic data" ON outbound_emails FOR DELETE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Org members can view" ON outbound_emails FOR SELECT
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can insert" ON outbound_emails FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can update" ON outbound_emails FOR UPDATE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can delete" ON outbound_emails FOR DELETE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));

-- patients
ALTER TABLE patients ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users can view their clinic data" ON patients FOR SELECT
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can insert into their clinic" ON patients FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can update their clinic data" ON patients FOR UPDATE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can delete their clinic data" ON patients FOR DELETE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Org members can view" ON patients FOR SELECT
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can insert" ON patients FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can update" ON patients FOR UPDATE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can delete" ON patients FOR DELETE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));

-- pims_credentials
ALTER TABLE pims_credentials ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users can view their clinic data" ON pims_credentials FOR SELECT
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can insert into their clinic" ON pims_credentials FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can update their clinic data" ON pims_credentials FOR UPDATE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can delete their clinic data" ON pims_credentials FOR DELETE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Org members can view" ON pims_credentials FOR SELECT
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can insert" ON pims_credentials FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can update" ON pims_credentials FOR UPDATE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can delete" ON pims_credentials FOR DELETE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));

-- pims_mappings
ALTER TABLE pims_mappings ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users can view their clinic data" ON pims_mappings FOR SELECT
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can insert into their clinic" ON pims_mappings FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can update their clinic data" ON pims_mappings FOR UPDATE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can delete their clinic data" ON pims_mappings FOR DELETE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Org members can view" ON pims_mappings FOR SELECT
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can insert" ON pims_mappings FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can update" ON pims_mappings FOR UPDATE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can delete" ON pims_mappings FOR DELETE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));

-- pims_sync_audit_log
ALTER TABLE pims_sync_audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users can view their clinic data" ON pims_sync_audit_log FOR SELECT
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can insert into their clinic" ON pims_sync_audit_log FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can update their clinic data" ON pims_sync_audit_log FOR UPDATE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can delete their clinic data" ON pims_sync_audit_log FOR DELETE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Org members can view" ON pims_sync_audit_log FOR SELECT
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can insert" ON pims_sync_audit_log FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can update" ON pims_sync_audit_log FOR UPDATE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can delete" ON pims_sync_audit_log FOR DELETE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));

-- pims_sync_sessions
ALTER TABLE pims_sync_sessions ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users can view their clinic data" ON pims_sync_sessions FOR SELECT
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can insert into their clinic" ON pims_sync_sessions FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can update their clinic data" ON pims_sync_sessions FOR UPDATE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can delete their clinic data" ON pims_sync_sessions FOR DELETE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Org members can view" ON pims_sync_sessions FOR SELECT
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can insert" ON pims_sync_sessions FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can update" ON pims_sync_sessions FOR UPDATE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can delete" ON pims_sync_sessions FOR DELETE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));

-- providers
ALTER TABLE providers ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users can view their clinic data" ON providers FOR SELECT
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can insert into their clinic" ON providers FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can update their clinic data" ON providers FOR UPDATE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can delete their clinic data" ON providers FOR DELETE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Org members can view" ON providers FOR SELECT
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can insert" ON providers FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can update" ON providers FOR UPDATE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can delete" ON providers FOR DELETE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));

-- refill_requests
ALTER TABLE refill_requests ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users can view their clinic data" ON refill_requests FOR SELECT
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can insert into their clinic" ON refill_requests FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can update their clinic data" ON refill_requests FOR UPDATE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can delete their clinic data" ON refill_requests FOR DELETE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Org members can view" ON refill_requests FOR SELECT
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can insert" ON refill_requests FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can update" ON refill_requests FOR UPDATE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can delete" ON refill_requests FOR DELETE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));

-- schedule_appointments
ALTER TABLE schedule_appointments ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users can view their clinic data" ON schedule_appointments FOR SELECT
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can insert into their clinic" ON schedule_appointments FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can update their clinic data" ON schedule_appointments FOR UPDATE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can delete their clinic data" ON schedule_appointments FOR DELETE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Org members can view" ON schedule_appointments FOR SELECT
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can insert" ON schedule_appointments FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can update" ON schedule_appointments FOR UPDATE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can delete" ON schedule_appointments FOR DELETE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));

-- schedule_syncs
ALTER TABLE schedule_syncs ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users can view their clinic data" ON schedule_syncs FOR SELECT
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can insert into their clinic" ON schedule_syncs FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can update their clinic data" ON schedule_syncs FOR UPDATE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can delete their clinic data" ON schedule_syncs FOR DELETE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Org members can view" ON schedule_syncs FOR SELECT
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can insert" ON schedule_syncs FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can update" ON schedule_syncs FOR UPDATE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can delete" ON schedule_syncs FOR DELETE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));

-- slack_workspaces
ALTER TABLE slack_workspaces ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users can view their clinic data" ON slack_workspaces FOR SELECT
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can insert into their clinic" ON slack_workspaces FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can update their clinic data" ON slack_workspaces FOR UPDATE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can delete their clinic data" ON slack_workspaces FOR DELETE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Org members can view" ON slack_workspaces FOR SELECT
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can insert" ON slack_workspaces FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can update" ON slack_workspaces FOR UPDATE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can delete" ON slack_workspaces FOR DELETE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));

-- soap_notes
ALTER TABLE soap_notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users can view their clinic data" ON soap_notes FOR SELECT
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can insert into their clinic" ON soap_notes FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can update their clinic data" ON soap_notes FOR UPDATE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can delete their clinic data" ON soap_notes FOR DELETE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Org members can view" ON soap_notes FOR SELECT
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can insert" ON soap_notes FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can update" ON soap_notes FOR UPDATE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can delete" ON soap_notes FOR DELETE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));

-- soap_templates
ALTER TABLE soap_templates ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users can view their clinic data" ON soap_templates FOR SELECT
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can insert into their clinic" ON soap_templates FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can update their clinic data" ON soap_templates FOR UPDATE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can delete their clinic data" ON soap_templates FOR DELETE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Org members can view" ON soap_templates FOR SELECT
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can insert" ON soap_templates FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can update" ON soap_templates FOR UPDATE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can delete" ON soap_templates FOR DELETE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));

-- user_clinic_access
ALTER TABLE user_clinic_access ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users can view their clinic data" ON user_clinic_access FOR SELECT
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can insert into their clinic" ON user_clinic_access FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can update their clinic data" ON user_clinic_access FOR UPDATE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can delete their clinic data" ON user_clinic_access FOR DELETE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Org members can view" ON user_clinic_access FOR SELECT
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can insert" ON user_clinic_access FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can update" ON user_clinic_access FOR UPDATE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can delete" ON user_clinic_access FOR DELETE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));

-- vapi_assistant_mappings
ALTER TABLE vapi_assistant_mappings ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users can view their clinic data" ON vapi_assistant_mappings FOR SELECT
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can insert into their clinic" ON vapi_assistant_mappings FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can update their clinic data" ON vapi_assistant_mappings FOR UPDATE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can delete their clinic data" ON vapi_assistant_mappings FOR DELETE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Org members can view" ON vapi_assistant_mappings FOR SELECT
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can insert" ON vapi_assistant_mappings FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can update" ON vapi_assistant_mappings FOR UPDATE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can delete" ON vapi_assistant_mappings FOR DELETE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));

-- vapi_bookings
ALTER TABLE vapi_bookings ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users can view their clinic data" ON vapi_bookings FOR SELECT
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can insert into their clinic" ON vapi_bookings FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can update their clinic data" ON vapi_bookings FOR UPDATE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can delete their clinic data" ON vapi_bookings FOR DELETE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Org members can view" ON vapi_bookings FOR SELECT
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can insert" ON vapi_bookings FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can update" ON vapi_bookings FOR UPDATE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can delete" ON vapi_bookings FOR DELETE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));

-- vital_signs
ALTER TABLE vital_signs ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users can view their clinic data" ON vital_signs FOR SELECT
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can insert into their clinic" ON vital_signs FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can update their clinic data" ON vital_signs FOR UPDATE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Users can delete their clinic data" ON vital_signs FOR DELETE
  USING (clinic_id IN (SELECT get_user_clinic_ids()));
CREATE POLICY "Org members can view" ON vital_signs FOR SELECT
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can insert" ON vital_signs FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can update" ON vital_signs FOR UPDATE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Org members can delete" ON vital_signs FOR DELETE
  USING (clinic_id IN (SELECT get_org_clinic_ids()));

-- Templates with clinic_id NULL are global/system templates (spec, Tier 11): readable by everyone
-- signed in, writable by no one but the service.
CREATE POLICY "Global templates are readable" ON soap_templates FOR SELECT TO authenticated
  USING (clinic_id IS NULL);
CREATE POLICY "Global templates are readable" ON discharge_templates FOR SELECT TO authenticated
  USING (clinic_id IS NULL);

-- clinics: the tenant root has `id`, not `clinic_id`; members see and edit their own clinics.
-- Clinics are created and deleted by the Clerk sync (service role) only.
ALTER TABLE clinics ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users can view their clinics" ON clinics FOR SELECT
  USING (id IN (SELECT get_user_clinic_ids()) OR id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "Users can update their clinics" ON clinics FOR UPDATE
  USING (id IN (SELECT get_user_clinic_ids()) OR id IN (SELECT get_org_clinic_ids()));

-- users: the spec's user-scoped policies.
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users can view own profile" ON users FOR SELECT
  USING (clerk_user_id = auth.jwt() ->> 'sub');
CREATE POLICY "Users can update own profile" ON users FOR UPDATE
  USING (clerk_user_id = auth.jwt() ->> 'sub');

-- Child tables without clinic_id inherit their parent's visibility: the sub-select runs under the
-- caller's RLS on the parent, so a row is reachable exactly when its parent is.
ALTER TABLE discharge_batch_items ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users can access items of their batches" ON discharge_batch_items FOR ALL
  USING (batch_id IN (SELECT id FROM discharge_batches))
  WITH CHECK (batch_id IN (SELECT id FROM discharge_batches));
ALTER TABLE slack_channels ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users can access channels of their workspaces" ON slack_channels FOR ALL
  USING (workspace_id IN (SELECT id FROM slack_workspaces))
  WITH CHECK (workspace_id IN (SELECT id FROM slack_workspaces));
ALTER TABLE slack_tasks ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users can access tasks of their channels" ON slack_tasks FOR ALL
  USING (channel_id IN (SELECT id FROM slack_channels))
  WITH CHECK (channel_id IN (SELECT id FROM slack_channels));
ALTER TABLE slack_task_completions ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users can access completions of their tasks" ON slack_task_completions FOR ALL
  USING (task_id IN (SELECT id FROM slack_tasks))
  WITH CHECK (task_id IN (SELECT id FROM slack_tasks));

-- auto_scheduling_runs span clinics: service role only (RLS on, no policy).
ALTER TABLE auto_scheduling_runs ENABLE ROW LEVEL SECURITY;

-- Public tables (spec: "Public Tables"): insert-only from the marketing site, read by no one but
-- the service; ai_templates are global and readable by all.
ALTER TABLE waitlist_signups ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Anyone can join the waitlist" ON waitlist_signups FOR INSERT TO anon, authenticated
  WITH CHECK (true);
ALTER TABLE contact_submissions ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Anyone can submit the contact form" ON contact_submissions FOR INSERT TO anon, authenticated
  WITH CHECK (true);
ALTER TABLE ai_templates ENABLE ROW LEVEL SECURITY;
CREATE POLICY "AI templates are readable by all" ON ai_templates FOR SELECT
  USING (true);
