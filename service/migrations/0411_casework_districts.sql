-- 大字 / 町名 of every dwelling and application for 集計 (issue 14), worked out once per
-- write rather than per row of every statistics request (risai_district is a regular
-- expression: about 25 µs a call, 5 s for a request at 200,000 cases). An application
-- carries its dwelling's district (or, for a 被災証明, that of the property's location), so
-- the figures read one table.
--
-- The district is what follows the town's name in the 所在地, so the names are needed in
-- SQL: casework_town_names is filled by the node from its signed trust list
-- (service.storage.casework_report.ReportQueries.sync_town_names, before figures are
-- read); when a town's name arrives or changes, its dwellings are worked out again. Both
-- tables are local and derived, like those of 0410.

CREATE TABLE casework_town_names (
    code text PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE casework_dwellings (
    dwelling_id text PRIMARY KEY,
    town_code   text,
    location    text,
    town_name   text,  -- the name the district was worked out with (NULL: none known yet)
    district    text
);

CREATE FUNCTION casework_keep_dwelling() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    known text;
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM casework_dwellings WHERE dwelling_id = OLD.entity_id;
        RETURN NULL;
    END IF;
    SELECT name INTO known FROM casework_town_names WHERE code = NEW.state->>'town_code';
    INSERT INTO casework_dwellings VALUES (
        NEW.entity_id, NEW.state->>'town_code', NEW.state->>'location', known,
        risai_district(NEW.state->>'location', coalesce(known, '')))
    ON CONFLICT (dwelling_id) DO UPDATE SET
        town_code = EXCLUDED.town_code, location = EXCLUDED.location,
        town_name = EXCLUDED.town_name, district = EXCLUDED.district;
    -- The applications about this dwelling take its district (their BEFORE trigger reads it).
    UPDATE casework_applications SET district = NULL WHERE dwelling_id = NEW.entity_id
       AND district IS DISTINCT FROM (SELECT district FROM casework_dwellings WHERE dwelling_id = NEW.entity_id);
    RETURN NULL;
END
$$;

CREATE TRIGGER entities_casework_dwelling_write AFTER INSERT OR UPDATE ON entities
    FOR EACH ROW WHEN (NEW.entity_type = 'dwelling')
    EXECUTE FUNCTION casework_keep_dwelling();
CREATE TRIGGER entities_casework_dwelling_delete AFTER DELETE ON entities
    FOR EACH ROW WHEN (OLD.entity_type = 'dwelling')
    EXECUTE FUNCTION casework_keep_dwelling();

CREATE OR REPLACE FUNCTION casework_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE casework_applications, casework_certificates, casework_dwellings;
    RETURN NULL;
END
$$;

INSERT INTO casework_dwellings
SELECT entity_id, state->>'town_code', state->>'location', NULL, risai_district(state->>'location', '')
  FROM entities WHERE entity_type = 'dwelling';

ALTER TABLE casework_applications ADD COLUMN district text;
CREATE INDEX casework_applications_dwelling ON casework_applications (dwelling_id);

CREATE FUNCTION casework_application_district() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.dwelling_id IS NOT NULL THEN
        NEW.district := (SELECT district FROM casework_dwellings WHERE dwelling_id = NEW.dwelling_id);
    ELSE
        NEW.district := risai_district(NEW.property_location,
            coalesce((SELECT name FROM casework_town_names WHERE code = NEW.competent_town), ''));
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER casework_applications_district BEFORE INSERT OR UPDATE ON casework_applications
    FOR EACH ROW EXECUTE FUNCTION casework_application_district();

UPDATE casework_applications SET district = NULL;
