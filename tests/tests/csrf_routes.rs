//! Every POST route refuses a request without a CSRF token, or with a forged one, with 403
//! and stores nothing. The table below must name every POST route of
//! docs/architecture.md's "Routes" tables: a route added there without a row here fails.

use speakup_tests::officer::*;
use speakup_tests::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    /// A browser with an open reporter mailbox.
    Reporter,
    /// A signed-in officer.
    Officer,
    /// A signed-in admin.
    Admin,
    /// A browser with no session at all.
    Nobody,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Body {
    Multipart,
    Urlencoded,
}

/// A route as documented, who sends it, its encoding, and the other fields of an otherwise
/// sensible request. `{reference}`, `{token}`, `{id}`, `{action}`, `{receipt}` and `{slug}`
/// are filled in from the set-up.
type Route = (
    &'static str,
    Who,
    Body,
    &'static [(&'static str, &'static str)],
);

const ROUTES: &[Route] = &[
    (
        "/report",
        Who::Nobody,
        Body::Multipart,
        &[
            ("category", "fraud"),
            ("what", "Invoices are paid twice."),
            ("mode", "anonymous"),
        ],
    ),
    (
        "/report/sealed",
        Who::Nobody,
        Body::Multipart,
        &[("category", "fraud"), ("mode", "anonymous")],
    ),
    (
        "/follow-up",
        Who::Nobody,
        Body::Urlencoded,
        &[("receipt", "{receipt}")],
    ),
    (
        "/mailbox/reply",
        Who::Reporter,
        Body::Multipart,
        &[("message", "A reply that must not be stored.")],
    ),
    (
        "/mailbox/reply/sealed",
        Who::Reporter,
        Body::Multipart,
        &[("message", "not stored")],
    ),
    ("/mailbox/logout", Who::Reporter, Body::Urlencoded, &[]),
    (
        "/mailbox/minutes/{id}/confirm",
        Who::Reporter,
        Body::Urlencoded,
        &[],
    ),
    (
        "/officer/login",
        Who::Nobody,
        Body::Urlencoded,
        &[
            ("email", "admin@example.org"),
            ("password", PASSWORD),
            ("code", "000000"),
        ],
    ),
    ("/officer/logout", Who::Officer, Body::Urlencoded, &[]),
    (
        "/officer/enroll/{token}",
        Who::Nobody,
        Body::Urlencoded,
        &[
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
            ("code", "000000"),
        ],
    ),
    (
        "/officer/cases/{reference}/reveal",
        Who::Officer,
        Body::Urlencoded,
        &[("reason", "needed to interview")],
    ),
    (
        "/officer/cases/{reference}/messages",
        Who::Officer,
        Body::Multipart,
        &[("kind", "acknowledgement"), ("message", "not stored")],
    ),
    (
        "/officer/cases/{reference}/notes",
        Who::Officer,
        Body::Multipart,
        &[("message", "not stored")],
    ),
    (
        "/officer/cases/{reference}/status",
        Who::Officer,
        Body::Multipart,
        &[("status", "acknowledged"), ("outcome", "")],
    ),
    (
        "/officer/cases/{reference}/grants",
        Who::Officer,
        Body::Multipart,
        &[("account", "{id}")],
    ),
    (
        "/officer/cases/{reference}/officer-key",
        Who::Officer,
        Body::Multipart,
        &[("recipient", "{id}")],
    ),
    (
        "/officer/report",
        Who::Officer,
        Body::Multipart,
        &[("category", "fraud"), ("mode", "anonymous")],
    ),
    (
        "/officer/cases/{reference}/revoke",
        Who::Officer,
        Body::Urlencoded,
        &[("account", "{id}")],
    ),
    (
        "/officer/cases/{reference}/owner",
        Who::Officer,
        Body::Urlencoded,
        &[("account", "{id}")],
    ),
    (
        "/officer/cases/{reference}/hold",
        Who::Officer,
        Body::Urlencoded,
        &[("hold", "set"), ("reason", "A proceeding")],
    ),
    (
        "/officer/cases/{reference}/meetings/{id}/done",
        Who::Officer,
        Body::Urlencoded,
        &[],
    ),
    (
        "/officer/cases/{reference}/exclude",
        Who::Officer,
        Body::Urlencoded,
        &[("account", "{id}")],
    ),
    (
        "/officer/cases/{reference}/exclude/confirm",
        Who::Officer,
        Body::Urlencoded,
        &[("account", "{id}")],
    ),
    (
        "/officer/cases/{reference}/exclude/lift",
        Who::Officer,
        Body::Urlencoded,
        &[("account", "{id}")],
    ),
    (
        "/officer/admin/accounts",
        Who::Admin,
        Body::Urlencoded,
        &[
            ("email", "new@example.org"),
            ("name", "New"),
            ("role", "officer"),
        ],
    ),
    (
        "/officer/admin/accounts/{id}/{action}",
        Who::Admin,
        Body::Urlencoded,
        &[],
    ),
    (
        "/officer/admin/settings",
        Who::Admin,
        Body::Urlencoded,
        &[("org_name", "Forged Inc"), ("categories", "fraud")],
    ),
    (
        "/officer/account/notifications",
        Who::Officer,
        Body::Urlencoded,
        &[("mode", "off")],
    ),
    (
        "/officer/admin/settings/test-mail",
        Who::Admin,
        Body::Urlencoded,
        &[],
    ),
    // --- routing before sealing ---
    (
        "/officer/admin/groups",
        Who::Admin,
        Body::Urlencoded,
        &[("name", "Forged group")],
    ),
    (
        "/officer/admin/groups/members",
        Who::Admin,
        Body::Urlencoded,
        &[
            ("group", "Forged group"),
            ("email", "olga@example.org"),
            ("member", "add"),
        ],
    ),
    (
        "/officer/admin/groups/rename",
        Who::Admin,
        Body::Urlencoded,
        &[("group", "Forged group"), ("name", "Renamed")],
    ),
    (
        "/officer/admin/groups/delete",
        Who::Admin,
        Body::Urlencoded,
        &[("group", "Forged group")],
    ),
    // An auditor's route; the token is checked before the role, so an admin's forged
    // request is refused the same way.
    (
        "/officer/audit/leave-outs/lift",
        Who::Admin,
        Body::Urlencoded,
        &[("case", "{reference}"), ("account", "nobody")],
    ),
    (
        "/e/{slug}/report",
        Who::Nobody,
        Body::Multipart,
        &[
            ("category", "fraud"),
            ("what", "Invoices are paid twice."),
            ("mode", "anonymous"),
        ],
    ),
    (
        "/e/{slug}/report/sealed",
        Who::Nobody,
        Body::Multipart,
        &[("category", "fraud"), ("mode", "anonymous")],
    ),
    (
        "/e/{slug}/follow-up",
        Who::Nobody,
        Body::Urlencoded,
        &[("receipt", "{receipt}")],
    ),
    (
        "/officer/admin/entities",
        Who::Admin,
        Body::Urlencoded,
        &[("slug", "forged"), ("name", "Forged")],
    ),
    (
        "/officer/admin/entities/{slug}",
        Who::Admin,
        Body::Urlencoded,
        &[
            ("name_en", "Forged"),
            ("name_nl", "Forged"),
            ("name_fr", "Forged"),
            ("name_de", "Forged"),
        ],
    ),
    (
        "/officer/admin/entities/{slug}/members",
        Who::Admin,
        Body::Urlencoded,
        &[("officer", "{id}")],
    ),
    (
        "/officer/admin/entities/{slug}/logo",
        Who::Admin,
        Body::Multipart,
        &[(
            "logo",
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"9\" height=\"9\"/>",
        )],
    ),
    (
        "/officer/admin/entities/{slug}/logo/remove",
        Who::Admin,
        Body::Urlencoded,
        &[],
    ),
    (
        "/officer/cases/{reference}/move",
        Who::Officer,
        Body::Multipart,
        &[("entity", "alpha")],
    ),
    (
        "/officer/admin/entity-group",
        Who::Admin,
        Body::Urlencoded,
        &[("officer", "{id}")],
    ),
];

