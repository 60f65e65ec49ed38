-- Clinics, users and who may see which clinic, assistants, credentials, configuration: the rows
-- every clinic has a handful of, whatever the size.

INSERT INTO clinics (id, name, slug, email, phone, address, address_config, business_hours,
    er_config, is_active, pims_type, stripe_customer_id, stripe_subscription_id,
    subscription_status, subscription_tier, current_period_start, current_period_end,
    inbound_assistant_id, outbound_assistant_id, outbound_phone_number_id,
    inbound_phone_number_id, primary_color, logo_url, email_header_text, email_footer_text,
    clerk_org_id, timezone, created_at, updated_at)
SELECT legacy_gen.id(1, c), legacy_gen.clinic_name(c), legacy_gen.clinic_slug(c),
    'frontdesk@' || legacy_gen.clinic_slug(c) || '.com', legacy_gen.phone(9000 + c, c),
    format('%s Main St, %s, CA 95%s', 100 + c, legacy_gen.city(c), lpad((c % 1000)::text, 3, '0')),
    jsonb_build_object('line1', format('%s Main St', 100 + c), 'city', legacy_gen.city(c),
        'state', 'CA', 'zip', '95' || lpad((c % 1000)::text, 3, '0')),
    jsonb_build_object('mon', jsonb_build_object('open', '08:00', 'close', '18:00'),
        'tue', jsonb_build_object('open', '08:00', 'close', '18:00'),
        'wed', jsonb_build_object('open', '08:00', 'close', '18:00'),
        'thu', jsonb_build_object('open', '08:00', 'close', '18:00'),
        'fri', jsonb_build_object('open', '08:00', 'close', '17:00'),
        'sat', CASE WHEN c % 2 = 0 THEN jsonb_build_object('open', '09:00', 'close', '13:00') END),
    CASE WHEN c % 3 = 0 THEN jsonb_build_object('redirect_phone', '(408) 555-0911',
        'redirect_message', 'For emergencies please call the ER line', 'active', true) END,
    c % 17 <> 0, CASE WHEN c % 2 = 1 THEN 'idexx' ELSE 'none' END,
    'cus_' || substr(md5('cus' || c), 1, 14), 'sub_' || substr(md5('sub' || c), 1, 14),
    legacy_gen.pick(ARRAY['active','active','active','trialing','past_due'], c),
    legacy_gen.pick(ARRAY['professional','starter','enterprise'], c),
    legacy_gen.iso(legacy_gen.at(96 * 30 * (c % 3))), legacy_gen.iso(legacy_gen.at(96 * 30 * (c % 3 + 1))),
    legacy_gen.vapi('asst-in', c), legacy_gen.vapi('asst-out', c), legacy_gen.vapi('pn-out', c),
    legacy_gen.vapi('pn-in', c), legacy_gen.pick(ARRAY['#2563EB','#0F766E','#9333EA'], c),
    CASE WHEN c % 2 = 0 THEN format('https://cdn.odis.ai/logos/%s.png', legacy_gen.clinic_slug(c)) END,
    CASE WHEN c % 4 = 0 THEN 'Thank you for trusting us with your pet' END,
    CASE WHEN c % 4 = 0 THEN 'Questions? Reply to this email or call us.' END,
    CASE WHEN c % 5 <> 4 THEN 'org_' || substr(md5('org' || c), 1, 24) END,
    legacy_gen.tz(c), legacy_gen.at(-96 * 200 + c), legacy_gen.at(-96 * 20 + c)
FROM generate_series(1, legacy_gen.nc()) c;

-- Three users per clinic; the old per-user settings columns become clinic_settings.
INSERT INTO users (id, email, first_name, last_name, role, clinic_name, clinic_email, clinic_phone,
    avatar_url, license_number, onboarding_completed, pims_credentials, pims_systems,
    voicemail_message, voicemail_detection_enabled, default_schedule_delay_minutes,
    test_mode_enabled, test_contact_name, test_contact_email, test_contact_phone, emergency_phone,
    voicemail_hangup_on_detection, preferred_email_start_time, preferred_email_end_time,
    preferred_call_start_time, preferred_call_end_time, email_delay_days, call_delay_days,
    max_call_retries, batch_include_idexx_notes, batch_include_manual_transcriptions,
    clerk_user_id, idexx_username, idexx_password, idexx_company_id, weave_username,
    weave_password, created_at, updated_at)
