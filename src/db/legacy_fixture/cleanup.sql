-- The generator's helpers go: the old database holds the old schema and its rows only.
DROP TABLE IF EXISTS legacy_gen_case;
DROP SCHEMA IF EXISTS legacy_gen CASCADE;
