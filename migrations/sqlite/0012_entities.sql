-- Several legal entities in one instance (issue 12). An entity has a slug (its address
-- `/e/{slug}/` and its key), a name per language, and optional overrides of the instance's
-- settings (notice, categories, retention, escalation) as JSON; absent means "as the
-- instance". Its triage group is `entity_members`; an officer in `group_officers` belongs to
-- every entity's group. A case's `entity_slug` is NULL for the instance's own cases, so
-- every case filed before this migration (and every case of a single-entity instance filed
-- at `/report`) is unchanged.
CREATE TABLE entities (
    slug       TEXT PRIMARY KEY,
    names      TEXT NOT NULL,
    overrides  TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE entity_members (
    entity_slug TEXT NOT NULL REFERENCES entities(slug),
    officer_id  TEXT NOT NULL REFERENCES officers(id),
    PRIMARY KEY (entity_slug, officer_id)
) WITHOUT ROWID;

CREATE TABLE group_officers (
    officer_id TEXT PRIMARY KEY REFERENCES officers(id)
) WITHOUT ROWID;

ALTER TABLE cases ADD COLUMN entity_slug TEXT REFERENCES entities(slug);

-- What a deleted case leaves for the figures keeps its entity, so the statistics can be
-- drawn per entity (NULL: the instance's own, as every row written before).
ALTER TABLE case_stats ADD COLUMN entity_slug TEXT;
