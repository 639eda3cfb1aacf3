//! Meetings and minutes (issue 11), over HTTP without JavaScript on both databases: a reporter
//! asks for a meeting on the intake form and in the mailbox; each request is a task on the
//! case, due `SPEAKUP_MEETING_DUE_DAYS` after the day asked (overdue after, on the injected
//! clock), flagged in the case list, and marked held by an officer with its audit row. An
//! officer sends minutes; the reporter confirms one and corrects another (a reply linked to
//! them); the case page shows both answers and the queued audit rows name them. A reply on
//! the browser path (sealed, as the mailbox script posts it) asks for a meeting the same way.
//! What the reporter wrote (availability, the correction) is never stored in plaintext nor
//! logged; the due-days setting is checked at start.

use speakup::config::ServeArgs;
use speakup::i18n::Lang;
use speakup_tests::officer::*;
use speakup_tests::*;

/// An admin and one compliance officer with a key.
async fn officer(app: &TestApp) -> Person {
    let link = admin_via_cli(app, "admin@example.org").await;
    let admin = enroll(app, &link, "admin@example.org", false).await;
    login(app, &admin).await;
    let olga_link = create_account(app, &admin, "olga@example.org", &["officer"]).await;
    let olga = enroll(app, &olga_link, "olga@example.org", true).await;
    login(app, &olga).await;
    olga
}

/// Files a report on the server path with a meeting choice and availability; returns the
/// status and the page.
async fn file_with_meeting(
    app: &TestApp,
    client: &reqwest::Client,
    meeting: &str,
    availability: &str,
) -> (u16, String) {
    let page = app.page(client, "/report?lang=en").await;
    let form = Report::default()
        .form(&hidden(&page, "csrf"))
        .text("meeting", meeting.to_owned())
        .text("availability", availability.to_owned());
    let res = client
        .post(app.url("/report?lang=en"))
        .multipart(form)
        .send()
        .await
        .expect("post report");
    (res.status().as_u16(), res.text().await.expect("body"))
}

/// A reply from the open mailbox (server path) with extra fields; returns status and page.
async fn reply(app: &TestApp, client: &reqwest::Client, fields: &[(&str, &str)]) -> (u16, String) {
    let page = app.page(client, "/mailbox?lang=en").await;
    let mut form = reqwest::multipart::Form::new().text("csrf", hidden(&page, "csrf"));
    for (k, v) in fields {
        form = form.text((*k).to_owned(), (*v).to_owned());
    }
    let res = client
        .post(app.url("/mailbox/reply?lang=en"))
        .multipart(form)
        .send()
        .await
        .expect("post reply");
    (res.status().as_u16(), res.text().await.expect("body"))
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    app.scalar(sql).await
}

/// The ids listed after `marker="` in the page, in order.
fn ids_after(html: &str, marker: &str) -> Vec<String> {
    html.split(marker)
        .skip(1)
        .map(|s| s.split(['"', '/']).next().unwrap_or_default().to_owned())
        .collect()
}

async fn post_form(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    csrf: &str,
) -> (u16, String) {
    let res = client
        .post(app.url(path))
        .form(&[("csrf", csrf)])
        .send()
        .await
        .expect("post");
    (res.status().as_u16(), res.text().await.expect("body"))
}

