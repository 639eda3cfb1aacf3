-- `items_case` indexed the same columns, in the same order, as the table's own
-- UNIQUE (case_id, seq) index, which every query by case already uses; each new item (a
-- report, a message, a file) was written into both (issue 14: the one writer's pages per
-- report).
DROP INDEX items_case;
