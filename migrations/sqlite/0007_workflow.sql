-- Workflow fixes: the reporter's interface language and the officer responsible for a case.

-- The language the reporter filed in (en, nl, fr, de): the acknowledgement and message
-- templates are offered in it, whatever the officer's own language. Low in information (one
-- of four values, the same the reporter's browser sent with every request). NULL for cases
-- filed before this column existed: the instance's default language applies to them.
ALTER TABLE cases ADD COLUMN reporter_lang TEXT;

-- The officer responsible for the case (an officers.id), NULL while nobody is. Set by the first
-- officer who opens or acknowledges an unowned case, changed by an officer who manages case
-- access; cleared when its holder loses their copy of the case key (revoked or excluded).
ALTER TABLE cases ADD COLUMN owner_id TEXT;
