-- Meetings and minutes (issue 11, Directive art. 9(2) and 18). A reporter's request for a
-- meeting (in person or by phone) is a task on the case: the kind and the day asked are
-- metadata in clear (whatever the reporter wrote about it is an encrypted item, `item_id`);
-- the officer who marks it done, and when, is an officer action (audited `meeting_done`).
-- Random ids in tables without rowid: no storage order tells when a request came.
CREATE TABLE meeting_requests (
    id           TEXT PRIMARY KEY,
    case_id      TEXT NOT NULL REFERENCES cases(id),
    kind         TEXT NOT NULL,
    requested_on TEXT NOT NULL,
    item_id      TEXT,
    done_at      BIGINT,
    done_by      TEXT
);
CREATE INDEX meeting_requests_case ON meeting_requests (case_id);

-- An officer's message marked as the minutes of a meeting or call, and the reporter's answer:
-- confirmed, or corrected by a reply (`correction_id`, an encrypted item). Days only.
CREATE TABLE minutes (
    item_id       TEXT PRIMARY KEY,
    case_id       TEXT NOT NULL REFERENCES cases(id),
    answer        TEXT,
    answered_on   TEXT,
    correction_id TEXT
);
CREATE INDEX minutes_case ON minutes (case_id);
