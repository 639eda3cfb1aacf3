-- The version of who receives cases (officers, their keys and roles, entities' and triage
-- groups' members), moved by every transaction that changes any of it. The intake keeps the
-- directory in memory and reads only this number before it trusts its copy, so a report is
-- never sealed to a directory older than the last change committed by any process (the
-- command line, another instance), where it used to read the whole directory per report.
-- Nothing here is about reporters.
CREATE TABLE directory_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO directory_version (id, version) VALUES (1, 0);