/// The POST routes documented in docs/architecture.md's "Routes" tables: every table row
/// whose first cell names POST (`POST /path`, or `GET`, `POST /path`).
fn documented_post_routes() -> Vec<String> {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/architecture.md"),
    )
    .expect("read docs/architecture.md");
    let start = doc.find("\n### Routes\n").expect("a Routes section");
    let end = doc[start..].find("\n## ").map_or(doc.len(), |i| start + i);
    let mut routes = Vec::new();
    for line in doc[start..end].lines() {
        let Some(first) = line.strip_prefix('|').and_then(|l| l.split('|').next()) else {
            continue;
        };
        if !first.contains("POST") {
            continue;
        }
        let path = first
            .split('`')
            .filter_map(|cell| cell.trim().strip_prefix("POST "))
            .next()
            .unwrap_or_else(|| panic!("unreadable route cell: {first}"));
        routes.push(path.trim().to_owned());
    }
    routes
}

#[test]
fn the_table_covers_every_documented_post_route() {
    let documented = documented_post_routes();
    assert!(
        documented.len() >= 15,
        "too few POST routes found: {documented:?}"
    );
    let ours: Vec<&str> = ROUTES.iter().map(|r| r.0).collect();
    let missing: Vec<&String> = documented
        .iter()
        .filter(|r| !ours.contains(&r.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "POST routes without a CSRF row: {missing:?}"
    );
    let undocumented: Vec<&&str> = ours
        .iter()
        .filter(|r| !documented.iter().any(|d| d == *r))
        .collect();
    assert!(
        undocumented.is_empty(),
        "rows for routes the docs do not list: {undocumented:?}"
    );
}

/// Row counts of every table, and the contents of every table whose rows a refused request
/// could change. Officer sessions are counted only: each authenticated request moves their
/// last-seen time.
async fn snapshot(app: &TestApp) -> Vec<String> {
    let mut out = Vec::new();
    match app.backend {
        Backend::Sqlite => {
            let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect(&app.database_url)
                .await
                .unwrap();
            let tables: Vec<(String,)> =
                sqlx::query_as("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1")
                    .fetch_all(&mut c)
                    .await
                    .unwrap();
            for (t,) in tables {
                let cols: Vec<(String,)> = sqlx::query_as("SELECT name FROM pragma_table_info(?)")
                    .bind(&t)
                    .fetch_all(&mut c)
                    .await
                    .unwrap();
                let row = cols
                    .iter()
                    .map(|(c,)| format!("quote(\"{c}\")"))
                    .collect::<Vec<_>>()
                    .join(" || ',' || ");
                let sql = if t == "officer_sessions" {
                    format!("SELECT 'rows: ' || COUNT(*) FROM \"{t}\"")
                } else {
                    format!("SELECT {row} FROM \"{t}\" ORDER BY 1")
                };
                let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .fetch_all(&mut c)
                    .await
                    .unwrap();
                out.push(format!("{t}: {} rows", rows.len()));
                out.extend(rows.into_iter().map(|(r,)| format!("{t}: {r}")));
            }
        }
        Backend::Postgres => {
            let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&app.database_url)
                .await
                .unwrap();
            let tables: Vec<(String,)> = sqlx::query_as(
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
            )
            .fetch_all(&mut c)
            .await
            .unwrap();
            for (t,) in tables {
                let sql = if t == "officer_sessions" {
                    format!("SELECT 'rows: ' || COUNT(*) FROM \"{t}\"")
                } else {
                    format!("SELECT r::text FROM \"{t}\" r ORDER BY 1")
                };
                let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .fetch_all(&mut c)
                    .await
                    .unwrap();
                out.push(format!("{t}: {} rows", rows.len()));
                out.extend(rows.into_iter().map(|(r,)| format!("{t}: {r}")));
            }
        }
    }
    out
}