async fn meetings_are_tasks_with_due_dates(backend: Backend) {
    let opts = Options {
        with_officer: false,
        serve: ServeArgs {
            meeting_due_days: Some(10),
            ..Options::default().serve
        },
        ..Default::default()
    };
    let Some(app) = spawn_with(backend, opts).await else {
        return;
    };
    let olga = officer(&app).await;
    let reporter = app.browser();
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let availability = format!("CANARY-availability-{tag}: weekdays after six");

    // Refused: an unknown kind, and availability without a meeting; nothing is stored.
    let (status, page) = file_with_meeting(&app, &reporter, "video", "").await;
    assert_eq!(status, 422, "{page}");
    assert!(
        page.contains("Choose a kind of meeting from the list."),
        "{page}"
    );
    let (status, page) = file_with_meeting(&app, &reporter, "", &availability).await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("did not ask for a meeting"), "{page}");
    assert_eq!(app.stored().await.cases, 0);

    // At intake, by phone, with availability.
    let (status, page) = file_with_meeting(&app, &reporter, "phone", &availability).await;
    assert_eq!(status, 200, "{page}");
    let today = speakup::clock::Clock::today(app.clock.as_ref());
    let day = today.to_string();
    assert_eq!(
        count(&app, &format!("SELECT COUNT(*) FROM meeting_requests WHERE kind = 'phone' AND requested_on = '{day}' AND item_id IS NOT NULL")).await,
        1
    );
    // In the mailbox: a reply asking to meet in person (its message is the availability).
    let (status, mailbox) = open_mailbox(&app, &reporter, &receipt(&page)).await;
    assert_eq!(status, 200, "{mailbox}");
    assert!(mailbox.contains("name=\"meeting\""), "{mailbox}");
    let said = format!("CANARY-meet-{tag}: Monday morning at the station");
    let (status, page) = reply(
        &app,
        &reporter,
        &[("meeting", "in_person"), ("message", &said)],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("sent"), "{page}");
    // A request alone, without a message, is a request too; a bad kind is refused.
    let (status, _) = reply(&app, &reporter, &[("meeting", "phone")]).await;
    assert_eq!(status, 200);
    let (status, page) = reply(&app, &reporter, &[("meeting", "carrier-pigeon")]).await;
    assert_eq!(status, 422, "{page}");
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM meeting_requests").await,
        3
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_pending WHERE action = 'meeting_requested'"
        )
        .await,
        3
    );

    // The case list flags it; the case page lists three tasks, due ten days after the day.
    let reference = first_reference(&app, &olga).await;
    let list = app.page(&olga.client, "/officer/cases").await;
    let due = Lang::En.tr().date(today + time::Duration::days(10));
    assert!(list.contains(&format!("Meeting due {due}")), "{list}");
    let case = open_case(&app, &olga, &reference).await;
    assert_eq!(
        case.html.matches("data-state=\"open\"").count(),
        3,
        "{}",
        case.html
    );
    assert!(
        case.html.contains(&format!("Due by {due}")),
        "{}",
        case.html
    );
    // Eleven days later they are overdue.
    app.clock.advance(11 * 86_400);
    login(&app, &olga).await;
    let case = open_case(&app, &olga, &reference).await;
    assert_eq!(case.html.matches("data-state=\"overdue\"").count(), 3);

    // Marked held: audited with its kind, in the same transaction; not twice.
    let ids = ids_after(&case.html, "data-meeting=\"");
    assert_eq!(ids.len(), 3);
    let path = format!("/officer/cases/{reference}/meetings/{}/done", ids[0]);
    let (status, page) = post_form(&app, &olga.client, &path, &case.csrf).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("The meeting is marked as held."), "{page}");
    assert_eq!(page.matches("data-state=\"done\"").count(), 1, "{page}");
    assert!(page.contains("Held: marked by"), "{page}");
    let rows = app.store.audit_rows(0, 10_000).await.unwrap();
    let done: Vec<_> = rows
        .iter()
        .filter(|r| r.entry.action == "meeting_done")
        .collect();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].entry.actor, "olga@example.org");
    assert_eq!(done[0].entry.case_ref, reference);
    assert!(["phone", "in_person"].contains(&done[0].entry.detail.as_str()));
    let (status, _) = post_form(&app, &olga.client, &path, &case.csrf).await;
    assert_eq!(status, 400);
    let unknown = format!("/officer/cases/{reference}/meetings/nope/done");
    let (status, _) = post_form(&app, &olga.client, &unknown, &case.csrf).await;
    assert_eq!(status, 404);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM meeting_requests WHERE done_at IS NOT NULL"
        )
        .await,
        1
    );

    let db = app.database_bytes().await;
    let logs = captured_logs();
    for secret in [&availability, &said] {
        assert!(!contains(&db, secret), "plaintext {secret} in the database");
        assert!(
            !contains(&logs, secret),
            "plaintext {secret} in the server log"
        );
    }
    app.finish().await;
}

