-- The legacy importer (`odis-worker import-legacy`, docs/legacy-import.md).
--
-- legacy_id_map: where an old row does not keep its id one-to-one in V2 (merged into another
-- row, split into several, or folded into a column of another table), which V2 row it became.
-- Old ids that map one-to-one are kept as the V2 id and are not listed here.
CREATE TABLE legacy_id_map (
  old_table TEXT NOT NULL,
  old_id UUID NOT NULL,
  new_table TEXT NOT NULL,
  new_id UUID NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (old_table, old_id, new_table)
);
CREATE INDEX idx_legacy_id_map_new ON legacy_id_map (new_table, new_id);

-- Service only: no policies, so API roles see nothing.
ALTER TABLE legacy_id_map ENABLE ROW LEVEL SECURITY;

-- Owners are deduplicated per clinic by normalised phone, else by e-mail (lower case): the
-- importer looks clients up by e-mail within a clinic once per batch.
CREATE INDEX idx_clients_email_lower ON clients (clinic_id, lower(email)) WHERE email IS NOT NULL;
