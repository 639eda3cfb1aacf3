//! What the workspace tests share (tests/tests/workspace_counters.rs and
//! tests/tests/browser_workspace.rs): a team signed in, cases whose deadlines are planted in
//! the database so each counter has a known answer, a case whose history spans several days
//! (the server clock moved forward between the actions), and reading the counters, the list
//! and the timeline back from the pages.

use age::x25519::Recipient;
use speakup::clock::Clock;
use time::{Date, Duration};

use crate::officer::{
    Person, admin_via_cli, attr, create_account, encrypt, enroll, grant_parts, login, open_case,
    post_parts,
};
use crate::{Backend, Report, TestApp, file_report, hidden, open_mailbox, receipt};

/// An admin, an officer with a key (alex) and an investigator with a key (ivan, who sees a
/// case only once granted), signed in.
pub struct Team {
    pub admin: Person,
    pub alex: Person,
    pub ivan: Person,
}

pub async fn team(app: &TestApp) -> Team {
    let link = admin_via_cli(app, "admin@example.org").await;
    let admin = enroll(app, &link, "admin@example.org", false).await;
    login(app, &admin).await;
    let link = create_account(app, &admin, "alex@example.org", &["officer"]).await;
    let alex = enroll(app, &link, "alex@example.org", true).await;
    let link = create_account(app, &admin, "ivan@example.org", &["investigator"]).await;
    let ivan = enroll(app, &link, "ivan@example.org", true).await;
    login(app, &alex).await;
    login(app, &ivan).await;
    Team { admin, alex, ivan }
}

/// Runs one statement on the test's database (planting dates).
pub async fn execute(app: &TestApp, sql: &str) {
    let q = sqlx::AssertSqlSafe(sql.to_owned());
    match app.backend {
        Backend::Sqlite => {
            let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect(&app.database_url)
                .await
                .expect("connect");
            sqlx::Executor::execute(&mut c, q).await.expect("execute");
        }
        Backend::Postgres => {
            let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&app.database_url)
                .await
                .expect("connect");
            sqlx::Executor::execute(&mut c, q).await.expect("execute");
        }
    }
}

fn day(d: Date) -> String {
    format!("'{d}'")
}

fn opt_day(d: Option<Date>) -> String {
    d.map_or_else(|| "NULL".to_owned(), day)
}

/// Sets a case's status and dates directly in the database.
async fn plant(
    app: &TestApp,
    reference: &str,
    status: &str,
    received: Date,
    acknowledged: Option<Date>,
    closed: Option<Date>,
) {
    execute(
        app,
        &format!(
            "UPDATE cases SET status = '{status}', received_on = {}, acknowledged_on = {}, \
             closed_on = {} WHERE reference = '{reference}'",
            day(received),
            opt_day(acknowledged),
            opt_day(closed)
        ),
    )
    .await;
}

/// The references each counter (and its filter) must show, sorted.
#[derive(Debug, Default)]
pub struct Expected {
    pub all: Vec<String>,
    pub new: Vec<String>,
    pub ack_soon: Vec<String>,
    pub feedback_soon: Vec<String>,
    pub overdue: Vec<String>,
}

