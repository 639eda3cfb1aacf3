-- Notifications (issue 10): officers are told by e-mail, in a constant form, what needs them.
-- Nothing here holds or hints at report content; no row carries the time a report was filed.

-- Each officer's choice (all mails, the daily digest only, or none) and the language of the
-- mails. No row: all mails, in the language of the officer's latest session.
CREATE TABLE notify_prefs (
    officer_id TEXT PRIMARY KEY REFERENCES officers(id) ON DELETE CASCADE,
    mode       TEXT NOT NULL,
    lang       TEXT NOT NULL
);

-- What an officer has already been told about a case: the highest reporter item they were
-- told of. No row: the case is new to them. No time is kept.
CREATE TABLE notify_marks (
    officer_id   TEXT NOT NULL REFERENCES officers(id) ON DELETE CASCADE,
    case_id      TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    reporter_seq INTEGER NOT NULL,
    PRIMARY KEY (officer_id, case_id)
);

-- One row per mail claimed for sending (recipient, period), so a second instance or a restart
-- never sends it again. Hourly rows are deleted once their day is over.
CREATE TABLE notify_sent (
    recipient TEXT NOT NULL,
    period    TEXT NOT NULL,
    PRIMARY KEY (recipient, period)
);

-- The lease that lets one instance at a time send (several instances on one database).
CREATE TABLE notify_lease (
    name     TEXT PRIMARY KEY,
    holder   TEXT NOT NULL,
    until_at INTEGER NOT NULL
);

-- The last delivery result, for the admin settings page (never a mail's contents).
CREATE TABLE notify_status (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
