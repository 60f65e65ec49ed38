-- Helpers of the generator, in their own schema (dropped at the end by cleanup.sql, so the old
-- database ends up holding only the old schema and its rows). Everything is a pure function of
-- the row number: the same size gives the same rows, ids included.
CREATE SCHEMA IF NOT EXISTS legacy_gen;

-- Size: clinics, and cases per clinic (set by the caller with set_config on this session).
CREATE OR REPLACE FUNCTION legacy_gen.nc() RETURNS int LANGUAGE sql STABLE AS
$$ SELECT current_setting('legacy_gen.clinics')::int $$;
CREATE OR REPLACE FUNCTION legacy_gen.nk() RETURNS int LANGUAGE sql STABLE AS
$$ SELECT current_setting('legacy_gen.cases')::int $$;
-- Canonical patients and owners (old `clients`) per clinic.
CREATE OR REPLACE FUNCTION legacy_gen.np() RETURNS int LANGUAGE sql STABLE AS
$$ SELECT greatest(1, legacy_gen.nk() / 2) $$;
CREATE OR REPLACE FUNCTION legacy_gen.nl() RETURNS int LANGUAGE sql STABLE AS
$$ SELECT greatest(1, legacy_gen.nk() / 4) $$;
-- Inbound calls per clinic.
CREATE OR REPLACE FUNCTION legacy_gen.ni() RETURNS int LANGUAGE sql STABLE AS
$$ SELECT greatest(1, legacy_gen.nk() / 2) $$;

-- Deterministic ids `tttttttt-0000-4000-8000-nnnnnnnnnnnn` (tag = table, n = row number);
-- bench::legacy_gen::legacy_id computes the same in Rust.
CREATE OR REPLACE FUNCTION legacy_gen.id(tag int, n bigint) RETURNS uuid LANGUAGE sql IMMUTABLE AS
$$ SELECT (lpad(to_hex(tag), 8, '0') || '-0000-4000-8000-' || lpad(to_hex(n), 12, '0'))::uuid $$;

CREATE OR REPLACE FUNCTION legacy_gen.pick(a text[], n bigint) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT a[1 + (n % array_length(a, 1))::int] $$;

-- A point in time n quarter-hours after the start of the fixture's history.
CREATE OR REPLACE FUNCTION legacy_gen.at(n bigint) RETURNS timestamptz LANGUAGE sql IMMUTABLE AS
$$ SELECT timestamptz '2025-03-03 16:00:00+00' + n * interval '15 minutes' $$;