/// Six cases, their dates planted relative to the server's today:
/// A received today (new); B 5 days ago (new, acknowledgement due in 2 days); C 8 days ago
/// and never acknowledged (new, overdue); D acknowledged 80 days ago (feedback due in 9 to
/// 12 days); E closed; F acknowledged 99 days ago, no feedback (overdue).
pub async fn plant_cases(app: &TestApp) -> Expected {
    let reporter = app.browser();
    let before: Vec<String> = refs(app).await;
    for _ in 0..6 {
        let (status, page) = file_report(app, &reporter, "en", &Report::default()).await;
        assert_eq!(status, 200, "{page}");
    }
    let mut new: Vec<String> = refs(app)
        .await
        .into_iter()
        .filter(|r| !before.contains(r))
        .collect();
    new.sort();
    let [a, b, c, d, e, f] = <[String; 6]>::try_from(new).expect("six new cases");
    let today = Clock::today(app.clock.as_ref());
    let ago = |n: i64| today - Duration::days(n);
    plant(app, &a, "received", today, None, None).await;
    plant(app, &b, "received", ago(5), None, None).await;
    plant(app, &c, "received", ago(8), None, None).await;
    plant(app, &d, "acknowledged", ago(85), Some(ago(80)), None).await;
    plant(app, &e, "closed", ago(200), Some(ago(199)), Some(ago(50))).await;
    plant(app, &f, "investigating", ago(100), Some(ago(99)), None).await;
    let sorted = |mut v: Vec<&String>| {
        v.sort();
        v.into_iter().cloned().collect::<Vec<String>>()
    };
    Expected {
        all: sorted(vec![&a, &b, &c, &d, &e, &f]),
        new: sorted(vec![&a, &b, &c]),
        ack_soon: sorted(vec![&b]),
        feedback_soon: sorted(vec![&d]),
        overdue: sorted(vec![&c, &f]),
    }
}

async fn refs(app: &TestApp) -> Vec<String> {
    app.store
        .cases()
        .await
        .expect("cases")
        .into_iter()
        .map(|c| c.reference)
        .collect()
}

/// The number a counter shows (`id` is the link's id).
pub fn counter(html: &str, id: &str) -> usize {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no counter {id}"));
    html[at..]
        .split("<span class=\"count\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no number in counter {id}"))
}

/// The link of a counter.
pub fn counter_href(html: &str, id: &str) -> String {
    attr(html, &format!("id=\"{id}\""), "href")
}

/// The references the case list shows, sorted.
pub fn listed(html: &str) -> Vec<String> {
    let Some(table) = html.split("id=\"case-list\"").nth(1) else {
        return Vec::new();
    };
    let mut out: Vec<String> = table
        .split("href=\"/officer/cases/")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(str::to_owned)
        .collect();
    out.sort();
    out
}

/// A case whose history spans six days, oldest first: the report with a file (day 0), the
/// acknowledgement (day 1), a reply from the reporter (day 2), a note (day 3), a status change
/// with its reason (day 4), a grant to ivan (day 5) and a message with feedback (day 6). The
/// server clock moves a day between the steps (everyone signs in again).
pub struct History {
    pub reference: String,
    pub receipt: String,
    /// The timeline's `data-kind`s in the order the page must list them.
    pub kinds: Vec<&'static str>,
    pub reason: &'static str,
}

pub const REASON: &str = "Enough to look into: the invoices match.";

async fn next_day(app: &TestApp, people: &[&Person]) {
    app.clock.advance(24 * 3600);
    for p in people {
        login(app, p).await;
    }
}

