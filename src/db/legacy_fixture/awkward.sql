-- The rows real old data has that break a V2 rule or move shape in an unusual way, each with a
-- fixed id (tag 0xAA) that bench::legacy_gen::awkward names. They live in clinics 1 and 2.

-- A user in two clinics (and not yet in Clerk: no clerk_user_id).
INSERT INTO users (id, email, first_name, last_name, role, clinic_name, clinic_email, clinic_phone,
    onboarding_completed, clerk_user_id, created_at, updated_at, voicemail_message,
    voicemail_detection_enabled, default_schedule_delay_minutes, test_mode_enabled, test_contact_name,
    test_contact_email, test_contact_phone, emergency_phone, voicemail_hangup_on_detection,
    preferred_email_start_time, preferred_email_end_time, preferred_call_start_time,
    preferred_call_end_time, email_delay_days, call_delay_days, max_call_retries,
    batch_include_idexx_notes, batch_include_manual_transcriptions)
SELECT legacy_gen.id(170, 1), 'dana.relief@vetstaffing.example', 'Dana', 'Relief', 'veterinarian',
    clinic_name, clinic_email, clinic_phone, true, NULL, legacy_gen.at(-96 * 150), legacy_gen.at(-96 * 150),
    -- the clinic's settings, as the old app copied them onto every user of clinic 1
    voicemail_message, voicemail_detection_enabled, default_schedule_delay_minutes, test_mode_enabled,
    test_contact_name, test_contact_email, test_contact_phone, emergency_phone,
    voicemail_hangup_on_detection, preferred_email_start_time, preferred_email_end_time,
    preferred_call_start_time, preferred_call_end_time, email_delay_days, call_delay_days,
    max_call_retries, batch_include_idexx_notes, batch_include_manual_transcriptions
FROM users WHERE id = legacy_gen.user_of(1, 1);
INSERT INTO user_clinic_access (id, user_id, clinic_id, role, is_primary, granted_by, granted_at, created_at)
VALUES (legacy_gen.id(170, 2), legacy_gen.id(170, 1), legacy_gen.id(1, 1), 'admin', true,
        legacy_gen.user_of(1, 1), legacy_gen.at(-96 * 150), legacy_gen.at(-96 * 150)),
       (legacy_gen.id(170, 3), legacy_gen.id(170, 1), legacy_gen.id(1, 2), 'member', false,
        legacy_gen.user_of(2, 1), legacy_gen.at(-96 * 140), legacy_gen.at(-96 * 140));

-- A user without an e-mail (V2 users.email is NOT NULL).
INSERT INTO users (id, email, first_name, last_name, role, clinic_name, onboarding_completed,
    clerk_user_id, created_at, updated_at, voicemail_message, voicemail_detection_enabled,
    default_schedule_delay_minutes, test_mode_enabled, test_contact_name, test_contact_email,
    test_contact_phone, emergency_phone, voicemail_hangup_on_detection, preferred_email_start_time,
    preferred_email_end_time, preferred_call_start_time, preferred_call_end_time, email_delay_days,
    call_delay_days, max_call_retries, batch_include_idexx_notes, batch_include_manual_transcriptions)
SELECT legacy_gen.id(170, 4), NULL, 'Temp', 'Kiosk', 'vet_tech', clinic_name, false,
    'user_' || substr(md5('kiosk'), 1, 24), legacy_gen.at(-96 * 90), legacy_gen.at(-96 * 90),
    voicemail_message, voicemail_detection_enabled, default_schedule_delay_minutes, test_mode_enabled,
    test_contact_name, test_contact_email, test_contact_phone, emergency_phone,
    voicemail_hangup_on_detection, preferred_email_start_time, preferred_email_end_time,
    preferred_call_start_time, preferred_call_end_time, email_delay_days, call_delay_days,
    max_call_retries, batch_include_idexx_notes, batch_include_manual_transcriptions
FROM users WHERE id = legacy_gen.user_of(1, 1);
INSERT INTO user_clinic_access (id, user_id, clinic_id, role, is_primary, granted_at, created_at)
VALUES (legacy_gen.id(170, 5), legacy_gen.id(170, 4), legacy_gen.id(1, 1), 'member', true,
    legacy_gen.at(-96 * 90), legacy_gen.at(-96 * 90));

