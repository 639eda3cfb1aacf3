//! Notification mails (issue 10) against a real SMTP server the test starts (Python's
//! aiosmtpd, tests/smtp_sink.py): a mail arrives for each trigger (a new case, a reporter's
//! reply, an acknowledgement or feedback falling due, an overdue case, also to the escalation
//! address); no mail carries anything from a report; two digests with different contents
//! have the same size; the SMTP password appears in no log, error or database row; an
//! officer's opt-out is respected; several instances on one database send each mail once;
//! bad mail settings are refused with their name. Each on SQLite and PostgreSQL.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use speakup_tests::officer::*;
use speakup_tests::*;

const SMTP_PASSWORD: &str = "smtp-pw-canary-5d2c71";
const FROM: &str = "Speak Up <noreply@example.org>";
const ESCALATION: &str = "head@example.org";
const TRIAGE: &str = "triage@example.org";

/// The SMTP server: a child process writing each mail it accepts to a folder.
struct Sink {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

#[derive(Debug, Clone)]
struct Mail {
    to: Vec<String>,
    subject: String,
    body: String,
    size: u64,
    encoded_body_size: u64,
    raw: Vec<u8>,
}

impl Mail {
    fn read(json: &std::path::Path) -> Self {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(json).expect("json")).expect("mail");
        let text = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
        Self {
            to: v["to"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|t| t.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            subject: text("subject"),
            body: text("body"),
            size: v["size"].as_u64().unwrap_or_default(),
            encoded_body_size: v["encoded_body_size"].as_u64().unwrap_or_default(),
            raw: std::fs::read(json.with_extension("eml")).expect("eml"),
        }
    }
}

impl Sink {
    fn start() -> Option<Self> {
        let ok = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !available("aiosmtpd (pip install aiosmtpd)", ok) {
            return None;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("smtp_sink.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(dir.path())
            .arg(SMTP_PASSWORD)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the SMTP sink");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("sink port");
        let port = line
            .trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the sink said {line:?}"));
        Some(Self { child, dir, port })
    }

    fn url(&self) -> String {
        format!(
            "smtp://mailer:{SMTP_PASSWORD}@127.0.0.1:{}?tls=none",
            self.port
        )
    }

    fn mails(&self) -> Vec<Mail> {
        let mut names: Vec<_> = std::fs::read_dir(self.dir.path())
            .expect("sink dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        names.sort();
        names.iter().map(|p| Mail::read(p)).collect()
    }

    /// The mails once at least `n` arrived (they are written as they are accepted).
    async fn wait_for(&self, n: usize) -> Vec<Mail> {
        for _ in 0..100 {
            let m = self.mails();
            if m.len() >= n {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let m = self.mails();
        panic!("expected {n} mails, got {}: {m:#?}", m.len());
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn mail_args(sink: &Sink) -> Vec<String> {
    [
        "--smtp-url",
        &sink.url(),
        "--smtp-from",
        FROM,
        "--escalation-email",
        ESCALATION,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

/// `speakup notify --now` with the sink's settings.
async fn notify_now(app: &TestApp, sink: &Sink) -> String {
    let args = mail_args(sink);
    let mut argv = vec!["notify", "--now"];
    argv.extend(args.iter().map(String::as_str));
    run_cli(app, &argv).await
}

/// Runs a statement on the app's database (to move a case's dates back in time).
async fn exec(app: &TestApp, sql: &str) {
    let q = sqlx::AssertSqlSafe(sql.to_owned());
    match app.backend {
        Backend::Sqlite => {
            let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect(&app.database_url)
                .await
                .expect("connect");
            sqlx::query(q).execute(&mut c).await.map(|_| ())
        }
        Backend::Postgres => {
            let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&app.database_url)
                .await
                .expect("connect");
            sqlx::query(q).execute(&mut c).await.map(|_| ())
        }
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn references(app: &TestApp) -> Vec<String> {
    let q = "SELECT reference FROM cases ORDER BY reference";
    match app.backend {
        Backend::Sqlite => {
            let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect(&app.database_url)
                .await
                .expect("connect");
            sqlx::query_scalar(q).fetch_all(&mut c).await
        }
        Backend::Postgres => {
            let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&app.database_url)
                .await
                .expect("connect");
            sqlx::query_scalar(q).fetch_all(&mut c).await
        }
    }
    .expect("references")
}

fn day(offset: i64) -> String {
    (time::OffsetDateTime::now_utc().date() + time::Duration::days(offset)).to_string()
}

/// The count a digest gives on the line labelled `label`.
fn count(mail: &Mail, label: &str) -> usize {
    mail.body
        .lines()
        .find(|l| {
            l.trim_start()
                .split_once("  ")
                .is_some_and(|(_, rest)| rest == label)
        })
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no line {label:?} in {}", mail.body))
}

fn to(mails: &[Mail], who: &str) -> Vec<Mail> {
    mails
        .iter()
        .filter(|m| m.to.iter().any(|t| t == who))
        .cloned()
        .collect()
}

/// Nothing of a report (its text, category, mode) in a mail, raw or decoded.
fn assert_no_content(mails: &[Mail], canaries: &[&str]) {
    for m in mails {
        for c in canaries {
            let decoded = format!("{} {}", m.subject, m.body).to_lowercase();
            assert!(
                !contains(&m.raw, c) && !decoded.contains(&c.to_lowercase()),
                "a mail carries {c:?}: {m:#?}"
            );
        }
    }
}

async fn file(app: &TestApp, client: &reqwest::Client, what: &str) -> String {
    let report = Report {
        category: "harassment",
        what,
        when_where: "canary-where-93a1",
        involved: "canary-who-41bd",
        mode: "confidential",
        name: "Canary Person 7f3e",
        contact: "canary-contact-2c9a",
        ..Default::default()
    };
    let (status, page) = file_report(app, client, "en", &report).await;
    assert_eq!(status, 200, "{page}");
    receipt(&page)
}

async fn reply(app: &TestApp, client: &reqwest::Client, receipt_code: &str, text: &str) {
    let (_, mailbox) = open_mailbox(app, client, receipt_code).await;
    let form = reqwest::multipart::Form::new()
        .text("csrf", hidden(&mailbox, "csrf"))
        .text("message", text.to_owned());
    let res = client
        .post(app.url("/mailbox/reply"))
        .multipart(form)
        .send()
        .await
        .expect("reply");
    assert_eq!(res.status(), 200);
}

const CANARIES: &[&str] = &[
    "canary-what-e41f",
    "canary-where-93a1",
    "canary-who-41bd",
    "Canary Person 7f3e",
    "canary-contact-2c9a",
    "canary-reply-8b0d",
    "harass",
    "confidential",
];

async fn mails_arrive_for_each_trigger_and_carry_no_content(backend: Backend) {
    let Some(sink) = Sink::start() else { return };
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = app.browser();
    // A new case: the daily digest (sent at once on demand) lists it.
    let first = file(&app, &client, "canary-what-e41f").await;
    let out = notify_now(&app, &sink).await;
    assert!(out.contains("sent 1 notification mail(s)"), "{out}");
    let mails = sink.wait_for(1).await;
    let daily = &to(&mails, TRIAGE)[0];
    assert_eq!(daily.subject, "Speak Up: daily digest");
    assert_eq!(count(daily, "new cases"), 1);
    let refs = references(&app).await;
    assert!(daily.body.contains(&refs[0]), "{}", daily.body);
    assert!(daily.body.contains("/officer/cases"), "{}", daily.body);
    // Nothing more is due: a second run sends nothing.
    assert!(notify_now(&app, &sink).await.contains("sent 0"));
    // A reporter's reply and a second case: one "new activity" mail (the hourly one).
    reply(&app, &client, &first, "canary-reply-8b0d").await;
    file(&app, &client, "canary-what-e41f").await;
    notify_now(&app, &sink).await;
    let mails = sink.wait_for(2).await;
    let hourly = &mails[1];
    assert_eq!(hourly.subject, "Speak Up: new activity");
    assert_eq!(count(hourly, "cases with a reporter's reply"), 1);
    assert_eq!(count(hourly, "new cases"), 1);
    // At most one an hour: more news waits for the next hour.
    file(&app, &client, "canary-what-e41f").await;
    assert!(notify_now(&app, &sink).await.contains("sent 0"));
    // Deadlines: one acknowledgement due within 2 days, one overdue, one feedback due soon.
    // (The claims of today are dropped, as if a day had passed.)
    let refs = references(&app).await;
    let set = |r: &str, sql: String| format!("UPDATE cases SET {sql} WHERE reference = '{r}'");
    exec(&app, &set(&refs[0], format!("received_on = '{}'", day(-6)))).await;
    exec(&app, &set(&refs[1], format!("received_on = '{}'", day(-9)))).await;
    let acked = format!(
        "received_on = '{}', acknowledged_on = '{}', status = 'acknowledged'",
        day(-90),
        day(-85)
    );
    exec(&app, &set(&refs[2], acked)).await;
    exec(&app, "DELETE FROM notify_sent").await;
    let out = notify_now(&app, &sink).await;
    assert!(out.contains("sent 2"), "{out}");
    let mails = sink.wait_for(4).await;
    let digest = to(&mails, TRIAGE).pop().expect("digest");
    assert_eq!(digest.subject, "Speak Up: daily digest");
    assert_eq!(count(&digest, "acknowledgements due within 2 days"), 1);
    assert_eq!(count(&digest, "feedback due within 14 days"), 1);
    assert_eq!(count(&digest, "overdue"), 1);
    let escalated = to(&mails, ESCALATION);
    assert_eq!(escalated.len(), 1, "{mails:#?}");
    assert_eq!(escalated[0].subject, "Speak Up: overdue cases");
    assert_eq!(count(&escalated[0], "overdue"), 1);
    assert!(escalated[0].body.contains(&refs[1]));
    assert!(!escalated[0].body.contains(&refs[0]));
    assert_no_content(&sink.mails(), CANARIES);
    // The password is in no log line and no database row.
    assert!(!contains(&captured_logs(), SMTP_PASSWORD));
    assert!(!contains(&app.database_bytes().await, SMTP_PASSWORD));
    app.finish().await;
}

async fn digests_of_different_contents_have_the_same_size(backend: Backend) {
    let Some(sink) = Sink::start() else { return };
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // An empty digest, then one with three new cases and a long reference list.
    notify_now(&app, &sink).await;
    let client = app.browser();
    for _ in 0..3 {
        file(&app, &client, "canary-what-e41f").await;
    }
    exec(&app, "DELETE FROM notify_sent").await;
    notify_now(&app, &sink).await;
    let mails = sink.wait_for(2).await;
    let (empty, full) = (&mails[0], &mails[1]);
    assert_eq!(count(empty, "new cases"), 0);
    assert_eq!(count(full, "new cases"), 3);
    assert_ne!(empty.body, full.body);
    assert_eq!(empty.body.len(), full.body.len(), "{empty:#?}\n{full:#?}");
    assert_eq!(empty.encoded_body_size, full.encoded_body_size);
    assert_eq!(empty.size, full.size, "the whole mail, headers included");
    assert_eq!(empty.body.lines().count(), full.body.lines().count());
    app.finish().await;
}

async fn an_officers_choice_is_respected(backend: Backend) {
    let Some(sink) = Sink::start() else { return };
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin_link = admin_via_cli(&app, "admin@example.org").await;
    let admin = enroll(&app, &admin_link, "admin@example.org", false).await;
    login(&app, &admin).await;
    let link = create_account(&app, &admin, "quiet@example.org", &["officer"]).await;
    let quiet = enroll(&app, &link, "quiet@example.org", true).await;
    login(&app, &quiet).await;
    let page = app.page(&quiet.client, "/officer/account?lang=nl").await;
    assert!(page.contains("id=\"notify-form\""), "{page}");
    assert!(
        page.contains("id=\"notify-all\" name=\"mode\" value=\"all\" checked"),
        "{page}"
    );
    let choose = |mode: &'static str| {
        let client = quiet.client.clone();
        let url = app.url("/officer/account/notifications");
        let csrf = hidden(&page, "csrf");
        async move {
            client
                .post(url)
                .form(&[("csrf", csrf.as_str()), ("mode", mode)])
                .send()
                .await
                .expect("choose")
        }
    };
    let res = choose("off").await;
    assert_eq!(res.status(), 200);
    let shown = res.text().await.expect("page");
    assert!(shown.contains("id=\"notify-saved\""), "{shown}");
    assert!(shown.contains("id=\"notify-off\" name=\"mode\" value=\"off\" checked"));
    assert_eq!(choose("loud").await.status(), 400);
    let audited = "SELECT COUNT(*) FROM audit_log WHERE action = 'notify_changed'";
    assert_eq!(app.scalar(audited).await, 1);
    // A new case: the triage officer hears of it, the officer who turned mails off does not.
    let client = app.browser();
    file(&app, &client, "canary-what-e41f").await;
    notify_now(&app, &sink).await;
    let mails = sink.wait_for(1).await;
    assert_eq!(to(&mails, TRIAGE).len(), 1);
    assert!(to(&mails, "quiet@example.org").is_empty(), "{mails:#?}");
    // Digest only: the daily digest comes, in Dutch (the session's language), and no hourly.
    choose("digest").await;
    exec(&app, "DELETE FROM notify_sent").await;
    notify_now(&app, &sink).await;
    let mails = sink.wait_for(3).await;
    let mine = to(&mails, "quiet@example.org");
    assert_eq!(mine.len(), 1, "{mails:#?}");
    assert_eq!(mine[0].subject, "Speak Up: dagoverzicht");
    assert_eq!(count(&mine[0], "nieuwe zaken"), 1);
    file(&app, &client, "canary-what-e41f").await;
    notify_now(&app, &sink).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(to(&sink.mails(), "quiet@example.org").len(), 1);
    assert_no_content(&sink.mails(), CANARIES);
    app.finish().await;
}

async fn several_instances_send_each_mail_once(backend: Backend) {
    let Some(sink) = Sink::start() else { return };
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = app.browser();
    file(&app, &client, "canary-what-e41f").await;
    // Four instances at once on one database: each mail goes out exactly once.
    let args = mail_args(&sink);
    let mut argv = vec!["notify", "--now"];
    argv.extend(args.iter().map(String::as_str));
    let runs = futures_util::future::join_all((0..4).map(|_| try_cli(&app, &argv))).await;
    for r in &runs {
        assert!(r.is_ok(), "{r:?}");
    }
    // Again after the lease is free: still nothing twice.
    for _ in 0..2 {
        run_cli(&app, &argv).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mails = sink.mails();
    assert_eq!(mails.len(), 1, "{mails:#?}");
    assert_eq!(to(&mails, TRIAGE).len(), 1);
    app.finish().await;
}

async fn the_admin_sends_a_test_mail_and_sees_the_last_error(backend: Backend) {
    let Some(sink) = Sink::start() else { return };
    let mut opts = Options::default();
    opts.serve.mail.smtp_url = Some(sink.url().as_str().into());
    opts.serve.mail.smtp_from = Some(FROM.into());
    let Some(mut app) = spawn_with(backend, opts).await else {
        return;
    };
    let link = admin_via_cli(&app, "admin@example.org").await;
    let admin = enroll(&app, &link, "admin@example.org", false).await;
    login(&app, &admin).await;
    let page = app.page(&admin.client, "/officer/admin/settings").await;
    assert!(page.contains("id=\"mail-test\""), "{page}");
    let res = admin
        .client
        .post(app.url("/officer/admin/settings/test-mail"))
        .form(&[("csrf", hidden(&page, "csrf").as_str())])
        .send()
        .await
        .expect("test mail");
    let shown = res.text().await.expect("page");
    assert!(shown.contains("id=\"mail-test-result\""), "{shown}");
    assert!(shown.contains("delivered to the SMTP server"), "{shown}");
    let mails = sink.wait_for(1).await;
    let test = to(&mails, "admin@example.org");
    assert_eq!(test.len(), 1, "{mails:#?}");
    assert_eq!(test[0].subject, "Speak Up: test mail");
    let audited = "SELECT COUNT(*) FROM audit_log WHERE action = 'test_mail'";
    assert_eq!(app.scalar(audited).await, 1);
    // A server that does not answer: the run fails, the error is shown, the password is not.
    exec(&app, "DELETE FROM notify_sent").await;
    let dead = format!("smtp://mailer:{SMTP_PASSWORD}@127.0.0.1:1?tls=none");
    let out = try_cli(
        &app,
        &["notify", "--now", "--smtp-url", &dead, "--smtp-from", FROM],
    )
    .await;
    let err = out.expect_err("delivery to a closed port fails");
    assert!(err.contains("could not be delivered"), "{err}");
    assert!(!err.contains(SMTP_PASSWORD), "{err}");
    let page = app.page(&admin.client, "/officer/admin/settings").await;
    let shown = page
        .split("id=\"mail-last-error\">")
        .nth(1)
        .expect("last error");
    assert!(shown.starts_with("<code>"), "{shown}");
    assert!(!page.contains(SMTP_PASSWORD));
    assert!(!contains(&captured_logs(), SMTP_PASSWORD));
    assert!(!contains(&app.database_bytes().await, SMTP_PASSWORD));
    app.expect_warnings(&["could not be delivered"]);
    app.finish().await;
}

async fn bad_mail_settings_are_refused_with_their_name(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let bad: &[(&[&str], &str)] = &[
        (
            &["--smtp-url", "http://mailer:pw-x@host"],
            "SPEAKUP_SMTP_URL",
        ),
        (
            &["--smtp-url", "smtp://mailer:pw-x@host?tls=maybe"],
            "SPEAKUP_SMTP_URL",
        ),
        (
            &["--smtp-url", "smtps://mailer:pw-x@host"],
            "SPEAKUP_SMTP_FROM",
        ),
        (
            &["--smtp-url", "smtps://host", "--smtp-from", "nobody"],
            "SPEAKUP_SMTP_FROM",
        ),
        (
            &[
                "--smtp-url",
                "smtps://host",
                "--smtp-from",
                FROM,
                "--escalation-email",
                "x@",
            ],
            "SPEAKUP_ESCALATION_EMAIL",
        ),
        (
            &["--escalation-email", ESCALATION],
            "SPEAKUP_ESCALATION_EMAIL",
        ),
    ];
    for (args, name) in bad {
        let mut argv = vec!["notify", "--now"];
        argv.extend_from_slice(args);
        let err = try_cli(&app, &argv).await.expect_err("refused");
        assert!(err.contains(name), "{args:?}: {err}");
        assert!(!err.contains("pw-x"), "{err}");
    }
    // Unset: mail is off, and `notify` says so.
    let err = try_cli(&app, &["notify", "--now"]).await.expect_err("off");
    assert!(err.contains("SPEAKUP_SMTP_URL"), "{err}");
    app.finish().await;
}

/// A legal entity with its own escalation address (issue 12) gets its overdue cases there;
/// the instance's address gets the rest.
async fn an_entity_escalates_to_its_own_address(backend: Backend) {
    const ALPHA_HEAD: &str = "alpha-head@example.org";
    let Some(sink) = Sink::start() else { return };
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    run_cli(
        &app,
        &["entity", "add", "--slug", "alpha", "--name", "Alpha"],
    )
    .await;
    let key = age::x25519::Identity::generate().to_public().to_string();
    let add = [
        "officer",
        "add",
        "--email",
        "alpha@example.org",
        "--name",
        "Alpha",
    ];
    run_cli(
        &app,
        &[&add[..], &["--recipient", &key, "--entity", "alpha"]].concat(),
    )
    .await;
    exec(
        &app,
        &format!("UPDATE entities SET overrides = '{{\"escalation_email\":\"{ALPHA_HEAD}\"}}'"),
    )
    .await;
    let client = app.browser();
    file(&app, &client, "canary-what-e41f").await;
    let page = app.page(&client, "/e/alpha/report?lang=en").await;
    let res = client
        .post(app.url("/e/alpha/report?lang=en"))
        .multipart(Report::default().form(&hidden(&page, "csrf")))
        .send()
        .await
        .expect("entity report");
    assert_eq!(res.status(), 200);
    exec(
        &app,
        &format!("UPDATE cases SET received_on = '{}'", day(-9)),
    )
    .await;
    let alpha_ref = app
        .store
        .cases()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.entity.is_some())
        .expect("the entity's case")
        .reference;
    let own_ref = references(&app)
        .await
        .into_iter()
        .find(|r| *r != alpha_ref)
        .unwrap();
    notify_now(&app, &sink).await;
    let mut mails = sink.mails();
    for _ in 0..100 {
        if !to(&mails, ESCALATION).is_empty() && !to(&mails, ALPHA_HEAD).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        mails = sink.mails();
    }
    let (own, alpha) = (to(&mails, ESCALATION), to(&mails, ALPHA_HEAD));
    assert_eq!((own.len(), alpha.len()), (1, 1), "{mails:#?}");
    assert!(own[0].body.contains(&own_ref) && !own[0].body.contains(&alpha_ref));
    assert!(alpha[0].body.contains(&alpha_ref) && !alpha[0].body.contains(&own_ref));
    app.finish().await;
}

on_both_databases!(
    an_entity_escalates_to_its_own_address,
    mails_arrive_for_each_trigger_and_carry_no_content,
    digests_of_different_contents_have_the_same_size,
    an_officers_choice_is_respected,
    several_instances_send_each_mail_once,
    the_admin_sends_a_test_mail_and_sees_the_last_error,
    bad_mail_settings_are_refused_with_their_name,
);
