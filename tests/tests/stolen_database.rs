//! database-alone-opens-nothing, against the real server: someone holding a copy of the
//! database (read here with SQL, as a thief would) cannot open a reporter's mailbox with
//! what it stores, cannot mint a mailbox cookie from it (the cookie keys come from the key
//! file outside the database), and even with the key file as well cannot post as the
//! reporter. A mailbox opened on the browser path never makes the server encrypt to a
//! made-up key, and one item that does not decrypt leaves the rest of the mailbox readable.

use age::x25519::{Identity, Recipient};
use reqwest::header::{COOKIE, SET_COOKIE};
use speakup::domain::case::ItemKind;
use speakup::domain::holder::{Author, OfficerId};
use speakup::domain::receipt::{ReceiptToken, ReporterKeys};
use speakup::store::{Content, NewItem};
use speakup::web::reporter::session;
use speakup::web::shared::csrf::{self, Purpose};
use speakup_tests::officer::{attr, encrypt};
use speakup_tests::*;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The single byte-string column a query returns, on either database (the thief's view).
async fn bytes_of(app: &TestApp, sql: &str) -> Vec<u8> {
    let q = sqlx::AssertSqlSafe(sql.to_owned());
    match app.backend {
        Backend::Sqlite => {
            let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect(&app.database_url)
                .await
                .expect("connect");
            sqlx::query_scalar(q).fetch_one(&mut c).await
        }
        Backend::Postgres => {
            let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&app.database_url)
                .await
                .expect("connect");
            sqlx::query_scalar(q).fetch_one(&mut c).await
        }
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// A report filed without JavaScript (one attachment); its receipt.
async fn filed(app: &TestApp) -> ReceiptToken {
    let client = app.browser();
    let report = Report {
        files: vec![("scan.pdf".into(), b"%PDF-1.4 ledger".to_vec())],
        ..Default::default()
    };
    let (status, page) = file_report(app, &client, "en", &report).await;
    assert_eq!(status, 200, "{page}");
    ReceiptToken::parse(&receipt(&page)).expect("receipt")
}

/// A client that neither follows redirects nor keeps cookies: every cookie is explicit.
fn bare() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Posts `lookup` to `/follow-up` the way the browser path does; the status and any cookie.
async fn follow_up_with_lookup(app: &TestApp, lookup: &str) -> (u16, Option<String>) {
    let client = app.browser();
    let page = app.page(&client, "/follow-up").await;
    let res = bare()
        .post(app.url("/follow-up"))
        .form(&[
            ("csrf", hidden(&page, "csrf")),
            ("lookup", lookup.to_owned()),
        ])
        .send()
        .await
        .expect("post");
    let cookie = res
        .headers()
        .get(SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .filter(|c| c.starts_with("speakup_mailbox=") && c.len() > "speakup_mailbox=".len())
        .map(str::to_owned);
    (res.status().as_u16(), cookie)
}

/// A mailbox cookie and a matching CSRF token minted with `keys` (as a forger would).
fn forge(session_key: &[u8; 32], csrf_key: &[u8; 32], lookup: [u8; 32]) -> (String, String) {
    let now = time::OffsetDateTime::now_utc();
    let value = session::seal(session_key, &session::lookup_only(lookup), now).expect("seal");
    // The CSRF token is bound to the cookie's nonce, which only the session key reveals;
    // a forger holding that key reads it back out of the cookie.
    let h = axum_headers(&value);
    let nonce = session::open(session_key, &h, false, now)
        .map(|s| s.nonce)
        .unwrap_or_default();
    let token = csrf::issue(csrf_key, Purpose::Mailbox, &nonce, now);
    (format!("speakup_mailbox={value}"), token)
}

fn axum_headers(cookie: &str) -> reqwest::header::HeaderMap {
    let mut h = reqwest::header::HeaderMap::new();
    h.insert(
        COOKIE,
        format!("speakup_mailbox={cookie}").parse().expect("header"),
    );
    h
}

/// A sealed reply as the browser path sends it, encrypted to the case and the reporter as
/// stored (both public columns); the status.
async fn sealed_reply(app: &TestApp, cookie: &str, csrf_token: &str, text: &str) -> u16 {
    let cases = app.store.cases().await.expect("cases");
    let to: Vec<Recipient> = vec![
        cases[0].case_recipient.parse().expect("case recipient"),
        cases[0]
            .reporter_recipient
            .parse()
            .expect("reporter recipient"),
    ];
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf_token.to_owned())
        .part(
            "message",
            reqwest::multipart::Part::bytes(encrypt(&to, text.as_bytes())).file_name("message.age"),
        );
    bare()
        .post(app.url("/mailbox/reply/sealed"))
        .header(COOKIE, cookie)
        .multipart(form)
        .send()
        .await
        .expect("post")
        .status()
        .as_u16()
}

async fn items(app: &TestApp) -> i64 {
    app.scalar("SELECT COUNT(*) FROM items").await
}

async fn stolen_lookup_opens_no_mailbox(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let token = filed(&app).await;
    let stored = bytes_of(&app, "SELECT lookup FROM cases").await;
    let derived = token.derive().lookup.0;
    assert_ne!(
        stored,
        derived.to_vec(),
        "the database holds the lookup value itself"
    );

    let (status, cookie) = follow_up_with_lookup(&app, &hex(&stored)).await;
    assert_eq!(status, 401, "the stored value opened a mailbox");
    assert!(cookie.is_none(), "a mailbox cookie for the stored value");

    // The value derived from the receipt (which only the reporter has) still opens it.
    let (status, cookie) = follow_up_with_lookup(&app, &hex(&derived)).await;
    assert_eq!(status, 303);
    assert!(cookie.is_some());
    app.finish().await;
}

async fn cookies_forged_from_the_database_are_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let token = filed(&app).await;
    let stored: [u8; 32] = bytes_of(&app, "SELECT lookup FROM cases")
        .await
        .try_into()
        .expect("32 bytes");
    let derived = token.derive().lookup.0;
    let before = items(&app).await;

    // Whatever server secret the database holds (the keys once came from it).
    let mut fresh = [0u8; 32];
    fresh[0] = 1;
    let db_secret = app
        .store
        .server_secret("web-keys-v1", &fresh)
        .await
        .expect("secret");
    let db_keys = speakup::server::derive_keys(&db_secret).expect("keys");
    for lookup in [stored, derived] {
        let (cookie, csrf_token) = forge(&db_keys.session, &db_keys.csrf, lookup);
        let res = bare()
            .get(app.url("/mailbox"))
            .header(COOKIE, &cookie)
            .send()
            .await
            .expect("get");
        assert_eq!(
            res.status(),
            401,
            "a cookie made from the database opened a mailbox"
        );
        let status = sealed_reply(&app, &cookie, &csrf_token, "forged from the database").await;
        assert_eq!(status, 401, "a reply with a cookie made from the database");
    }

    // Database and key file together: the stored value still names no mailbox, so a
    // sealed reply from such a session (which proved nothing) is refused and stores nothing.
    let key = std::fs::read_to_string(app.dir.path().join("speakup.key")).expect("key file");
    let file_keys = speakup::server::derive_keys(&hex_bytes(key.trim())).expect("keys");
    let (cookie, csrf_token) = forge(&file_keys.session, &file_keys.csrf, stored);
    let status = sealed_reply(&app, &cookie, &csrf_token, "database and key file").await;
    assert_eq!(
        status, 401,
        "a sealed reply from a session that proved nothing"
    );
    assert_eq!(
        items(&app).await,
        before,
        "a refused reply stored something"
    );

    // The forging itself is sound: with the key file and the receipt's own value it opens.
    let (cookie, _) = forge(&file_keys.session, &file_keys.csrf, derived);
    let res = bare()
        .get(app.url("/mailbox"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 200);
    app.finish().await;
}

fn hex_bytes(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

async fn browser_mailboxes_refuse_the_no_script_paths(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let token = filed(&app).await;
    let (_, cookie) = follow_up_with_lookup(&app, &hex(&token.derive().lookup.0)).await;
    let cookie = cookie.expect("browser-path session");
    let page = bare()
        .get(app.url("/mailbox"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("body");
    assert!(page.contains("data-sealed"), "{page}");
    let before = items(&app).await;
    let blobs = app.stored().await;

    let form = reqwest::multipart::Form::new()
        .text("csrf", hidden(&page, "csrf"))
        .text("message", "sent on the no-script path");
    let res = bare()
        .post(app.url("/mailbox/reply"))
        .header(COOKIE, &cookie)
        .multipart(form)
        .send()
        .await
        .expect("post");
    assert_eq!(
        res.status(),
        409,
        "a no-script reply in a browser-path mailbox"
    );
    let body = res.text().await.expect("body");
    assert!(
        body.contains("opened with encryption in your browser"),
        "{body}"
    );
    assert_eq!(
        items(&app).await,
        before,
        "the refused reply stored an item"
    );
    assert_eq!(app.stored().await, blobs, "the refused reply stored a blob");

    let src = attr(&page, "class=\"btn alt decrypt-download\"", "data-src");
    let plain = src.trim_end_matches("/sealed");
    let res = bare()
        .get(app.url(plain))
        .header(COOKIE, &cookie)
        .send()
        .await
        .expect("get");
    assert_eq!(
        res.status(),
        409,
        "a server-side download in a browser-path mailbox"
    );
    // The browser path's own download still works.
    let res = bare()
        .get(app.url(&src))
        .header(COOKIE, &cookie)
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 200);
    app.finish().await;
}

async fn an_unreadable_item_leaves_the_mailbox_open(backend: Backend) {
    let Some(mut app) = spawn_app(backend).await else {
        return;
    };
    // The items this test breaks on purpose are logged (without content) as unreadable.
    app.expect_warnings(&["a mailbox item did not decrypt"]);
    let token = filed(&app).await;
    let keys: ReporterKeys = token.derive();
    let case = app
        .store
        .case_by_lookup(&keys.lookup.0)
        .await
        .expect("lookup")
        .expect("case");
    let today = time::OffsetDateTime::now_utc().date();
    let message = |id: &str, content: Vec<u8>| NewItem {
        id: id.to_owned(),
        kind: ItemKind::Message,
        author: Author::Officer(OfficerId::generate()),
        created_on: today,
        reporter_visible: true,
        parent_id: None,
        content: Content::Inline(content),
        encrypted_name: None,
    };
    let stranger = Identity::generate().to_public();
    let unreadable = message(
        "m-unreadable",
        encrypt(&[stranger], b"nobody here can read this"),
    );
    let garbage = message("m-garbage", b"not an age file at all".to_vec());
    let readable = message(
        "m-readable",
        encrypt(&[keys.recipient()], b"CANARY-readable-reply"),
    );
    app.store
        .add_items(&case.id, &[unreadable, garbage, readable])
        .await
        .expect("add items");

    let client = app.browser();
    let (status, page) = open_mailbox(&app, &client, &token.grouped()).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("CANARY-readable-reply"), "{page}");
    assert!(
        page.contains(&Report::default().what.to_owned()),
        "the report is gone"
    );
    assert_eq!(
        page.matches("could not be decrypted, so it cannot be shown")
            .count(),
        2,
        "{page}"
    );
    app.finish().await;
}

/// Runs one statement on the test's database, as an older version (or a thief) would.
async fn execute(app: &TestApp, sql: &str) {
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

/// A case filed before migration 0003 (its lookup value in clear) is hashed: by the
/// migration's SQL on PostgreSQL, at start-up on SQLite; running again changes nothing.
async fn lookups_kept_in_clear_are_hashed(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let token = filed(&app).await;
    let derived = token.derive().lookup.0;
    let expected = speakup::domain::receipt::stored_lookup(&derived).to_vec();
    let literal = match backend {
        Backend::Sqlite => format!("X'{}'", hex(&derived)),
        Backend::Postgres => format!("decode('{}', 'hex')", hex(&derived)),
    };
    match backend {
        // As 0003 leaves an older SQLite database: the value in clear, the case listed.
        Backend::Sqlite => {
            execute(&app, &format!("UPDATE cases SET lookup = {literal}")).await;
            execute(
                &app,
                "INSERT INTO clear_lookups (case_id) SELECT id FROM cases",
            )
            .await;
            app.store.migrate().await.expect("start-up step");
        }
        // 0003's own statement, on a value in clear.
        Backend::Postgres => {
            execute(&app, &format!("UPDATE cases SET lookup = {literal}")).await;
            let sql = include_str!("../../migrations/postgres/0003_lookup_at_rest.sql");
            let update = sql
                .lines()
                .find(|l| l.starts_with("UPDATE cases"))
                .expect("the migration's UPDATE");
            execute(&app, update).await;
        }
    }
    assert_eq!(bytes_of(&app, "SELECT lookup FROM cases").await, expected);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM clear_lookups").await, 0);
    app.store.migrate().await.expect("again");
    assert_eq!(bytes_of(&app, "SELECT lookup FROM cases").await, expected);
    let (status, _) = open_mailbox(&app, &app.browser(), &token.grouped()).await;
    assert_eq!(status, 200, "the receipt no longer opens a migrated case");
    app.finish().await;
}

on_both_databases!(
    lookups_kept_in_clear_are_hashed,
    stolen_lookup_opens_no_mailbox,
    cookies_forged_from_the_database_are_refused,
    browser_mailboxes_refuse_the_no_script_paths,
    an_unreadable_item_leaves_the_mailbox_open,
);
