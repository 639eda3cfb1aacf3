-- no-transaction
-- Storage keeps no filing order (reporter-anonymity): SQLite's hidden rowid numbered every
-- case, item, envelope, blob and chunk in the order they were written, so a copy of the
-- database told which case came in before which, and in which order a reporter acted within
-- a day. These tables are rebuilt WITHOUT ROWID: rows live in the order of their (random)
-- primary keys. Queued reporter audit rows get a random key for the same reason.
--
-- Rebuilding a referenced table needs foreign keys off (a DROP would cascade), which cannot
-- change inside a transaction; hence `no-transaction` above and an explicit one below.
-- Merge note: a migration before this one that adds columns to these tables must add them
-- here too, or the rebuild drops them.
PRAGMA foreign_keys = OFF;
BEGIN;

CREATE TABLE cases_new (
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
    closed_on          TEXT,
    outcome            TEXT
) WITHOUT ROWID;
INSERT INTO cases_new (id, reference, lookup, case_recipient, reporter_recipient, category,
    mode, status, received_on, acknowledged_on, feedback_on, closed_on, outcome)
SELECT id, reference, lookup, case_recipient, reporter_recipient, category, mode, status,
    received_on, acknowledged_on, feedback_on, closed_on, outcome FROM cases ORDER BY id;
DROP TABLE cases;
ALTER TABLE cases_new RENAME TO cases;

CREATE TABLE case_keys_new (
    case_id   TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    holder    TEXT NOT NULL,
    recipient TEXT NOT NULL,
    envelope  BLOB NOT NULL,
    PRIMARY KEY (case_id, holder)
) WITHOUT ROWID;
INSERT INTO case_keys_new (case_id, holder, recipient, envelope)
SELECT case_id, holder, recipient, envelope FROM case_keys ORDER BY case_id, holder;
DROP TABLE case_keys;
ALTER TABLE case_keys_new RENAME TO case_keys;

CREATE TABLE blobs_new (
    id         TEXT PRIMARY KEY,
    complete   INTEGER NOT NULL DEFAULT 0,
    created_on TEXT NOT NULL,
    size       INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
INSERT INTO blobs_new (id, complete, created_on, size)
SELECT id, complete, created_on, size FROM blobs ORDER BY id;
DROP TABLE blobs;
ALTER TABLE blobs_new RENAME TO blobs;
CREATE INDEX blobs_incomplete ON blobs(complete, created_on);

CREATE TABLE chunks_new (
    blob_id TEXT NOT NULL REFERENCES blobs(id) ON DELETE CASCADE,
    idx     INTEGER NOT NULL,
    data    BLOB NOT NULL,
    PRIMARY KEY (blob_id, idx)
) WITHOUT ROWID;
INSERT INTO chunks_new (blob_id, idx, data)
SELECT blob_id, idx, data FROM chunks ORDER BY blob_id, idx;
DROP TABLE chunks;
ALTER TABLE chunks_new RENAME TO chunks;

CREATE TABLE items_new (
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
) WITHOUT ROWID;
INSERT INTO items_new (id, case_id, seq, kind, author, created_on, reporter_visible,
    parent_id, blob_id, name_blob_id)
SELECT id, case_id, seq, kind, author, created_on, reporter_visible, parent_id, blob_id,
    name_blob_id FROM items ORDER BY id;
DROP TABLE items;
ALTER TABLE items_new RENAME TO items;
CREATE INDEX items_case ON items(case_id, seq);

CREATE TABLE case_access_new (
    case_id    TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    officer_id TEXT NOT NULL,
    kind       TEXT NOT NULL,
    by_officer TEXT NOT NULL,
    at         INTEGER NOT NULL,
    PRIMARY KEY (case_id, officer_id)
) WITHOUT ROWID;
INSERT INTO case_access_new (case_id, officer_id, kind, by_officer, at)
SELECT case_id, officer_id, kind, by_officer, at FROM case_access ORDER BY case_id, officer_id;
DROP TABLE case_access;
ALTER TABLE case_access_new RENAME TO case_access;

CREATE TABLE case_events_new (
    case_id TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,
    at      INTEGER NOT NULL,
    actor   TEXT NOT NULL,
    status  TEXT NOT NULL,
    outcome TEXT,
    reason  BLOB,
    PRIMARY KEY (case_id, seq)
) WITHOUT ROWID;
INSERT INTO case_events_new (case_id, seq, at, actor, status, outcome, reason)
SELECT case_id, seq, at, actor, status, outcome, reason FROM case_events ORDER BY case_id, seq;
DROP TABLE case_events;
ALTER TABLE case_events_new RENAME TO case_events;

-- A random key: queued rows sit in no order that tells which reporter action came first.
CREATE TABLE audit_pending_new (
    id       BLOB PRIMARY KEY DEFAULT (randomblob(16)),
    day      TEXT NOT NULL,
    action   TEXT NOT NULL,
    case_ref TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO audit_pending_new (id, day, action, case_ref)
SELECT randomblob(16), day, action, case_ref FROM audit_pending;
DROP TABLE audit_pending;
ALTER TABLE audit_pending_new RENAME TO audit_pending;

PRAGMA foreign_key_check;
COMMIT;
PRAGMA foreign_keys = ON;
