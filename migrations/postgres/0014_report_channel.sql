-- How a report reached the platform (issue 11): `web` (the reporter's own form, either road)
-- or `officer_entered` (an officer entered it on the reporter's behalf after a call, a meeting
-- or a letter; the `report_entered` audit row names the officer). Every case filed before
-- this migration came through the web. The statistics row a deleted case leaves keeps its
-- channel too, so the yearly figures by channel survive deletion.
ALTER TABLE cases ADD COLUMN channel TEXT NOT NULL DEFAULT 'web'
    CHECK (channel IN ('web', 'officer_entered'));
ALTER TABLE case_stats ADD COLUMN channel TEXT NOT NULL DEFAULT 'web'
    CHECK (channel IN ('web', 'officer_entered'));
