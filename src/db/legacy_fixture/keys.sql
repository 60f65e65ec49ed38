-- After the rows are in (one index build instead of a million index updates): the keys the old
-- database had. legacy-schema.md: "PK: assumed to be `id` wherever that column exists"; the
-- unique keys the old code upserted on (inbound calls by VAPI call id, PIMS appointments by
-- clinic and Neo id); and the foreign-key indexes the old code looked rows up by. No foreign
-- keys: the fixture's dangling references must be loadable (the importer meets them in real
-- dumps too).
DO $$
DECLARE
    t text;
BEGIN
    FOR t IN
        SELECT c.table_name
          FROM information_schema.columns c
          JOIN information_schema.tables tb USING (table_schema, table_name)
         WHERE c.table_schema = 'public' AND c.column_name = 'id' AND tb.table_type = 'BASE TABLE'
         ORDER BY 1
    LOOP
        EXECUTE format('ALTER TABLE public.%I ADD PRIMARY KEY (id)', t);
    END LOOP;
END
$$;
CREATE UNIQUE INDEX inbound_vapi_calls_vapi_call_id_key ON inbound_vapi_calls (vapi_call_id);
CREATE UNIQUE INDEX pims_appointments_clinic_neo_key ON pims_appointments (clinic_id, neo_appointment_id);
CREATE UNIQUE INDEX user_clinic_access_user_clinic_key ON user_clinic_access (user_id, clinic_id);
CREATE INDEX cases_clinic_id_idx ON cases (clinic_id);
CREATE INDEX patients_case_id_idx ON patients (case_id);
CREATE INDEX canonical_patients_clinic_id_idx ON canonical_patients (clinic_id);
CREATE INDEX scheduled_discharge_calls_case_id_idx ON scheduled_discharge_calls (case_id);
CREATE INDEX scheduled_discharge_emails_case_id_idx ON scheduled_discharge_emails (case_id);
ANALYZE;
