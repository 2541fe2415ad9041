-- Surveys as records (issue 14): each survey names the application it was made for
-- (state->>'application_id'), so the surveys of an application are one index probe
-- (service.counter.surveys.surveys_of), even when a survey written at another node lost
-- the race to update the application's own list. Surveys stored before this carry no
-- application id: they are still found through the application's survey_id (a read-time
-- mapping in records.Survey.ADDED_FIELDS; no data is rewritten).
CREATE INDEX entities_survey_application ON entities ((state->>'application_id'))
    WHERE entity_type = 'survey';