/// The officer sends two minutes (encrypted as their browser does, marked as minutes).
async fn send_minutes(app: &TestApp, olga: &Person, reference: &str, text: &str) {
    let c = open_case(app, olga, reference).await;
    let (status, page) = post_parts(
        app,
        olga,
        &format!("/officer/cases/{reference}/messages"),
        &[("csrf", &c.csrf), ("kind", "message"), ("minutes", "1")],
        vec![("message", encrypt(&c.to_both, text.as_bytes()))],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("The minutes are sent"), "{page}");
}

async fn minutes_confirmed_or_corrected(backend: Backend) {
    let Some(app) = spawn_without_officer(backend).await else {
        return;
    };
    let olga = officer(&app).await;
    let reporter = app.browser();
    let (status, page) = file_report(&app, &reporter, "en", &Report::default()).await;
    assert_eq!(status, 200, "{page}");
    let reference = first_reference(&app, &olga).await;
    send_minutes(
        &app,
        &olga,
        &reference,
        "Minutes of our call: the invoices, twice.",
    )
    .await;
    send_minutes(
        &app,
        &olga,
        &reference,
        "Minutes of our meeting: the supplier.",
    )
    .await;
    // Minutes need text: files alone, or an acknowledgement as minutes, are refused.
    let c = open_case(&app, &olga, &reference).await;
    let (status, _) = post_parts(
        &app,
        &olga,
        &format!("/officer/cases/{reference}/messages"),
        &[("csrf", &c.csrf), ("kind", "message"), ("minutes", "1")],
        vec![],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM minutes").await, 2);
    let posted = app.store.audit_rows(0, 10_000).await.unwrap();
    assert_eq!(
        posted
            .iter()
            .filter(|r| r.entry.action == "minutes_posted")
            .count(),
        2
    );
    assert!(
        c.html
            .contains("waiting for the reporter to confirm or correct them"),
        "{}",
        c.html
    );

    // The reporter reads both and confirms the first.
    let (status, mailbox) = open_mailbox(&app, &reporter, &receipt(&page)).await;
    assert_eq!(status, 200, "{mailbox}");
    assert!(mailbox.contains("Minutes of our call"), "{mailbox}");
    let ids = ids_after(&mailbox, "action=\"/mailbox/minutes/");
    assert_eq!(ids.len(), 2, "{mailbox}");
    let csrf = hidden(&mailbox, "csrf");
    let confirm = |id: &str| format!("/mailbox/minutes/{id}/confirm?lang=en");
    let (status, page) = post_form(&app, &reporter, &confirm(&ids[0]), &csrf).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("the minutes are confirmed"), "{page}");
    assert!(page.contains("You confirmed these minutes on"), "{page}");
    let (status, _) = post_form(&app, &reporter, &confirm(&ids[0]), &csrf).await;
    assert_eq!(status, 400, "confirmed twice");
    let (status, _) = post_form(&app, &reporter, &confirm("not-minutes"), &csrf).await;
    assert_eq!(status, 400);

    // ...and corrects the second: the reply form names them; a correction needs text.
    let page = app
        .page(&reporter, &format!("/mailbox?lang=en&correct={}", ids[1]))
        .await;
    assert!(
        page.contains(&format!("name=\"corrects\" value=\"{}\"", ids[1])),
        "{page}"
    );
    let (status, page) = reply(&app, &reporter, &[("corrects", &ids[1]), ("message", "  ")]).await;
    assert_eq!(status, 422, "{page}");
    assert!(
        page.contains("Write your correction of the minutes."),
        "{page}"
    );
    let correction = format!(
        "CANARY-correction-{}: it was the other supplier",
        uuid::Uuid::new_v4().simple()
    );
    let (status, page) = reply(
        &app,
        &reporter,
        &[("corrects", &ids[1]), ("message", &correction)],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("You corrected these minutes on"), "{page}");
    assert!(page.contains(&correction), "{page}");
    // Answered minutes cannot be corrected again; the reply is refused whole.
    let (status, _) = reply(
        &app,
        &reporter,
        &[("corrects", &ids[0]), ("message", "again")],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM minutes WHERE answer = 'corrected' AND correction_id IS NOT NULL"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM minutes WHERE answer = 'confirmed'"
        )
        .await,
        1
    );
    for action in ["minutes_confirmed", "minutes_corrected"] {
        let sql = format!("SELECT COUNT(*) FROM audit_pending WHERE action = '{action}'");
        assert_eq!(count(&app, &sql).await, 1, "{action}");
    }

    // The case shows both answers on the minutes.
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
    let db = app.database_bytes().await;
    assert!(
        !contains(&db, &correction),
        "the correction in plaintext in the database"
    );
    assert!(
        !contains(&captured_logs(), &correction),
        "the correction in the log"
    );
    app.finish().await;
}

