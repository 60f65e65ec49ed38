-- Schema V2: the 44 tables of docs/spec/schema-v2.md ("Schema by Tier"), verbatim,
-- each followed by the indexes the spec lists for it.
-- Deviation (docs/schema-deviations.md #1): `discharge_templates` is created just before
-- `discharge_summaries`, whose `template_id` references it; the spec lists it later (Tier 11),
-- which cannot run as written.

CREATE TABLE clinics (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  clerk_org_id TEXT UNIQUE,
  name TEXT NOT NULL UNIQUE,
  slug TEXT NOT NULL UNIQUE,
  email TEXT,
  phone TEXT,
  address JSONB,
  timezone TEXT NOT NULL DEFAULT 'America/Los_Angeles',
  business_hours JSONB,
  er_config JSONB,
  pims_type TEXT NOT NULL DEFAULT 'none',
  -- Branding
  primary_color TEXT DEFAULT '#2563EB',
  logo_url TEXT,
  -- Billing
  stripe_customer_id TEXT UNIQUE,
  stripe_subscription_id TEXT UNIQUE,
  subscription_tier TEXT DEFAULT 'none',
  subscription_status TEXT DEFAULT 'none',
  current_period_start TIMESTAMPTZ,
  current_period_end TIMESTAMPTZ,
  -- Status
  is_active BOOLEAN DEFAULT true,
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now()
);

CREATE TABLE users (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  clerk_user_id TEXT UNIQUE NOT NULL,
  email TEXT NOT NULL,
  first_name TEXT,
  last_name TEXT,
  role TEXT DEFAULT 'veterinarian',
  avatar_url TEXT,
  onboarding_completed BOOLEAN DEFAULT false,
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now()
);

CREATE TABLE user_clinic_access (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  clinic_id UUID NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
  role TEXT DEFAULT 'member',
  is_primary BOOLEAN DEFAULT false,
  granted_by UUID REFERENCES users(id),
  granted_at TIMESTAMPTZ DEFAULT now(),
  created_at TIMESTAMPTZ DEFAULT now(),
  UNIQUE (user_id, clinic_id)
);

CREATE TABLE clinic_invitations (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id UUID NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
  email TEXT NOT NULL,
  token UUID DEFAULT gen_random_uuid(),
  role TEXT DEFAULT 'member',
  status TEXT DEFAULT 'pending',
  invited_by UUID REFERENCES users(id),
  accepted_by UUID REFERENCES users(id),
  accepted_at TIMESTAMPTZ,
  expires_at TIMESTAMPTZ DEFAULT (now() + interval '7 days'),
  created_at TIMESTAMPTZ DEFAULT now(),
  UNIQUE (clinic_id, email)
);

CREATE TABLE providers (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id UUID NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
  user_id UUID REFERENCES users(id),
  name TEXT NOT NULL,
  role TEXT DEFAULT 'veterinarian',
  is_active BOOLEAN DEFAULT true,
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now()
);

CREATE TABLE clients (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id UUID NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
  first_name TEXT,
  last_name TEXT,
  display_name TEXT NOT NULL,
  phone TEXT,
  phone_secondary TEXT,
  email TEXT,
  address JSONB,
  preferred_contact_method TEXT DEFAULT 'phone',
  communication_opt_out BOOLEAN DEFAULT false,
  is_active BOOLEAN DEFAULT true,
  first_visit_at TIMESTAMPTZ,
  last_visit_at TIMESTAMPTZ,
  metadata JSONB DEFAULT '{}',
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now()
);

CREATE INDEX idx_clients_clinic ON clients(clinic_id);

CREATE INDEX idx_clients_phone ON clients(clinic_id, phone) WHERE phone IS NOT NULL;

CREATE INDEX idx_clients_name ON clients(clinic_id, lower(display_name));

CREATE TABLE patients (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id UUID NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
  client_id UUID NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  species TEXT,
  breed TEXT,
  sex TEXT,
  color TEXT,
  date_of_birth DATE,
  weight_kg NUMERIC,
  microchip_id TEXT,
  is_deceased BOOLEAN DEFAULT false,
  deceased_at TIMESTAMPTZ,
  allergies TEXT[],
  chronic_conditions TEXT[],
  is_active BOOLEAN DEFAULT true,
  first_visit_at TIMESTAMPTZ,
  last_visit_at TIMESTAMPTZ,
  visit_count INTEGER DEFAULT 0,
  metadata JSONB DEFAULT '{}',
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now()
);

CREATE UNIQUE INDEX idx_patients_unique_per_client ON patients(client_id, lower(name));

CREATE INDEX idx_patients_clinic ON patients(clinic_id);

CREATE INDEX idx_patients_species ON patients(clinic_id, species);

CREATE TABLE pims_credentials (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id UUID NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
  pims_type TEXT NOT NULL,
  credentials_encrypted JSONB NOT NULL,
  encryption_key_id TEXT DEFAULT 'default',
  is_active BOOLEAN DEFAULT true,
  validation_status TEXT DEFAULT 'unknown',
  last_validated_at TIMESTAMPTZ,
  last_used_at TIMESTAMPTZ,
  sync_enabled BOOLEAN DEFAULT true,
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now(),
  UNIQUE (clinic_id, pims_type)
);

CREATE TABLE pims_mappings (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id UUID NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
  entity_type TEXT NOT NULL,
  entity_id UUID NOT NULL,
  pims_type TEXT NOT NULL,
  external_id TEXT NOT NULL,
  external_data JSONB DEFAULT '{}',
  last_synced_at TIMESTAMPTZ,
  sync_status TEXT DEFAULT 'active',
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now(),
  UNIQUE (clinic_id, entity_type, entity_id, pims_type)
);

CREATE INDEX idx_pims_mappings_lookup ON pims_mappings(clinic_id, pims_type, external_id);

CREATE INDEX idx_pims_mappings_entity ON pims_mappings(entity_type, entity_id);

CREATE TABLE pims_sync_sessions (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id UUID NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
  credential_id UUID REFERENCES pims_credentials(id),
  pims_type TEXT NOT NULL,
  session_type TEXT NOT NULL,
  status TEXT DEFAULT 'pending',
  started_at TIMESTAMPTZ,
  completed_at TIMESTAMPTZ,
  items_synced INTEGER DEFAULT 0,
  items_failed INTEGER DEFAULT 0,
  error_message TEXT,
  error_details JSONB,
  metadata JSONB DEFAULT '{}',
  next_scheduled_sync TIMESTAMPTZ,
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now()
);

CREATE INDEX idx_pims_sync_clinic ON pims_sync_sessions(clinic_id, started_at DESC);

CREATE TABLE pims_sync_audit_log (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id UUID NOT NULL REFERENCES clinics(id),
  sync_session_id UUID REFERENCES pims_sync_sessions(id),
  action_type TEXT NOT NULL,
  resource_type TEXT NOT NULL,
  resource_id UUID,
  status TEXT NOT NULL,
  details JSONB DEFAULT '{}',
  created_at TIMESTAMPTZ DEFAULT now()
);

CREATE TABLE cases (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id UUID NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
  patient_id UUID REFERENCES patients(id),
  client_id UUID REFERENCES clients(id),
  created_by UUID REFERENCES users(id),
  updated_by UUID REFERENCES users(id),
  -- Case info
  type TEXT,
  status TEXT DEFAULT 'draft',
  visibility TEXT DEFAULT 'private',
  source TEXT DEFAULT 'manual',
  -- Patient snapshot (denormalized for historical accuracy)
  patient_snapshot JSONB,
  -- Scheduling
  scheduled_at TIMESTAMPTZ,
  auto_scheduled_at TIMESTAMPTZ,
  scheduling_source TEXT,
  call_enabled BOOLEAN DEFAULT true,
  email_enabled BOOLEAN DEFAULT true,
  cadence_source TEXT DEFAULT 'default',
  call_delay_days INTEGER DEFAULT 1,
  email_delay_days INTEGER DEFAULT 1,
  detected_case_type TEXT,
  -- PIMS data
  external_id TEXT,
  -- AI extraction
  entity_extraction JSONB,
  extreme_case_check JSONB,
  is_urgent BOOLEAN DEFAULT false,
  is_starred BOOLEAN DEFAULT false,
  -- Metadata
  metadata JSONB DEFAULT '{}',
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now(),
  UNIQUE (clinic_id, external_id)
);

CREATE INDEX idx_cases_clinic ON cases(clinic_id);

CREATE INDEX idx_cases_patient ON cases(patient_id);

CREATE INDEX idx_cases_client ON cases(client_id);

CREATE INDEX idx_cases_status ON cases(clinic_id, status);

CREATE INDEX idx_cases_created_at ON cases(clinic_id, created_at DESC);

CREATE INDEX idx_cases_external ON cases(clinic_id, external_id) WHERE external_id IS NOT NULL;

CREATE TABLE soap_notes (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  case_id UUID NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
  clinic_id UUID NOT NULL REFERENCES clinics(id),
  transcript TEXT,
  subjective TEXT,
  objective TEXT,
  assessment TEXT,
  plan TEXT,
  client_instructions TEXT,
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now()
);

CREATE TABLE discharge_templates (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id UUID REFERENCES clinics(id),
  created_by UUID REFERENCES users(id),
  name TEXT NOT NULL,
  content TEXT,
  is_default BOOLEAN DEFAULT false,
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now()
);

CREATE TABLE discharge_summaries (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  case_id UUID NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
  clinic_id UUID NOT NULL REFERENCES clinics(id),
  soap_note_id UUID REFERENCES soap_notes(id),
  template_id UUID REFERENCES discharge_templates(id),
  content TEXT,
  structured_content JSONB,
  created_by UUID REFERENCES users(id),
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now()
);

CREATE TABLE vital_signs (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  case_id UUID NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
  clinic_id UUID NOT NULL REFERENCES clinics(id),
  soap_note_id UUID REFERENCES soap_notes(id),
  temperature NUMERIC,
  temperature_unit TEXT DEFAULT 'F',
  pulse INTEGER,
  respiration INTEGER,
  weight NUMERIC,
  weight_unit TEXT DEFAULT 'kg',
  systolic INTEGER,
  diastolic INTEGER,
  notes TEXT,
  source TEXT DEFAULT 'manual',
  measured_at TIMESTAMPTZ,
  metadata JSONB DEFAULT '{}',
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now()
);

CREATE TABLE outbound_calls (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id UUID NOT NULL REFERENCES clinics(id),
  case_id UUID NOT NULL REFERENCES cases(id),
  -- VAPI data
  vapi_call_id TEXT UNIQUE,
  assistant_id TEXT,
  outbound_phone_number_id TEXT,
  customer_phone TEXT,
  -- Scheduling
  scheduled_for TIMESTAMPTZ,
  qstash_message_id TEXT,
  -- Call lifecycle
  status TEXT DEFAULT 'queued',
  started_at TIMESTAMPTZ,
  ended_at TIMESTAMPTZ,
  ended_reason TEXT,
  duration_seconds INTEGER,
  cost NUMERIC,
  -- Recordings & transcripts
  recording_url TEXT,
  stereo_recording_url TEXT,
  transcript TEXT,
  transcript_messages JSONB,
  cleaned_transcript TEXT,
  -- Review
  review_category TEXT DEFAULT 'to_review',
  -- Metadata
  metadata JSONB DEFAULT '{}',
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now()
);

CREATE INDEX idx_outbound_calls_clinic ON outbound_calls(clinic_id, created_at DESC);

CREATE INDEX idx_outbound_calls_case ON outbound_calls(case_id);

CREATE INDEX idx_outbound_calls_status ON outbound_calls(status);

CREATE INDEX idx_outbound_calls_vapi ON outbound_calls(vapi_call_id);

CREATE TABLE inbound_calls (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id UUID NOT NULL REFERENCES clinics(id),
  -- VAPI data
  vapi_call_id TEXT UNIQUE NOT NULL,
  assistant_id TEXT,
  phone_number_id TEXT,
  customer_phone TEXT,
  -- Call lifecycle
  type TEXT DEFAULT 'inbound',
  status TEXT DEFAULT 'queued',
  started_at TIMESTAMPTZ,
  ended_at TIMESTAMPTZ,
  ended_reason TEXT,
  duration_seconds INTEGER,
  cost NUMERIC,
  -- Recordings & transcripts
  recording_url TEXT,
  stereo_recording_url TEXT,
  transcript TEXT,
  transcript_messages JSONB,
  cleaned_transcript TEXT,
  display_transcript TEXT,
  use_display_transcript BOOLEAN DEFAULT false,
  -- Outcome
  outcome TEXT,
  actions_taken JSONB,
  action_confirmed BOOLEAN DEFAULT false,
  -- Extracted caller info
  extracted_caller_phone TEXT,
  extracted_caller_name TEXT,
  extracted_pet_name TEXT,
  -- Metadata
  metadata JSONB DEFAULT '{}',
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now()
);

CREATE INDEX idx_inbound_calls_clinic ON inbound_calls(clinic_id, created_at DESC);

CREATE INDEX idx_inbound_calls_vapi ON inbound_calls(vapi_call_id);

CREATE INDEX idx_inbound_calls_status ON inbound_calls(status);

CREATE INDEX idx_inbound_calls_outcome ON inbound_calls(outcome);

CREATE INDEX idx_inbound_calls_phone ON inbound_calls(customer_phone);

CREATE TABLE call_analysis (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id UUID NOT NULL REFERENCES clinics(id),
  -- Polymorphic: exactly one must be set
  inbound_call_id UUID REFERENCES inbound_calls(id) ON DELETE CASCADE,
  outbound_call_id UUID REFERENCES outbound_calls(id) ON DELETE CASCADE,
  -- Structured analysis
  call_outcome TEXT,
  call_outcome_details JSONB,
  pet_recovery_status TEXT,
  pet_health_details JSONB,
  medication_compliance TEXT,
  medication_details JSONB,
  owner_sentiment TEXT,
  owner_sentiment_details JSONB,
  escalation_triggered BOOLEAN DEFAULT false,
  escalation_details JSONB,
  follow_up_needed BOOLEAN DEFAULT false,
  follow_up_details JSONB,
  -- Attention flags
  attention_types TEXT[] DEFAULT '{}',
  attention_severity TEXT,
  attention_summary TEXT,
  attention_flagged_at TIMESTAMPTZ,
  -- Summary
  summary TEXT,
  success_evaluation TEXT,
  structured_data JSONB,
  created_at TIMESTAMPTZ DEFAULT now(),
  CHECK (num_nonnulls(inbound_call_id, outbound_call_id) = 1)
);

CREATE INDEX idx_call_analysis_inbound ON call_analysis(inbound_call_id) WHERE inbound_call_id IS NOT NULL;

CREATE INDEX idx_call_analysis_outbound ON call_analysis(outbound_call_id) WHERE outbound_call_id IS NOT NULL;

CREATE INDEX idx_call_analysis_severity ON call_analysis(attention_severity) WHERE attention_severity IS NOT NULL;

CREATE TABLE outbound_emails (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id UUID NOT NULL REFERENCES clinics(id),
  case_id UUID NOT NULL REFERENCES cases(id),
  recipient_email TEXT NOT NULL,
  recipient_name TEXT,
  subject TEXT,
  html_content TEXT,
  text_content TEXT,
  scheduled_for TIMESTAMPTZ,
  status TEXT DEFAULT 'queued',
  sent_at TIMESTAMPTZ,
  resend_email_id TEXT,
  qstash_message_id TEXT,
  metadata JSONB DEFAULT '{}',
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now()
);

CREATE TABLE clinic_messages (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id UUID NOT NULL REFERENCES clinics(id),
  inbound_call_id UUID REFERENCES inbound_calls(id),
  caller_name TEXT,
  caller_phone TEXT,
  message_content TEXT,
  message_type TEXT DEFAULT 'voicemail',
  status TEXT DEFAULT 'new',
  priority TEXT DEFAULT 'normal',
  assigned_to_user_id UUID REFERENCES users(id),
  triage_data JSONB,
  read_at TIMESTAMPTZ,
  metadata JSONB DEFAULT '{}',
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now()
);

CREATE TABLE refill_requests (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id UUID NOT NULL REFERENCES clinics(id),
  inbound_call_id UUID REFERENCES inbound_calls(id),
  client_name TEXT,
  client_phone TEXT,
  pet_name TEXT,
  species TEXT,
  medication_name TEXT NOT NULL,
  medication_strength TEXT,
  last_refill_date DATE,
  pharmacy_preference TEXT DEFAULT 'pickup',
  pharmacy_name TEXT,
  pharmacy_phone TEXT,
  status TEXT DEFAULT 'pending',
  requires_exam BOOLEAN DEFAULT false,
  vet_notes TEXT,
  approved_by UUID REFERENCES users(id),
  approved_at TIMESTAMPTZ,
  metadata JSONB DEFAULT '{}',
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now()
);

CREATE TABLE schedule_appointments (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id UUID NOT NULL REFERENCES clinics(id),
  time_range TSTZRANGE NOT NULL,
  date DATE NOT NULL GENERATED ALWAYS AS (date(lower(time_range) AT TIME ZONE 'UTC')) STORED,
  -- Source
  source TEXT DEFAULT 'pims',
  pims_appointment_id TEXT,
  -- Appointment data
  patient_name TEXT,
  client_name TEXT,
  client_phone TEXT,
  provider_name TEXT,
  room_id TEXT,
  appointment_type TEXT,
  status TEXT DEFAULT 'scheduled',
  -- Sync tracking
  sync_hash TEXT,
  last_synced_at TIMESTAMPTZ DEFAULT now(),
  deleted_at TIMESTAMPTZ,
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now(),
  EXCLUDE USING GIST (clinic_id WITH =, time_range WITH &&) WHERE (deleted_at IS NULL AND room_id IS NOT NULL)
);

CREATE INDEX idx_appointments_clinic_date ON schedule_appointments(clinic_id, date);

CREATE INDEX idx_appointments_time_range ON schedule_appointments USING GIST(clinic_id, time_range);

CREATE UNIQUE INDEX idx_appointments_pims ON schedule_appointments(clinic_id, pims_appointment_id);

CREATE TABLE vapi_bookings (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id UUID NOT NULL REFERENCES clinics(id),
  inbound_call_id UUID REFERENCES inbound_calls(id),
  time_range TSTZRANGE NOT NULL,
  date DATE NOT NULL GENERATED ALWAYS AS (date(lower(time_range) AT TIME ZONE 'UTC')) STORED,
  -- Client/patient info from caller
  client_name TEXT,
  client_phone TEXT,
  patient_name TEXT,
  species TEXT,
  breed TEXT,
  reason TEXT,
  is_new_client BOOLEAN DEFAULT false,
  -- Booking lifecycle
  status TEXT DEFAULT 'pending',
  confirmation_number TEXT UNIQUE,
  vapi_call_id TEXT,
  hold_expires_at TIMESTAMPTZ,
  has_conflict BOOLEAN DEFAULT false,
  -- PIMS sync
  pims_appointment_id TEXT,
  pims_client_id TEXT,
  pims_patient_id TEXT,
  -- Reschedule tracking
  original_time_range TSTZRANGE,
  rescheduled_at TIMESTAMPTZ,
  rescheduled_reason TEXT,
  rescheduled_from_id UUID REFERENCES vapi_bookings(id),
  -- Cancellation
  cancelled_at TIMESTAMPTZ,
  cancelled_reason TEXT,
  -- Metadata
  metadata JSONB DEFAULT '{}',
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now()
);

CREATE INDEX idx_bookings_clinic_date ON vapi_bookings(clinic_id, date);

CREATE INDEX idx_bookings_time_range ON vapi_bookings USING GIST(clinic_id, time_range);

CREATE INDEX idx_bookings_status ON vapi_bookings(status);

CREATE INDEX idx_bookings_vapi_call ON vapi_bookings(vapi_call_id);

CREATE INDEX idx_bookings_confirmation ON vapi_bookings(confirmation_number) WHERE confirmation_number IS NOT NULL;

CREATE TABLE clinic_schedule_config (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id UUID NOT NULL REFERENCES clinics(id) UNIQUE,
  daily_hours JSONB,
  slot_duration_minutes INTEGER DEFAULT 15,
  sync_horizon_days INTEGER DEFAULT 14,
  stale_threshold_minutes INTEGER DEFAULT 60,
  sync_schedules JSONB DEFAULT '[]',
  vapi_availability_start_time TIME,
  vapi_availability_end_time TIME,
  target_room_id TEXT,
  target_room_name TEXT,
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now()
);

CREATE TABLE clinic_blocked_periods (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id UUID NOT NULL REFERENCES clinics(id),
  name TEXT NOT NULL,
  start_time TIME NOT NULL,
  end_time TIME NOT NULL,
  days_of_week INTEGER[] DEFAULT ARRAY[1,2,3,4,5,6],
  is_active BOOLEAN DEFAULT true,
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now()
);

CREATE TABLE schedule_syncs (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id UUID NOT NULL REFERENCES clinics(id),
  sync_type TEXT DEFAULT 'appointments',
  sync_start_date DATE,
  sync_end_date DATE,
  status TEXT DEFAULT 'in_progress',
  appointments_added INTEGER DEFAULT 0,
  appointments_updated INTEGER DEFAULT 0,
  appointments_removed INTEGER DEFAULT 0,
  error_message TEXT,
  error_details JSONB,
  started_at TIMESTAMPTZ DEFAULT now(),
  completed_at TIMESTAMPTZ,
  duration_ms INTEGER,
  created_at TIMESTAMPTZ DEFAULT now()
);

CREATE TABLE appointment_audit_log (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id UUID NOT NULL REFERENCES clinics(id),
  action TEXT NOT NULL,
  booking_id UUID REFERENCES vapi_bookings(id),
  appointment_id UUID REFERENCES schedule_appointments(id),
  pims_appointment_id TEXT,
  old_time_range TSTZRANGE,
  new_time_range TSTZRANGE,
  reason TEXT,
  error_code TEXT,
  error_message TEXT,
  vapi_call_id TEXT,
  performed_by TEXT DEFAULT 'vapi',
  created_at TIMESTAMPTZ DEFAULT now()
);

CREATE TABLE vapi_assistant_mappings (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id UUID NOT NULL REFERENCES clinics(id),
  assistant_id TEXT NOT NULL UNIQUE,
  assistant_name TEXT,
  assistant_type TEXT DEFAULT 'inbound',
  environment TEXT DEFAULT 'production',
  pims_clinic_id UUID REFERENCES clinics(id),
  is_active BOOLEAN DEFAULT true,
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now()
);

CREATE TABLE clinic_settings (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id UUID NOT NULL REFERENCES clinics(id) UNIQUE,
  -- Discharge call settings
  voicemail_detection_enabled BOOLEAN DEFAULT false,
  voicemail_hangup_on_detection BOOLEAN DEFAULT false,
  voicemail_message TEXT,
  max_call_retries INTEGER DEFAULT 3,
  -- Scheduling preferences
  preferred_email_start_time TIME DEFAULT '10:00',
  preferred_email_end_time TIME DEFAULT '12:00',
  preferred_call_start_time TIME DEFAULT '16:00',
  preferred_call_end_time TIME DEFAULT '19:00',
  email_delay_days INTEGER DEFAULT 1,
  call_delay_days INTEGER DEFAULT 2,
  -- Batch settings
  batch_include_pims_notes BOOLEAN DEFAULT true,
  batch_include_manual_transcriptions BOOLEAN DEFAULT true,
  -- Emergency
  emergency_phone TEXT,
  -- Email branding
  email_header_text TEXT,
  email_footer_text TEXT,
  -- Test mode
  test_mode_enabled BOOLEAN DEFAULT false,
  test_contact_name TEXT,
  test_contact_email TEXT,
  test_contact_phone TEXT,
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now()
);

CREATE TABLE auto_scheduling_config (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id UUID NOT NULL REFERENCES clinics(id) UNIQUE,
  is_enabled BOOLEAN DEFAULT false,
  auto_email_enabled BOOLEAN DEFAULT true,
  auto_call_enabled BOOLEAN DEFAULT true,
  email_delay_days INTEGER DEFAULT 1,
  call_delay_days INTEGER DEFAULT 3,
  preferred_email_time TIME DEFAULT '10:00',
  preferred_call_time TIME DEFAULT '16:00',
  scheduling_criteria JSONB DEFAULT '{}',
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now()
);

CREATE TABLE clinic_case_type_cadence (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id UUID NOT NULL REFERENCES clinics(id),
  case_type TEXT NOT NULL,
  auto_schedule_call BOOLEAN DEFAULT true,
  auto_schedule_email BOOLEAN DEFAULT true,
  call_delay_days INTEGER DEFAULT 1,
  email_delay_days INTEGER DEFAULT 1,
  preferred_call_time TIME DEFAULT '10:00',
  preferred_email_time TIME DEFAULT '09:00',
  never_auto_schedule BOOLEAN DEFAULT false,
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now(),
  UNIQUE (clinic_id, case_type)
);

CREATE TABLE auto_scheduling_runs (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  started_at TIMESTAMPTZ DEFAULT now(),
  completed_at TIMESTAMPTZ,
  status TEXT DEFAULT 'running',
  results JSONB DEFAULT '[]',
  total_cases_processed INTEGER DEFAULT 0,
  total_emails_scheduled INTEGER DEFAULT 0,
  total_calls_scheduled INTEGER DEFAULT 0,
  total_errors INTEGER DEFAULT 0,
  error_message TEXT,
  created_at TIMESTAMPTZ DEFAULT now()
);

CREATE TABLE auto_scheduled_items (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  case_id UUID NOT NULL REFERENCES cases(id),
  clinic_id UUID NOT NULL REFERENCES clinics(id),
  run_id UUID REFERENCES auto_scheduling_runs(id),
  outbound_email_id UUID REFERENCES outbound_emails(id),
  outbound_call_id UUID REFERENCES outbound_calls(id),
  status TEXT DEFAULT 'scheduled',
  cancelled_at TIMESTAMPTZ,
  cancelled_by UUID REFERENCES users(id),
  cancellation_reason TEXT,
  scheduled_config JSONB DEFAULT '{}',
  created_at TIMESTAMPTZ DEFAULT now()
);

CREATE TABLE discharge_batches (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id UUID NOT NULL REFERENCES clinics(id),
  created_by UUID REFERENCES users(id),
  status TEXT DEFAULT 'pending',
  total_cases INTEGER DEFAULT 0,
  processed_cases INTEGER DEFAULT 0,
  successful_cases INTEGER DEFAULT 0,
  failed_cases INTEGER DEFAULT 0,
  email_schedule_time TIMESTAMPTZ,
  call_schedule_time TIMESTAMPTZ,
  started_at TIMESTAMPTZ,
  completed_at TIMESTAMPTZ,
  cancelled_at TIMESTAMPTZ,
  error_summary JSONB DEFAULT '{}',
  metadata JSONB DEFAULT '{}',
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now()
);

CREATE TABLE discharge_batch_items (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  batch_id UUID NOT NULL REFERENCES discharge_batches(id) ON DELETE CASCADE,
  case_id UUID NOT NULL REFERENCES cases(id),
  patient_id UUID REFERENCES patients(id),
  status TEXT DEFAULT 'pending',
  email_scheduled BOOLEAN DEFAULT false,
  call_scheduled BOOLEAN DEFAULT false,
  outbound_email_id UUID REFERENCES outbound_emails(id),
  outbound_call_id UUID REFERENCES outbound_calls(id),
  error_message TEXT,
  processed_at TIMESTAMPTZ,
  created_at TIMESTAMPTZ DEFAULT now()
);

CREATE TABLE soap_templates (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id UUID REFERENCES clinics(id),
  created_by UUID REFERENCES users(id),
  template_name TEXT NOT NULL,
  display_name TEXT,
  icon_name TEXT,
  subjective_template TEXT,
  objective_template TEXT,
  assessment_template TEXT,
  plan_template TEXT,
  client_instructions_template TEXT,
  subjective_prompt TEXT,
  objective_prompt TEXT,
  assessment_prompt TEXT,
  plan_prompt TEXT,
  client_instructions_prompt TEXT,
  system_prompt_addition TEXT,
  is_default BOOLEAN DEFAULT false,
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now()
);

CREATE TABLE ai_templates (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  name TEXT NOT NULL,
  type TEXT NOT NULL,
  key TEXT,
  content TEXT,
  prompt TEXT,
  model TEXT,
  description TEXT,
  output_format TEXT DEFAULT 'json',
  validation_schema JSONB DEFAULT '{}',
  metadata JSONB DEFAULT '{}',
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now()
);

CREATE TABLE slack_workspaces (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id UUID REFERENCES clinics(id),
  team_id TEXT UNIQUE NOT NULL,
  team_name TEXT,
  bot_token TEXT,
  bot_user_id TEXT,
  scope TEXT,
  is_active BOOLEAN DEFAULT true,
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now()
);

CREATE TABLE slack_channels (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id UUID NOT NULL REFERENCES slack_workspaces(id) ON DELETE CASCADE,
  channel_id TEXT NOT NULL,
  channel_name TEXT,
  timezone TEXT DEFAULT 'UTC',
  is_active BOOLEAN DEFAULT true,
  added_by UUID REFERENCES users(id),
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now(),
  UNIQUE (workspace_id, channel_id)
);

CREATE TABLE slack_tasks (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  channel_id UUID NOT NULL REFERENCES slack_channels(id) ON DELETE CASCADE,
  title TEXT NOT NULL,
  description TEXT,
  reminder_time TIME,
  is_active BOOLEAN DEFAULT true,
  created_by UUID REFERENCES users(id),
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now()
);

CREATE TABLE slack_task_completions (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  task_id UUID NOT NULL REFERENCES slack_tasks(id) ON DELETE CASCADE,
  completion_date DATE NOT NULL,
  completed_by_username TEXT,
  completed_at TIMESTAMPTZ DEFAULT now(),
  message_ts TEXT,
  UNIQUE (task_id, completion_date)
);

CREATE TABLE waitlist_signups (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  email TEXT NOT NULL,
  full_name TEXT,
  source TEXT,
  campaign TEXT DEFAULT 'default',
  status TEXT DEFAULT 'waiting',
  metadata JSONB DEFAULT '{}',
  created_at TIMESTAMPTZ DEFAULT now(),
  UNIQUE (email, campaign)
);

CREATE TABLE contact_submissions (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  first_name TEXT,
  last_name TEXT,
  email TEXT NOT NULL,
  clinic_name TEXT,
  phone TEXT,
  message TEXT,
  source TEXT DEFAULT 'contact_page',
  metadata JSONB DEFAULT '{}',
  created_at TIMESTAMPTZ DEFAULT now()
);