SELECT legacy_gen.user_of(c, j),
    lower(format('%s.%s%s@%s.com', legacy_gen.first_name(c * 3 + j), legacy_gen.last_name(c * 3 + j),
        c, legacy_gen.clinic_slug(c))),
    legacy_gen.first_name(c * 3 + j), legacy_gen.last_name(c * 3 + j),
    (ARRAY['practice_owner','veterinarian','vet_tech'])[j]::user_role,
    legacy_gen.clinic_name(c), 'frontdesk@' || legacy_gen.clinic_slug(c) || '.com',
    legacy_gen.phone(9000 + c, c + j),
    CASE WHEN j = 1 THEN format('https://img.clerk.com/avatars/%s.png', md5('av' || c)) END,
    CASE WHEN j = 2 THEN 'CA-VET-' || (20000 + c) END, j <> 3 OR c % 2 = 0,
    CASE WHEN j = 1 AND c % 2 = 1 THEN jsonb_build_object('idexx', jsonb_build_object('connected', true)) END,
    CASE WHEN j = 1 THEN jsonb_build_array(CASE WHEN c % 2 = 1 THEN 'idexx' ELSE 'none' END) END,
    -- The settings columns hold clinic settings: the old app wrote the same values on every
    -- user of a clinic.
    format('Hi, this is %s calling to check on your pet. Please call us back.', legacy_gen.clinic_name(c)),
    c % 3 <> 0, 60,
    c % 10 = 0, CASE WHEN c % 10 = 0 THEN 'Front Desk Test' END,
    CASE WHEN c % 10 = 0 THEN 'test@' || legacy_gen.clinic_slug(c) || '.com' END,
    CASE WHEN c % 10 = 0 THEN legacy_gen.phone(9500 + c, 0) END,
    legacy_gen.phone(9700 + c, 1),
    c % 4 = 0,
    time '10:00' + (c % 2) * interval '1 hour', time '12:00' + (c % 2) * interval '1 hour',
    time '16:00' - (c % 3) * interval '1 hour', time '19:00' - (c % 3) * interval '1 hour',
    1 + c % 2, 2 + c % 2, 3 - c % 2, c % 5 <> 0, true,
    -- A few users never signed in through Clerk: the importer gives them the placeholder id.
    CASE WHEN c % 7 = 3 AND j = 3 THEN NULL ELSE 'user_' || substr(md5('clerk' || c || '-' || j), 1, 24) END,
    CASE WHEN j = 1 AND c % 2 = 1 THEN 'idexx-' || legacy_gen.clinic_slug(c) END,
    CASE WHEN j = 1 AND c % 2 = 1 THEN 'enc:v1:' || md5('idexx-pw' || c) END,
    CASE WHEN j = 1 AND c % 2 = 1 THEN (4000 + c)::text END,
    CASE WHEN j = 1 AND c % 3 = 0 THEN 'weave-' || legacy_gen.clinic_slug(c) END,
    CASE WHEN j = 1 AND c % 3 = 0 THEN 'enc:v1:' || md5('weave-pw' || c) END,
    legacy_gen.at(-96 * 190 + c * 3 + j), legacy_gen.at(-96 * 10 + c * 3 + j)
FROM generate_series(1, legacy_gen.nc()) c, generate_series(1, 3) j;

INSERT INTO user_clinic_access (id, user_id, clinic_id, role, is_primary, granted_by, granted_at, created_at)
SELECT legacy_gen.id(3, (c - 1) * 3 + j), legacy_gen.user_of(c, j), legacy_gen.id(1, c),
    (ARRAY['owner','admin','member'])[j], true,
    CASE WHEN j > 1 THEN legacy_gen.user_of(c, 1) END,
    legacy_gen.at(-96 * 180 + c), legacy_gen.at(-96 * 180 + c)
FROM generate_series(1, legacy_gen.nc()) c, generate_series(1, 3) j;

INSERT INTO clinic_invitations (id, clinic_id, email, token, role, status, accepted_by, accepted_at,
    expires_at, invited_by, created_at)
SELECT legacy_gen.id(45, c), legacy_gen.id(1, c), format('new.hire%s@%s.com', c, legacy_gen.clinic_slug(c)),
    legacy_gen.id(4500, c), legacy_gen.pick(ARRAY['member','admin','viewer'], c),
    legacy_gen.pick(ARRAY['pending','accepted','expired','revoked'], c),
    CASE WHEN c % 4 = 1 THEN legacy_gen.user_of(c, 3) END,
    CASE WHEN c % 4 = 1 THEN legacy_gen.at(-96 * 170 + c) END,
    legacy_gen.at(-96 * 165 + c), legacy_gen.user_of(c, 1), legacy_gen.at(-96 * 172 + c)