/// The browser path's reply (as the mailbox script posts it) asks for a meeting too: the
/// kind in clear, the text sealed to the case and the reporter; a bad kind stores nothing.
async fn a_sealed_reply_asks_for_a_meeting(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (status, page) = file_report(&app, &app.browser(), "en", &Report::default()).await;
    assert_eq!(status, 200, "{page}");
    let token = speakup::domain::receipt::ReceiptToken::parse(&receipt(&page)).expect("receipt");
    let lookup: String = token
        .derive()
        .lookup
        .0
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let client = app.browser();
    let f = app.page(&client, "/follow-up").await;
    let res = client
        .post(app.url("/follow-up"))
        .form(&[("csrf", hidden(&f, "csrf")), ("lookup", lookup)])
        .send()
        .await
        .expect("open");
    let mailbox = res.text().await.expect("mailbox");
    assert!(mailbox.contains("data-sealed"), "{mailbox}");
    let to_both: Vec<age::x25519::Recipient> =
        attr(&mailbox, "id=\"reply-form\"", "data-recipients")
            .split(' ')
            .map(|r| r.parse().expect("recipient"))
            .collect();
    let said = format!("CANARY-sealed-meeting-{}", uuid::Uuid::new_v4().simple());
    let post = |kind: &'static str| {
        let part = reqwest::multipart::Part::bytes(encrypt(&to_both, said.as_bytes()))
            .file_name("message.age")
            .mime_str("application/octet-stream")
            .expect("mime");
        let form = reqwest::multipart::Form::new()
            .text("csrf", hidden(&mailbox, "csrf"))
            .text("meeting", kind)
            .part("message", part);
        client
            .post(app.url("/mailbox/reply/sealed"))
            .multipart(form)
            .send()
    };
    let refused = post("video").await.expect("post");
    assert_eq!(refused.status(), 400);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM meeting_requests").await,
        0
    );
    let asked = post("in_person").await.expect("post");
    assert_eq!(asked.status(), 200);
    let sql =
        "SELECT COUNT(*) FROM meeting_requests WHERE kind = 'in_person' AND item_id IS NOT NULL";
    assert_eq!(count(&app, sql).await, 1);
    assert!(!contains(&app.database_bytes().await, &said));
    app.finish().await;
}

/// The setting is checked at start: out of range stops the start with a message naming it;
/// the default is 14 days.
#[test]
fn the_due_days_setting_is_checked_at_start() {
    use speakup::config::{CommonArgs, FileConfig, Settings};
    let common = CommonArgs {
        config: None,
        database_url: Some("sqlite::memory:".into()),
    };
    let with = |days: Option<u32>| {
        let serve = ServeArgs {
            meeting_due_days: days,
            ..Default::default()
        };
        Settings::from_parts(&common, &serve, FileConfig::default()).map_err(|e| e.to_string())
    };
    assert_eq!(with(None).expect("default").meeting_due_days, 14);
    assert_eq!(with(Some(90)).expect("90").meeting_due_days, 90);
    for bad in [0, 91, u32::MAX] {
        let e = with(Some(bad)).expect_err("out of range");
        assert!(e.contains("SPEAKUP_MEETING_DUE_DAYS"), "{e}");
    }
    let file: FileConfig = toml::from_str("meeting_due_days = 30").expect("file setting");
    let s = Settings::from_parts(&common, &ServeArgs::default(), file).expect("from the file");
    assert_eq!(s.meeting_due_days, 30);
}

on_both_databases!(
    meetings_are_tasks_with_due_dates,
    minutes_confirmed_or_corrected,
    a_sealed_reply_asks_for_a_meeting
);
