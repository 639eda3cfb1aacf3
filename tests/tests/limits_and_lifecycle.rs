//! Limits and lifecycle: the global rate limit that protects an onion service (where every
//! reporter arrives from one address), the localized 429 page on every limited route, the
//! retention period an admin sets running on the server's own schedule, and SIGTERM on the
//! real `speakup serve` process letting an upload in flight finish.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use speakup::config::{CommonArgs, FileConfig, ServeArgs, Settings};
use speakup_tests::officer::{admin_via_cli, enroll, login};
use speakup_tests::*;

const LANGS: [&str; 4] = ["en", "nl", "fr", "de"];

/// Every reporter route behind the rate limiters (web::reporter::routes).
const LIMITED_ROUTES: [&str; 5] = [
    "/report",
    "/report/sealed",
    "/follow-up",
    "/mailbox/reply",
    "/mailbox/reply/sealed",
];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_owned()
}

/// `error.rate_limited.title` as the translators wrote it in frontend/i18n/<lang>.toml.
fn catalog_title(lang: &str) -> String {
    let path = repo_root().join(format!("frontend/i18n/{lang}.toml"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let section = text
        .split("[error.rate_limited]")
        .nth(1)
        .unwrap_or_else(|| panic!("no [error.rate_limited] in {path:?}"));
    let line = section
        .lines()
        .take_while(|l| !l.trim_start().starts_with('['))
        .find(|l| l.trim_start().starts_with("title"))
        .unwrap_or_else(|| panic!("no error.rate_limited.title in {path:?}"));
    let value = line.split_once('=').expect("key = value").1.trim();
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or_else(|| panic!("not a basic string: {line}"));
    assert!(
        !value.contains('\\'),
        "escapes in {line} need a TOML parser"
    );
    value.to_owned()
}

fn html_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

/// A reporter's browser connecting from 127.0.0.`host`: to the server a different client
/// for every `host` (the whole 127/8 block is loopback), with its cookies in `jar`.
fn reporter_at(host: u8, jar: &Arc<reqwest::cookie::Jar>) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, host)))
        .cookie_provider(jar.clone())
        .build()
        .expect("client")
}

/// What a reporter who filed a report and opened the mailbox holds: the forms' tokens.
struct Reporter {
    jar: Arc<reqwest::cookie::Jar>,
    receipt: String,
    report_csrf: String,
    follow_up_csrf: String,
    mailbox_csrf: String,
}

/// Files a report and opens the mailbox from 127.0.0.`host`: two limited POSTs.
async fn file_and_open(app: &TestApp, host: u8) -> Reporter {
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let client = reporter_at(host, &jar);
    let (status, page) = file_report(app, &client, "en", &Report::default()).await;
    assert_eq!(
        status, 200,
        "the first report is within every budget: {page}"
    );
    let receipt = receipt(&page);
    let (status, mailbox) = open_mailbox(app, &client, &receipt).await;
    assert_eq!(
        status, 200,
        "the mailbox opens within every budget: {mailbox}"
    );
    Reporter {
        report_csrf: hidden(&app.page(&client, "/report").await, "csrf"),
        follow_up_csrf: hidden(&app.page(&client, "/follow-up").await, "csrf"),
        mailbox_csrf: hidden(&mailbox, "csrf"),
        receipt,
        jar,
    }
}

/// A well-formed POST to a limited route, as the reporter's browser would send it.
async fn post_as_reporter(
    app: &TestApp,
    client: &reqwest::Client,
    r: &Reporter,
    route: &str,
    lang: &str,
) -> reqwest::Response {
    let req = client.post(app.url(&format!("{route}?lang={lang}")));
    let req = match route {
        "/report" => req.multipart(Report::default().form(&r.report_csrf)),
        "/report/sealed" => req.multipart(
            reqwest::multipart::Form::new()
                .text("csrf", r.report_csrf.clone())
                .text("category", "fraud")
                .text("mode", "anonymous"),
        ),
        "/follow-up" => req.form(&[
            ("csrf", r.follow_up_csrf.as_str()),
            ("receipt", r.receipt.as_str()),
        ]),
        "/mailbox/reply" | "/mailbox/reply/sealed" => req.multipart(
            reqwest::multipart::Form::new()
                .text("csrf", r.mailbox_csrf.clone())
                .text("message", "One more thing about the invoices."),
        ),
        other => panic!("no form for {other}"),
    };
    req.send()
        .await
        .unwrap_or_else(|e| panic!("POST {route}: {e}"))
}

