-- The per-clinic operational tables (a few rows per clinic), the global ones, and rows in
-- tables the spec removes (the importer lists them with their counts, imports nothing).

-- Four appointments a day for three days per clinic, back to back, one room each: none overlap
-- (the V2 EXCLUDE allows no two live appointments with a room to overlap in a clinic).
INSERT INTO pims_appointments (id, clinic_id, time_range, source, neo_appointment_id, patient_name,
    client_name, client_phone, provider_name, room_id, appointment_type, status, sync_hash,
    last_synced_at, deleted_at, created_at, updated_at)
SELECT legacy_gen.id(22, (c - 1) * 12 + a), legacy_gen.id(1, c),
    tstzrange(timestamptz '2026-01-06 17:00:00+00' + (a / 4) * interval '1 day' + (a % 4) * interval '30 minutes',
              timestamptz '2026-01-06 17:00:00+00' + (a / 4) * interval '1 day' + (a % 4) * interval '30 minutes' + interval '30 minutes'),
    'idexx', 'neo-appt-' || (c * 1000 + a), legacy_gen.pet(a + c),
    legacy_gen.first_name(a) || ' ' || legacy_gen.last_name(c + a), legacy_gen.phone(a, a),
    'Dr. ' || legacy_gen.last_name(c * 7 + 1), CASE WHEN a % 6 = 5 THEN NULL ELSE 'room-' || (1 + a % 2) END,
    legacy_gen.pick(ARRAY['Wellness Exam','Recheck','Vaccines','Sick Visit'], a),
    CASE WHEN a = 11 THEN 'cancelled' ELSE 'scheduled' END, md5('sync' || c || a),
    legacy_gen.at(c), CASE WHEN a = 10 THEN legacy_gen.at(c + 1) END, legacy_gen.at(c), legacy_gen.at(c)
FROM generate_series(1, legacy_gen.nc()) c, generate_series(0, 11) a;

-- Bookings the voice agent made: confirmed, a pending hold, a cancelled one, a reschedule.
INSERT INTO appointment_bookings (id, clinic_id, time_range, client_name, client_phone, patient_name,
    species, breed, reason, is_new_client, status, confirmation_number, vapi_call_id,
    hold_expires_at, has_conflict, original_time_range, rescheduled_at, rescheduled_reason,
    rescheduled_from_id, cancelled_at, cancelled_reason, idexx_appointment_id, provider_name,
    appointment_type, room_id, metadata, created_at, updated_at)
SELECT legacy_gen.id(23, (c - 1) * 4 + b), legacy_gen.id(1, c),
    tstzrange(timestamptz '2026-01-12 18:00:00+00' + b * interval '1 hour',
              timestamptz '2026-01-12 18:00:00+00' + b * interval '1 hour' + interval '15 minutes'),
    legacy_gen.first_name(b + c) || ' ' || legacy_gen.last_name(b * 3 + c), legacy_gen.phone(800 + b, b),
    legacy_gen.pet(b * 5 + c), legacy_gen.species(b), legacy_gen.breed(b),
    legacy_gen.pick(ARRAY['Vomiting since yesterday','Annual vaccines','Limping','Recheck'], b),
    b % 2 = 0, (ARRAY['confirmed','pending','cancelled','confirmed'])[b],
    upper(substr(md5('conf' || c || b), 1, 6)), legacy_gen.vapi('call-in', (c - 1) * legacy_gen.ni() + 1),
    CASE WHEN b = 2 THEN timestamptz '2026-01-10 18:05:00+00' END, false,
    CASE WHEN b = 4 THEN tstzrange(timestamptz '2026-01-11 18:00:00+00', timestamptz '2026-01-11 18:15:00+00') END,
    CASE WHEN b = 4 THEN timestamptz '2026-01-10 19:00:00+00' END,
    CASE WHEN b = 4 THEN 'Owner asked for a later day' END,
    CASE WHEN b = 4 THEN legacy_gen.id(23, (c - 1) * 4 + 3) END,
    CASE WHEN b = 3 THEN timestamptz '2026-01-10 19:00:00+00' END,
    CASE WHEN b = 3 THEN 'Rescheduled to 2026-01-12 21:00' END,
    CASE WHEN c % 2 = 1 AND b <> 2 THEN 'neo-' || (c * 10 + b) END,
    'Dr. ' || legacy_gen.last_name(c * 7 + 1), 'Sick Visit', 'room-1',
    jsonb_build_object('booked_via', 'vapi'), timestamptz '2026-01-10 18:00:00+00', timestamptz '2026-01-10 19:00:00+00'
