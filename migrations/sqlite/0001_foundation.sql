-- Speak Up foundation schema (SQLite). Case content exists here only as age ciphertext.
-- Reporter-side dates are whole days (TEXT 'YYYY-MM-DD'); no IP, user agent or time of day.

CREATE TABLE server_secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

CREATE TABLE officers (
    id         TEXT PRIMARY KEY,
    email      TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    roles      TEXT NOT NULL,
    recipient  TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    disabled   INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE cases (
    id                 TEXT PRIMARY KEY,
    reference          TEXT NOT NULL UNIQUE,
    lookup             BLOB NOT NULL UNIQUE,
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
    envelope  BLOB NOT NULL,
    PRIMARY KEY (case_id, holder)
);

-- A blob is one age file, stored as ordered chunks. Incomplete blobs are uploads in progress.
CREATE TABLE blobs (
    id         TEXT PRIMARY KEY,
    complete   INTEGER NOT NULL DEFAULT 0,
    created_on TEXT NOT NULL,
    size       INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE chunks (
    blob_id TEXT NOT NULL REFERENCES blobs(id) ON DELETE CASCADE,
    idx     INTEGER NOT NULL,
    data    BLOB NOT NULL,
    PRIMARY KEY (blob_id, idx)
);

CREATE TABLE items (
    id               TEXT PRIMARY KEY,
    case_id          TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    seq              INTEGER NOT NULL,
    kind             TEXT NOT NULL,
    author           TEXT NOT NULL,
    created_on       TEXT NOT NULL,
    reporter_visible INTEGER NOT NULL,
    parent_id        TEXT,
    blob_id          TEXT NOT NULL REFERENCES blobs(id),
    name_blob_id     TEXT REFERENCES blobs(id),
    UNIQUE (case_id, seq)
);

CREATE INDEX items_case ON items(case_id, seq);
CREATE INDEX blobs_incomplete ON blobs(complete, created_on);
