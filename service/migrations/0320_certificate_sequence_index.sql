-- The highest 整理番号 sequence a node holds, found by one index probe (issue 10): the node
-- recovers its certificate_sequences row from it once at start, instead of scanning every
-- certificate with a regexp on each issuance (a cost that grew with the federation's history).
-- The expressions match repository._HELD_SEQUENCE exactly, so the planner can use the index.
CREATE INDEX entities_certificate_sequence ON entities
    ((state->>'issuing_node'), ((substring(entity_id from '-([0-9]+)$'))::bigint))
    WHERE entity_type = 'certificate';