FROM generate_series(1, legacy_gen.nc()) c, generate_series(1, 4) b;

INSERT INTO appointment_audit_log (id, clinic_id, action, appointment_id, idexx_appointment_id,
    new_appointment_id, old_appointment_id, new_datetime, old_datetime, reason, vapi_booking_id,
    vapi_call_id, performed_by, error_code, error_message, created_at)
SELECT legacy_gen.id(24, (c - 1) * 2 + j), legacy_gen.id(1, c),
    CASE WHEN j = 1 THEN 'cancel' ELSE 'reschedule' END,
    legacy_gen.id(23, (c - 1) * 4 + 3)::text, CASE WHEN c % 2 = 1 THEN 'neo-' || (c * 10 + 3) END,
    CASE WHEN j = 2 THEN legacy_gen.id(23, (c - 1) * 4 + 4)::text END,
    CASE WHEN j = 2 THEN legacy_gen.id(23, (c - 1) * 4 + 3)::text END,
    CASE WHEN j = 2 THEN 'Monday, January 12 1:00 PM' END,
    CASE WHEN j = 2 THEN 'Sunday, January 11 10:00 AM' END,
    CASE WHEN j = 1 THEN 'Owner cancelled by phone' ELSE 'Rescheduled via phone' END,
    legacy_gen.id(23, (c - 1) * 4 + 3)::text, legacy_gen.vapi('call-in', (c - 1) * legacy_gen.ni() + 1),
    'vapi', NULL, NULL, timestamptz '2026-01-10 19:00:00+00' + j * interval '1 minute'
FROM generate_series(1, legacy_gen.nc()) c, generate_series(1, 2) j;

INSERT INTO clinic_messages (id, clinic_id, caller_name, caller_phone, message_content, message_type,
    status, vapi_call_id, priority, assigned_to_user_id, metadata, read_at, triage_data,
    created_at, updated_at)
SELECT legacy_gen.id(25, (c - 1) * 3 + j), legacy_gen.id(1, c),
    legacy_gen.first_name(j * 4 + c) || ' ' || legacy_gen.last_name(c + j), legacy_gen.phone(600 + j, j + c),
    (ARRAY['Please call me back about Bella''s medication refill.',
           'My dog ate a sock two hours ago and is vomiting.',
           'Calling to confirm the pickup time for Milo.'])[j],
    (ARRAY['voicemail','triage','general'])[j], (ARRAY['new','read','resolved'])[1 + (c + j) % 3],
    legacy_gen.vapi('call-in', (c - 1) * legacy_gen.ni() + 1),
    (ARRAY['normal','urgent','normal'])[j], CASE WHEN j = 2 THEN legacy_gen.user_of(c, 2) END,
    jsonb_build_object('source', 'vapi'), CASE WHEN (c + j) % 3 > 0 THEN legacy_gen.at(c + j) END,
    CASE WHEN j = 2 THEN jsonb_build_object('urgency', 'urgent', 'symptoms', jsonb_build_array('vomiting'),
        'action_taken', 'scheduled_appointment', 'er_referred', false) END,
    legacy_gen.at(c + j), legacy_gen.at(c + j + 1)
FROM generate_series(1, legacy_gen.nc()) c, generate_series(1, 3) j;

INSERT INTO refill_requests (id, clinic_id, client_name, client_phone, pet_name, species,
    medication_name, medication_strength, last_refill_date, pharmacy_name, pharmacy_phone,
    pharmacy_preference, requires_exam, status, approved_at, approved_by, vet_notes, vapi_call_id,
    metadata, created_at, updated_at)
SELECT legacy_gen.id(26, (c - 1) * 2 + j), legacy_gen.id(1, c),
    legacy_gen.first_name(j + c) || ' ' || legacy_gen.last_name(c * 2 + j), legacy_gen.phone(700 + j, j),
    legacy_gen.pet(j + 3), legacy_gen.species(j), (ARRAY['Apoquel','Vetmedin'])[j], (ARRAY['16 mg','5 mg'])[j],
    '2025-12-01', CASE WHEN j = 2 THEN 'Walgreens' END, CASE WHEN j = 2 THEN legacy_gen.phone(7700 + c, 0) END,
    CASE WHEN j = 2 THEN 'external' ELSE 'clinic' END, j = 2,
    (ARRAY['approved','pending'])[j], CASE WHEN j = 1 THEN legacy_gen.at(c + 5) END,
    CASE WHEN j = 1 THEN 'Dr. ' || legacy_gen.last_name(c * 7 + 1) END, NULL,
    legacy_gen.vapi('call-in', (c - 1) * legacy_gen.ni() + 1), jsonb_build_object('reference', 'RX-' || (c * 10 + j)),
    legacy_gen.at(c + 4), legacy_gen.at(c + 5)