/// The limiter's answer: 429 (never a 5xx), a Retry-After header, and an HTML page in the
/// requested language whose heading is the catalog's title.
async fn assert_rate_limited_page(res: reqwest::Response, route: &str, lang: &str) {
    let what = format!("POST {route}?lang={lang}");
    let status = res.status().as_u16();
    assert!(status < 500, "{what}: a server error ({status})");
    assert_eq!(status, 429, "{what}: not rate limited");
    let retry = res
        .headers()
        .get("retry-after")
        .unwrap_or_else(|| panic!("{what}: no Retry-After header"))
        .to_str()
        .expect("ascii header");
    assert!(
        retry.parse::<u64>().is_ok(),
        "{what}: Retry-After is not a number of seconds: {retry}"
    );
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("text/html"),
        "{what}: not an HTML page ({content_type})"
    );
    let body = res.text().await.expect("body");
    assert!(
        body.contains(&format!("<html lang=\"{lang}\"")),
        "{what}: the page is not in {lang}: {body}"
    );
    let h1 = body
        .split("<h1>")
        .nth(1)
        .and_then(|s| s.split("</h1>").next())
        .unwrap_or_else(|| panic!("{what}: no heading: {body}"));
    assert_eq!(
        html_unescape(h1.trim()),
        catalog_title(lang),
        "{what}: the heading is not the catalog's error.rate_limited.title"
    );
}

/// Linux routes all of 127.0.0.0/8 to loopback; some systems only have 127.0.0.1.
fn loopback_aliases() -> bool {
    available(
        "loopback addresses other than 127.0.0.1",
        std::net::TcpListener::bind("127.0.0.2:0").is_ok(),
    )
}

