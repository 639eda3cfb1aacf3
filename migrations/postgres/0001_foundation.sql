-- Speak Up foundation schema (PostgreSQL). Case content exists here only as age ciphertext.
-- Reporter-side dates are whole days (TEXT 'YYYY-MM-DD'); no IP, user agent or time of day.

CREATE TABLE server_secrets (
    name  TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);

CREATE TABLE officers (
    id         TEXT PRIMARY KEY,
    email      TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    roles      TEXT NOT NULL,
    recipient  TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    disabled   BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE cases (
    id                 TEXT PRIMARY KEY,
    reference          TEXT NOT NULL UNIQUE,
    lookup             BYTEA NOT NULL UNIQUE,
    case_recipient     TEXT NOT NULL,
    reporter_recipient TEXT NOT NULL,
    category           TEXT NOT NULL,
    mode               TEXT NOT NULL,
    status             TEXT NOT NULL,
    received_on        TEXT NOT NULL,
    acknowledged_on    TEXT,
    feedback_on        TEXT,
    closed_on          TEXT
);

-- One sealed copy of the case identity per holder (an officer, or the escrow key).
CREATE TABLE case_keys (
    case_id   TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    holder    TEXT NOT NULL,
    recipient TEXT NOT NULL,
    envelope  BYTEA NOT NULL,
    PRIMARY KEY (case_id, holder)
);

-- A blob is one age file, stored as ordered chunks. Incomplete blobs are uploads in progress.
CREATE TABLE blobs (
    id         TEXT PRIMARY KEY,
    complete   BOOLEAN NOT NULL DEFAULT FALSE,
    created_on TEXT NOT NULL,
    size       BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE chunks (
    blob_id TEXT NOT NULL REFERENCES blobs(id) ON DELETE CASCADE,
    idx     BIGINT NOT NULL,
    data    BYTEA NOT NULL,
    PRIMARY KEY (blob_id, idx)
);

CREATE TABLE items (
    id               TEXT PRIMARY KEY,
    case_id          TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    seq              BIGINT NOT NULL,
    kind             TEXT NOT NULL,
    author           TEXT NOT NULL,
    created_on       TEXT NOT NULL,
    reporter_visible BOOLEAN NOT NULL,
    parent_id        TEXT,
    blob_id          TEXT NOT NULL REFERENCES blobs(id),
    name_blob_id     TEXT REFERENCES blobs(id),
    UNIQUE (case_id, seq)
);

CREATE INDEX items_case ON items(case_id, seq);
CREATE INDEX blobs_incomplete ON blobs(complete, created_on);
