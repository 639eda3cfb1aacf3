-- `blobs_incomplete` serves one query: the purge of uploads never finished
-- (`complete = FALSE AND created_on < $1`). It held every blob, and every report, message
-- and file adds a complete one; now it holds only the incomplete ones, so a new item's
-- blob is one B-tree write fewer (issue 14: the one writer's pages per report).
DROP INDEX blobs_incomplete;
CREATE INDEX blobs_incomplete ON blobs(created_on) WHERE complete = FALSE;
