-- Routing before sealing (issue 12): named triage groups of officers. A category may name the
-- group that receives it (the `category_routes` site setting); a report in that category is
-- sealed only to the group's members (and the escrow). Names are what admins type and what
-- the routes name; members are officer accounts. No time is kept: nothing here is about a
-- reporter. A reporter's leave-outs are `case_access` rows of kind `exclusion` with
-- `by_officer = 'reporter'` and the day only.
CREATE TABLE triage_groups (
    name TEXT PRIMARY KEY
) WITHOUT ROWID;

CREATE TABLE triage_group_members (
    group_name TEXT NOT NULL REFERENCES triage_groups(name) ON DELETE CASCADE,
    officer_id TEXT NOT NULL REFERENCES officers(id) ON DELETE CASCADE,
    PRIMARY KEY (group_name, officer_id)
) WITHOUT ROWID;
