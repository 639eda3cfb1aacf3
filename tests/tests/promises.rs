//! Promises the documentation makes that no other test held the code to: the escrow holder
//! receives every case key on both intake paths and in the export; reporter actions reach the
//! audit chain a day late, at midnight and in no telling order; the auditor's page says when
//! the chain is broken; `Secure` cookies and HSTS follow the public address; and the export's
//! README gives `age` commands that work as printed.

use std::path::Path;
use std::process::Command;

use age::secrecy::ExposeSecret;
use age::x25519::{Identity, Recipient};
use speakup::clock::Clock;
use speakup::domain::holder::Holder;
use speakup::domain::receipt::ReceiptToken;
use speakup_tests::officer::*;
use speakup_tests::*;

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn age_cli() -> bool {
    Command::new("age")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The case identity inside a decrypted key file (`# Speak Up case key` + the secret line).
fn case_key_of(key_file: &[u8]) -> Identity {
    String::from_utf8(key_file.to_vec())
        .expect("utf8 key file")
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .expect("an identity line in the key file")
        .parse()
        .expect("case identity")
}

fn key_file(id: &Identity) -> String {
    format!("# Speak Up case key\n{}\n", id.to_string().expose_secret())
}

fn secret_line(id: &Identity) -> String {
    format!("{}\n", id.to_string().expose_secret())
}

/// Runs a statement against the app's database (tampering, as someone with access could).
async fn execute(app: &TestApp, sql: &str) {
    let q = sqlx::AssertSqlSafe(sql.to_owned());
    match app.backend {
        Backend::Sqlite => {
            let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect(&app.database_url)
                .await
                .unwrap();
            sqlx::Executor::execute(&mut c, q).await.unwrap();
        }
        Backend::Postgres => {
            let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&app.database_url)
                .await
                .unwrap();
            sqlx::Executor::execute(&mut c, q).await.unwrap();
        }
    };
}

/// The queued reporter actions: `(day, action, case_ref)`, sorted.
async fn pending(app: &TestApp) -> Vec<(String, String, String)> {
    let sql = "SELECT day, action, case_ref FROM audit_pending";
    let mut rows: Vec<(String, String, String)> = match app.backend {
        Backend::Sqlite => {
            let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect(&app.database_url)
                .await
                .unwrap();
            sqlx::query_as(sql).fetch_all(&mut c).await.unwrap()
        }
        Backend::Postgres => {
            let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&app.database_url)
                .await
                .unwrap();
            sqlx::query_as(sql).fetch_all(&mut c).await.unwrap()
        }
    };
    rows.sort();
    rows
}

async fn chain(app: &TestApp) -> Vec<speakup::domain::audit::AuditRecord> {
    app.store.audit_rows(0, 10_000).await.unwrap()
}

/// `speakup case export REF --out DIR`, as an operator runs it.
async fn export(app: &TestApp, reference: &str, dir: &Path) {
    let out = run_cli(
        app,
        &[
            "case",
            "export",
            reference,
            "--out",
            dir.to_str().expect("utf8 path"),
        ],
    )
    .await;
    assert!(out.contains(reference), "{out}");
}

/// The one case filed since `before` was read.
async fn new_case(
    app: &TestApp,
    before: &[speakup::store::CaseRecord],
) -> speakup::store::CaseRecord {
    let mut fresh: Vec<_> = app
        .store
        .cases()
        .await
        .unwrap()
        .into_iter()
        .filter(|c| before.iter().all(|b| b.id != c.id))
        .collect();
    assert_eq!(fresh.len(), 1, "expected exactly one new case");
    fresh.pop().unwrap()
}