FROM generate_series(1, legacy_gen.nc()) c, generate_series(1, 2) j;

-- Clinical side tables for the first two cases of each clinic.
INSERT INTO soap_notes (id, case_id, subjective, objective, assessment, plan, client_instructions,
    transcript, created_at, updated_at)
SELECT legacy_gen.id(33, k), legacy_gen.id(6, k), 'Owner reports vomiting x2 since yesterday.',
    'T 101.8F, HR 110, mild abdominal discomfort.', 'Acute gastroenteritis.',
    'Maropitant 2 mg/kg SQ; bland diet 3 days.', 'Feed small bland meals; call if vomiting continues.',
    'Dictation: patient presented with vomiting...', t, t + interval '1 hour'
FROM legacy_gen_case WHERE i <= 2;

INSERT INTO vital_signs (id, case_id, soap_note_id, user_id, temperature, temperature_unit, pulse,
    respiration, weight, weight_unit, systolic, diastolic, measured_at, extracted_from, source,
    notes, metadata, created_at, updated_at)
SELECT legacy_gen.id(34, k), legacy_gen.id(6, k), legacy_gen.id(33, k), vet, 101.8, 'F', 110, 24,
    round((3 + (j % 40))::numeric + 0.4, 1), 'kg', NULL, NULL, t, 'soap_note', 'ai_extraction', NULL,
    '{}'::jsonb, t, t
FROM legacy_gen_case WHERE i <= 2;

INSERT INTO templates (id, key, name, type, description, model, prompt, output_format, content,
    metadata, validation_schema, created_at, updated_at)
SELECT legacy_gen.id(36, n), (ARRAY['discharge_summary','soap_note','entity_extraction'])[n],
    (ARRAY['Discharge Summary','SOAP Note','Entity Extraction'])[n], (ARRAY['discharge','soap','extraction'])[n],
    'System prompt template', 'gpt-4o', 'You are a veterinary assistant...', 'json',
    jsonb_build_object('sections', jsonb_build_array('summary', 'medications')), '{}'::jsonb,
    jsonb_build_object('type', 'object'), legacy_gen.at(-96 * 300), legacy_gen.at(-96 * 30)
FROM generate_series(1, 3) n;

INSERT INTO temp_discharge_summary_templates (id, user_id, name, content, is_default, created_at, updated_at)
SELECT legacy_gen.id(38, c), legacy_gen.user_of(c, 1), 'Standard discharge',
    'Dear {{owner_name}}, {{pet_name}} was seen today for {{reason}}...', true,
    legacy_gen.at(-96 * 120 + c), legacy_gen.at(-96 * 120 + c)
FROM generate_series(1, legacy_gen.nc()) c;

INSERT INTO discharge_summaries (id, case_id, user_id, soap_note_id, template_id, generation_id,
    content, structured_content, created_at, updated_at)
SELECT legacy_gen.id(35, k), legacy_gen.id(6, k), vet, legacy_gen.id(33, k), legacy_gen.id(38, c),
    NULL, legacy_gen.pet_name(j) || ' was treated for gastroenteritis. Feed a bland diet for 3 days.',
    jsonb_build_object('diagnosis', 'Gastroenteritis', 'treatmentsToday', jsonb_build_array('Cerenia injection'),
        'followUp', jsonb_build_object('date', 'in 10 days', 'reason', 'recheck')),
    t + interval '1 hour', t + interval '1 hour'
FROM legacy_gen_case WHERE i <= 2;

INSERT INTO temp_soap_templates (id, template_id, template_name, display_name, person_name, icon_name,
    user_id, is_default, subjective_template, objective_template, assessment_template,
    plan_template, system_prompt_addition, created_at, updated_at)
SELECT legacy_gen.id(37, n), legacy_gen.id(3700, n), (ARRAY['standard','dental'])[n],
    (ARRAY['Standard SOAP','Dental SOAP'])[n], (ARRAY['Dr. Default','Dr. Kim'])[n], 'stethoscope',
    CASE WHEN n = 2 THEN legacy_gen.user_of(1, 2) END, n = 1, 'S:', 'O:', 'A:', 'P:', NULL,
    legacy_gen.at(-96 * 200), legacy_gen.at(-96 * 200)
