-- An entity's logo (issue 12): never the file an admin uploaded, only the PNG the server drew
-- from it (decoded or rendered, then re-encoded, bounded in size, without metadata; see
-- `app::logos`). One row per entity that has one; removing the logo deletes the row.
CREATE TABLE entity_logos (
    entity_slug TEXT PRIMARY KEY REFERENCES entities(slug),
    png         BLOB NOT NULL
) WITHOUT ROWID;