FROM generate_series(1, legacy_gen.nc()) c;

INSERT INTO providers (id, clinic_id, neo_provider_id, name, role, is_active, created_at, updated_at)
SELECT legacy_gen.id(46, (c - 1) * 2 + j), legacy_gen.id(1, c), 'neo-prov-' || (c * 10 + j),
    'Dr. ' || legacy_gen.first_name(c + j * 5) || ' ' || legacy_gen.last_name(c * 7 + j),
    CASE WHEN j = 1 THEN 'veterinarian' ELSE 'technician' END, j = 1 OR c % 3 <> 0,
    legacy_gen.at(-96 * 150 + c), legacy_gen.at(-96 * 150 + c)
FROM generate_series(1, legacy_gen.nc()) c, generate_series(1, 2) j;

-- The old way to find a clinic's assistant (by clinic name) and the newer mapping table.
INSERT INTO clinic_assistants (id, clinic_name, assistant_id, phone_number_id, is_active, created_at, updated_at)
SELECT legacy_gen.id(11, c), legacy_gen.clinic_name(c), legacy_gen.vapi('asst-in', c),
    legacy_gen.vapi('pn-in', c), c % 17 <> 0, legacy_gen.at(-96 * 160 + c), legacy_gen.at(-96 * 160 + c)
FROM generate_series(1, legacy_gen.nc()) c;

INSERT INTO vapi_assistant_mappings (id, assistant_id, assistant_name, assistant_type, clinic_id,
    environment, is_active, pims_clinic_id, created_at, updated_at)
SELECT legacy_gen.id(12, (c - 1) * 2 + j),
    legacy_gen.vapi(CASE WHEN j = 1 THEN 'asst-in' ELSE 'asst-out' END, c),
    format('%s %s', legacy_gen.clinic_name(c), CASE WHEN j = 1 THEN 'Inbound' ELSE 'Discharge Follow-up' END),
    CASE WHEN j = 1 THEN 'inbound' ELSE 'outbound' END, legacy_gen.id(1, c),
    'production', true, NULL, legacy_gen.at(-96 * 158 + c), legacy_gen.at(-96 * 158 + c)
FROM generate_series(1, legacy_gen.nc()) c, generate_series(1, 2) j;

-- Credentials: opaque ciphertext, copied as they are (never printed).
INSERT INTO idexx_credentials (id, clinic_id, user_id, username_encrypted, password_encrypted,
    encryption_key_id, company_id_encrypted, is_active, sync_enabled, validation_status,
    last_used_at, last_validated_at, created_at, updated_at)
SELECT legacy_gen.id(13, c), legacy_gen.id(1, c), legacy_gen.user_of(c, 1),
    'enc:v1:' || md5('idexx-user' || c), 'enc:v1:' || md5('idexx-pass' || c), 'kms-key-2025-01',
    decode(md5('idexx-company' || c), 'hex'), true, c % 5 <> 0,
    legacy_gen.pick(ARRAY['valid','valid','invalid','pending'], c),
    legacy_gen.at(-20 + c), legacy_gen.at(-96 * 3 + c), legacy_gen.at(-96 * 140 + c), legacy_gen.at(-20 + c)
FROM generate_series(1, legacy_gen.nc()) c WHERE c % 2 = 1;

INSERT INTO weave_credentials (id, user_id, clinic_id, username_encrypted, password_encrypted,
    encryption_key_id, is_active, last_used_at, created_at, updated_at)
SELECT legacy_gen.id(14, c), legacy_gen.user_of(c, 1), legacy_gen.id(1, c),
    decode(md5('weave-user' || c), 'hex'), decode(md5('weave-pass' || c), 'hex'), 'default',
    true, legacy_gen.at(-30 + c), legacy_gen.at(-96 * 120 + c), legacy_gen.at(-30 + c)
FROM generate_series(1, legacy_gen.nc()) c WHERE c % 3 = 0;

INSERT INTO idexx_sync_sessions (id, clinic_id, user_id, credential_id, session_type, status,
    appointments_synced, consultations_synced, consultations_failed, discharge_calls_scheduled,
    started_at, completed_at, next_scheduled_sync, error_message, error_details, metadata,
    created_at, updated_at)
