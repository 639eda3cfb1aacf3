-- What a case leaves behind when retention deletes it, so the yearly figures survive the
-- deletion (issue 11): metadata only, reduced to the month of receipt and whole days, with no
-- reference, no key and no link to the deleted rows. Keyed by a random id in a table without
-- rowid, so the storage order tells nothing of the order in which cases were deleted.
CREATE TABLE case_stats (
    id               BLOB PRIMARY KEY DEFAULT (randomblob(16)),
    month            TEXT NOT NULL,
    category         TEXT NOT NULL,
    mode             TEXT NOT NULL,
    status           TEXT NOT NULL,
    outcome          TEXT,
    days_to_ack      INTEGER,
    days_to_feedback INTEGER,
    days_to_close    INTEGER,
    ack_in_time      INTEGER,
    feedback_in_time INTEGER
) WITHOUT ROWID;
CREATE INDEX case_stats_month ON case_stats (month);
