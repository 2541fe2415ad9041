-- Kiosk audit records on their way to the replicated audit trail (issue 13). A kiosk screen
-- writes its audit records here, in the screen's own transaction (so an access that commits
-- is always audited), without the node-wide entity-store lock that every replicated write
-- takes; service/kiosk/audit_queue.py moves them into the entity store and its outbox in
-- batches, each batch in one transaction with the deletion of its rows (no loss, no double).
CREATE TABLE kiosk_audit_queue (
    id     bigserial PRIMARY KEY,
    state  jsonb NOT NULL
);
