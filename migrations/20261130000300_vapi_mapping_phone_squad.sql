-- Calls that carry no assistant id (squad calls, transient assistants, calls set up through
-- `assistant-request`) are matched to a clinic by the VAPI phone number they came in on, else
-- by their squad (docs/schema-deviations.md). Both columns are optional; a phone number or a
-- squad belongs to at most one mapping.
ALTER TABLE vapi_assistant_mappings ADD COLUMN IF NOT EXISTS phone_number_id TEXT;
ALTER TABLE vapi_assistant_mappings ADD COLUMN IF NOT EXISTS squad_id TEXT;

CREATE UNIQUE INDEX IF NOT EXISTS uq_vapi_assistant_mappings_phone_number_id
  ON vapi_assistant_mappings (phone_number_id) WHERE phone_number_id IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS uq_vapi_assistant_mappings_squad_id
  ON vapi_assistant_mappings (squad_id) WHERE squad_id IS NOT NULL;