async fn forged_and_missing_tokens_are_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // An admin, an officer with a key, an account still to enroll, a case, a mailbox.
    let link = admin_via_cli(&app, "admin@example.org").await;
    let admin = enroll(&app, &link, "admin@example.org", false).await;
    login(&app, &admin).await;
    let officer_link = create_account(&app, &admin, "olga@example.org", &["officer"]).await;
    let officer = enroll(&app, &officer_link, "olga@example.org", true).await;
    login(&app, &officer).await;
    let pending = create_account(&app, &admin, "pia@example.org", &["officer"]).await;
    let token = path_of(&pending).rsplit('/').next().unwrap().to_owned();
    let accounts = app.page(&admin.client, "/officer/admin/accounts").await;
    let account_path = accounts
        .split("data-account=\"olga@example.org\"")
        .nth(1)
        .and_then(|row| row.split("action=\"").nth(1))
        .and_then(|s| s.split('"').next())
        .expect("an account action")
        .to_owned();
    // `/officer/admin/accounts/{id}/{action}`
    let mut segments = account_path.rsplit('/');
    let action = segments.next().unwrap().to_owned();
    let id = segments.next().unwrap().to_owned();
    let reporter = app.browser();
    let (status, page) = file_report(&app, &reporter, "en", &Report::default()).await;
    assert_eq!(status, 200, "{page}");
    let receipt_token = receipt(&page);
    let (status, _) = open_mailbox(&app, &reporter, &receipt_token).await;
    assert_eq!(status, 200);
    let reference = first_reference(&app, &officer).await;
    // An entity whose triage group has a key, so its intake is open.
    run_cli(
        &app,
        &["entity", "add", "--slug", "alpha", "--name", "Alpha"],
    )
    .await;
    let key = age::x25519::Identity::generate().to_public().to_string();
    let member = [
        "officer",
        "add",
        "--email",
        "ada@example.org",
        "--name",
        "Ada",
    ];
    let flags = ["--recipient", key.as_str(), "--entity", "alpha"];
    run_cli(&app, &[&member[..], &flags[..]].concat()).await;
    let fill = |s: &str| {
        s.replace("{slug}", "alpha")
            .replace("{reference}", &reference)
            .replace("{token}", &token)
            .replace("{id}", &id)
            .replace("{action}", &action)
            .replace("{receipt}", &receipt_token)
    };

    let before = snapshot(&app).await;
    for (route, who, body, fields) in ROUTES {
        for csrf in [
            None,
            Some("forged"),
            Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        ] {
            let client = match who {
                Who::Reporter => &reporter,
                Who::Officer => &officer.client,
                Who::Admin => &admin.client,
                Who::Nobody => &app.browser(),
            };
            let mut pairs: Vec<(String, String)> = csrf
                .map(|t| ("csrf".to_owned(), t.to_owned()))
                .into_iter()
                .collect();
            pairs.extend(fields.iter().map(|(k, v)| ((*k).to_owned(), fill(v))));
            let req = client.post(app.url(&fill(route)));
            let req = match body {
                Body::Urlencoded => req.form(&pairs),
                Body::Multipart => req.multipart(
                    pairs
                        .into_iter()
                        .fold(reqwest::multipart::Form::new(), |f, (k, v)| f.text(k, v)),
                ),
            };
            let res = req
                .send()
                .await
                .unwrap_or_else(|e| panic!("{route} ({csrf:?}): {e}"));
            let status = res.status().as_u16();
            let page = res.text().await.unwrap_or_default();
            assert_eq!(
                status, 403,
                "POST {route} with CSRF token {csrf:?} was not refused ({status}): {page}"
            );
            let after = snapshot(&app).await;
            let changed: Vec<String> = after
                .iter()
                .filter(|r| !before.contains(r))
                .chain(before.iter().filter(|r| !after.contains(r)))
                .cloned()
                .collect();
            assert!(
                changed.is_empty(),
                "POST {route} with CSRF token {csrf:?} changed the database: {changed:#?}"
            );
        }
    }
    // The sessions are still open: the refused logouts ended nothing.
    let list = app.page(&officer.client, "/officer/cases").await;
    assert!(list.contains(&reference), "the officer was signed out");
    app.finish().await;
}

