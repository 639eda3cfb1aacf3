-- Officer safety: an admin's reset clears the account's key and is shown to the person at
-- their next sign-in; exclusions from a case need a second officer's confirmation.

-- When an admin last reset the account, and whether the person has been told since.
ALTER TABLE officers ADD COLUMN reset_at BIGINT;
ALTER TABLE officers ADD COLUMN reset_unseen BOOLEAN NOT NULL DEFAULT FALSE;

-- An exclusion proposed by one officer, waiting for a different officer's confirmation; only
-- then is the colleague's copy of the case key deleted and the exclusion row written.
CREATE TABLE pending_exclusions (
    case_id    TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    officer_id TEXT NOT NULL,
    by_officer TEXT NOT NULL,
    at         BIGINT NOT NULL,
    PRIMARY KEY (case_id, officer_id)
);