SELECT legacy_gen.id(15, (c - 1) * 2 + j), legacy_gen.id(1, c), legacy_gen.user_of(c, 1),
    legacy_gen.id(13, c), CASE WHEN j = 1 THEN 'full' ELSE 'incremental' END,
    CASE WHEN j = 2 AND c % 5 = 1 THEN 'failed' ELSE 'completed' END,
    12 + c % 9, 10 + c % 7, CASE WHEN j = 2 AND c % 5 = 1 THEN 3 ELSE 0 END, 8 + c % 5,
    legacy_gen.at(-96 * j + c), legacy_gen.at(-96 * j + c + 1), legacy_gen.iso(legacy_gen.at(c + 4)),
    CASE WHEN j = 2 AND c % 5 = 1 THEN 'Neo session expired' END,
    CASE WHEN j = 2 AND c % 5 = 1 THEN jsonb_build_object('step', 'login', 'http_status', 401) END,
    jsonb_build_object('trigger', 'cron'), legacy_gen.at(-96 * j + c), legacy_gen.at(-96 * j + c + 1)
FROM generate_series(1, legacy_gen.nc()) c, generate_series(1, 2) j WHERE c % 2 = 1;

INSERT INTO idexx_sync_audit_log (id, clinic_id, user_id, sync_session_id, action_type, resource_type,
    resource_id, status, details, ip_address, user_agent, created_at)
SELECT legacy_gen.id(16, (c - 1) * 2 + j), legacy_gen.id(1, c), legacy_gen.user_of(c, 1),
    legacy_gen.id(15, (c - 1) * 2 + j), CASE WHEN j = 1 THEN 'sync_start' ELSE 'sync_complete' END,
    'appointment', 'neo-appt-' || (c * 100 + j), 'success', jsonb_build_object('count', 10 + j),
    '10.0.' || (c % 250) || '.' || j, 'odis-sync/2.3', legacy_gen.at(-96 * j + c)
FROM generate_series(1, legacy_gen.nc()) c, generate_series(1, 2) j WHERE c % 2 = 1;

INSERT INTO case_sync_audits (id, clinic_id, sync_type, status, error_message, appointments_found,
    cases_created, cases_updated, cases_skipped, cases_deleted, total_items, processed_items,
    progress_percentage, last_progress_update, created_at, updated_at)
SELECT legacy_gen.id(17, c), legacy_gen.id(1, c), legacy_gen.pick(ARRAY['inbound','cases','reconciliation'], c),
    legacy_gen.pick(ARRAY['completed','completed','failed','in_progress'], c),
    CASE WHEN c % 4 = 2 THEN 'PIMS timeout after 30s' END, 20 + c % 10, 5 + c % 4, 3, 1, 0,
    20 + c % 10, CASE WHEN c % 4 = 3 THEN 10 ELSE 20 + c % 10 END,
    CASE WHEN c % 4 = 3 THEN 50 ELSE 100 END, legacy_gen.at(-50 + c), legacy_gen.at(-60 + c),
    legacy_gen.at(-50 + c)
FROM generate_series(1, legacy_gen.nc()) c;

INSERT INTO clinic_schedule_config (id, clinic_id, open_time, close_time, days_of_week,
    slot_duration_minutes, default_capacity, sync_horizon_days, stale_threshold_minutes, timezone,
    idexx_config_snapshot, sync_schedules, scheduling_room_names, target_room_id, target_room_name,
    vapi_availability_start_time, vapi_availability_end_time, created_at, updated_at)
SELECT legacy_gen.id(19, c), legacy_gen.id(1, c), time '08:00' + (c % 2) * interval '30 minutes',
    time '18:00', CASE WHEN c % 2 = 0 THEN ARRAY[1,2,3,4,5,6] ELSE ARRAY[1,2,3,4,5] END,
    legacy_gen.pick(ARRAY['15','20','30'], c)::int, 1 + c % 3, 14, 60, legacy_gen.tz(c),
    CASE WHEN c % 2 = 1 THEN jsonb_build_object('rooms', jsonb_build_array('Exam 1', 'Exam 2')) END,
    jsonb_build_array(jsonb_build_object('cron', '0 */2 * * *', 'type', 'slots')),
    ARRAY['Exam 1','Exam 2'], CASE WHEN c % 2 = 1 THEN 'room-1' END,
    CASE WHEN c % 2 = 1 THEN 'Exam 1' END, '09:00', '17:00',
    legacy_gen.at(-96 * 100 + c), legacy_gen.at(-96 * 5 + c)