-- A case whose per-case patient has no canonical row (a walk-in never matched), with a completed
-- call carrying every analysis blob, and its e-mail.
INSERT INTO cases (id, clinic_id, user_id, created_by, status, type, visibility, source, metadata,
    entity_extraction, call_enabled, email_enabled, created_at, updated_at)
VALUES (legacy_gen.id(170, 10), legacy_gen.id(1, 1), legacy_gen.user_of(1, 2), legacy_gen.user_of(1, 2),
    'completed', 'emergency', 'private', 'manual', '{"walk_in": true}',
    '{"patient": {"name": "Pickles", "species": "Feline"}}', true, true,
    timestamptz '2026-01-08 20:00:00+00', timestamptz '2026-01-08 21:00:00+00');
INSERT INTO patients (id, case_id, clinic_id, user_id, canonical_patient_id, client_id, name, species,
    breed, sex, date_of_birth, weight_kg, owner_name, owner_phone, owner_email, source, created_at)
VALUES (legacy_gen.id(170, 11), legacy_gen.id(170, 10), legacy_gen.id(1, 1), legacy_gen.user_of(1, 2),
    NULL, NULL, 'Pickles', 'Feline', 'Domestic Shorthair', 'Female Spayed', 'about 6 years', 4.2,
    'Jordan Walkin', '(408) 555-0199', 'jordan.walkin@example.com', 'manual',
    timestamptz '2026-01-08 20:00:00+00');
INSERT INTO scheduled_discharge_calls (id, user_id, case_id, assistant_id, customer_phone,
    dynamic_variables, scheduled_for, status, vapi_call_id, started_at, ended_at, duration_seconds,
    ended_reason, cost, transcript, summary, success_evaluation, structured_data, user_sentiment,
    call_analysis, call_outcome_data, pet_health_data, medication_compliance_data,
    owner_sentiment_data, escalation_data, follow_up_data, attention_types, attention_severity,
    attention_summary, attention_flagged_at, metadata, created_at, updated_at)
VALUES (legacy_gen.id(170, 12), legacy_gen.user_of(1, 2), legacy_gen.id(170, 10), legacy_gen.vapi('asst-out', 1),
    '+14085550199', '{"pet_name": "Pickles", "owner_name": "Jordan"}', '2026-01-10T01:00:00.000Z',
    'completed', 'awkward-call-with-blobs', timestamptz '2026-01-10 01:00:00+00',
    timestamptz '2026-01-10 01:03:20+00', 200, 'customer-ended-call', 0.2113,
    'AI: How is Pickles? User: She is hiding and not eating.', 'Pickles is not eating; owner worried.',
    'false', '{"call_outcome": {"call_outcome": "concerns_raised"}}', 'negative',
    '{"summary": "Pickles is not eating; owner worried.", "successEvaluation": "false", "structuredData": {"call_outcome": {"call_outcome": "concerns_raised"}}}',
    '{"call_outcome": "concerns_raised", "outcome_summary": "Owner reports no appetite"}',
    '{"pet_recovery_status": "worsening", "symptoms_reported": ["not eating", "hiding"]}',
    '{"medication_compliance": "partial", "medication_issues": ["cat spits out pills"]}',
    '{"owner_sentiment": "negative", "concerns": ["cost"]}',
    '{"escalation_triggered": true, "escalation_reason": "Not eating for 48 hours"}',
    '{"follow_up_call_needed": true, "recheck_reminder_delivered": false}',
    ARRAY['health_concern', 'callback_request'], 'urgent', 'Pickles not eating for 48 hours',
    timestamptz '2026-01-10 01:04:00+00', '{"retry_count": 0}',
    timestamptz '2026-01-08 21:00:00+00', timestamptz '2026-01-10 01:04:00+00');
INSERT INTO scheduled_discharge_emails (id, user_id, case_id, recipient_email, recipient_name, subject,
    html_content, scheduled_for, status, sent_at, resend_email_id, created_at, updated_at)
VALUES (legacy_gen.id(170, 13), legacy_gen.user_of(1, 2), legacy_gen.id(170, 10), 'jordan.walkin@example.com',
    'Jordan Walkin', 'Pickles''s Visit Summary', '<p>Pickles''s visit</p>', timestamptz '2026-01-09 17:00:00+00',
    'sent', timestamptz '2026-01-09 17:00:02+00', 're_awkward_1', timestamptz '2026-01-08 21:00:00+00',
    timestamptz '2026-01-09 17:00:02+00');

