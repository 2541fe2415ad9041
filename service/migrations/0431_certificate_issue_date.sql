-- 一括印刷 selects what this node issued on a day (service.storage.counter
-- .CounterRepository.certificates_issued): an index on (issue date, issuing node) keeps
-- that one probe however many certificates the federation holds.
CREATE INDEX entities_certificate_issue_date ON entities
    ((state->>'issue_date'), (state->>'issuing_node'))
    WHERE entity_type = 'certificate';
