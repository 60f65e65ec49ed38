-- Tenant isolation the schema itself guarantees (docs/schema-deviations.md, "Clinic-consistent
-- references"). Row-level security checks only a row's own clinic_id; these keys make a row of
-- clinic A unable to point at a row of clinic B, whoever writes it (an API role or the service).
--
-- 1. Every foreign key between two tables that both carry a NOT NULL clinic_id becomes composite:
--    (x_id, clinic_id) REFERENCES parent (id, clinic_id), with UNIQUE (id, clinic_id) on the
--    parent. MATCH SIMPLE: a NULL x_id is still allowed, as before. ON DELETE actions are kept.
-- 2. Where a composite key cannot apply, a trigger checks the referenced rows' clinic:
--    discharge_batch_items (no clinic_id of its own: every row it references must be of its
--    batch's clinic) and discharge_summaries.template_id (global templates have clinic_id NULL).
-- 3. vapi_assistant_mappings.pims_clinic_id names another clinic by design (a shared PIMS
--    calendar): API roles may only name a clinic they themselves belong to (restrictive policy).

ALTER TABLE clients ADD CONSTRAINT clients_id_clinic_id_key UNIQUE (id, clinic_id);
ALTER TABLE patients ADD CONSTRAINT patients_id_clinic_id_key UNIQUE (id, clinic_id);
ALTER TABLE cases ADD CONSTRAINT cases_id_clinic_id_key UNIQUE (id, clinic_id);
ALTER TABLE soap_notes ADD CONSTRAINT soap_notes_id_clinic_id_key UNIQUE (id, clinic_id);
ALTER TABLE inbound_calls ADD CONSTRAINT inbound_calls_id_clinic_id_key UNIQUE (id, clinic_id);
ALTER TABLE outbound_calls ADD CONSTRAINT outbound_calls_id_clinic_id_key UNIQUE (id, clinic_id);
ALTER TABLE outbound_emails ADD CONSTRAINT outbound_emails_id_clinic_id_key UNIQUE (id, clinic_id);
ALTER TABLE pims_credentials ADD CONSTRAINT pims_credentials_id_clinic_id_key UNIQUE (id, clinic_id);
ALTER TABLE pims_sync_sessions ADD CONSTRAINT pims_sync_sessions_id_clinic_id_key UNIQUE (id, clinic_id);
ALTER TABLE schedule_appointments ADD CONSTRAINT schedule_appointments_id_clinic_id_key UNIQUE (id, clinic_id);
ALTER TABLE vapi_bookings ADD CONSTRAINT vapi_bookings_id_clinic_id_key UNIQUE (id, clinic_id);

ALTER TABLE auto_scheduled_items DROP CONSTRAINT auto_scheduled_items_case_id_fkey, ADD CONSTRAINT auto_scheduled_items_case_id_fkey FOREIGN KEY (case_id, clinic_id) REFERENCES cases (id, clinic_id);
ALTER TABLE discharge_summaries DROP CONSTRAINT discharge_summaries_case_id_fkey, ADD CONSTRAINT discharge_summaries_case_id_fkey FOREIGN KEY (case_id, clinic_id) REFERENCES cases (id, clinic_id) ON DELETE CASCADE;
ALTER TABLE outbound_calls DROP CONSTRAINT outbound_calls_case_id_fkey, ADD CONSTRAINT outbound_calls_case_id_fkey FOREIGN KEY (case_id, clinic_id) REFERENCES cases (id, clinic_id);
ALTER TABLE outbound_emails DROP CONSTRAINT outbound_emails_case_id_fkey, ADD CONSTRAINT outbound_emails_case_id_fkey FOREIGN KEY (case_id, clinic_id) REFERENCES cases (id, clinic_id);
ALTER TABLE soap_notes DROP CONSTRAINT soap_notes_case_id_fkey, ADD CONSTRAINT soap_notes_case_id_fkey FOREIGN KEY (case_id, clinic_id) REFERENCES cases (id, clinic_id) ON DELETE CASCADE;
ALTER TABLE vital_signs DROP CONSTRAINT vital_signs_case_id_fkey, ADD CONSTRAINT vital_signs_case_id_fkey FOREIGN KEY (case_id, clinic_id) REFERENCES cases (id, clinic_id) ON DELETE CASCADE;
ALTER TABLE cases DROP CONSTRAINT cases_client_id_fkey, ADD CONSTRAINT cases_client_id_fkey FOREIGN KEY (client_id, clinic_id) REFERENCES clients (id, clinic_id);
ALTER TABLE patients DROP CONSTRAINT patients_client_id_fkey, ADD CONSTRAINT patients_client_id_fkey FOREIGN KEY (client_id, clinic_id) REFERENCES clients (id, clinic_id) ON DELETE CASCADE;
ALTER TABLE call_analysis DROP CONSTRAINT call_analysis_inbound_call_id_fkey, ADD CONSTRAINT call_analysis_inbound_call_id_fkey FOREIGN KEY (inbound_call_id, clinic_id) REFERENCES inbound_calls (id, clinic_id) ON DELETE CASCADE;
ALTER TABLE clinic_messages DROP CONSTRAINT clinic_messages_inbound_call_id_fkey, ADD CONSTRAINT clinic_messages_inbound_call_id_fkey FOREIGN KEY (inbound_call_id, clinic_id) REFERENCES inbound_calls (id, clinic_id);
ALTER TABLE refill_requests DROP CONSTRAINT refill_requests_inbound_call_id_fkey, ADD CONSTRAINT refill_requests_inbound_call_id_fkey FOREIGN KEY (inbound_call_id, clinic_id) REFERENCES inbound_calls (id, clinic_id);
ALTER TABLE vapi_bookings DROP CONSTRAINT vapi_bookings_inbound_call_id_fkey, ADD CONSTRAINT vapi_bookings_inbound_call_id_fkey FOREIGN KEY (inbound_call_id, clinic_id) REFERENCES inbound_calls (id, clinic_id);
ALTER TABLE auto_scheduled_items DROP CONSTRAINT auto_scheduled_items_outbound_call_id_fkey, ADD CONSTRAINT auto_scheduled_items_outbound_call_id_fkey FOREIGN KEY (outbound_call_id, clinic_id) REFERENCES outbound_calls (id, clinic_id);
ALTER TABLE call_analysis DROP CONSTRAINT call_analysis_outbound_call_id_fkey, ADD CONSTRAINT call_analysis_outbound_call_id_fkey FOREIGN KEY (outbound_call_id, clinic_id) REFERENCES outbound_calls (id, clinic_id) ON DELETE CASCADE;
ALTER TABLE auto_scheduled_items DROP CONSTRAINT auto_scheduled_items_outbound_email_id_fkey, ADD CONSTRAINT auto_scheduled_items_outbound_email_id_fkey FOREIGN KEY (outbound_email_id, clinic_id) REFERENCES outbound_emails (id, clinic_id);
ALTER TABLE cases DROP CONSTRAINT cases_patient_id_fkey, ADD CONSTRAINT cases_patient_id_fkey FOREIGN KEY (patient_id, clinic_id) REFERENCES patients (id, clinic_id);
ALTER TABLE pims_sync_sessions DROP CONSTRAINT pims_sync_sessions_credential_id_fkey, ADD CONSTRAINT pims_sync_sessions_credential_id_fkey FOREIGN KEY (credential_id, clinic_id) REFERENCES pims_credentials (id, clinic_id);
ALTER TABLE pims_sync_audit_log DROP CONSTRAINT pims_sync_audit_log_sync_session_id_fkey, ADD CONSTRAINT pims_sync_audit_log_sync_session_id_fkey FOREIGN KEY (sync_session_id, clinic_id) REFERENCES pims_sync_sessions (id, clinic_id);
ALTER TABLE appointment_audit_log DROP CONSTRAINT appointment_audit_log_appointment_id_fkey, ADD CONSTRAINT appointment_audit_log_appointment_id_fkey FOREIGN KEY (appointment_id, clinic_id) REFERENCES schedule_appointments (id, clinic_id);
ALTER TABLE discharge_summaries DROP CONSTRAINT discharge_summaries_soap_note_id_fkey, ADD CONSTRAINT discharge_summaries_soap_note_id_fkey FOREIGN KEY (soap_note_id, clinic_id) REFERENCES soap_notes (id, clinic_id);
ALTER TABLE vital_signs DROP CONSTRAINT vital_signs_soap_note_id_fkey, ADD CONSTRAINT vital_signs_soap_note_id_fkey FOREIGN KEY (soap_note_id, clinic_id) REFERENCES soap_notes (id, clinic_id);
ALTER TABLE appointment_audit_log DROP CONSTRAINT appointment_audit_log_booking_id_fkey, ADD CONSTRAINT appointment_audit_log_booking_id_fkey FOREIGN KEY (booking_id, clinic_id) REFERENCES vapi_bookings (id, clinic_id);
ALTER TABLE vapi_bookings DROP CONSTRAINT vapi_bookings_rescheduled_from_id_fkey, ADD CONSTRAINT vapi_bookings_rescheduled_from_id_fkey FOREIGN KEY (rescheduled_from_id, clinic_id) REFERENCES vapi_bookings (id, clinic_id);

-- discharge_batch_items: every referenced row belongs to the batch's clinic. SECURITY DEFINER
-- so the check sees the rows RLS hides from the caller (it must refuse another clinic's case,
-- not merely fail to find it), with a fixed search_path; the message does not say whether the
-- row exists elsewhere.
CREATE OR REPLACE FUNCTION check_discharge_batch_item_clinic()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
  batch_clinic UUID;
BEGIN
  SELECT clinic_id INTO batch_clinic FROM discharge_batches WHERE id = NEW.batch_id;
  IF batch_clinic IS NULL THEN
    RETURN NEW; -- the plain foreign key on batch_id reports a missing batch
  END IF;
  IF (NEW.case_id IS NOT NULL AND NOT EXISTS
        (SELECT 1 FROM cases WHERE id = NEW.case_id AND clinic_id = batch_clinic))
     OR (NEW.patient_id IS NOT NULL AND NOT EXISTS
        (SELECT 1 FROM patients WHERE id = NEW.patient_id AND clinic_id = batch_clinic))
     OR (NEW.outbound_call_id IS NOT NULL AND NOT EXISTS
        (SELECT 1 FROM outbound_calls WHERE id = NEW.outbound_call_id AND clinic_id = batch_clinic))
     OR (NEW.outbound_email_id IS NOT NULL AND NOT EXISTS
        (SELECT 1 FROM outbound_emails WHERE id = NEW.outbound_email_id AND clinic_id = batch_clinic))
  THEN
    RAISE EXCEPTION 'discharge_batch_items: a referenced row is not of the batch''s clinic'
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER discharge_batch_items_same_clinic
  BEFORE INSERT OR UPDATE OF batch_id, case_id, patient_id, outbound_call_id, outbound_email_id
  ON discharge_batch_items
  FOR EACH ROW EXECUTE FUNCTION check_discharge_batch_item_clinic();

-- discharge_summaries.template_id: the clinic's own template or a global one (clinic_id NULL).
CREATE OR REPLACE FUNCTION check_discharge_summary_template_clinic()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
BEGIN
  IF NEW.template_id IS NOT NULL AND EXISTS
       (SELECT 1 FROM discharge_templates
        WHERE id = NEW.template_id AND clinic_id IS NOT NULL AND clinic_id <> NEW.clinic_id)
  THEN
    RAISE EXCEPTION 'discharge_summaries: template_id is neither global nor of the summary''s clinic'
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER discharge_summaries_template_same_clinic
  BEFORE INSERT OR UPDATE OF template_id, clinic_id
  ON discharge_summaries
  FOR EACH ROW EXECUTE FUNCTION check_discharge_summary_template_clinic();

REVOKE ALL ON FUNCTION check_discharge_batch_item_clinic() FROM PUBLIC;
REVOKE ALL ON FUNCTION check_discharge_summary_template_clinic() FROM PUBLIC;

-- vapi_assistant_mappings.pims_clinic_id: restrictive, so it narrows the permissive member and
-- org policies instead of widening them. The service (owner, BYPASSRLS) is trusted.
CREATE POLICY "PIMS clinic must be the caller's" ON vapi_assistant_mappings
  AS RESTRICTIVE FOR INSERT
  WITH CHECK (pims_clinic_id IS NULL OR pims_clinic_id = clinic_id
              OR pims_clinic_id IN (SELECT get_user_clinic_ids())
              OR pims_clinic_id IN (SELECT get_org_clinic_ids()));
CREATE POLICY "PIMS clinic must stay the caller's" ON vapi_assistant_mappings
  AS RESTRICTIVE FOR UPDATE
  USING (true)
  WITH CHECK (pims_clinic_id IS NULL OR pims_clinic_id = clinic_id
              OR pims_clinic_id IN (SELECT get_user_clinic_ids())
              OR pims_clinic_id IN (SELECT get_org_clinic_ids()));
