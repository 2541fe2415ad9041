-- Replication (replication/, DESIGN 4): the generic entity store, its version history,
-- the transactional outbox, consumer tracking offsets, quarantine, conflicts, and the
-- persisted hybrid logical clock.
--
-- Every column that holds an encoded HLC is COLLATE "C": the encoding is fixed-width hex
-- so byte order is timestamp order, and locale collations may ignore the '-' separators.

-- The replicated state: one row per entity, the winning version (DESIGN 4 convergence).
CREATE TABLE entities (
    entity_type text NOT NULL,
    entity_id   text NOT NULL,
    state       jsonb NOT NULL,
    hlc         text COLLATE "C" NOT NULL,
    origin_node text NOT NULL,
    version     text COLLATE "C" NOT NULL,  -- = hlc of the write that produced this state
    insert_only boolean NOT NULL DEFAULT false,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (entity_type, entity_id)
);

-- Every version ever seen of every entity (from the local node or from Kafka). It makes
-- apply idempotent (a known version is a duplicate) and lets conflict detection find
-- forks (two versions with the same base) whatever the arrival order.
CREATE TABLE entity_versions (
    entity_type  text NOT NULL,
    entity_id    text NOT NULL,
    version      text COLLATE "C" NOT NULL,
    base_version text COLLATE "C",
    state        jsonb NOT NULL,
    event_id     uuid NOT NULL,
    origin_node  text NOT NULL,
    origin_town  text NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (entity_type, entity_id, version)
);
CREATE INDEX entity_versions_base ON entity_versions (entity_type, entity_id, base_version);

-- Transactional outbox: written in the caller's transaction (replication/outbox.py).
-- payload is the event's canonical JSON (exact bytes, hence bytea, not jsonb).
CREATE TABLE outbox (
    id           bigserial PRIMARY KEY,
    event_id     uuid NOT NULL UNIQUE,
    entity_type  text NOT NULL,
    entity_id    text NOT NULL,
    payload      bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    -- true when the caller replied before Kafka acknowledged (DESIGN 4 durability of a reply)
    pending      boolean NOT NULL DEFAULT false
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;

-- Where the consumer resumes: written in the same transaction as the applied effects.
CREATE TABLE consumer_offsets (
    topic          text NOT NULL,
    partition      integer NOT NULL,
    next_offset    bigint NOT NULL,
    origin_node    text NOT NULL,
    last_hlc       text COLLATE "C",          -- HLC of the last event applied from here
    high_watermark bigint,                    -- as last seen by the consumer (for lag)
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, partition)
);

CREATE TABLE quarantine (
    id          bigserial PRIMARY KEY,
    topic       text NOT NULL,
    partition   integer NOT NULL,
    "offset"    bigint NOT NULL,
    raw         bytea,
    reason      text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (topic, partition, "offset")
);

-- Conflicts for human review. conflict_key is the same on every node (type, id and the two
-- versions sorted), so re-detecting a conflict (replay, rebuild) never duplicates it.
CREATE TABLE conflicts (
    id             bigserial PRIMARY KEY,
    conflict_key   text COLLATE "C" NOT NULL UNIQUE,
    kind           text NOT NULL,
    entity_type    text NOT NULL,
    entity_id      text NOT NULL,
    base_version   text COLLATE "C",
    local_version  text COLLATE "C" NOT NULL,  -- the version known first on this node
    local_state    jsonb NOT NULL,
    remote_version text COLLATE "C" NOT NULL,  -- the version that arrived second
    remote_state   jsonb NOT NULL,
    winner         text COLLATE "C" NOT NULL,
    detected_at    timestamptz NOT NULL DEFAULT now(),
    resolved_at    timestamptz,
    resolved_by    text,
    resolution     text,
    CHECK ((resolved_at IS NULL) = (resolved_by IS NULL))
);
CREATE INDEX conflicts_open ON conflicts (detected_at) WHERE resolved_at IS NULL;

-- The node's last HLC reading, advanced in the same transaction as each write, so a wall
-- clock that goes backwards (NTP step, VM restore) cannot reorder the node's own writes.
CREATE TABLE hlc_state (
    node_id  text PRIMARY KEY,
    last_hlc text COLLATE "C" NOT NULL
);