FROM generate_series(1, 2) n;

-- Auto-scheduling: runs are global in the old schema; items are per clinic.
INSERT INTO auto_scheduling_runs (id, status, started_at, completed_at, total_cases_processed,
    total_calls_scheduled, total_emails_scheduled, total_errors, results, error_message, created_at)
SELECT legacy_gen.id(29, n), (ARRAY['completed','completed','failed'])[n], legacy_gen.at(n * 96),
    legacy_gen.at(n * 96) + interval '40 seconds', 12 * n, 10 * n, 9 * n, CASE WHEN n = 3 THEN 1 ELSE 0 END,
    jsonb_build_object('clinics', legacy_gen.nc()), CASE WHEN n = 3 THEN 'QStash publish failed' END,
    legacy_gen.at(n * 96)
FROM generate_series(1, 3) n;

INSERT INTO auto_scheduled_items (id, clinic_id, case_id, run_id, scheduled_call_id, scheduled_email_id,
    scheduled_config, status, cancelled_at, cancelled_by, cancellation_reason, created_at)
SELECT legacy_gen.id(30, k), legacy_gen.id(1, c), legacy_gen.id(6, k), legacy_gen.id(29, 1 + i % 2),
    legacy_gen.id(8, k), legacy_gen.id(10, k),
    jsonb_build_object('call_delay_days', 2, 'email_delay_days', 1, 'preferred_call_time', '16:00'),
    CASE WHEN i = 3 THEN 'cancelled' ELSE 'scheduled' END,
    CASE WHEN i = 3 THEN t + interval '3 hours' END, CASE WHEN i = 3 THEN vet END,
    CASE WHEN i = 3 THEN 'Owner asked not to be called' END, t + interval '1 hour'
FROM legacy_gen_case WHERE i % 3 = 0 AND i <= 9;

INSERT INTO discharge_batches (id, user_id, status, total_cases, processed_cases, successful_cases,
    failed_cases, call_schedule_time, email_schedule_time, started_at, completed_at, cancelled_at,
    error_summary, metadata, created_at, updated_at)
SELECT legacy_gen.id(31, c), legacy_gen.user_of(c, 2), CASE WHEN c % 4 = 0 THEN 'partial_success' ELSE 'completed' END,
    2, 2, CASE WHEN c % 4 = 0 THEN 1 ELSE 2 END, CASE WHEN c % 4 = 0 THEN 1 ELSE 0 END,
    legacy_gen.iso(legacy_gen.at(c + 200)), legacy_gen.iso(legacy_gen.at(c + 100)),
    legacy_gen.at(c + 10), legacy_gen.at(c + 11), NULL,
    CASE WHEN c % 4 = 0 THEN jsonb_build_array(jsonb_build_object('case_id', legacy_gen.id(6, (c - 1) * legacy_gen.nk() + 2), 'error', 'No phone number')) END,
    jsonb_build_object('source', 'dashboard'), legacy_gen.at(c + 10), legacy_gen.at(c + 11)
FROM generate_series(1, legacy_gen.nc()) c;

INSERT INTO discharge_batch_items (id, batch_id, case_id, patient_id, call_id, email_id, status,
    call_scheduled, email_scheduled, error_message, processed_at, created_at)
SELECT legacy_gen.id(32, k), legacy_gen.id(31, c), legacy_gen.id(6, k), legacy_gen.id(7, k),
    legacy_gen.id(8, k), legacy_gen.id(10, k),
    CASE WHEN c % 4 = 0 AND i = 2 THEN 'failed' ELSE 'success' END,
    NOT (c % 4 = 0 AND i = 2), true, CASE WHEN c % 4 = 0 AND i = 2 THEN 'No phone number' END,
    legacy_gen.at(c + 11), legacy_gen.at(c + 10)
FROM legacy_gen_case WHERE i <= 2;

-- Slack: one workspace per odd clinic (matched to its clinic by team name).
INSERT INTO slack_workspaces (id, team_id, team_name, app_id, bot_token, bot_user_id, authed_user_id,
    scope, is_active, created_at, updated_at)
