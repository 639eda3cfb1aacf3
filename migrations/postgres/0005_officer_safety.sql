-- Officer safety: an admin's reset clears the account's key and is shown to the person at
-- their next sign-in; exclusions from a case need a second officer's confirmation.

-- When an admin last reset the account, and whether the person has been told since.
ALTER TABLE officers ADD COLUMN reset_at BIGINT;
ALTER TABLE officers ADD COLUMN reset_unseen BOOLEAN NOT NULL DEFAULT FALSE;
