-- The big tables: owners, canonical patients, cases with their per-case patient, one discharge
-- call and one e-mail per case, and inbound calls. Within clinic c: owner l (1..nl), canonical
-- patient j (1..np, owned by owner (j-1) % nl + 1), case i (1..nk, of canonical patient
-- (i-1) % np + 1, except every eighth case, which was never linked to a canonical patient).

INSERT INTO clients (id, clinic_id, first_name, last_name, display_name, phone, phone_secondary,
    email, address_line1, city, state, postal_code, country, preferred_contact_method,
    communication_opt_out, is_active, first_visit_at, last_visit_at, metadata, created_at, updated_at)
SELECT legacy_gen.id(4, (c - 1) * legacy_gen.nl() + l), legacy_gen.id(1, c),
    legacy_gen.first_name(l), legacy_gen.last_name(c + l),
    legacy_gen.first_name(l) || ' ' || legacy_gen.last_name(c + l),
    CASE WHEN l % 9 = 0 THEN NULL ELSE legacy_gen.phone(l, l) END,
    CASE WHEN l % 5 = 0 THEN legacy_gen.phone(5000 + l, l + 1) END,
    CASE WHEN l % 7 = 0 THEN NULL
         ELSE format('%s.%s%s@example.com', legacy_gen.first_name(l), legacy_gen.last_name(c + l), l) END,
    format('%s Oak Ave', 10 + l), legacy_gen.city(c + l), 'CA', '95' || lpad((l % 1000)::text, 3, '0'),
    'US', CASE WHEN l % 4 = 0 THEN 'email' ELSE 'phone' END, l % 23 = 0, true,
    legacy_gen.at(l), legacy_gen.at(l * 3), jsonb_build_object('neo_client_id', 'cl-' || (c * 100000 + l)),
    legacy_gen.at(l), legacy_gen.at(l * 3)
FROM generate_series(1, legacy_gen.nc()) c, generate_series(1, legacy_gen.nl()) l;

INSERT INTO canonical_patients (id, clinic_id, client_id, name, species, breed, sex, color,
    date_of_birth, microchip_id, is_deceased, deceased_at, allergies, chronic_conditions,
    is_active, first_visit_at, last_visit_at, visit_count, metadata, created_at, updated_at)
SELECT legacy_gen.id(5, (c - 1) * legacy_gen.np() + j), legacy_gen.id(1, c),
    legacy_gen.id(4, (c - 1) * legacy_gen.nl() + (j - 1) % legacy_gen.nl() + 1),
    legacy_gen.pet_name(j), legacy_gen.species(j), legacy_gen.breed(j),
    legacy_gen.pick(ARRAY['Male Neutered','Female Spayed','Male','Female'], j),
    legacy_gen.pick(ARRAY['Black','Brown','Tabby','White','Golden','Brindle'], j),
    date '2012-01-01' + (j * 97 % 4000), CASE WHEN j % 3 = 0 THEN '9851' || lpad(j::text, 11, '0') END,
    j % 41 = 0, CASE WHEN j % 41 = 0 THEN legacy_gen.at(j * 2) END,
    CASE WHEN j % 6 = 0 THEN ARRAY['Penicillin'] END, CASE WHEN j % 10 = 0 THEN ARRAY['Diabetes'] END,
    j % 41 <> 0, legacy_gen.at(j), legacy_gen.at(j * 2), 1 + j % 5,
    jsonb_build_object('neo_patient_id', 'pt-' || (c * 100000 + j)), legacy_gen.at(j), legacy_gen.at(j * 2)
FROM generate_series(1, legacy_gen.nc()) c, generate_series(1, legacy_gen.np()) j;

-- The numbering every per-case table shares.
CREATE TEMP TABLE legacy_gen_case AS
SELECT c, i, (c - 1) * legacy_gen.nk() + i AS k,
    CASE WHEN i % 8 = 0 THEN NULL ELSE (c - 1) * legacy_gen.np() + (i - 1) % legacy_gen.np() + 1 END AS canon,
    (i - 1) % legacy_gen.np() + 1 AS j,
    ((i - 1) % legacy_gen.np()) % legacy_gen.nl() + 1 AS l,
    legacy_gen.user_of(c, 1 + i % 2) AS vet,
    legacy_gen.at(i * 4 + c) AS t
FROM generate_series(1, legacy_gen.nc()) c, generate_series(1, legacy_gen.nk()) i;

