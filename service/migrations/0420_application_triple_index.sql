-- One current 罹災証明書 per (household, dwelling, disaster) (issue 11,
-- service/counter/duplicates.py). The counter's duplicate check and the post-apply review
-- read a household's applications for one dwelling (service.storage.duplicates
-- APPLICATIONS_FOR_SQL); this index answers that with one probe however many applications
-- the federation holds. The disaster is compared in Python (free-text disasters are keyed
-- by the registry id their name and date would get).
CREATE INDEX entities_application_household_dwelling ON entities
    ((state->>'household_id'), (state->>'dwelling_id'))
    WHERE entity_type = 'application';

-- The review items of duplicates (conflicts of kind duplicate_certificate) by triple:
-- closing a triple's items and finding the certificates under review read them by entity id.
CREATE INDEX conflicts_by_entity ON conflicts (kind, entity_type, entity_id);
