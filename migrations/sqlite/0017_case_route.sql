-- Routing before sealing (issue 12): the triage group a case was routed to at filing (its
-- category's route then), or NULL when the case went to the whole triage group of its entity.
-- Officers of the entity's group outside that group do not see the case at all, not even its
-- row in the case list; a colleague's grant still shows it. The name is kept in step when the
-- group is renamed, and a group that cases are routed to cannot be deleted. Moving a case to
-- another entity seals it to that entity's whole group and clears it. Nothing here is about
-- the reporter: the category is already stored, and the route follows from it.
ALTER TABLE cases ADD COLUMN routed_to TEXT;
