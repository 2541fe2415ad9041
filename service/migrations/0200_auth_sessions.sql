-- Security (DESIGN 6): staff sessions, kiosk devices, trusted card CAs, kiosk challenges,
-- kiosk sessions and one-time application codes. All of these are LOCAL to the node and
-- never replicated: a session or challenge is only meaningful where it was created.
-- Staff accounts and audit records are replicated entities ("staff", "audit") in the
-- generic entities table (0100), written through replication.outbox.record_change.
--
-- Secrets (session tokens, kiosk session tokens, application codes) are stored only as
-- SHA-256 digests, so a copy of this database does not hand out live credentials.

CREATE TABLE staff_sessions (
    token_sha256 bytea PRIMARY KEY,
    staff_id     text NOT NULL,             -- entities(entity_type='staff').entity_id
    csrf_token   text NOT NULL,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,      -- absolute end; idle end = last_seen_at + idle
    user_agent   text
);
CREATE INDEX staff_sessions_staff ON staff_sessions (staff_id);
CREATE INDEX staff_sessions_expiry ON staff_sessions (expires_at);

-- Kiosk devices in evacuation centres, each with its own key (P-256 or Ed25519).
CREATE TABLE kiosk_devices (
    kiosk_id       text PRIMARY KEY,
    name           text NOT NULL,
    public_key_pem text NOT NULL,
    registered_by  text NOT NULL,
    registered_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at     timestamptz
);

-- Exact-replay guard for signed kiosk requests, kept for the timestamp window only.
CREATE TABLE kiosk_request_seen (
    signature_sha256 bytea PRIMARY KEY,
    seen_at          timestamptz NOT NULL
);

-- Card CAs whose user-authentication certificates this node accepts (My Number style).
CREATE TABLE card_cas (
    fingerprint_sha256 text PRIMARY KEY,
    subject            text NOT NULL,
    certificate_pem    text NOT NULL,
    registered_by      text NOT NULL,
    registered_at      timestamptz NOT NULL DEFAULT now()
);

-- Node challenges: random, bound to the kiosk that asked, single use, short-lived.
CREATE TABLE kiosk_challenges (
    challenge  text PRIMARY KEY,
    kiosk_id   text NOT NULL REFERENCES kiosk_devices (kiosk_id),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);

-- A kiosk session: one resident at one kiosk, identified by card or by one-time code.
CREATE TABLE kiosk_sessions (
    token_sha256 bytea PRIMARY KEY,
    kiosk_id     text NOT NULL REFERENCES kiosk_devices (kiosk_id),
    town_code    char(6) NOT NULL,
    resident_id  text NOT NULL,
    method       text NOT NULL CHECK (method IN ('card', 'code')),
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    ended_at     timestamptz
);

-- Staff-issued one-time application codes (the fallback when a resident has no card).
CREATE TABLE application_codes (
    code_sha256 bytea PRIMARY KEY,
    town_code   char(6) NOT NULL,
    resident_id text NOT NULL,
    issued_by   text NOT NULL,
    issued_at   timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    redeemed_at timestamptz,
    redeemed_by text                        -- kiosk_id
);