FROM generate_series(1, legacy_gen.nc()) c;

INSERT INTO clinic_blocked_periods (id, clinic_id, name, start_time, end_time, days_of_week,
    is_active, created_at, updated_at)
SELECT legacy_gen.id(20, c), legacy_gen.id(1, c), 'Lunch', time '12:00', time '13:00',
    ARRAY[1,2,3,4,5], c % 9 <> 0, legacy_gen.at(-96 * 100 + c), legacy_gen.at(-96 * 100 + c)
FROM generate_series(1, legacy_gen.nc()) c;

INSERT INTO schedule_syncs (id, clinic_id, sync_start_date, sync_end_date, status, slots_created,
    slots_updated, appointments_added, appointments_updated, appointments_removed,
    conflicts_detected, conflicts_resolved, idexx_config, error_message, error_details,
    started_at, completed_at, duration_ms, created_at, sync_type, progress_percentage,
    processing_date, failed_dates, partial_success)
SELECT legacy_gen.id(21, c), legacy_gen.id(1, c), date '2026-01-05', date '2026-01-19',
    CASE WHEN c % 6 = 5 THEN 'failed' ELSE 'completed' END, 0, 0, 6 + c % 4, 2, 1,
    c % 3, c % 3, jsonb_build_object('rooms', 2), CASE WHEN c % 6 = 5 THEN 'Neo returned 502' END,
    CASE WHEN c % 6 = 5 THEN jsonb_build_object('retries', 3) END,
    legacy_gen.at(-10 + c), legacy_gen.at(-10 + c) + interval '42 seconds', 42000 + c,
    legacy_gen.at(-10 + c), 'appointments', 100, date '2026-01-05',
    CASE WHEN c % 6 = 5 THEN ARRAY['2026-01-07'] END, c % 6 = 5
FROM generate_series(1, legacy_gen.nc()) c;

INSERT INTO clinic_case_type_cadence (id, clinic_id, case_type, auto_schedule_call,
    auto_schedule_email, call_delay_days, email_delay_days, preferred_call_time,
    preferred_email_time, never_auto_schedule, created_at, updated_at)
SELECT legacy_gen.id(27, (c - 1) * 2 + j), legacy_gen.id(1, c),
    CASE WHEN j = 1 THEN 'surgery' ELSE 'euthanasia' END, j = 1, j = 1,
    CASE WHEN j = 1 THEN 1 ELSE 0 END, 1, time '10:00', time '09:00', j = 2,
    legacy_gen.at(-96 * 90 + c), legacy_gen.at(-96 * 90 + c)
FROM generate_series(1, legacy_gen.nc()) c, generate_series(1, 2) j;

INSERT INTO auto_scheduling_config (id, clinic_id, is_enabled, auto_call_enabled, auto_email_enabled,
    call_delay_days, email_delay_days, preferred_call_time, preferred_email_time,
    scheduling_criteria, created_at, updated_at)
SELECT legacy_gen.id(28, c), legacy_gen.id(1, c), c % 4 <> 0, true, c % 3 <> 0, 2, 1, '16:00', '10:00',
    jsonb_build_object('case_types', jsonb_build_array('surgery', 'checkup'), 'exclude_euthanasia', true),
    legacy_gen.at(-96 * 80 + c), legacy_gen.at(-96 * 8 + c)
FROM generate_series(1, legacy_gen.nc()) c;

-- The PIMS identity of each odd clinic's first canonical patient (docs/spec: entity types are
-- client, patient, provider, consultation; the old code barely wrote this table).
INSERT INTO pims_mappings (id, entity_type, entity_id, pims_type, external_id, external_data,
    last_synced_at, sync_status, created_at, updated_at)
SELECT legacy_gen.id(47, c), 'patient', legacy_gen.id(5, (c - 1) * legacy_gen.np() + 1), 'idexx',
    'pt-' || (c * 100000 + 1), jsonb_build_object('source', 'neo'), legacy_gen.at(-5 + c), 'active',
    legacy_gen.at(-96 * 130 + c), legacy_gen.at(-5 + c)
FROM generate_series(1, legacy_gen.nc()) c WHERE c % 2 = 1;
