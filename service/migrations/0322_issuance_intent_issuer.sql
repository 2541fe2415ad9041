-- Which issuer opened an intent (issue 10): a random id per node process. An issuer holds
-- its process's in-memory lock for the application, so an open intent with its own process's
-- id can only be left by an issuer that failed before storing: it is abandoned at once.
-- An intent of another process is abandoned only when it is old (service/counter/issuance.py).
ALTER TABLE issuance_intents ADD COLUMN issuer text;