INSERT INTO cases (id, clinic_id, user_id, created_by, updated_by, canonical_patient_id, status, type,
    visibility, source, external_id, metadata, entity_extraction, extreme_case_check, scheduled_at,
    auto_scheduled_at, scheduling_source, is_urgent, is_starred, call_enabled, email_enabled,
    cadence_source, call_delay_days, email_delay_days, detected_case_type, created_at, updated_at)
SELECT legacy_gen.id(6, k), legacy_gen.id(1, c), vet, vet, vet, legacy_gen.id(5, canon),
    (ARRAY['completed','completed','reviewed','ongoing','draft'])[1 + i % 5]::"CaseStatus",
    (ARRAY['checkup','surgery','follow_up','checkup','emergency'])[1 + i % 5]::"CaseType",
    'private', legacy_gen.pick(ARRAY['idexx_neo','idexx_neo','manual','mobile_app'], i),
    CASE WHEN i % 4 <> 2 THEN 'neo-consult-' || (c * 1000000 + i) END,
    jsonb_build_object('idexx', jsonb_build_object('appointment_type',
        legacy_gen.pick(ARRAY['Wellness Exam','Dental Cleaning','Spay','Recheck','Vomiting'], i),
        'provider', 'Dr. ' || legacy_gen.last_name(c * 7 + 1))),
    jsonb_build_object('patient', jsonb_build_object('name', legacy_gen.pet_name(j), 'species', legacy_gen.species(j)),
        'clinical', jsonb_build_object(
            'diagnoses', jsonb_build_array(legacy_gen.pick(ARRAY['Otitis externa','Dental disease',
                'Gastroenteritis','Post-op recovery','Healthy'], i)),
            'medications', CASE WHEN i % 3 = 0 THEN jsonb_build_array(jsonb_build_object(
                'name', 'Carprofen', 'dosage', '75 mg', 'frequency', 'every 12 hours')) ELSE '[]'::jsonb END,
            'followUpInstructions', 'Recheck in 10 days if not improving')),
    CASE WHEN i % 50 = 7 THEN jsonb_build_object('is_extreme', true, 'reason', 'Content contains: "euthanasia"') END,
    t + interval '1 day', CASE WHEN i % 3 = 0 THEN t + interval '1 hour' END,
    CASE WHEN i % 3 = 0 THEN 'auto' ELSE 'manual' END, i % 29 = 0, i % 31 = 0,
    i % 10 <> 0, true, CASE WHEN i % 5 = 1 THEN 'case_type' ELSE 'default' END, 1 + i % 2, 1,
    CASE WHEN i % 5 = 1 THEN 'surgery' END, t, t + interval '2 hours'
FROM legacy_gen_case;

INSERT INTO patients (id, case_id, clinic_id, user_id, created_by, updated_by, canonical_patient_id,
    client_id, name, species, breed, sex, date_of_birth, weight_kg, owner_name, owner_phone,
    owner_email, external_id, source, metadata, created_at, updated_at)
SELECT legacy_gen.id(7, k), legacy_gen.id(6, k), legacy_gen.id(1, c), vet, vet, vet,
    legacy_gen.id(5, canon), CASE WHEN canon IS NOT NULL THEN legacy_gen.id(4, (c - 1) * legacy_gen.nl() + l) END,
    legacy_gen.pet_name(j), legacy_gen.species(j), legacy_gen.breed(j),
    legacy_gen.pick(ARRAY['Male Neutered','Female Spayed','Male','Female'], j),
    -- The PIMS sent dates in two spellings.
    CASE WHEN i % 2 = 0 THEN to_char(date '2012-01-01' + (j * 97 % 4000), 'YYYY-MM-DD')
         ELSE to_char(date '2012-01-01' + (j * 97 % 4000), 'MM/DD/YYYY') END,
    round((3 + (j % 40))::numeric + 0.4, 1),
    legacy_gen.first_name(l) || ' ' || legacy_gen.last_name(c + l),
    CASE WHEN l % 9 = 0 THEN NULL ELSE legacy_gen.phone(l, i) END,
    CASE WHEN l % 7 = 0 THEN NULL
         WHEN i % 3 = 0 THEN upper(format('%s.%s%s@example.com', legacy_gen.first_name(l), legacy_gen.last_name(c + l), l))
         ELSE format('%s.%s%s@example.com', legacy_gen.first_name(l), legacy_gen.last_name(c + l), l) END,
    'pt-' || (c * 100000 + j), legacy_gen.pick(ARRAY['idexx_neo','idexx_neo','manual','mobile_app'], i),
    jsonb_build_object('visit_reason', 'Follow-up'), t, t + interval '2 hours'
FROM legacy_gen_case;

