-- Recovery fixes (issue 17).
--
-- 1. Pending replication is derived from the outbox itself (replication/outbox.py depth):
--    an unpublished row older than the acknowledgement timeout. The flag written after the
--    commit could be lost when the database died right after it, so it goes.
ALTER TABLE outbox DROP COLUMN pending;

-- 2. A consumer's stored position never moves backwards: apply.apply_batch writes it in
--    the same transaction as the effects, and going back would re-apply (harmless) or,
--    worse, hide a bug that reads offsets out of order. A rebuild (TRUNCATE) or a restore
--    starts over; an UPDATE to a smaller offset is refused with its own error.
CREATE FUNCTION consumer_offsets_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.next_offset < OLD.next_offset THEN
        RAISE EXCEPTION 'consumer offset of %[%] would move back from % to %',
            OLD.topic, OLD.partition, OLD.next_offset, NEW.next_offset
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER consumer_offsets_forward_only BEFORE UPDATE OF next_offset ON consumer_offsets
    FOR EACH ROW EXECUTE FUNCTION consumer_offsets_forward_only();
ALTER TABLE consumer_offsets ADD CONSTRAINT consumer_offsets_next_offset_nonnegative
    CHECK (next_offset >= 0);