SELECT legacy_gen.id(39, c), 'T' || upper(substr(md5('team' || c), 1, 9)), legacy_gen.clinic_name(c),
    'A07ODIS', 'xoxb-' || md5('bot' || c), 'U' || upper(substr(md5('botuser' || c), 1, 9)),
    'U' || upper(substr(md5('authed' || c), 1, 9)), 'chat:write,channels:read', true,
    legacy_gen.at(-96 * 60 + c), legacy_gen.at(-96 * 60 + c)
FROM generate_series(1, legacy_gen.nc()) c WHERE c % 2 = 1;

INSERT INTO slack_reminder_channels (id, workspace_id, channel_id, channel_name, added_by_user_id,
    timezone, is_active, created_at, updated_at)
SELECT legacy_gen.id(40, c), legacy_gen.id(39, c), 'C' || upper(substr(md5('chan' || c), 1, 9)),
    '#front-desk', 'U' || upper(substr(md5('authed' || c), 1, 9)), legacy_gen.tz(c), true,
    legacy_gen.at(-96 * 59 + c), legacy_gen.at(-96 * 59 + c)
FROM generate_series(1, legacy_gen.nc()) c WHERE c % 2 = 1;

INSERT INTO slack_tasks (id, channel_id, title, description, reminder_time, created_by_user_id,
    is_active, created_at, updated_at)
SELECT legacy_gen.id(41, c), legacy_gen.id(40, c), 'Check the voicemail inbox',
    'Every morning before opening', '08:30', 'U' || upper(substr(md5('authed' || c), 1, 9)), true,
    legacy_gen.at(-96 * 58 + c), legacy_gen.at(-96 * 58 + c)
FROM generate_series(1, legacy_gen.nc()) c WHERE c % 2 = 1;

INSERT INTO slack_task_completions (id, task_id, completed_by_user_id, completed_by_username,
    completion_date, message_ts, completed_at)
SELECT legacy_gen.id(42, c), legacy_gen.id(41, c), 'U' || upper(substr(md5('authed' || c), 1, 9)),
    'frontdesk', '2026-01-07', '1736240000.00' || lpad((c % 10000)::text, 4, '0'), legacy_gen.at(c)
FROM generate_series(1, legacy_gen.nc()) c WHERE c % 2 = 1;

INSERT INTO waitlist_signups (id, email, full_name, campaign, source, status, ip, user_agent, metadata,
    confirmed_at, created_at)
SELECT legacy_gen.id(43, n), format('vet%s@smallclinic.example', n), legacy_gen.first_name(n) || ' ' || legacy_gen.last_name(n * 17),
    'launch-2025', (ARRAY['landing','referral','conference'])[n],
    (ARRAY['waiting','invited','joined'])[n]::waitlist_status, '203.0.113.' || n, 'Mozilla/5.0',
    jsonb_build_object('utm_source', 'newsletter'), CASE WHEN n > 1 THEN legacy_gen.at(n) END, legacy_gen.at(n - 500)
FROM generate_series(1, 3) n;

INSERT INTO contact_submissions (id, first_name, last_name, email, phone, clinic_name, message, source,
    metadata, created_at)
SELECT legacy_gen.id(44, n), legacy_gen.first_name(n + 3), legacy_gen.last_name(n * 5),
    format('contact%s@clinic.example', n), legacy_gen.phone(8800 + n, n),
    'Valley Pet Clinic ' || n, 'We would like a demo of the discharge calls.', 'website',
    jsonb_build_object('page', '/pricing'), legacy_gen.at(n - 400)
FROM generate_series(1, 3) n;

INSERT INTO consultation_sync_status (id, case_id, neo_consultation_id, sync_session_id, status,
    synced_at, reconciled_at, error_message, metadata, created_at, updated_at)
SELECT legacy_gen.id(18, k), legacy_gen.id(6, k), 'neo-consult-' || (c * 1000000 + i),
    legacy_gen.id(15, (c - 1) * 2 + 1), 'synced', t, NULL, NULL, '{}'::jsonb, t, t
FROM legacy_gen_case WHERE c % 2 = 1 AND i = 1;

-- Tables the spec removes: a few rows each, so the report has something to list.
INSERT INTO retell_calls (id, agent_id, phone_number, retell_call_id, status, duration_seconds,
    transcript, metadata, created_at)
SELECT legacy_gen.id(49, n), 'agent_retell_1', legacy_gen.phone(n, 2), legacy_gen.id(4900, n), 'ended', 95,
    'Legacy Retell call', '{}'::jsonb, legacy_gen.at(-96 * 400 + n)
