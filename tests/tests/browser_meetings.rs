//! Meetings and minutes in a real browser, with and without JavaScript on the reporter's
//! side (issue 11): Debian's Chromium, driven by `tests/browser/minutes.mjs`. The reporter
//! files a report asking for a meeting by phone (with JavaScript the browser encrypts the
//! report and the availability, without it the server does; the case gets the request). An
//! officer sends two minutes (encrypted as their browser does); the reporter opens the
//! mailbox with the receipt (sealed and decrypted by the browser with JavaScript, decrypted
//! by the server without), confirms the first (a plain form) and corrects the second (a reply
//! linked to them: encrypted by the browser, or the plain reply form's `corrects` field). The
//! case records both answers; the correction is never stored in plaintext. The same steps
//! over plain HTTP, with their error cases, are in `tests/meetings.rs`.

use speakup_tests::browser::{self, str_of};
use speakup_tests::officer::*;
use speakup_tests::*;

async fn meetings_and_minutes(backend: Backend, js: bool) {
    let flag = if js { "on" } else { "off" };
    if !browser::ready() {
        return;
    }
    let Some(app) = spawn_without_officer(backend).await else {
        return;
    };
    let link = admin_via_cli(&app, "admin@example.org").await;
    let admin = enroll(&app, &link, "admin@example.org", false).await;
    login(&app, &admin).await;
    let olga_link = create_account(&app, &admin, "olga@example.org", &["officer"]).await;
    let olga = enroll(&app, &olga_link, "olga@example.org", true).await;
    login(&app, &olga).await;
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let availability = format!("CANARY-availability-js-{flag}-{tag}: after six");
    let filed = browser::node(
        "minutes.mjs",
        "file",
        vec![
            "--js".into(),
            flag.into(),
            "--base".into(),
            app.base.clone(),
            "--lang".into(),
            "en".into(),
            "--what".into(),
            format!("Invoices paid twice {tag}"),
            "--availability".into(),
            availability.clone(),
        ],
        Vec::new(),
    )
    .await;
    assert_eq!(filed["sealed"], js, "{filed}");
    let receipt = str_of(&filed, "receipt").to_owned();
    let asked =
        "SELECT COUNT(*) FROM meeting_requests WHERE kind = 'phone' AND item_id IS NOT NULL";
    assert_eq!(app.scalar(asked).await, 1);
    let reference = first_reference(&app, &olga).await;
    let case = open_case(&app, &olga, &reference).await;
    assert!(
        case.html.contains("Asks for a meeting: By phone"),
        "{}",
        case.html
    );
    let first = format!("Minutes of our call {tag}");
    let second = format!("Minutes of our meeting {tag}");
    for text in [&first, &second] {
        let c = open_case(&app, &olga, &reference).await;
        let (status, page) = post_parts(
            &app,
            &olga,
            &format!("/officer/cases/{reference}/messages"),
            &[("csrf", &c.csrf), ("kind", "message"), ("minutes", "1")],
            vec![("message", encrypt(&c.to_both, text.as_bytes()))],
        )
        .await;
        assert_eq!(status, 200, "{page}");
    }
    let correction = format!("CANARY-correction-js-{flag}-{tag}: it was on Tuesday");
    let summary = browser::node(
        "minutes.mjs",
        "answer",
        vec![
            "--js".into(),
            flag.into(),
            "--base".into(),
            app.base.clone(),
            "--lang".into(),
            "en".into(),
            "--receipt".into(),
            receipt,
            "--confirm".into(),
            first,
            "--correct".into(),
            second,
            "--correction".into(),
            correction.clone(),
        ],
        Vec::new(),
    )
    .await;
    assert_eq!(summary["js"], js, "{summary}");
    assert!(
        str_of(&summary, "notice").contains("confirmed"),
        "{summary}"
    );
    assert!(
        str_of(&summary, "confirmed").starts_with("You confirmed"),
        "{summary}"
    );
    assert!(
        str_of(&summary, "corrected").starts_with("You corrected"),
        "{summary}"
    );

    let c = open_case(&app, &olga, &reference).await;
    assert!(
        c.html.contains("confirmed by the reporter on"),
        "{}",
        c.html
    );
    assert!(
        c.html.contains("corrected by the reporter on"),
        "{}",
        c.html
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM minutes WHERE answer IS NOT NULL")
            .await,
        2
    );
    let db = app.database_bytes().await;
    for secret in [&correction, &availability] {
        assert!(
            !contains(&db, secret),
            "{secret} in plaintext in the database"
        );
    }
    app.finish().await;
}

async fn meetings_and_minutes_with_javascript(backend: Backend) {
    meetings_and_minutes(backend, true).await;
}

async fn meetings_and_minutes_without_javascript(backend: Backend) {
    meetings_and_minutes(backend, false).await;
}

on_both_databases!(
    meetings_and_minutes_with_javascript,
    meetings_and_minutes_without_javascript
);
