-- The per-case officer key: officer-only items (internal notes and their files, status
-- reasons) are encrypted to it instead of the case key, which on the browser path the
-- reporter's browser made and could have kept (docs/architecture.md, "Officer key").

-- The officer key's public half (age1…), NULL until the first officer's browser makes one.
-- Set once: the first creation wins.
ALTER TABLE cases ADD COLUMN officer_recipient TEXT;

-- Beside each holder's sealed case key, the officer identity sealed to the same recipient
-- (NULL while the case has no officer key). Deleted with the row by revocations and
-- exclusions; written with the row by grants.
ALTER TABLE case_keys ADD COLUMN officer_envelope BYTEA;
