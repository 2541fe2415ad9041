-- Casework lists (issue 14 part A): 申請一覧, 交付台帳, 代行 report and 集計 over narrow,
-- typed tables kept by triggers on the entity store.
--
-- Why tables and not expression indexes on entities: a list needs a total count and
-- several filters combined at 200,000 applications; typed columns give small B-tree
-- indexes and index-only counts, where jsonb expressions would fetch every heap row.
-- Why triggers: an application changes through local use cases, the CSV importer and the
-- replication consumer alike; a trigger on entities sees every one of them, in the same
-- transaction, so the list can never disagree with the entity it shows. These tables are
-- derived and local (never replicated); a rebuild that truncates entities empties them.

-- A timestamp from an event's ISO text, or NULL: a malformed value must never make the
-- replication consumer fail on a list that only reads it.
CREATE FUNCTION risai_try_timestamptz(value text) RETURNS timestamptz
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    RETURN value::timestamptz;
EXCEPTION WHEN others THEN
    RETURN NULL;
END
$$;

CREATE FUNCTION risai_try_date(value text) RETURNS date
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    RETURN value::date;
EXCEPTION WHEN others THEN
    RETURN NULL;
END
$$;

CREATE TABLE casework_applications (
    application_id   text PRIMARY KEY,
    kind             text,
    status           text,
    competent_town   text,
    applicant_town   text,
    disaster_id      text,
    disaster_name    text,
    received_node    text,
    received_town    text,
    channel          text,
    received_at      timestamptz NOT NULL,  -- the entity's write time when the state has none
    damage_class     text,
    household_id     text,
    dwelling_id      text,
    applicant_id     text,
    property_location text,
    current_certificate text,
    tracking_key     text,
    kiosk_id         text
);
-- The default order (newest first) and the common filters, each ending in the order so a
-- page is an index range and the keyset cursor (received_at, application_id) continues it.
CREATE INDEX casework_applications_order ON casework_applications (received_at DESC, application_id DESC);
-- The staff's own scope is competent town = applicant's town = theirs.
CREATE INDEX casework_applications_town ON casework_applications
    (competent_town, applicant_town, received_at DESC, application_id DESC);
CREATE INDEX casework_applications_town_status ON casework_applications
    (competent_town, status, received_at DESC, application_id DESC);
CREATE INDEX casework_applications_node ON casework_applications
    (received_node, received_at DESC, application_id DESC);
CREATE INDEX casework_applications_disaster ON casework_applications
    (disaster_id, received_at DESC, application_id DESC);
CREATE INDEX casework_applications_tracking ON casework_applications (tracking_key);

CREATE TABLE casework_certificates (
    number          text PRIMARY KEY,
    application_id  text,
    cert_type       text,
    competent_town  text,
    issuing_node    text,
    issuing_town    text,
    on_behalf       boolean,
    damage_class    text,
    issue_date      date,
    signed_at       timestamptz NOT NULL,
    staff_id        text,
    supersedes      text,
    dwelling_id     text
);
CREATE INDEX casework_certificates_order ON casework_certificates (signed_at DESC, number DESC);
CREATE INDEX casework_certificates_town ON casework_certificates (competent_town, signed_at DESC, number DESC);
CREATE INDEX casework_certificates_node ON casework_certificates (issuing_node, signed_at DESC, number DESC);
CREATE INDEX casework_certificates_day ON casework_certificates (competent_town, issue_date);
CREATE INDEX casework_certificates_application ON casework_certificates (application_id);
CREATE INDEX casework_certificates_supersedes ON casework_certificates (supersedes);

