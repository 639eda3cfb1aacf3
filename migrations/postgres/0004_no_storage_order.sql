-- Storage keeps no filing order where it can (reporter-anonymity). PostgreSQL has no rowid;
-- its system columns (ctid: physical place; xmin: inserting transaction id) still reflect
-- write order and cannot be removed — docs/threat-model.md says what they reveal. Queued
-- reporter audit rows get a random key, and are read back sorted, never in storage order.
ALTER TABLE audit_pending ADD COLUMN id UUID NOT NULL DEFAULT gen_random_uuid();
ALTER TABLE audit_pending ADD PRIMARY KEY (id);
