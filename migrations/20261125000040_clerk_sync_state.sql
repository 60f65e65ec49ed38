-- Clerk sync state (a table of ours, beside the spec's tables): the last Clerk `updated_at`
-- (milliseconds) applied per Clerk object, and a tombstone when the object was deleted.
--
-- Why: Svix delivers at least once and in no guaranteed order. The spec tables' own `updated_at`
-- is maintained by a trigger (our write time, not Clerk's), so it cannot tell an old event from a
-- new one. Every Clerk processor first "admits" its event here (INSERT … ON CONFLICT DO UPDATE …
-- WHERE newer), which also row-locks the object for the rest of the transaction, so two events
-- about one object never interleave.
--
-- object_type / clerk_id:
--   user          user_…                      (deletion is final: Clerk never reuses ids)
--   organization  org_…                       (deletion is final)
--   membership    <org_id>:<user_id>          (a member removed and re-added later is admitted
--                                              again when the new event is newer than the tombstone)
--   invitation    <org_id>:<lowercased email> (the clinic_invitations row is unique per clinic and
--                                              email, so re-invitations share one version line)
CREATE TABLE clerk_sync_state (
  object_type TEXT NOT NULL CHECK (object_type IN ('user', 'organization', 'membership', 'invitation')),
  clerk_id TEXT NOT NULL,
  last_updated_at_ms BIGINT NOT NULL,
  deleted BOOLEAN NOT NULL DEFAULT false,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (object_type, clerk_id)
);

-- Service only (RLS on, no policies): it names users and organizations across all clinics.
ALTER TABLE clerk_sync_state ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON clerk_sync_state FROM anon, authenticated;
GRANT ALL ON clerk_sync_state TO service_role;

-- Like every table with `updated_at`, keep it true on UPDATE (the ON CONFLICT upsert sets it
-- explicitly too; the trigger makes any other writer honest).
CREATE TRIGGER set_updated_at BEFORE UPDATE ON clerk_sync_state
  FOR EACH ROW EXECUTE FUNCTION update_updated_at();