INSERT INTO scheduled_discharge_calls (id, user_id, case_id, assistant_id, outbound_phone_number_id,
    customer_phone, dynamic_variables, scheduled_for, status, vapi_call_id, qstash_message_id,
    started_at, ended_at, duration_seconds, ended_reason, cost, recording_url, stereo_recording_url,
    transcript, transcript_messages, cleaned_transcript, summary, success_evaluation, structured_data,
    user_sentiment, call_analysis, call_outcome_data, pet_health_data, medication_compliance_data,
    owner_sentiment_data, escalation_data, follow_up_data, attention_types, attention_severity,
    attention_summary, attention_flagged_at, urgent_reason_summary, review_category,
    condition_category, knowledge_base_used, metadata, created_at, updated_at)
SELECT legacy_gen.id(8, k), vet, legacy_gen.id(6, k), legacy_gen.vapi('asst-out', c),
    legacy_gen.vapi('pn-out', c), COALESCE(legacy_gen.phone(l, i + 2), legacy_gen.phone(l, 2)),
    jsonb_build_object('pet_name', legacy_gen.pet_name(j), 'owner_name', legacy_gen.first_name(l),
        'clinic_name', legacy_gen.clinic_name(c), 'clinic_phone', legacy_gen.phone(9000 + c, c),
        'discharge_summary_content', 'Keep the incision clean and dry; give Carprofen with food.',
        'agent_name', 'Sarah', 'has_medications', CASE WHEN i % 3 = 0 THEN 'true' ELSE 'false' END),
    legacy_gen.iso(t + interval '2 days'), s.status,
    CASE WHEN s.status <> 'queued' THEN legacy_gen.vapi('call-out', k) END,
    'msg_' || substr(md5('q' || k), 1, 20),
    CASE WHEN s.done THEN t + interval '2 days' END,
    CASE WHEN s.done THEN t + interval '2 days' + (60 + k % 240) * interval '1 second' END,
    CASE WHEN s.done THEN 60 + k % 240 END,
    CASE s.status WHEN 'completed' THEN legacy_gen.pick(ARRAY['customer-ended-call','assistant-ended-call','silence-timed-out'], i)
        WHEN 'failed' THEN legacy_gen.pick(ARRAY['customer-did-not-answer','voicemail','twilio-failed-to-connect-call'], i)
        WHEN 'cancelled' THEN 'manually-canceled' END,
    CASE WHEN s.done THEN round((0.05 + (k % 40) / 100.0)::numeric, 4) END,
    CASE WHEN s.talked THEN format('https://storage.vapi.ai/%s-mono.wav', legacy_gen.vapi('call-out', k)) END,
    CASE WHEN s.talked THEN format('https://storage.vapi.ai/%s-stereo.wav', legacy_gen.vapi('call-out', k)) END,
    CASE WHEN s.talked THEN format('AI: Hi, this is Sarah from %s calling to check on %s. User: Hi, %s is doing much better, eating again.', legacy_gen.clinic_name(c), legacy_gen.pet_name(j), legacy_gen.pet_name(j)) END,
    CASE WHEN s.talked THEN jsonb_build_array(
        jsonb_build_object('role', 'bot', 'message', 'Hi, this is Sarah calling to check on ' || legacy_gen.pet_name(j), 'secondsFromStart', 0.8),
        jsonb_build_object('role', 'user', 'message', legacy_gen.pet_name(j) || ' is doing much better', 'secondsFromStart', 6.1)) END,
    NULL,
    CASE WHEN s.talked THEN legacy_gen.pet_name(j) || ' is recovering well; owner reports normal appetite and is giving medication as prescribed.' END,
    CASE WHEN s.talked THEN legacy_gen.pick(ARRAY['true','true','true','false'], i) END,
    CASE WHEN s.talked THEN jsonb_build_object('call_outcome', jsonb_build_object('call_outcome', 'successful')) END,
    CASE WHEN s.talked THEN legacy_gen.pick(ARRAY['positive','positive','neutral','negative'], i) END,
    -- The analysis blobs: VAPI's analysis object and the six structured-output buckets.
    CASE WHEN s.talked THEN jsonb_build_object('summary', legacy_gen.pet_name(j) || ' is recovering well.',
        'successEvaluation', legacy_gen.pick(ARRAY['true','true','true','false'], i),
        'structuredData', jsonb_build_object('call_outcome', jsonb_build_object('call_outcome', 'successful'))) END,
    CASE WHEN s.talked THEN jsonb_build_object('call_outcome', legacy_gen.pick(ARRAY['successful','successful','callback_requested','concerns_raised'], i),
        'outcome_summary', 'Owner answered all questions') END,
    CASE WHEN s.talked THEN jsonb_build_object('pet_recovery_status', legacy_gen.pick(ARRAY['improving','fully_recovered','no_change','worsening'], i),
        'symptoms_reported', CASE WHEN i % 4 = 3 THEN jsonb_build_array('lethargy') ELSE '[]'::jsonb END) END,
    CASE WHEN s.talked THEN jsonb_build_object('medication_compliance', legacy_gen.pick(ARRAY['compliant','compliant','partial','not_applicable'], i),
        'medication_issues', '[]'::jsonb) END,
    CASE WHEN s.talked THEN jsonb_build_object('owner_sentiment', legacy_gen.pick(ARRAY['positive','positive','neutral','negative'], i),
        'satisfaction_indicators', jsonb_build_array('thanked staff')) END,
    CASE WHEN s.talked THEN jsonb_build_object('escalation_triggered', i % 4 = 3,
        'escalation_reason', CASE WHEN i % 4 = 3 THEN 'Pet still lethargic after 3 days' END) END,
    CASE WHEN s.talked THEN jsonb_build_object('follow_up_call_needed', i % 4 = 3,
        'recheck_reminder_delivered', true) END,
    CASE WHEN s.talked AND i % 4 = 3 THEN ARRAY['health_concern'] ELSE '{}'::text[] END,
    CASE WHEN s.talked AND i % 4 = 3 THEN 'urgent' END,
    CASE WHEN s.talked AND i % 4 = 3 THEN legacy_gen.pet_name(j) || ' still lethargic, owner asked for a callback' END,
    CASE WHEN s.talked AND i % 4 = 3 THEN t + interval '2 days 10 minutes' END,
    CASE WHEN s.talked AND i % 4 = 3 THEN 'Lethargy three days after surgery' END,
    CASE WHEN s.talked THEN legacy_gen.pick(ARRAY['to_review','reviewed','to_review','needs_follow_up'], i) END,
    CASE WHEN i % 5 = 1 THEN 'post_surgical' ELSE 'general' END,
    CASE WHEN i % 5 = 1 THEN 'post-op-care' END,
    jsonb_build_object('retry_count', CASE WHEN s.status = 'failed' THEN 2 ELSE 0 END,
        'timezone', legacy_gen.tz(c)),
    t + interval '1 hour', t + interval '2 days 5 minutes'