pub async fn history(app: &TestApp, t: &Team) -> History {
    let reporter = app.browser();
    let report = Report {
        what: "The depot manager sells fuel privately.",
        files: vec![("fuel-log.txt".into(), b"fuel log".to_vec())],
        ..Default::default()
    };
    let (status, page) = file_report(app, &reporter, "en", &report).await;
    assert_eq!(status, 200, "{page}");
    let token = receipt(&page);
    let reference = app
        .store
        .cases()
        .await
        .expect("cases")
        .into_iter()
        .max_by_key(|c| c.received_on)
        .map(|c| c.reference)
        .expect("a case");
    let people = [&t.alex];

    next_day(app, &people).await;
    let case = open_case(app, &t.alex, &reference).await;
    let msg = |text: &str| encrypt(&case.to_both, text.as_bytes());
    let to_officers: &[Recipient] = std::slice::from_ref(&case.to_officers);
    let officers = case.to_officers.to_string();
    let path = |action: &str| format!("/officer/cases/{reference}/{action}");
    let (status, page) = post_parts(
        app,
        &t.alex,
        &path("messages"),
        &[("csrf", &case.csrf), ("kind", "acknowledgement")],
        vec![("message", msg("We received your report."))],
    )
    .await;
    assert_eq!(status, 200, "{page}");

    next_day(app, &people).await;
    reporter_reply(app, &token, "The manager also takes cash.").await;

    next_day(app, &people).await;
    let csrf = hidden(&app.page(&t.alex.client, "/officer/account").await, "csrf");
    let (status, page) = post_parts(
        app,
        &t.alex,
        &path("notes"),
        &[("csrf", &csrf), ("recipient", &officers)],
        vec![(
            "message",
            encrypt(to_officers, b"Check the supplier register."),
        )],
    )
    .await;
    assert_eq!(status, 200, "{page}");

    next_day(app, &people).await;
    let csrf = hidden(&app.page(&t.alex.client, "/officer/account").await, "csrf");
    let (status, page) = post_parts(
        app,
        &t.alex,
        &path("status"),
        &[
            ("csrf", &csrf),
            ("status", "investigating"),
            ("outcome", ""),
            ("recipient", &officers),
        ],
        vec![("reason", encrypt(to_officers, REASON.as_bytes()))],
    )
    .await;
    assert_eq!(status, 200, "{page}");

    next_day(app, &people).await;
    grant(app, &t.alex, &t.ivan, &reference).await;

    next_day(app, &people).await;
    let case = open_case(app, &t.alex, &reference).await;
    let (status, page) = post_parts(
        app,
        &t.alex,
        &path("messages"),
        &[("csrf", &case.csrf), ("kind", "message"), ("feedback", "1")],
        vec![(
            "message",
            encrypt(&case.to_both, b"We are looking into it."),
        )],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    History {
        reference,
        receipt: token,
        kinds: vec![
            "report",
            "to-reporter",
            "status",
            "from-reporter",
            "note",
            "status",
            "access",
            "to-reporter",
        ],
        reason: REASON,
    }
}

/// The reporter writes back from the mailbox (no JavaScript: the server encrypts).
async fn reporter_reply(app: &TestApp, token: &str, text: &str) {
    let client = app.browser();
    let (status, mailbox) = open_mailbox(app, &client, token).await;
    assert_eq!(status, 200, "{mailbox}");
    let form = reqwest::multipart::Form::new()
        .text("csrf", hidden(&mailbox, "csrf"))
        .text("message", text.to_owned());
    let res = client
        .post(app.url("/mailbox/reply?lang=en"))
        .multipart(form)
        .send()
        .await
        .expect("reply");
    assert_eq!(res.status(), 200);
}

/// `by` seals the case key to `to` (as the browser does).
async fn grant(app: &TestApp, by: &Person, to: &Person, reference: &str) {
    let case = open_case(app, by, reference).await;
    let form = &case.html[case
        .html
        .find("id=\"grant-account\"")
        .unwrap_or_else(|| panic!("grant form: {}", case.html))..];
    let recipient = to.identity.as_ref().expect("a key").to_public();
    let account = attr(form, &format!("data-recipient=\"{recipient}\""), "value");
    let (status, page) = post_parts(
        app,
        by,
        &format!("/officer/cases/{reference}/grants"),
        &[("csrf", &case.csrf), ("account", &account)],
        grant_parts(&case, &recipient),
    )
    .await;
    assert_eq!(status, 200, "{page}");
}

/// The timeline's entries as (`data-kind`, `data-day`), in page order.
pub fn timeline(html: &str) -> Vec<(String, String)> {
    let list = html
        .split("id=\"timeline\"")
        .nth(1)
        .and_then(|s| s.split("</ol>").next())
        .expect("a timeline");
    list.split("<li class=\"tl ")
        .skip(1)
        .map(|li| {
            let get = |name: &str| {
                li.split(&format!("{name}=\""))
                    .nth(1)
                    .and_then(|s| s.split('"').next())
                    .unwrap_or_default()
                    .to_owned()
            };
            (get("data-kind"), get("data-day"))
        })
        .collect()
}
