-- Officer workspace (PostgreSQL): logins with TOTP, sessions, enrollment links, access grants and
-- exclusions, status history, site settings and the hash-chained audit log.
-- Still no plaintext of any case here: status reasons are age ciphertext.

-- `officers` holds every account (admin, officer, investigator, auditor). An empty recipient
-- means the account has no age key (admins and auditors need none).
ALTER TABLE officers ADD COLUMN password_hash TEXT;
ALTER TABLE officers ADD COLUMN totp_secret BYTEA;
ALTER TABLE officers ADD COLUMN totp_last_step BIGINT;
ALTER TABLE officers ADD COLUMN wrapped_identity TEXT;
ALTER TABLE officers ADD COLUMN failed_logins BIGINT NOT NULL DEFAULT 0;
ALTER TABLE officers ADD COLUMN locked_until BIGINT NOT NULL DEFAULT 0;

-- One-time links; only a hash of the token is kept.
CREATE TABLE enrollments (
    token_hash  BYTEA PRIMARY KEY,
    officer_id  TEXT NOT NULL REFERENCES officers(id) ON DELETE CASCADE,
    totp_secret BYTEA NOT NULL,
    expires_at  BIGINT NOT NULL
);

-- Server-side sessions; the cookie holds the id, the table only its hash.
CREATE TABLE officer_sessions (
    id_hash    BYTEA PRIMARY KEY,
    officer_id TEXT NOT NULL REFERENCES officers(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL,
    lang       TEXT NOT NULL
);

-- Who may or may not hold a case key beyond the triage group: grants to investigators (or
-- officers who joined later) and conflict-of-interest exclusions.
CREATE TABLE case_access (
    case_id    TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    officer_id TEXT NOT NULL,
    kind       TEXT NOT NULL,
    by_officer TEXT NOT NULL,
    at         BIGINT NOT NULL,
    PRIMARY KEY (case_id, officer_id)
);

ALTER TABLE cases ADD COLUMN outcome TEXT;

-- Status history. `reason` is age ciphertext to the case recipient, or NULL.
CREATE TABLE case_events (
    case_id TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    seq     BIGINT NOT NULL,
    at      BIGINT NOT NULL,
    actor   TEXT NOT NULL,
    status  TEXT NOT NULL,
    outcome TEXT,
    reason  BYTEA,
    PRIMARY KEY (case_id, seq)
);

-- Settings an admin changes in the web UI; each value is JSON.
CREATE TABLE site_settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- The audit log: each row carries the hash of the one before (see docs/audit.md).
CREATE TABLE audit_log (
    seq       BIGINT PRIMARY KEY,
    at        BIGINT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    case_ref  TEXT NOT NULL,
    detail    TEXT NOT NULL,
    prev_hash BYTEA NOT NULL,
    hash      BYTEA NOT NULL
);

-- The chain's head, locked by every append so that two writers never fork the chain.
CREATE TABLE audit_head (
    id   BIGINT PRIMARY KEY,
    seq  BIGINT NOT NULL,
    hash BYTEA NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, decode('0000000000000000000000000000000000000000000000000000000000000000', 'hex'));

-- Reporter actions wait here, stamped with a day only, and join the chain after that day
-- has ended, so their place in the chain does not reveal a time of day.
CREATE TABLE audit_pending (
    day      TEXT NOT NULL,
    action   TEXT NOT NULL,
    case_ref TEXT NOT NULL
);
