-- database-alone-opens-nothing: cases.lookup holds SHA-256("speakup/lookup-at-rest/v1" ||
-- lookup value) from now on, never the value `/follow-up` accepts. SQLite has no SHA-256,
-- so this lists the cases filed before, and the server hashes their lookup values at start
-- (store::cases, hash_clear_lookups) and empties the list, in one transaction.
CREATE TABLE clear_lookups (
    case_id TEXT PRIMARY KEY
);
INSERT INTO clear_lookups (case_id) SELECT id FROM cases;
-- The secret the cookie and CSRF keys were once derived from: the key file replaces it.
DELETE FROM server_secrets WHERE name = 'web-keys-v1';
