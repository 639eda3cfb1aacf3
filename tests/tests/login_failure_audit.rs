//! Repeated failed sign-ins cannot flood the audit log (issue 9 §4), on both databases: a
//! flood of guesses at one account and at addresses that are no account writes one row per
//! window and bucket, the row that closes each window states how many failures it saw, the
//! hash chain verifies, and the account lock still holds.

use speakup_tests::officer::*;
use speakup_tests::speakup::clock::Clock;
use speakup_tests::*;

async fn post_login(app: &TestApp, csrf: &str, email: &str, password: &str) -> u16 {
    app.browser()
        .post(app.url("/officer/login"))
        .form(&[
            ("csrf", csrf),
            ("email", email),
            ("password", password),
            ("code", "000000"),
        ])
        .send()
        .await
        .expect("login")
        .status()
        .as_u16()
}

async fn rows(app: &TestApp, action: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM audit_log WHERE action = '{action}'"
    ))
    .await
}

/// The detail of the one summary row of `actor`'s window.
async fn summary_of(app: &TestApp, actor: &str) -> String {
    let found: Vec<String> = app
        .store
        .audit_rows(0, 100_000)
        .await
        .expect("rows")
        .into_iter()
        .filter(|r| r.entry.action == "login_failures_repeated" && r.entry.actor == actor)
        .map(|r| r.entry.detail)
        .collect();
    assert_eq!(found.len(), 1, "summary rows of {actor}: {found:?}");
    found[0].clone()
}

/// `count` guesses, eight at a time, each from `email_of(i)` with a wrong password.
async fn guesses(app: &TestApp, csrf: &str, count: usize, email_of: impl Fn(usize) -> String) {
    for start in (0..count).step_by(8) {
        let batch = (start..(start + 8).min(count)).map(|i| {
            let email = email_of(i);
            async move { post_login(app, csrf, &email, &format!("guess number {i}")).await }
        });
        let statuses = futures_util::future::join_all(batch).await;
        assert!(
            statuses.iter().all(|s| *s == 401),
            "every guess gets the neutral refusal, never a server error: {statuses:?}"
        );
    }
}

async fn a_flood_of_failed_sign_ins_stays_a_few_rows(backend: Backend) {
    let Some(app) = spawn_without_officer(backend).await else {
        return;
    };
    let link = admin_via_cli(&app, "admin@example.org").await;
    let admin = enroll(&app, &link, "admin@example.org", false).await;
    let before = app.scalar("SELECT COUNT(*) FROM audit_log").await;
    let page = app.page(&app.browser(), "/officer/login").await;
    let csrf = hidden(&page, "csrf");

    // 200 guesses at the admin's password, and 100 at addresses that are no account (each a
    // different one, so varying the address opens no new windows either).
    guesses(&app, &csrf, 200, |_| admin.email.clone()).await;
    guesses(&app, &csrf, 100, |i| format!("nobody{i}@example.org")).await;
    let added = app.scalar("SELECT COUNT(*) FROM audit_log").await - before;
    assert_eq!(
        added, 2,
        "one row per bucket while the windows are open (the admin's, unknown addresses')"
    );
    assert_eq!(rows(&app, "login_failed").await, 2);

    // The lock still holds: the right password with a fresh, right code is refused.
    let (status, _) = login_with(&app, &admin, PASSWORD, &fresh_code(&app, &admin)).await;
    assert_eq!(status, 401, "signed in while locked");
    let now = app.clock.now().unix_timestamp();
    let until = app
        .scalar("SELECT locked_until FROM officers WHERE email = 'admin@example.org'")
        .await;
    assert!(until > now, "account not locked");

    // After the window: the next failure at an unknown address closes that bucket's window
    // (one row with the count) and opens a new one (its own row); the admin's next sign-in
    // closes the admin's window before its `login` row.
    app.clock.advance(16 * 60);
    assert_eq!(
        post_login(&app, &csrf, "someone.else@example.org", "x").await,
        401
    );
    login(&app, &admin).await;
    let unknown = summary_of(&app, "unknown accounts").await;
    assert!(
        unknown.starts_with("99 more failed sign-ins") && unknown.contains("(100 in all)"),
        "{unknown}"
    );
    let admin_summary = summary_of(&app, "admin@example.org").await;
    assert!(
        admin_summary.starts_with("200 more failed sign-ins")
            && admin_summary.contains("(201 in all)"),
        "{admin_summary}"
    );
    let by_reason = failed_sign_ins(&app).await;
    assert_eq!(
        by_reason.values().sum::<i64>(),
        201 + 101,
        "every failure is counted: {by_reason:?}"
    );
    assert!(
        by_reason.get("wrong password").copied().unwrap_or(0) <= 5,
        "the lock stopped the password checks: {by_reason:?}"
    );
    let added = app.scalar("SELECT COUNT(*) FROM audit_log").await - before;
    assert_eq!(added, 6, "2 first rows, 2 summaries, 1 new window, 1 login");

    // Nothing in the chain was changed after the fact: it verifies.
    let verdict = run_cli(&app, &["audit", "verify"]).await;
    assert!(verdict.contains("audit log intact"), "{verdict}");
    app.finish().await;
}

fn fresh_code(app: &TestApp, p: &Person) -> String {
    app.clock.advance(31);
    speakup::auth::code_at(&p.seed, app.clock.now().unix_timestamp()).expect("code")
}

on_both_databases!(a_flood_of_failed_sign_ins_stays_a_few_rows);