/// The browser path's form, built as `reporter.js` builds it: a case key sealed to every
/// holder the intake page lists, plus the escrow when `with_escrow` (the script adds it
/// whenever the page names one).
fn sealed_form(
    page: &str,
    case_key: &Identity,
    token: &ReceiptToken,
    what: &str,
    with_escrow: bool,
) -> reqwest::multipart::Form {
    let keys = speakup_tests::sealed::intake_keys(page);
    let derived = token.derive();
    let reporter = derived.recipient();
    let lookup: String = derived
        .lookup
        .0
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let both = [case_key.to_public(), reporter.clone()];
    let report = serde_json::json!({"type": "report", "version": 1, "category": "fraud",
        "what": what, "when_where": "", "involved": ""});
    let bytes = |name: &str, b: Vec<u8>| {
        reqwest::multipart::Part::bytes(b)
            .file_name(format!("{name}.age"))
            .mime_str("application/octet-stream")
            .unwrap()
    };
    let mut form = reqwest::multipart::Form::new()
        .text("csrf", hidden(page, "csrf"))
        .text("category", "fraud")
        .text("mode", "anonymous")
        .text("lookup", lookup)
        .text("case_recipient", case_key.to_public().to_string())
        .text("reporter_recipient", reporter.to_string())
        .part(
            "report",
            bytes("report", encrypt(&both, report.to_string().as_bytes())),
        );
    let mut holders: Vec<(String, Recipient)> = keys["holders"]
        .as_array()
        .expect("holders")
        .iter()
        .map(|h| {
            (
                h["holder"].as_str().unwrap().to_owned(),
                h["recipient"].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect();
    if with_escrow {
        let escrow = keys["escrow"]
            .as_str()
            .expect("the intake page names the escrow recipient");
        holders.push(("escrow".to_owned(), escrow.parse().unwrap()));
    }
    for (holder, r) in holders {
        form = form.text("holder", holder).part(
            "envelope",
            bytes("envelope", encrypt(&[r], key_file(case_key).as_bytes())),
        );
    }
    form
}

// ---------------------------------------------------------------------------------------
// 1. Escrow on both intake paths and in the export
// ---------------------------------------------------------------------------------------

/// The escrow's envelope of a case: sealed to the escrow recipient, it opens the case key,
/// and that key opens the report.
async fn assert_escrow_opens(
    app: &TestApp,
    escrow: &Identity,
    case: &speakup::store::CaseRecord,
    what: &str,
) {
    let envelopes = app.store.envelopes(&case.id).await.unwrap();
    assert!(
        envelopes
            .iter()
            .any(|e| matches!(e.holder, Holder::Officer(_))),
        "{}: no officer envelope",
        case.reference
    );
    let escrowed: Vec<_> = envelopes
        .iter()
        .filter(|e| e.holder == Holder::Escrow)
        .collect();
    assert_eq!(
        escrowed.len(),
        1,
        "{}: one envelope for the escrow holder",
        case.reference
    );
    assert_eq!(escrowed[0].recipient, escrow.to_public().to_string());
    let case_key = case_key_of(&decrypt(escrow, &escrowed[0].envelope));
    assert_eq!(
        case_key.to_public().to_string(),
        case.case_recipient,
        "the escrow envelope holds this case's key"
    );
    let items = app.store.items(&case.id).await.unwrap();
    let report = speakup::store::read_blob(app.store.as_ref(), &items[0].blob_id)
        .await
        .unwrap();
    let plain = String::from_utf8(decrypt(&case_key, &report)).unwrap();
    assert!(plain.contains(what), "{}: {plain}", case.reference);
}

/// `keys/escrow.age` of an export opens with the escrow identity to the key of its items.
fn assert_export_escrow(dir: &Path, escrow: &Identity, what: &str) {
    let sealed = std::fs::read(dir.join("keys/escrow.age")).expect("keys/escrow.age written");
    let case_key = case_key_of(&decrypt(escrow, &sealed));
    let report = std::fs::read(dir.join("items/001-report.age")).unwrap();
    assert!(
        String::from_utf8(decrypt(&case_key, &report))
            .unwrap()
            .contains(what)
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let listed = manifest["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["holder"] == "escrow")
        .expect("the manifest lists the escrow key");
    assert_eq!(listed["file"], "keys/escrow.age");
    assert_eq!(listed["recipient"], escrow.to_public().to_string().as_str());
}

async fn escrow_holds_every_case_key(backend: Backend) {
    let escrow = Identity::generate();
    let mut opts = Options::default();
    opts.serve.escrow_recipient = Some(escrow.to_public().to_string());
    let Some(app) = spawn_with(backend, opts).await else {
        return;
    };
    let client = app.browser();

    // The server path: the server seals the case key, to the escrow too.
    let what_plain = "Escrow check: the server path.";
    let (status, page) = file_report(
        &app,
        &client,
        "en",
        &Report {
            what: what_plain,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let plain_case = new_case(&app, &[]).await;
    assert_escrow_opens(&app, &escrow, &plain_case, what_plain).await;

    // The browser path: the page names the escrow, and a sealed report without its
    // envelope is refused (it would be a case the escrow cannot open).
    let form_page = app.page(&client, "/report").await;
    let what_sealed = "Escrow check: the browser path.";
    let case_key = Identity::generate();
    let token = ReceiptToken::generate().unwrap();
    let res = client
        .post(app.url("/report/sealed?lang=en"))
        .multipart(sealed_form(
            &form_page,
            &case_key,
            &token,
            what_sealed,
            false,
        ))
        .send()
        .await
        .unwrap();
    assert!(
        res.status().is_client_error(),
        "a sealed report without an escrow envelope was not refused: {}",
        res.status()
    );
    assert_eq!(app.store.cases().await.unwrap().len(), 1);
    let form_page = app.page(&client, "/report").await;
    let res = client
        .post(app.url("/report/sealed?lang=en"))
        .multipart(sealed_form(
            &form_page,
            &case_key,
            &token,
            what_sealed,
            true,
        ))
        .send()
        .await
        .unwrap();
    let status = res.status();
    assert_eq!(status, 200, "{}", res.text().await.unwrap());
    let sealed_case = new_case(&app, std::slice::from_ref(&plain_case)).await;
    assert_eq!(sealed_case.case_recipient, case_key.to_public().to_string());
    assert_escrow_opens(&app, &escrow, &sealed_case, what_sealed).await;

    // The export carries the escrow's copy of each case key.
    for (case, what) in [(&plain_case, what_plain), (&sealed_case, what_sealed)] {
        let dir = app.dir.path().join(format!("export-{}", case.reference));
        export(&app, &case.reference, &dir).await;
        assert_export_escrow(&dir, &escrow, what);
    }
    app.finish().await;
}

// ---------------------------------------------------------------------------------------
// 2. Reporter actions join the audit chain a day late, at midnight, sorted
// ---------------------------------------------------------------------------------------

async fn reporter_actions_join_the_chain_the_next_day(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // Work at noon UTC on the server's clock, so the test never straddles midnight.
    let now = app.clock.now();
    let since_midnight = i64::from(now.hour()) * 3600 + i64::from(now.minute()) * 60;
    app.clock
        .advance((12 * 3600 - since_midnight).rem_euclid(86_400));
    let day = app.clock.today();
    let midnight = day.midnight().assume_utc().unix_timestamp();
    let chain_before = chain(&app).await;

    // Several reports on one day, until their filing order is not their reference order
    // (references are random), so that a chain in filing order would be caught.
    let client = app.browser();
    let mut filed: Vec<(String, String)> = Vec::new(); // (reference, receipt) in filing order
    while filed.len() < 3 || filed.windows(2).all(|w| w[0].0 < w[1].0) {
        assert!(filed.len() < 12, "references came out sorted twelve times");
        let before = app.store.cases().await.unwrap();
        let (status, page) = file_report(&app, &client, "en", &Report::default()).await;
        assert_eq!(status, 200, "{page}");
        let case = new_case(&app, &before).await;
        filed.push((case.reference.clone(), receipt(&page)));
    }
    let mut happened: Vec<(String, String)> = filed
        .iter()
        .map(|(r, _)| (r.clone(), "report_filed".to_owned()))
        .collect();
    // The first reporter comes back, reads the mailbox and replies; the last one only reads.
    let first = &filed[0];
    let reader = app.browser();
    let (status, mailbox) = open_mailbox(&app, &reader, &first.1).await;
    assert_eq!(status, 200, "{mailbox}");
    happened.push((first.0.clone(), "mailbox_opened".to_owned()));
    let form = reqwest::multipart::Form::new()
        .text("csrf", hidden(&mailbox, "csrf"))
        .text("message", "One more detail.");
    let res = reader
        .post(app.url("/mailbox/reply?lang=en"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    happened.push((first.0.clone(), "reporter_replied".to_owned()));
    let last = filed.last().unwrap();
    let (status, _) = open_mailbox(&app, &app.browser(), &last.1).await;
    assert_eq!(status, 200);
    happened.push((last.0.clone(), "mailbox_opened".to_owned()));
    assert_eq!(app.clock.today(), day, "the test crossed midnight");

    // Queued with the day only ...
    let mut expected: Vec<(String, String, String)> = happened
        .iter()
        .map(|(r, a)| (day.to_string(), a.clone(), r.clone()))
        .collect();
    expected.sort();
    assert_eq!(pending(&app).await, expected);
    // ... and not in the chain that day, even when the housekeeping runs (it flushes the
    // days before today, exactly as here).
    let refs: Vec<&str> = filed.iter().map(|(r, _)| r.as_str()).collect();
    let no_reporter_rows = |rows: &[speakup::domain::audit::AuditRecord]| {
        rows.iter()
            .all(|r| r.entry.actor != "reporter" && !refs.contains(&r.entry.case_ref.as_str()))
    };
    assert!(
        no_reporter_rows(&chain(&app).await),
        "reporter rows on the day itself"
    );
    assert_eq!(
        app.store
            .flush_reporter_audit(app.clock.today())
            .await
            .unwrap(),
        0,
        "the housekeeping moved reporter actions of today into the chain"
    );
    let same_day = chain(&app).await;
    assert!(
        no_reporter_rows(&same_day),
        "reporter rows on the day itself"
    );
    assert_eq!(same_day, chain_before);
    assert_eq!(pending(&app).await.len(), happened.len());

    // The next day they join the chain: midnight of their day, actor "reporter", no detail,
    // ordered by case reference then action, not in the order they happened.
    app.clock.advance(86_400);
    let moved = app
        .store
        .flush_reporter_audit(app.clock.today())
        .await
        .unwrap();
    assert_eq!(moved, happened.len() as u64);
    assert!(pending(&app).await.is_empty(), "the queue was not emptied");
    let after = chain(&app).await;
    assert_eq!(&after[..chain_before.len()], &chain_before[..]);
    let added = &after[chain_before.len()..];
    assert_eq!(added.len(), happened.len());
    for r in added {
        assert_eq!(r.entry.actor, "reporter", "{:?}", r.entry);
        assert_eq!(
            r.entry.at, midnight,
            "not midnight UTC of {day}: {:?}",
            r.entry
        );
        assert_eq!(r.entry.detail, "", "{:?}", r.entry);
    }
    let in_chain: Vec<(String, String)> = added
        .iter()
        .map(|r| (r.entry.case_ref.clone(), r.entry.action.clone()))
        .collect();
    let mut sorted = happened.clone();
    sorted.sort();
    assert_ne!(
        sorted, happened,
        "the test needs an order that differs from the sorted one"
    );
    assert_eq!(
        in_chain, sorted,
        "the chain must not follow the order of events"
    );
    let verdict = run_cli(&app, &["audit", "verify"]).await;
    assert!(verdict.starts_with("audit log intact"), "{verdict}");
    app.finish().await;
}

// ---------------------------------------------------------------------------------------
// 3. The auditor's page names the broken row
// ---------------------------------------------------------------------------------------

/// The `#chain-verdict` element: its opening tag and its text.
fn verdict_box(page: &str) -> (String, String) {
    let at = page.find("id=\"chain-verdict\"").expect("a chain verdict");
    let start = page[..at].rfind('<').unwrap();
    let end = at + page[at..].find("</div>").expect("end of the verdict");
    let element = &page[start..end];
    let (tag, text) = element.split_once('>').unwrap();
    (tag.to_owned(), text.replace("<p>", "").replace("</p>", ""))
}

async fn audit_page_shows_a_broken_chain(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let link = admin_via_cli(&app, "admin@example.org").await;
    let admin = enroll(&app, &link, "admin@example.org", false).await;
    login(&app, &admin).await;
    let auditor_link = create_account(&app, &admin, "audrey@example.org", &["auditor"]).await;
    let auditor = enroll(&app, &auditor_link, "audrey@example.org", false).await;
    login(&app, &auditor).await;
    let rows = chain(&app).await;
    let n = rows.len();
    assert!(n >= 5, "{rows:?}");

    let (tag, text) = verdict_box(&app.page(&auditor.client, "/officer/audit").await);
    assert!(
        tag.contains("class=\"box ok\"") && tag.contains("role=\"status\""),
        "{tag}"
    );
    assert!(
        text.contains(&format!("The hash chain is intact: {n} rows")),
        "{text}"
    );
    assert!(!text.contains("BROKEN"), "{text}");

    // Someone with database access softens the admin's login entry.
    let target = rows
        .iter()
        .find(|r| r.entry.action == "login" && r.entry.actor == "admin@example.org")
        .expect("the admin's login row");
    let seq = target.seq;
    execute(
        &app,
        &format!("UPDATE audit_log SET detail = 'nothing happened' WHERE seq = {seq}"),
    )
    .await;
    let (tag, text) = verdict_box(&app.page(&auditor.client, "/officer/audit").await);
    assert!(
        tag.contains("class=\"box alert\"") && tag.contains("role=\"alert\""),
        "{tag}"
    );
    assert!(
        text.contains(&format!("The hash chain is BROKEN at row {seq}:")),
        "{text}"
    );
    assert!(text.contains("content does not match its hash"), "{text}");
    assert!(!text.contains("intact"), "{text}");

    // The original text back: intact again. The newest row removed: broken at its number.
    execute(
        &app,
        &format!(
            "UPDATE audit_log SET detail = '{}' WHERE seq = {seq}",
            target.entry.detail.replace('\'', "''")
        ),
    )
    .await;
    let (tag, text) = verdict_box(&app.page(&auditor.client, "/officer/audit").await);
    assert!(tag.contains("class=\"box ok\""), "{tag}");
    assert!(text.contains(&format!("intact: {n} rows")), "{text}");
    execute(&app, &format!("DELETE FROM audit_log WHERE seq = {n}")).await;
    let (tag, text) = verdict_box(&app.page(&auditor.client, "/officer/audit").await);
    assert!(tag.contains("class=\"box alert\""), "{tag}");
    assert!(text.contains(&format!("BROKEN at row {n}:")), "{text}");
    assert!(text.contains("rows are missing at the end"), "{text}");
    app.finish().await;
}

// ---------------------------------------------------------------------------------------
// 4. Secure cookies and HSTS follow the public address
// ---------------------------------------------------------------------------------------

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The attributes of a `Set-Cookie` header after the name=value pair.
fn cookie_attributes(header: &str) -> Vec<String> {
    header
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_owned())
        .collect()
}

/// The mailbox's `Set-Cookie` after a receipt is accepted.
async fn mailbox_cookie(app: &TestApp) -> (String, reqwest::header::HeaderMap) {
    let client = app.browser();
    let (status, page) = file_report(app, &client, "en", &Report::default()).await;
    assert_eq!(status, 200);
    let f = app.page(&client, "/follow-up").await;
    let res = no_redirects()
        .post(app.url("/follow-up"))
        .form(&[("csrf", hidden(&f, "csrf")), ("receipt", receipt(&page))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie
            .trim_start_matches("__Host-")
            .starts_with("speakup_mailbox="),
        "{cookie}"
    );
    (cookie, res.headers().clone())
}

/// The officer session's `Set-Cookie` after a successful login (read from the redirect,
/// which a cookie jar would not hand back for a `Secure` cookie over plain HTTP).
async fn officer_cookie(app: &TestApp) -> (String, reqwest::header::HeaderMap) {
    let link = admin_via_cli(app, "admin@example.org").await;
    let admin = enroll(app, &link, "admin@example.org", false).await;
    let client = no_redirects();
    let page = app.page(&client, "/officer/login").await;
    app.clock.advance(31);
    let code = speakup::auth::code_at(&admin.seed, app.clock.now().unix_timestamp()).unwrap();
    let res = client
        .post(app.url("/officer/login"))
        .form(&[
            ("csrf", hidden(&page, "csrf").as_str()),
            ("email", admin.email.as_str()),
            ("password", admin.password.as_str()),
            ("code", code.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "login refused");
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie
            .trim_start_matches("__Host-")
            .starts_with("speakup_officer="),
        "{cookie}"
    );
    // It is the session: sent back by hand, it opens the workspace.
    let pair = cookie.split(';').next().unwrap().to_owned();
    let desk = client
        .get(app.url("/officer/account"))
        .header("cookie", pair)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        desk.contains("id=\"logout\""),
        "the cookie is not the session"
    );
    (cookie, res.headers().clone())
}

/// HSTS on ordinary responses (pages, the stylesheet, a 404) as `expected` says.
async fn assert_hsts(app: &TestApp, expected: bool, also: &[&reqwest::header::HeaderMap]) {
    let client = app.browser();
    let mut seen = Vec::new();
    for path in [
        "/",
        "/report",
        "/follow-up",
        "/officer/login",
        "/static/style.css",
        "/nope",
    ] {
        let res = client.get(app.url(path)).send().await.unwrap();
        seen.push((path.to_owned(), res.headers().clone()));
    }
    for (i, h) in also.iter().enumerate() {
        seen.push((format!("redirect #{i}"), (*h).clone()));
    }
    for (what, h) in seen {
        match h.get("strict-transport-security") {
            Some(v) if expected => assert_eq!(
                v.to_str().unwrap(),
                "max-age=63072000; includeSubDomains",
                "{what}"
            ),
            None if !expected => {}
            other => panic!("{what}: HSTS {other:?}, expected it: {expected}"),
        }
    }
}

async fn secure_cookies_and_hsts_follow_the_public_url(backend: Backend) {
    // (public URL, mailbox cookie Secure, officer cookie Secure, HSTS)
    let setups = [
        (Some("https://speakup.example.org"), true, true, true),
        // Plain HTTP on the loopback interface (development): browsers would drop Secure.
        (None, false, false, false),
        (Some("http://127.0.0.1:8080"), false, false, false),
        // Plain HTTP elsewhere (an onion service): the officer cookie stays Secure.
        (Some("http://speakup.example.org"), false, true, false),
    ];
    for (public_url, mailbox_secure, officer_secure, hsts) in setups {
        let mut opts = Options::default();
        opts.serve.public_url = public_url.map(str::to_owned);
        let Some(app) = spawn_with(backend, opts).await else {
            return;
        };
        let (mailbox, mailbox_headers) = mailbox_cookie(&app).await;
        let attrs = cookie_attributes(&mailbox);
        assert!(
            attrs.contains(&"HttpOnly".into()) && attrs.contains(&"SameSite=Strict".into()),
            "{public_url:?}: {mailbox}"
        );
        assert_eq!(
            attrs.contains(&"Secure".into()),
            mailbox_secure,
            "{public_url:?}: mailbox cookie {mailbox}"
        );
        // `Secure` goes with the `__Host-` prefix (which browsers accept only with `Secure`,
        // `Path=/` and no `Domain`), so no other host can set or overwrite the cookie.
        assert_eq!(
            mailbox.starts_with("__Host-speakup_mailbox="),
            mailbox_secure,
            "{public_url:?}: mailbox cookie {mailbox}"
        );
        assert!(attrs.contains(&"Path=/".into()), "{mailbox}");
        assert!(!attrs.iter().any(|a| a.starts_with("Domain")), "{mailbox}");
        // Sent back by hand (a jar keeps `Secure` cookies off plain HTTP), it opens the
        // mailbox; under the other mode's name it does not.
        let pair = mailbox.split(';').next().unwrap().to_owned();
        let other = match pair.strip_prefix("__Host-") {
            Some(plain) => plain.to_owned(),
            None => format!("__Host-{pair}"),
        };
        for (cookie, opens) in [(pair, true), (other, false)] {
            let res = no_redirects()
                .get(app.url("/mailbox"))
                .header("cookie", &cookie)
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            let page = res.text().await.unwrap();
            assert_eq!(
                (status == 200 && page.contains("id=\"case\"")),
                opens,
                "{public_url:?}: {cookie}: {status}"
            );
        }
        let (officer, officer_headers) = officer_cookie(&app).await;
        let attrs = cookie_attributes(&officer);
        assert!(
            attrs.contains(&"HttpOnly".into()) && attrs.contains(&"SameSite=Strict".into()),
            "{public_url:?}: {officer}"
        );
        assert_eq!(
            attrs.contains(&"Secure".into()),
            officer_secure,
            "{public_url:?}: officer cookie {officer}"
        );
        // `__Host-` needs `Path=/`; without TLS the cookie keeps to `/officer`.
        let (name, path) = if officer_secure {
            ("__Host-speakup_officer=", "Path=/")
        } else {
            ("speakup_officer=", "Path=/officer")
        };
        assert!(officer.starts_with(name), "{public_url:?}: {officer}");
        assert!(attrs.contains(&path.into()), "{public_url:?}: {officer}");
        assert!(!attrs.iter().any(|a| a.starts_with("Domain")), "{officer}");
        assert_hsts(&app, hsts, &[&mailbox_headers, &officer_headers]).await;
        app.finish().await;
    }
}

// ---------------------------------------------------------------------------------------
// 5. The export's README: every command it prints works, every file it names exists
// ---------------------------------------------------------------------------------------

/// Runs the README's `age` commands in the export folder, with the officer's identity for
/// `my-identity.txt` and their key file for `keys/officer-YOUR-EMAIL.age`, as it instructs.
/// Returns each command's output.
fn follow_readme(app: &TestApp, dir: &Path, reference: &str) -> Vec<Vec<u8>> {
    let readme = std::fs::read_to_string(dir.join("README.txt")).expect("README.txt");
    assert!(readme.contains(reference), "{readme}");
    // Every export file the README names exists (the placeholder aside).
    for word in readme.split_whitespace() {
        let word = word
            .trim_start_matches('(')
            .trim_end_matches(['.', ',', ':', ';', ')']);
        if (word.starts_with("items/") || word.starts_with("keys/"))
            && word.ends_with(".age")
            && word != "keys/officer-YOUR-EMAIL.age"
        {
            assert!(
                dir.join(word).is_file(),
                "README.txt names {word}, which the export does not have:\n{readme}"
            );
        }
    }
    let identity = app.dir.path().join("officer-identity.txt");
    std::fs::write(&identity, secret_line(&app.officer)).unwrap();
    let own_key = format!("keys/officer-{}.age", app.officer_email);
    assert!(dir.join(&own_key).is_file(), "{own_key}");
    let mut outputs = Vec::new();
    for line in readme
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("age "))
    {
        let args: Vec<String> = line
            .split_whitespace()
            .skip(1)
            .map(|a| match a {
                "my-identity.txt" => identity.display().to_string(),
                "keys/officer-YOUR-EMAIL.age" => own_key.clone(),
                other => other.to_owned(),
            })
            .collect();
        let o = Command::new("age")
            .args(&args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "`{line}` failed: {}\n{readme}",
            String::from_utf8_lossy(&o.stderr)
        );
        outputs.push(o.stdout);
    }
    outputs
}

async fn export_readme_commands_work(backend: Backend) {
    if !available("the age command (apt-get install age)", age_cli()) {
        return;
    }
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = app.browser();

    // Anonymous, no attachment: the README must not mention an attachment's name file.
    let anonymous = Report {
        what: "README check: anonymous.",
        ..Default::default()
    };
    let (status, _) = file_report(&app, &client, "en", &anonymous).await;
    assert_eq!(status, 200);
    let anon_case = new_case(&app, &[]).await;
    let dir = app.dir.path().join("export-anonymous");
    export(&app, &anon_case.reference, &dir).await;
    let out = follow_readme(&app, &dir, &anon_case.reference);
    assert_eq!(out.len(), 2, "open the case key, then the first item");
    assert!(
        dir.join("case-key.txt").is_file(),
        "step 1 wrote no case-key.txt"
    );
    let report: serde_json::Value = serde_json::from_slice(&out[1]).expect("the report's JSON");
    assert_eq!(report["what"], "README check: anonymous.");
    assert!(
        !std::fs::read_to_string(dir.join("README.txt"))
            .unwrap()
            .contains(".name.age"),
        "an attachment name file in the README of a case without attachments"
    );

    // Confidential with an attachment: the name file's command gives the file's name.
    let confidential = Report {
        what: "README check: confidential.",
        mode: "confidential",
        name: "R. Porter",
        contact: "r.porter@example.org",
        files: vec![("minutes 2024-03.pdf".into(), b"%PDF-1.4 minutes".to_vec())],
        ..Default::default()
    };
    let before = app.store.cases().await.unwrap();
    let (status, _) = file_report(&app, &client, "en", &confidential).await;
    assert_eq!(status, 200);
    let conf_case = new_case(&app, &before).await;
    let dir = app.dir.path().join("export-confidential");
    export(&app, &conf_case.reference, &dir).await;
    let out = follow_readme(&app, &dir, &conf_case.reference);
    assert_eq!(out.len(), 3, "case key, first item, attachment name");
    let report: serde_json::Value = serde_json::from_slice(&out[1]).expect("the report's JSON");
    assert_eq!(report["what"], "README check: confidential.");
    assert_eq!(out[2], b"minutes 2024-03.pdf");
    app.finish().await;
}

on_both_databases!(
    escrow_holds_every_case_key,
    reporter_actions_join_the_chain_the_next_day,
    audit_page_shows_a_broken_chain,
    secure_cookies_and_hsts_follow_the_public_url,
    export_readme_commands_work,
);