on_both_databases!(forged_and_missing_tokens_are_refused);

/// The POST routes the router really has, read from the `.route(…)` calls under
/// `server/src/web/`: a route whose method router includes `post(` (on its own or after a
/// `get(…)`).
fn routed_post_routes() -> Vec<String> {
    let web = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/src/web");
    let mut stack = vec![web];
    let mut routes = Vec::new();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)
            .expect("read server/src/web")
            .flatten()
        {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let source = std::fs::read_to_string(&path).expect("read a web module");
            for call in source.split(".route(").skip(1) {
                // The call's own text: up to the next call chained on the router.
                let own = call.split("\n        .").next().unwrap_or(call);
                let Some(path_literal) = own.split('"').nth(1) else {
                    continue;
                };
                if own.contains("post(") {
                    routes.push(path_literal.to_owned());
                }
            }
        }
    }
    routes.sort();
    routes.dedup();
    routes
}

#[test]
fn the_table_covers_every_post_route_of_the_router() {
    let routed = routed_post_routes();
    assert!(routed.len() >= 15, "too few POST routes found: {routed:?}");
    // The router's list and the documented list name the same routes.
    let mut documented = documented_post_routes();
    documented.sort();
    assert_eq!(
        routed, documented,
        "router and docs/architecture.md disagree"
    );
    let ours: Vec<&str> = ROUTES.iter().map(|r| r.0).collect();
    let missing: Vec<&String> = routed
        .iter()
        .filter(|r| !ours.contains(&r.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "POST routes of the router without a CSRF row: {missing:?}"
    );
}
