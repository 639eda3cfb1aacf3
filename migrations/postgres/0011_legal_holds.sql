-- Legal holds (issue 11): a case under a hold is never deleted by retention until an officer
-- lifts it. One row per held case; setting and lifting are audited (`legal_hold_set`,
-- `legal_hold_lifted`, with the reason). The day only, like every other case date.
CREATE TABLE legal_holds (
    case_id  TEXT PRIMARY KEY REFERENCES cases(id),
    since_on TEXT NOT NULL
);