fn limits(per_client: u32, global: u32) -> Options {
    Options {
        serve: ServeArgs {
            rate_per_client: Some(per_client),
            rate_global: Some(global),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// Behind Tor every reporter is 127.0.0.1, so only the global budget stops a flood. With a
/// generous per-client budget and a global one of two a minute, one reporter's two POSTs
/// spend it, and every other client (each from an address the server has not seen) is
/// refused on every limited route, in every language.
async fn global_limit_holds_across_clients(backend: Backend) {
    if !loopback_aliases() {
        return;
    }
    let Some(app) = spawn_with(backend, limits(1000, 2)).await else {
        return;
    };
    let first = file_and_open(&app, 2).await;

    // A second reporter from another address reads pages freely but cannot file.
    let other_jar = Arc::new(reqwest::cookie::Jar::default());
    let other = reporter_at(3, &other_jar);
    let form = other
        .get(app.url("/report?lang=en"))
        .send()
        .await
        .expect("get form");
    assert_eq!(form.status(), 200, "reading pages is never limited");
    let csrf = hidden(&form.text().await.expect("form"), "csrf");
    let res = other
        .post(app.url("/report?lang=en"))
        .multipart(Report::default().form(&csrf))
        .send()
        .await
        .expect("post report");
    assert_rate_limited_page(res, "/report", "en").await;

    // Every limited route, in every language, each request from a new address (and the
    // first reporter's mailbox cookie, so the replies carry a real session).
    let mut host = 10u8;
    for route in LIMITED_ROUTES {
        for lang in LANGS {
            let client = reporter_at(host, &first.jar);
            host += 1;
            let res = post_as_reporter(&app, &client, &first, route, lang).await;
            assert_rate_limited_page(res, route, lang).await;
        }
    }
    assert_eq!(
        app.stored().await.cases,
        1,
        "only the report within the budget is stored"
    );
    let res = reporter_at(host, &other_jar)
        .get(app.url("/"))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 200, "reading pages is never limited");
    app.finish().await;
}

/// The converse: a per-client budget of two and a generous global one. The reporter who
/// spent theirs is refused on every route in every language; a reporter from another
/// address still files. So the per-client limit is keyed on the address, and the global
/// one above is not the per-client one in disguise.
async fn per_client_limit_is_per_address(backend: Backend) {
    if !loopback_aliases() {
        return;
    }
    let Some(app) = spawn_with(backend, limits(2, 10_000)).await else {
        return;
    };
    let first = file_and_open(&app, 2).await;
    for route in LIMITED_ROUTES {
        for lang in LANGS {
            // A fresh connection each time, from the same address.
            let client = reporter_at(2, &first.jar);
            let res = post_as_reporter(&app, &client, &first, route, lang).await;
            assert_rate_limited_page(res, route, lang).await;
        }
    }
    let other_jar = Arc::new(reqwest::cookie::Jar::default());
    let other = reporter_at(3, &other_jar);
    let (status, page) = file_report(&app, &other, "nl", &Report::default()).await;
    assert_eq!(
        status, 200,
        "another address has its own budget, and the global one is not spent: {page}"
    );
    assert!(page.contains("id=\"receipt\""), "{page}");
    assert_eq!(app.stored().await.cases, 2);
    app.finish().await;
}

/// A second server on the app's database (as after a restart, or a second instance): its
/// scheduled purge loop runs once when it starts.
struct Instance {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Another server on the same database, with the same key file (as several instances share
/// one: PostgreSQL deployments must name it).
async fn start_instance(database_url: &str, key_file: &std::path::Path) -> Instance {
    let store = speakup::store::connect(database_url)
        .await
        .expect("connect");
    let common = CommonArgs {
        config: None,
        database_url: Some(database_url.to_owned()),
    };
    let file = FileConfig {
        key_file: Some(key_file.to_owned()),
        ..FileConfig::default()
    };
    let settings =
        Settings::from_parts(&common, &Options::default().serve, file).expect("settings");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let state =
        speakup::server::build_state(store, settings, Arc::new(speakup::clock::SystemClock))
            .await
            .expect("state");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(speakup::server::serve(listener, state, async move {
        let _ = rx.await;
    }));
    Instance {
        stop: Some(tx),
        task,
    }
}

impl Instance {
    async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        self.task.await.expect("join").expect("serve");
    }
}

/// Strings a query returns, on either database.
async fn strings(app: &TestApp, sql: &str) -> Vec<String> {
    let q = sqlx::AssertSqlSafe(sql.to_owned());
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
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn execute(app: &TestApp, sql: &str) {
    let q = sqlx::AssertSqlSafe(sql.to_owned());
    match app.backend {
        Backend::Sqlite => {
            let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect(&app.database_url)
                .await
                .expect("connect");
            sqlx::Executor::execute(&mut c, q).await.map(|_| ())
        }
        Backend::Postgres => {
            let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&app.database_url)
                .await
                .expect("connect");
            sqlx::Executor::execute(&mut c, q).await.map(|_| ())
        }
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// An upload abandoned long ago (a blob never completed, with one chunk): the purge loop's
/// last step removes it, so its disappearance shows that a whole run has finished.
async fn plant_abandoned_upload(app: &TestApp, id: &str) {
    execute(
        app,
        &format!(
            "INSERT INTO blobs (id, complete, created_on, size) VALUES ('{id}', FALSE, '2000-01-01', 0)"
        ),
    )
    .await;
    let byte = match app.backend {
        Backend::Sqlite => "X'00'",
        Backend::Postgres => "'\\x00'::bytea",
    };
    execute(
        app,
        &format!("INSERT INTO chunks (blob_id, idx, data) VALUES ('{id}', 0, {byte})"),
    )
    .await;
}

/// Waits (at most a minute) until `sql` counts zero rows.
async fn wait_for_none(app: &TestApp, sql: &str, what: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while app.scalar(sql).await != 0 {
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn case_blob_ids(app: &TestApp, case_id: &str) -> Vec<String> {
    strings(
        app,
        &format!(
            "SELECT blob_id FROM items WHERE case_id = '{case_id}' \
             UNION SELECT name_blob_id FROM items \
             WHERE case_id = '{case_id}' AND name_blob_id IS NOT NULL"
        ),
    )
    .await
}

/// The retention period an admin sets on the settings page is what the server's own
/// schedule applies: nothing is deleted while it is unset, and once it is, a closed case
/// past it goes with every blob and chunk it had, leaving the other cases whole and a
/// `case_deleted` row in the audit log.
async fn retention_runs_on_schedule(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = app.browser();
    let with_file = Report {
        files: vec![("minutes.txt".into(), b"board minutes, 3 March".to_vec())],
        ..Default::default()
    };
    for _ in 0..3 {
        let (status, page) = file_report(&app, &client, "en", &with_file).await;
        assert_eq!(status, 200, "{page}");
    }
    let cases = app.store.cases().await.expect("cases");
    assert_eq!(cases.len(), 3);
    let today = speakup::clock::Clock::today(app.clock.as_ref());
    // Closed 13 months ago (past a 12-month period), closed a month ago, still open.
    for (case, closed_on) in [
        (&cases[0], today - time::Duration::days(400)),
        (&cases[1], today - time::Duration::days(30)),
    ] {
        let update = speakup::store::CaseUpdate {
            event: Some(speakup::store::NewEvent {
                at: 0,
                actor: "x".into(),
                status: speakup::domain::case::CaseStatus::Closed,
                outcome: None,
                reason: None,
            }),
            closed_on: Some(closed_on),
            ..Default::default()
        };
        let audit = speakup::domain::audit::AuditEntry::new(0, "x", "status_changed", "", "");
        app.store
            .update_case(&case.id, &update, &[audit])
            .await
            .expect("close");
    }
    let mut blobs = Vec::new();
    for c in &cases {
        let ids = case_blob_ids(&app, c.id.as_str()).await;
        let names = app
            .scalar(&format!(
                "SELECT COUNT(*) FROM items WHERE case_id = '{}' AND name_blob_id IS NOT NULL",
                c.id.as_str()
            ))
            .await;
        assert!(
            ids.len() >= 3 && names >= 1,
            "a report with a file has a text, a file and a file-name blob: {ids:?}"
        );
        for b in &ids {
            assert!(
                app.scalar(&format!(
                    "SELECT COUNT(*) FROM chunks WHERE blob_id = '{b}'"
                ))
                .await
                    >= 1,
                "blob {b} has no chunk"
            );
        }
        blobs.push(ids);
    }
    let count_cases = "SELECT COUNT(*) FROM cases";
    let deletions = "SELECT COUNT(*) FROM audit_log WHERE action = 'case_deleted'";

    // No period set: a scheduled run (seen finishing by the abandoned upload it purges)
    // deletes nothing.
    plant_abandoned_upload(&app, "abandoned-upload-1").await;
    let instance = start_instance(&app.database_url, &app.dir.path().join("speakup.key")).await;
    wait_for_none(
        &app,
        "SELECT COUNT(*) FROM blobs WHERE id = 'abandoned-upload-1'",
        "the purge loop did not run when the server started",
    )
    .await;
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM chunks WHERE blob_id = 'abandoned-upload-1'")
            .await,
        0
    );
    instance.stop().await;
    assert_eq!(
        app.scalar(count_cases).await,
        3,
        "deleted with no period set"
    );
    assert_eq!(app.scalar(deletions).await, 0);

    // An admin sets 12 months on the settings page, keeping everything else as shown.
    let link = admin_via_cli(&app, "admin@example.org").await;
    let admin = enroll(&app, &link, "admin@example.org", false).await;
    login(&app, &admin).await;
    let page = app.page(&admin.client, "/officer/admin/settings").await;
    assert!(
        page.contains("name=\"retention_months\" value=\"0\""),
        "retention starts unset: {page}"
    );
    let textarea = |name: &str| {
        let open = format!("name=\"{name}\"");
        let at = page
            .find(&open)
            .unwrap_or_else(|| panic!("no {name} field"));
        let rest = &page[at..];
        let start = rest.find('>').expect("tag end") + 1;
        let end = rest.find("</textarea>").expect("textarea end");
        html_unescape(&rest[start..end])
    };
    let input = |name: &str| {
        html_unescape(&speakup_tests::officer::attr(
            &page,
            &format!("name=\"{name}\""),
            "value",
        ))
    };
    let mut form = vec![
        ("csrf".to_owned(), hidden(&page, "csrf")),
        ("org_name".to_owned(), input("org_name")),
        ("categories".to_owned(), textarea("categories")),
        ("escrow".to_owned(), input("escrow")),
        ("retention_months".to_owned(), "12".to_owned()),
    ];
    for lang in LANGS {
        let name = format!("notice_{lang}");
        form.push((name.clone(), textarea(&name)));
    }
    let res = admin
        .client
        .post(app.url("/officer/admin/settings"))
        .form(&form)
        .send()
        .await
        .expect("save settings");
    assert_eq!(res.status(), 200);
    let saved = res.text().await.expect("body");
    assert!(
        saved.contains("name=\"retention_months\" value=\"12\""),
        "the saved period is not shown: {saved}"
    );
    // Saving deletes nothing by itself: the schedule does.
    assert_eq!(app.scalar(count_cases).await, 3);

    plant_abandoned_upload(&app, "abandoned-upload-2").await;
    let instance = start_instance(&app.database_url, &app.dir.path().join("speakup.key")).await;
    let gone = cases[0].id.as_str();
    wait_for_none(
        &app,
        &format!("SELECT COUNT(*) FROM cases WHERE id = '{gone}'"),
        "the scheduled run did not delete the case past its retention period",
    )
    .await;
    wait_for_none(
        &app,
        "SELECT COUNT(*) FROM blobs WHERE id = 'abandoned-upload-2'",
        "the purge loop did not finish",
    )
    .await;
    instance.stop().await;

    let left: Vec<_> = app
        .store
        .cases()
        .await
        .expect("cases")
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(left, vec![cases[1].id.clone(), cases[2].id.clone()]);
    for table in ["items", "case_keys", "case_events", "case_access"] {
        assert_eq!(
            app.scalar(&format!(
                "SELECT COUNT(*) FROM {table} WHERE case_id = '{gone}'"
            ))
            .await,
            0,
            "{table} rows of the deleted case remain"
        );
    }
    for b in &blobs[0] {
        assert_eq!(
            app.scalar(&format!("SELECT COUNT(*) FROM blobs WHERE id = '{b}'"))
                .await,
            0,
            "blob {b} of the deleted case remains"
        );
        assert_eq!(
            app.scalar(&format!(
                "SELECT COUNT(*) FROM chunks WHERE blob_id = '{b}'"
            ))
            .await,
            0,
            "chunks of blob {b} of the deleted case remain"
        );
    }
    for (c, ids) in cases[1..].iter().zip(&blobs[1..]) {
        assert_eq!(&case_blob_ids(&app, c.id.as_str()).await, ids);
        for b in ids {
            assert_eq!(
                app.scalar(&format!(
                    "SELECT COUNT(*) FROM blobs WHERE id = '{b}' AND complete"
                ))
                .await,
                1,
                "blob {b} of case {} is gone",
                c.reference
            );
            assert!(
                app.scalar(&format!(
                    "SELECT COUNT(*) FROM chunks WHERE blob_id = '{b}'"
                ))
                .await
                    >= 1,
                "chunks of blob {b} of case {} are gone",
                c.reference
            );
        }
    }
    let rows = app.store.audit_rows(0, 1000).await.expect("audit");
    let deleted: Vec<_> = rows
        .iter()
        .filter(|r| r.entry.action == "case_deleted")
        .collect();
    assert_eq!(deleted.len(), 1, "one case_deleted row");
    assert_eq!(deleted[0].entry.case_ref, cases[0].reference);
    assert_eq!(deleted[0].entry.actor, "system");
    assert!(
        deleted[0].entry.detail.contains("kept 12 months"),
        "{}",
        deleted[0].entry.detail
    );
    let verdict = run_cli(&app, &["audit", "verify"]).await;
    assert!(verdict.starts_with("audit log intact"), "{verdict}");
    assert_no_server_warnings(&[]);
    app.finish().await;
}

on_both_databases!(
    global_limit_holds_across_clients,
    per_client_limit_is_per_address,
    retention_runs_on_schedule
);

/// A `speakup serve` process; killed if the test fails before it exits.
struct Process {
    child: Child,
    base: String,
    stderr: Arc<Mutex<String>>,
}

impl Drop for Process {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Collects a pipe's lines in the background (a full pipe would stall the server).
fn drain(pipe: impl std::io::Read + Send + 'static) -> Arc<Mutex<String>> {
    let buf = Arc::new(Mutex::new(String::new()));
    let sink = buf.clone();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            let mut s = sink.lock().unwrap_or_else(|e| e.into_inner());
            s.push_str(&line);
            s.push('\n');
        }
    });
    buf
}

fn text_of(buf: &Arc<Mutex<String>>) -> String {
    buf.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Runs the binary with only the settings given here (none inherited from the caller).
fn speakup_command(bin: &Path, database_url: &str) -> Command {
    let mut cmd = Command::new(bin);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("SPEAKUP_") || k == "DATABASE_URL" {
            cmd.env_remove(k);
        }
    }
    cmd.args(["--database-url", database_url]);
    cmd
}

async fn start_process(bin: &Path, database_url: &str) -> Process {
    let mut child = speakup_command(bin, database_url)
        .arg("serve")
        .env("SPEAKUP_BIND", "127.0.0.1:0")
        .env("SPEAKUP_LOG", "warn,speakup=info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start speakup serve");
    let stdout = drain(child.stdout.take().expect("stdout"));
    let stderr = drain(child.stderr.take().expect("stderr"));
    let mut process = Process {
        child,
        base: String::new(),
        stderr,
    };
    // The address is in the "listening" log line, and the banner on stdout must name the
    // same address (with port 0, the port the system picked).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let log = text_of(&process.stderr);
        let addr = log
            .lines()
            .filter(|l| l.contains("listening"))
            .find_map(|l| l.split("addr=").nth(1))
            .and_then(|s| s.split_whitespace().next());
        if let Some(addr) = addr
            && text_of(&stdout).contains("Speak Up is running: open http://")
        {
            process.base = format!("http://{addr}");
            let banner = format!("Speak Up is running: open {} in a browser.", process.base);
            assert!(
                text_of(&stdout).contains(&banner),
                "the banner does not name the bound address {addr}:\n{}",
                text_of(&stdout)
            );
            return process;
        }
        if let Ok(Some(status)) = process.child.try_wait() {
            panic!(
                "speakup serve exited ({status}):\n{log}\n{}",
                text_of(&stdout)
            );
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "speakup serve did not start:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn sigterm(p: &Process) {
    let status = Command::new("kill")
        .args(["-TERM", &p.child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -TERM failed");
}

async fn wait_for_exit(p: &mut Process) -> std::process::ExitStatus {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = p.child.try_wait().expect("try_wait") {
            return status;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "speakup serve did not exit after SIGTERM:\n{}",
            text_of(&p.stderr)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn sqlite_count(database_url: &str, sql: &str) -> i64 {
    let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect(database_url)
        .await
        .expect("connect");
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(&mut c)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// SIGTERM to the real process while a large upload is in flight: the upload finishes with
/// a receipt, the process exits 0, and the receipt opens the mailbox after a restart.
async fn sigterm_lets_an_upload_finish() {
    let bin = speakup_binary();
    let dir = tempfile::tempdir().expect("tempdir");
    let database_url = format!("sqlite:{}", dir.path().join("speakup.db").display());
    let officer = age::x25519::Identity::generate();
    let out = speakup_command(&bin, &database_url)
        .args(["officer", "add", "--email", "olga@example.org"])
        .args(["--name", "Olga Officer", "--recipient"])
        .arg(officer.to_public().to_string())
        .output()
        .expect("speakup officer add");
    assert!(
        out.status.success(),
        "speakup officer add failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut server = start_process(&bin, &database_url).await;
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let form = client
        .get(format!("{}/report", server.base))
        .send()
        .await
        .expect("get form")
        .text()
        .await
        .expect("form");
    let csrf = hidden(&form, "csrf");
    // 8 MiB in 32 pieces, 20 ms apart, holding at the halfway point until the server has
    // taken the signal, so the upload certainly spans it.
    const PIECE: usize = 256 * 1024;
    let (go_on, wait) = tokio::sync::watch::channel(false);
    let stream = futures_util::stream::iter(0..32).then(move |i| {
        let mut wait = wait.clone();
        async move {
            if i == 16 {
                let _ = wait.wait_for(|go| *go).await;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b'x'; PIECE]))
        }
    });
    let part = reqwest::multipart::Part::stream_with_length(
        reqwest::Body::wrap_stream(stream),
        (32 * PIECE) as u64,
    )
    .file_name("ledger-scan.pdf");
    let report = Report {
        what: "Cash is taken from the till every Friday.",
        ..Default::default()
    };
    let upload_form = report.form(&csrf).part("attachments", part);
    let url = format!("{}/report", server.base);
    let uploader = client.clone();
    let upload =
        tokio::spawn(async move { uploader.post(url).multipart(upload_form).send().await });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while sqlite_count(
        &database_url,
        "SELECT COUNT(*) FROM blobs WHERE NOT complete",
    )
    .await
        == 0
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the server never started storing the upload"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(!upload.is_finished(), "the upload ended before the signal");
    sigterm(&server);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !text_of(&server.stderr).contains("shutting down") {
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!(
                "speakup serve ended at SIGTERM ({status}) instead of shutting down gracefully:\n{}",
                text_of(&server.stderr)
            );
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the server did not take SIGTERM:\n{}",
            text_of(&server.stderr)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(!upload.is_finished(), "the upload ended at the signal");
    go_on.send(true).expect("resume upload");
    let res = upload
        .await
        .expect("join")
        .expect("the upload was cut off by the shutdown");
    assert_eq!(res.status(), 200);
    let page = res.text().await.expect("receipt page");
    assert!(page.contains("id=\"receipt\""), "{page}");
    let token = receipt(&page);
    let status = wait_for_exit(&mut server).await;
    assert_eq!(
        status.code(),
        Some(0),
        "speakup serve exited with {status} after SIGTERM:\n{}",
        text_of(&server.stderr)
    );
    drop(server);
    assert_eq!(
        sqlite_count(
            &database_url,
            &format!(
                "SELECT COUNT(*) FROM items i JOIN blobs b ON b.id = i.blob_id \
                 WHERE b.complete AND b.size = {}",
                32 * PIECE
            )
        )
        .await,
        1,
        "the whole file is stored"
    );
    assert_eq!(
        sqlite_count(
            &database_url,
            "SELECT COUNT(*) FROM blobs WHERE NOT complete"
        )
        .await,
        0
    );

    // Started again on the same database, the receipt opens the mailbox.
    let mut again = start_process(&bin, &database_url).await;
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let follow_up = browser
        .get(format!("{}/follow-up", again.base))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("body");
    let res = browser
        .post(format!("{}/follow-up", again.base))
        .form(&[
            ("csrf", hidden(&follow_up, "csrf").as_str()),
            ("receipt", token.as_str()),
        ])
        .send()
        .await
        .expect("post follow-up");
    assert_eq!(res.status(), 200);
    let mailbox = res.text().await.expect("mailbox");
    assert!(
        mailbox.contains("Cash is taken from the till every Friday.")
            && mailbox.contains("ledger-scan.pdf"),
        "the mailbox does not show the report: {mailbox}"
    );
    sigterm(&again);
    let status = wait_for_exit(&mut again).await;
    assert_eq!(status.code(), Some(0), "{}", text_of(&again.stderr));
}

#[test]
fn sigterm_on_the_real_process_lets_an_upload_finish() {
    run_test(sigterm_lets_an_upload_finish())
}