FROM legacy_gen_case,
LATERAL (SELECT st AS status, st IN ('completed','failed','cancelled') AS done,
    st = 'completed' AS talked
    FROM (SELECT (ARRAY['completed','completed','completed','completed','completed','completed',
        'completed','completed','completed','completed','completed','completed','completed',
        'completed','failed','failed','queued','queued','cancelled','ringing'])[1 + i % 20] AS st) x) s;

INSERT INTO scheduled_discharge_emails (id, user_id, case_id, recipient_email, recipient_name, subject,
    html_content, text_content, scheduled_for, status, sent_at, resend_email_id, metadata,
    qstash_message_id, created_at, updated_at)
SELECT legacy_gen.id(10, k), vet, legacy_gen.id(6, k),
    COALESCE(CASE WHEN l % 7 <> 0 THEN format('%s.%s%s@example.com', legacy_gen.first_name(l), legacy_gen.last_name(c + l), l) END,
        format('owner%s@example.net', k)),
    legacy_gen.first_name(l) || ' ' || legacy_gen.last_name(c + l),
    format('%s''s Visit Summary from %s', legacy_gen.pet_name(j), legacy_gen.clinic_name(c)),
    format('<html><body><h1>%s''s Visit Summary</h1><p>Hello,</p><p>Here''s everything you need to know about %s''s visit.</p></body></html>', legacy_gen.pet_name(j), legacy_gen.pet_name(j)),
    format('%s''s Visit Summary. Here''s everything you need to know about %s''s visit.', legacy_gen.pet_name(j), legacy_gen.pet_name(j)),
    t + interval '1 day', e.status,
    CASE WHEN e.status = 'sent' THEN t + interval '1 day 3 seconds' END,
    CASE WHEN e.status = 'sent' THEN legacy_gen.vapi('resend', k) END,
    jsonb_build_object('template', 'discharge-v2', 'error', CASE WHEN e.status = 'failed' THEN 'Resend 422: invalid recipient' END),
    'msg_' || substr(md5('qe' || k), 1, 20), t + interval '1 hour', t + interval '1 day 4 seconds'
FROM legacy_gen_case,
LATERAL (SELECT (ARRAY['sent','sent','sent','sent','sent','sent','sent','queued','failed','cancelled'])[1 + i % 10] AS status) e;

