-- Replaying quarantined events after a fix (issue 15): a quarantined record stays as
-- evidence; a replay that applies it stamps when and by whom, and each attempt keeps its
-- result (applied, duplicate, or the reason it is still refused).
ALTER TABLE quarantine
    ADD COLUMN replayed_at    timestamptz,
    ADD COLUMN replayed_by    text,
    ADD COLUMN last_tried_at  timestamptz,
    ADD COLUMN replay_result  text;
CREATE INDEX quarantine_open ON quarantine (id) WHERE replayed_at IS NULL;
