-- The counter workflow (service/issuance.py, service/importer.py, service/api/): per-node
-- certificate sequences, issuance intents, the import log, and search indexes over the
-- generic entity store. Replicated data stays in `entities`; these tables are local to
-- the node (a sequence or an intent means nothing on another node).

-- 整理番号 sequence of this node (DESIGN 5 numbers: town, node, per-node sequence). A row
-- per node id so a renamed node never continues another's numbers. Reserved with
-- UPDATE ... RETURNING, which row-locks until the reserving transaction ends.
CREATE TABLE certificate_sequences (
    node_id    text PRIMARY KEY,
    last_value bigint NOT NULL CHECK (last_value >= 0)
);

-- Issuance intents (STYLE 5, boulder's "record the intent before signing"): committed
-- before the node signs, so a crash between signing and storing leaves a visible trace
-- and the number is never handed out again.
CREATE TABLE issuance_intents (
    number         text PRIMARY KEY,
    application_id text NOT NULL,
    purpose        text NOT NULL,          -- issue | reissue | hisai
    staff_id       text,
    started_at     timestamptz NOT NULL DEFAULT now(),
    completed_at   timestamptz,
    abandoned_at   timestamptz,
    abandon_reason text
);
-- At most one open intent per application: a second issuer cannot start while one runs.
CREATE UNIQUE INDEX issuance_intents_open ON issuance_intents (application_id)
    WHERE completed_at IS NULL AND abandoned_at IS NULL;

-- CSV files imported on this node, by content hash: the same bytes again change nothing.
CREATE TABLE import_log (
    kind        text NOT NULL,
    sha256      text NOT NULL,
    rows        integer NOT NULL,
    changed     integer NOT NULL,
    staff_id    text,
    imported_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, sha256)
);

-- The SQL twin of service.records.search_key (NFKC, lower case, hiragana → katakana,
-- variant kanji folded, middle dots and spaces dropped). IMMUTABLE so it can back
-- expression indexes; tests/integration/test_counter_search.py checks it agrees with the
-- Python function on generated names.
CREATE FUNCTION risai_search_key(value text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT regexp_replace(
        translate(
            translate(
                lower(normalize(value, NFKC)),
                'ぁあぃいぅうぇえぉおかがきぎくぐけげこごさざしじすずせぜそぞただちぢっつづてでとどなにぬねのはばぱひびぴふぶぷへべぺほぼぽまみむめもゃやゅゆょよらりるれろゎわゐゑをんゔゕゖゝゞ',
                'ァアィイゥウェエォオカガキギクグケゲコゴサザシジスズセゼソゾタダチヂッツヅテデトドナニヌネノハバパヒビピフブプヘベペホボポマミムメモャヤュユョヨラリルレロヮワヰヱヲンヴヵヶヽヾ'),
            '髙﨑嵜碕齋齊斉邊邉嶋嶌澤濱櫻廣國德眞實榮惠藏冨槇曽萬龍瀧・',
            '高崎崎崎斎斎斎辺辺島島沢浜桜広国徳真実栄恵蔵富槙曾万竜滝'),
        '\s', '', 'g')
$$;

-- Prefix search on name and reading (LIKE 'key%' uses text_pattern_ops).
CREATE INDEX entities_resident_name ON entities
    (risai_search_key((state->>'family_name') || (state->>'given_name')) text_pattern_ops)
    WHERE entity_type = 'resident';
CREATE INDEX entities_resident_kana ON entities
    (risai_search_key((state->>'family_kana') || (state->>'given_kana')) text_pattern_ops)
    WHERE entity_type = 'resident';
CREATE INDEX entities_resident_birth ON entities ((state->>'birth_date'))
    WHERE entity_type = 'resident';
CREATE INDEX entities_resident_household ON entities ((state->>'household_id'))
    WHERE entity_type = 'resident';
CREATE INDEX entities_dwelling_households ON entities USING gin ((state->'household_ids'))
    WHERE entity_type = 'dwelling';
CREATE INDEX entities_survey_dwelling ON entities ((state->>'dwelling_id'))
    WHERE entity_type = 'survey';
CREATE INDEX entities_application_dwelling ON entities ((state->>'dwelling_id'))
    WHERE entity_type = 'application';
-- Verification's status lookup: "which certificate supersedes this number?"
CREATE INDEX entities_certificate_supersedes ON entities ((state->>'supersedes'))
    WHERE entity_type = 'certificate';
CREATE INDEX entities_certificate_application ON entities ((state->>'application_id'))
    WHERE entity_type = 'certificate';