INSERT INTO inbound_vapi_calls (id, vapi_call_id, assistant_id, phone_number_id, user_id, clinic_name,
    customer_phone, customer_number, status, type, started_at, ended_at, duration_seconds,
    recording_url, stereo_recording_url, transcript, transcript_messages, call_analysis, summary,
    success_evaluation, structured_data, user_sentiment, cost, ended_reason, metadata,
    call_outcome_data, pet_health_data, medication_compliance_data, owner_sentiment_data,
    escalation_data, follow_up_data, attention_types, attention_severity, attention_summary,
    attention_flagged_at, extracted_caller_phone, extracted_caller_name, extracted_pet_name,
    clinic_phone, outcome, actions_taken, action_confirmed, cleaned_transcript, display_transcript,
    use_display_transcript, created_at, updated_at)
SELECT legacy_gen.id(9, n), legacy_gen.vapi('call-in', n), legacy_gen.vapi('asst-in', c),
    legacy_gen.vapi('pn-in', c), legacy_gen.user_of(c, 1), legacy_gen.clinic_name(c),
    legacy_gen.phone(m % legacy_gen.nl() + 1, 2), legacy_gen.phone(m % legacy_gen.nl() + 1, 2),
    CASE WHEN m % 25 = 0 THEN 'failed' ELSE 'completed' END, 'inbound',
    t, t + (30 + n % 300) * interval '1 second', 30 + n % 300,
    format('https://storage.vapi.ai/%s-mono.wav', legacy_gen.vapi('call-in', n)),
    format('https://storage.vapi.ai/%s-stereo.wav', legacy_gen.vapi('call-in', n)),
    format('AI: Thank you for calling %s, how can I help? User: I need to book an appointment for %s.', legacy_gen.clinic_name(c), legacy_gen.pet(m)),
    jsonb_build_array(jsonb_build_object('role', 'bot', 'message', 'Thank you for calling', 'secondsFromStart', 0.5)),
    jsonb_build_object('summary', 'Caller asked about ' || legacy_gen.pet(m),
        'successEvaluation', 'true',
        'structuredData', jsonb_build_object('card_type', o.card)),
    'Caller asked about ' || legacy_gen.pet(m), 'true',
    jsonb_build_object('card_type', o.card, 'pet_name', legacy_gen.pet(m)),
    legacy_gen.pick(ARRAY['positive','neutral','neutral','negative'], m),
    round((0.03 + (n % 30) / 100.0)::numeric, 4),
    legacy_gen.pick(ARRAY['customer-ended-call','assistant-ended-call','assistant-forwarded-call'], m),
    jsonb_build_object('has_structured_outputs', true, 'webhook_received_at', legacy_gen.iso(t)),
    jsonb_build_object('call_outcome', lower(o.outcome)),
    CASE WHEN m % 6 = 0 THEN jsonb_build_object('pet_recovery_status', 'unknown') END,
    NULL,
    jsonb_build_object('owner_sentiment', legacy_gen.pick(ARRAY['positive','neutral','neutral','negative'], m)),
    jsonb_build_object('escalation_triggered', o.card = 'emergency'),
    jsonb_build_object('follow_up_call_needed', o.card = 'callback'),
    CASE WHEN o.card = 'emergency' THEN ARRAY['emergency'] ELSE '{}'::text[] END,
    CASE WHEN o.card = 'emergency' THEN 'critical' END,
    CASE WHEN o.card = 'emergency' THEN legacy_gen.pet(m) || ' ate chocolate, owner sent to ER' END,
    CASE WHEN o.card = 'emergency' THEN t + interval '5 minutes' END,
    legacy_gen.phone(m % legacy_gen.nl() + 1, 3),
    legacy_gen.first_name(m % legacy_gen.nl() + 1), legacy_gen.pet(m),
    legacy_gen.phone(9000 + c, c), o.outcome,
    CASE WHEN o.card = 'scheduled' THEN jsonb_build_array('booked_appointment') END,
    CASE WHEN o.card = 'scheduled' THEN true END, NULL, NULL, false,
    t, t + interval '10 minutes'
FROM (SELECT c, m, (c - 1) * legacy_gen.ni() + m AS n, legacy_gen.at(m * 8 + c + 2) AS t
      FROM generate_series(1, legacy_gen.nc()) c, generate_series(1, legacy_gen.ni()) m) q,
LATERAL (SELECT (ARRAY['scheduled','info','callback','rescheduled','cancellation','emergency','info'])[1 + q.m % 7] AS card,
    (ARRAY['Scheduled','Info','Callback','Rescheduled','Cancelled','Emergency','Info'])[1 + q.m % 7] AS outcome) o;
