-- Tell the node's processes when a staff account changes (issue 10): sessions are cached in
-- memory for a short TTL, and a disabled account must lose its cached sessions now, whether
-- the change came from this node, the staff CLI, or another node through replication.
-- NOTIFY is transactional: listeners hear of the change only once it is committed.
CREATE FUNCTION notify_staff_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('staff_changed', NEW.entity_id);
    RETURN NULL;
END
$$;

CREATE TRIGGER entities_staff_changed AFTER INSERT OR UPDATE ON entities
    FOR EACH ROW WHEN (NEW.entity_type = 'staff') EXECUTE FUNCTION notify_staff_changed();