FROM generate_series(1, 2) n;

INSERT INTO call_patients (id, user_id, pet_name, owner_name, owner_phone, clinic_name, created_at, updated_at)
SELECT legacy_gen.id(50, n), legacy_gen.user_of(1, 1), legacy_gen.pet(n), legacy_gen.first_name(n),
    legacy_gen.phone(n, 0), legacy_gen.clinic_name(1), legacy_gen.at(-96 * 400 + n), legacy_gen.at(-96 * 400 + n)
FROM generate_series(1, 2) n;

INSERT INTO user_events (id, user_id, event_type, event_category, event_action, platform, session_id,
    properties, success, created_at)
SELECT legacy_gen.id(51, n), legacy_gen.user_of(1 + n % legacy_gen.nc(), 1), 'case_viewed', 'cases', 'view',
    'web', 'sess-' || n, jsonb_build_object('n', n), true, legacy_gen.at(n)
FROM generate_series(1, 3) n;

INSERT INTO feature_usage (id, user_id, feature_name, feature_category, platform, usage_count,
    first_used_at, last_used_at, created_at)
SELECT legacy_gen.id(52, n), legacy_gen.user_of(1, 1), (ARRAY['batch_discharge','soap_generate'])[n],
    'discharge', 'web', 10 * n, legacy_gen.at(n), legacy_gen.at(n + 50), legacy_gen.at(n)
FROM generate_series(1, 2) n;

INSERT INTO session_analytics (id, user_id, session_id, platform, duration_seconds, cases_created,
    started_at, ended_at, created_at)
SELECT legacy_gen.id(53, n), legacy_gen.user_of(1, 2), 'sess-' || n, 'chrome_extension', 600, 2,
    legacy_gen.at(n), legacy_gen.at(n + 1), legacy_gen.at(n)
FROM generate_series(1, 2) n;

INSERT INTO error_logs (id, user_id, error_type, error_message, platform, source, resolved, created_at)
SELECT legacy_gen.id(54, n), legacy_gen.user_of(1, 1), 'api_error', 'Upstream timeout', 'web', 'discharge',
    n = 1, legacy_gen.at(n)
FROM generate_series(1, 2) n;

INSERT INTO slack_installations (id, team_id, team_name, bot_token, created_at, updated_at)
VALUES (legacy_gen.id(55, 1), 'TLEGACY01', 'Legacy install', 'xoxb-legacy', legacy_gen.at(-96 * 300), legacy_gen.at(-96 * 300));

INSERT INTO generations (id, case_id, template_id, prompt, content, created_at)
SELECT legacy_gen.id(56, k), legacy_gen.id(6, k), legacy_gen.id(36, 1), 'Write a discharge summary',
    'Generated text', t
FROM legacy_gen_case WHERE i = 1 AND c <= 2;

INSERT INTO transcriptions (id, case_id, user_id, transcript, processing_status, created_at)
SELECT legacy_gen.id(57, k), legacy_gen.id(6, k), vet, 'Patient presented with...', 'completed', t
FROM legacy_gen_case WHERE i = 1 AND c <= 2;

INSERT INTO clinic_api_keys (id, user_id, name, key_hash, key_prefix, is_active, created_at, updated_at)
VALUES (legacy_gen.id(48, 1), legacy_gen.user_of(1, 1), 'PIMS sync agent', md5('key'), 'odis_sk_01', true,
    legacy_gen.at(-96 * 50), legacy_gen.at(-96 * 50));

INSERT INTO pims_session_cache (id, clinic_id, session_cookies, created_at, last_used_at, expires_at)
VALUES (legacy_gen.id(59, 1), legacy_gen.id(1, 1), 'enc:cookies', legacy_gen.at(0), legacy_gen.at(1), legacy_gen.at(96));

INSERT INTO discharge_template_shares (id, template_id, shared_by_user_id, shared_with_user_id, created_at)
VALUES (legacy_gen.id(60, 1), legacy_gen.id(38, 1), legacy_gen.user_of(1, 1)::text, legacy_gen.user_of(1, 2)::text, legacy_gen.at(0));

INSERT INTO soap_template_shares (id, template_id, shared_by_user_id, shared_with_user_id, created_at)
VALUES (legacy_gen.id(61, 1), legacy_gen.id(37, 2), legacy_gen.user_of(1, 2)::text, legacy_gen.user_of(1, 3)::text, legacy_gen.at(0));
