-- Chunked, resumable CSV imports (service/imports/jobs.py, docs/csv-formats.md).
--
-- A file is checked whole and its records staged here in one transaction that touches no
-- entity (a refused file rolls back and leaves nothing); then the staged records are
-- applied in short chunks, each in its own transaction together with the job's
-- applied_through, so a crash between chunks resumes exactly where the last commit ended.

CREATE TABLE import_jobs (
    job_id          uuid PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('residents', 'dwellings', 'surveys')),
    sha256          text NOT NULL,          -- of the file's bytes (re-import detection)
    staff_id        text,
    state           text NOT NULL DEFAULT 'applying' CHECK (state IN ('applying', 'done')),
    rows            integer NOT NULL,       -- CSV data rows read
    total           integer NOT NULL,       -- staged records (residents plus their households)
    applied_through integer NOT NULL DEFAULT 0 CHECK (applied_through BETWEEN 0 AND total),
    chunks          integer NOT NULL DEFAULT 0,
    changed         integer NOT NULL DEFAULT 0,
    unchanged       integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    CHECK ((state = 'done') = (finished_at IS NOT NULL)),
    CHECK (state = 'applying' OR applied_through = total)
);
-- At most one job applies a given file at a time; a second upload joins it.
CREATE UNIQUE INDEX import_jobs_one_active ON import_jobs (kind, sha256) WHERE state = 'applying';

-- The checked records of a job still applying, in file order (seq from 0). State is the
-- record's canonical JSON text (never re-parsed by PostgreSQL). Rows of a finished job
-- are deleted once it is done.
CREATE TABLE import_staged (
    job_id      uuid NOT NULL REFERENCES import_jobs ON DELETE CASCADE,
    seq         integer NOT NULL,
    entity_type text NOT NULL,
    entity_id   text NOT NULL,
    state       text NOT NULL,
    PRIMARY KEY (job_id, seq)
);