CREATE OR REPLACE FUNCTION legacy_gen.iso(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') $$;

-- US phone numbers in the spellings the old rows really hold (PIMS exports, staff typing, VAPI's
-- E.164): the same digits come back in different shapes, which the importer's owner
-- deduplication must see through.
CREATE OR REPLACE FUNCTION legacy_gen.phone(owner bigint, shape bigint) RETURNS text LANGUAGE sql IMMUTABLE AS
$$
    SELECT CASE shape % 5
        WHEN 0 THEN '(' || (408 + owner / 10000) || ') 555-' || lpad((owner % 10000)::text, 4, '0')
        WHEN 1 THEN (408 + owner / 10000) || '-555-' || lpad((owner % 10000)::text, 4, '0')
        WHEN 2 THEN '+1' || (408 + owner / 10000) || '555' || lpad((owner % 10000)::text, 4, '0')
        WHEN 3 THEN (408 + owner / 10000) || '.555.' || lpad((owner % 10000)::text, 4, '0')
        ELSE (408 + owner / 10000) || '555' || lpad((owner % 10000)::text, 4, '0')
    END
$$;

CREATE OR REPLACE FUNCTION legacy_gen.first_name(n bigint) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT legacy_gen.pick(ARRAY['Maria','James','Linda','Robert','Patricia','Michael','Jennifer',
   'David','Elizabeth','Daniel','Susan','Kevin','Priya','Wei','Sofia','Andre','Hannah'], n) $$;
CREATE OR REPLACE FUNCTION legacy_gen.last_name(n bigint) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT legacy_gen.pick(ARRAY['Garcia','Nguyen','Smith','Johnson','Patel','Kim','Lopez','Brown',
   'Chen','Martinez','Okafor','Rossi','Tran','Williams','Singh'], n / 17) $$;
CREATE OR REPLACE FUNCTION legacy_gen.pet(n bigint) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT legacy_gen.pick(ARRAY['Bella','Max','Luna','Charlie','Lucy','Cooper','Daisy','Milo',
   'Bailey','Sadie','Rocky','Molly','Tucker','Zoe','Bear','Nala','Oliver','Penny','Teddy','Willow',
   'Mochi','Biscuit','Pepper'], n) $$;
CREATE OR REPLACE FUNCTION legacy_gen.species(n bigint) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT legacy_gen.pick(ARRAY['Canine','Canine','Feline','Canine','Feline','Canine','Exotic'], n) $$;
CREATE OR REPLACE FUNCTION legacy_gen.breed(n bigint) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT CASE legacy_gen.species(n)
    WHEN 'Canine' THEN legacy_gen.pick(ARRAY['Labrador Retriever','German Shepherd','Golden Retriever',
        'French Bulldog','Mixed Breed','Chihuahua','Dachshund'], n / 7)
    WHEN 'Feline' THEN legacy_gen.pick(ARRAY['Domestic Shorthair','Siamese','Maine Coon',
        'Domestic Longhair'], n / 7)
    ELSE legacy_gen.pick(ARRAY['Rabbit','Cockatiel','Bearded Dragon'], n / 7) END $$;
CREATE OR REPLACE FUNCTION legacy_gen.city(n bigint) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT legacy_gen.pick(ARRAY['San Jose','Fremont','Alum Rock','Del Valle','Oakland','Sunnyvale',
   'Campbell','Milpitas','Santa Clara','Cupertino','Gilroy','Morgan Hill'], n) $$;
CREATE OR REPLACE FUNCTION legacy_gen.clinic_name(c bigint) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT rtrim(format('%s %s %s', legacy_gen.city(c),
   legacy_gen.pick(ARRAY['Animal Hospital','Veterinary Clinic','Pet Hospital','Vet Center'], c / 12),
   CASE WHEN c > 48 THEN c::text ELSE '' END)) $$;
CREATE OR REPLACE FUNCTION legacy_gen.clinic_slug(c bigint) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT trim(both '-' FROM regexp_replace(lower(legacy_gen.clinic_name(c)), '[^a-z0-9]+', '-', 'g')) $$;
CREATE OR REPLACE FUNCTION legacy_gen.tz(c bigint) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT legacy_gen.pick(ARRAY['America/Los_Angeles','America/Los_Angeles','America/Denver',
   'America/Los_Angeles','America/New_York','America/Chicago'], c) $$;
-- VAPI ids look like UUIDs.
CREATE OR REPLACE FUNCTION legacy_gen.vapi(kind text, n bigint) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT md5(kind || n)::uuid::text $$;
-- The old users of clinic c: 1 practice owner, 2 veterinarian, 3 vet tech.
CREATE OR REPLACE FUNCTION legacy_gen.user_of(c bigint, j int) RETURNS uuid LANGUAGE sql IMMUTABLE AS
$$ SELECT legacy_gen.id(2, (c - 1) * 3 + j) $$;
-- Canonical patient j's name: the pets of one owner (j, j + nl, …) get different names (V2
-- patients are unique per owner and lower(name)).
CREATE OR REPLACE FUNCTION legacy_gen.pet_name(j bigint) RETURNS text LANGUAGE sql STABLE AS
$$ SELECT legacy_gen.pet(((j - 1) % legacy_gen.nl()) * 3 + (j - 1) / legacy_gen.nl()) $$;
