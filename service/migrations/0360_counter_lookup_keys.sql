-- Look-ups the counter needs (issue 15):
-- 1. A tracking code alone finds its application: applications store tracking_key, the
--    SHA-256 of the code (service.counter.codes.tracking_lookup_key); this index backs
--    Repository.find("application", "tracking_key", …).
CREATE INDEX entities_application_tracking_key ON entities ((state->>'tracking_key'))
    WHERE entity_type = 'application';

-- 2. Addresses compare after the same folding on both sides: the SQL twin of
--    service.counter.search_keys.address_key (NFKC, so 宮園１２３ = 宮園123, and no
--    white space). Stored addresses keep the registered form; only the comparison folds.
CREATE FUNCTION risai_address_key(value text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT regexp_replace(normalize(value, NFKC), '\s+', '', 'g')
$$;
