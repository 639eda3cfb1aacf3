-- database-alone-opens-nothing: cases.lookup holds SHA-256("speakup/lookup-at-rest/v1" ||
-- lookup value) from now on, never the value `/follow-up` accepts. PostgreSQL hashes the
-- cases filed before right here; the list below exists so both dialects share the start-up
-- step SQLite needs (store::cases, hash_clear_lookups), and stays empty.
UPDATE cases SET lookup = sha256(convert_to('speakup/lookup-at-rest/v1', 'UTF8') || lookup);
CREATE TABLE clear_lookups (
    case_id TEXT PRIMARY KEY
);
-- The secret the cookie and CSRF keys were once derived from: the key file replaces it.
DELETE FROM server_secrets WHERE name = 'web-keys-v1';