-- A case of a clinic that does not exist (deleted clinic, no FK in the old dump), no user either.
INSERT INTO cases (id, clinic_id, user_id, status, type, visibility, source, created_at, updated_at)
VALUES (legacy_gen.id(170, 20), legacy_gen.id(1, 999999), NULL, 'draft', 'checkup', 'private', 'manual',
    timestamptz '2026-01-02 17:00:00+00', timestamptz '2026-01-02 17:00:00+00');

-- A discharge call whose case was deleted (dangling case_id; V2 outbound_calls.case_id is NOT NULL).
INSERT INTO scheduled_discharge_calls (id, user_id, case_id, assistant_id, customer_phone,
    dynamic_variables, scheduled_for, status, created_at, updated_at)
VALUES (legacy_gen.id(170, 30), legacy_gen.user_of(1, 1), legacy_gen.id(6, 999999), legacy_gen.vapi('asst-out', 1),
    '(408) 555-0142', '{"pet_name": "Ghost"}', '2026-01-05T01:00:00.000Z', 'failed',
    timestamptz '2026-01-03 17:00:00+00', timestamptz '2026-01-05 01:05:00+00');

-- Two PIMS appointments of clinic 1 in the same room at overlapping times (a double booking the
-- old table allowed; the V2 EXCLUDE does not).
INSERT INTO pims_appointments (id, clinic_id, time_range, source, neo_appointment_id, patient_name,
    client_name, client_phone, provider_name, room_id, appointment_type, status, created_at, updated_at)
VALUES (legacy_gen.id(170, 40), legacy_gen.id(1, 1),
        tstzrange(timestamptz '2026-02-02 17:00:00+00', timestamptz '2026-02-02 17:30:00+00'),
        'idexx', 'neo-overlap-1', 'Rex', 'Sam Doublebook', '(408) 555-0140', 'Dr. Lee', 'room-1',
        'Wellness Exam', 'scheduled', timestamptz '2026-01-20 17:00:00+00', timestamptz '2026-01-20 17:00:00+00'),
       (legacy_gen.id(170, 41), legacy_gen.id(1, 1),
        tstzrange(timestamptz '2026-02-02 17:15:00+00', timestamptz '2026-02-02 17:45:00+00'),
        'idexx', 'neo-overlap-2', 'Whiskers', 'Alex Doublebook', '(408) 555-0141', 'Dr. Lee', 'room-1',
        'Recheck', 'scheduled', timestamptz '2026-01-20 17:01:00+00', timestamptz '2026-01-20 17:01:00+00');

-- A voicemail whose caller number is not a phone number (V2 clinic_messages.caller_phone is the
-- only way to call back).
INSERT INTO clinic_messages (id, clinic_id, caller_name, caller_phone, message_content, message_type,
    status, priority, created_at, updated_at)
VALUES (legacy_gen.id(170, 50), legacy_gen.id(1, 1), 'Unknown caller', 'call me back',
    'Hi, it is about my cat, please call me back.', 'voicemail', 'new', 'normal',
    timestamptz '2026-01-09 18:00:00+00', timestamptz '2026-01-09 18:00:00+00');

-- A withheld caller id on an inbound call, and a refill request with a truncated number.
INSERT INTO inbound_vapi_calls (id, vapi_call_id, assistant_id, user_id, clinic_name, customer_phone,
    customer_number, status, started_at, ended_at, duration_seconds, call_analysis, summary,
    structured_data, outcome, created_at, updated_at)
VALUES (legacy_gen.id(170, 51), 'awkward-inbound-anonymous', legacy_gen.vapi('asst-in', 1),
    legacy_gen.user_of(1, 1), legacy_gen.clinic_name(1), 'anonymous', 'anonymous', 'completed',
    timestamptz '2026-01-09 19:00:00+00', timestamptz '2026-01-09 19:01:00+00', 60,
    '{"summary": "Caller asked for opening hours", "successEvaluation": "true"}',
    'Caller asked for opening hours', '{"card_type": "info"}', 'Info',
    timestamptz '2026-01-09 19:00:00+00', timestamptz '2026-01-09 19:01:00+00');
INSERT INTO refill_requests (id, clinic_id, client_name, client_phone, pet_name, medication_name,
    status, created_at, updated_at)
VALUES (legacy_gen.id(170, 52), legacy_gen.id(1, 2), 'Pat Partial', '12345', 'Biscuit', 'Apoquel',
    'pending', timestamptz '2026-01-09 20:00:00+00', timestamptz '2026-01-09 20:00:00+00');