-- Copies of one certificate (再交付) by number, and audit records by the town whose data
-- they are about, newest first (the auditor's list).
CREATE INDEX entities_certificate_copy_number ON entities ((state->>'number'))
    WHERE entity_type = 'certificate_copy';
CREATE INDEX entities_audit_town ON entities ((state->>'town_code'), (state->>'at') DESC)
    WHERE entity_type = 'audit';

CREATE FUNCTION casework_keep() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    s jsonb;
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM casework_applications WHERE OLD.entity_type = 'application' AND application_id = OLD.entity_id;
        DELETE FROM casework_certificates WHERE OLD.entity_type = 'certificate' AND number = OLD.entity_id;
        RETURN NULL;
    END IF;
    s := NEW.state;
    IF NEW.entity_type = 'application' THEN
        INSERT INTO casework_applications VALUES (
            NEW.entity_id, s->>'kind', s->>'status', s->>'competent_town',
            coalesce(s->>'applicant_town', s->>'competent_town'),
            s->'disaster'->>'id', s->'disaster'->>'name', s->>'received_node', s->>'received_town',
            s->>'channel', coalesce(risai_try_timestamptz(s->>'received_at'), NEW.updated_at), s->>'damage_class',
            s->>'household_id', s->>'dwelling_id', s->>'applicant_resident_id',
            s->'property'->>'location', s->>'current_certificate', s->>'tracking_key', s->>'kiosk_id')
        ON CONFLICT (application_id) DO UPDATE SET
            kind = EXCLUDED.kind, status = EXCLUDED.status, competent_town = EXCLUDED.competent_town,
            applicant_town = EXCLUDED.applicant_town, disaster_id = EXCLUDED.disaster_id,
            disaster_name = EXCLUDED.disaster_name, received_node = EXCLUDED.received_node,
            received_town = EXCLUDED.received_town, channel = EXCLUDED.channel,
            received_at = EXCLUDED.received_at, damage_class = EXCLUDED.damage_class,
            household_id = EXCLUDED.household_id, dwelling_id = EXCLUDED.dwelling_id,
            applicant_id = EXCLUDED.applicant_id, property_location = EXCLUDED.property_location,
            current_certificate = EXCLUDED.current_certificate, tracking_key = EXCLUDED.tracking_key,
            kiosk_id = EXCLUDED.kiosk_id;
    ELSE
        -- Certificates are insert-only: the first state is the only one.
        INSERT INTO casework_certificates VALUES (
            NEW.entity_id, s->>'application_id', s->>'cert_type', s->>'competent_town',
            s->>'issuing_node', s->>'issuing_town', CASE s->>'on_behalf' WHEN 'true' THEN true WHEN 'false' THEN false END, s->>'damage_class',
            risai_try_date(s->>'issue_date'), coalesce(risai_try_timestamptz(s->>'signed_at'), NEW.updated_at), s->>'staff_id',
            s->>'supersedes', s->>'dwelling_id')
        ON CONFLICT (number) DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER entities_casework_write AFTER INSERT OR UPDATE ON entities
    FOR EACH ROW WHEN (NEW.entity_type IN ('application', 'certificate'))
    EXECUTE FUNCTION casework_keep();
CREATE TRIGGER entities_casework_delete AFTER DELETE ON entities
    FOR EACH ROW WHEN (OLD.entity_type IN ('application', 'certificate'))
    EXECUTE FUNCTION casework_keep();

CREATE FUNCTION casework_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE casework_applications, casework_certificates;
    RETURN NULL;
END
$$;
CREATE TRIGGER entities_casework_truncate AFTER TRUNCATE ON entities
    FOR EACH STATEMENT EXECUTE FUNCTION casework_truncate();

-- Rows written before this migration.
UPDATE entities SET state = state WHERE entity_type IN ('application', 'certificate');

-- 大字 / 町名 of a location (所在地), for 集計 by district: what follows the town's name,
-- without a leading 大字, up to the 丁目 number, the 字, or the first lot number. A
-- location without the town's name gives what precedes the first number.
-- tests/integration/test_casework_statistics.py checks it on the synthetic addresses.
CREATE FUNCTION risai_district(location text, town_name text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT nullif(substring(
        regexp_replace(
            CASE WHEN town_name <> '' AND strpos(location, town_name) > 0
                 THEN substr(location, strpos(location, town_name) + length(town_name))
                 ELSE location END,
            '^大字', ''),
        '^(.+?)(?:[0-9０-９一二三四五六七八九十]+丁目|字|[0-9０-９]|$)'), '')
$$;
