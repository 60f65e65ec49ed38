-- Before docs/spec/legacy-tables.sql: the old Supabase database kept its extensions in schema
-- `extensions` (docs/spec/legacy-schema.md), and `normalized_data.id` defaults to
-- `extensions.uuid_generate_v4()`, so the schema does not load without them.
CREATE SCHEMA IF NOT EXISTS extensions;
CREATE EXTENSION IF NOT EXISTS "uuid-ossp" WITH SCHEMA extensions;
CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA extensions;
