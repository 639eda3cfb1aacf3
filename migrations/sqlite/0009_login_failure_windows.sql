-- Failed officer sign-ins are counted, not logged one audit row each (docs/audit.md, "Failed
-- sign-ins"): an attacker could otherwise flood the audit log. The first failure of a window
-- is an ordinary `login_failed` row in the chain; later failures in the same bucket within
-- the window only raise the counts here. When the window is closed (the next failure after it
-- ended, the next successful sign-in of the account, or the hourly maintenance run) one
-- `login_failures_repeated` row joins the chain with the counts; the chain itself is never
-- changed after the fact, so it stays verifiable.
--
-- bucket: the account's e-mail address for a known account, '' for every address that is not
-- one (unknown or disabled), so that varying the typed address opens no new windows.
-- failures: every failure of the window, its first included.
CREATE TABLE login_failure_windows (
    bucket TEXT PRIMARY KEY,
    opened_at BIGINT NOT NULL,
    last_at BIGINT NOT NULL,
    failures BIGINT NOT NULL
);

-- The failures after a window's first, by reason (a fixed set of server-written reasons, so
-- a bucket has a handful of rows at most).
CREATE TABLE login_failure_reasons (
    bucket TEXT NOT NULL,
    reason TEXT NOT NULL,
    failures BIGINT NOT NULL,
    PRIMARY KEY (bucket, reason)
);
