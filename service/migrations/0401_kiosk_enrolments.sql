-- Kiosk enrolment (issue 13): a kiosk browser makes its own non-extractable key (WebCrypto)
-- and asks to be enrolled with its public key only; a supervisor approves the request at
-- the counter by typing the pairing code the kiosk shows. Local to the node, like
-- kiosk_devices. The pairing code is kept only as its SHA-256; the enrolment id is the
-- kiosk's own secret handle to poll with (random, 128 bits).
CREATE TABLE kiosk_enrolments (
    enrolment_id        text PRIMARY KEY,
    pairing_sha256      bytea NOT NULL UNIQUE,
    public_key_pem      text NOT NULL,
    requested_at        timestamptz NOT NULL,
    expires_at          timestamptz NOT NULL,
    kiosk_id            text REFERENCES kiosk_devices (kiosk_id),
    approved_by         text,
    approved_at         timestamptz
);
CREATE INDEX kiosk_enrolments_expiry ON kiosk_enrolments (expires_at);
