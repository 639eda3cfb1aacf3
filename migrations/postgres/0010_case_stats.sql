-- What a case leaves behind when retention deletes it, so the yearly figures survive the
-- deletion (issue 11): metadata only, reduced to the month of receipt and whole days, with no
-- reference, no key and no link to the deleted rows. Keyed by a random id; read back sorted,
-- never in storage order (docs/threat-model.md says what PostgreSQL's system columns keep).
CREATE TABLE case_stats (
    id               UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    month            TEXT NOT NULL,
    category         TEXT NOT NULL,
    mode             TEXT NOT NULL,
    status           TEXT NOT NULL,
    outcome          TEXT,
    days_to_ack      BIGINT,
    days_to_feedback BIGINT,
    days_to_close    BIGINT,
    ack_in_time      BOOLEAN,
    feedback_in_time BOOLEAN
);
CREATE INDEX case_stats_month ON case_stats (month);
