//! Upgrades: a SQLite database made at schema 0007 (tests/fixtures/schema-0007, how it was made
//! is in its README) is opened by this build, which applies the migrations since; the server is
//! then ready, every receipt the fixture holds opens its mailbox with the report's text and its
//! attachment, the officer key the fixture names decrypts the cases, and the audit chain is
//! intact. The same on PostgreSQL: a database at schema 0007 (release 0007's migrations) holding
//! the fixture's rows. Migrations are forward-only: a database from an older release must keep
//! working.

use std::path::Path;

use speakup_tests::*;

fn fixture() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/schema-0007")
}

#[test]
fn a_database_at_schema_0007_upgrades_and_opens() {
    run_test(async {
        let dir = fixture();
        let db = sqlite_copy_of(&dir.join("speakup.db"));
        let key = db.dir.path().join("speakup.key");
        let app = spawn_on(Backend::Sqlite, db, key, officer()).await;
        opens_as_before(&app).await;
        app.finish().await;
    });
}

fn officer() -> age::x25519::Identity {
    std::fs::read_to_string(fixture().join("officer.key"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// The upgraded database as its release left it: migrated, ready, every receipt opens its
/// report and attachment, the officer key opens every case, the audit chain is intact.
async fn opens_as_before(app: &TestApp) {
    let reports: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(fixture().join("reports.json")).unwrap())
            .unwrap();
    assert_eq!(reports.len(), 3);
    let migrations =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations/sqlite"))
            .unwrap()
            .count() as i64;
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
            .await,
        migrations
    );
    let res = reqwest::get(app.url("/readyz")).await.unwrap();
    assert_eq!(res.status(), 200);

    for r in &reports {
        let client = app.browser();
        let (status, mailbox) = open_mailbox(app, &client, r["receipt"].as_str().unwrap()).await;
        assert_eq!(status, 200, "{mailbox}");
        assert!(mailbox.contains(r["what"].as_str().unwrap()), "{mailbox}");
        let id = mailbox
            .split("/mailbox/attachments/")
            .skip(1)
            .filter_map(|s| s.split('"').next())
            .find(|id| !id.ends_with("/sealed"))
            .expect("an attachment");
        let res = client
            .get(app.url(&format!("/mailbox/attachments/{id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.text().await.unwrap(), r["attachment"].as_str().unwrap());
    }

    // The officer's key opens every case: the export's case key decrypts with it.
    let cases = app.store.cases().await.unwrap();
    assert_eq!(cases.len(), 3);
    for c in &cases {
        let out = app.dir.path().join(format!("export-{}", c.reference));
        run_cli(
            app,
            &[
                "case",
                "export",
                &c.reference,
                "--out",
                &out.display().to_string(),
            ],
        )
        .await;
        let own = out.join(format!("keys/officer-{}.age", app.officer_email));
        let sealed = std::fs::read(&own).unwrap_or_else(|e| panic!("{own:?}: {e}"));
        let key =
            String::from_utf8(speakup_tests::officer::decrypt(&app.officer, &sealed)).unwrap();
        assert!(key.contains("AGE-SECRET-KEY-1"), "no case key");
    }
    let verdict = run_cli(app, &["audit", "verify"]).await;
    assert!(verdict.contains("intact"), "{verdict}");
}

/// The same database on PostgreSQL: its schema as release 0007 made it (this build's
/// migrations 0001 to 0007, which never change once released), holding the fixture's rows
/// (the cases, keys, ciphertext, accounts and audit chain that release wrote), then opened by
/// this build, which applies the migrations since.
#[test]
fn a_postgres_database_at_schema_0007_upgrades_and_opens() {
    run_test(async {
        let Some(db) = empty_database(Backend::Postgres).await else {
            return;
        };
        migrate_to(Backend::Postgres, &db.url, 7).await;
        copy_fixture_rows(&db.url).await;
        let key = db.dir.path().join("speakup.key");
        let app = spawn_on(Backend::Postgres, db, key, officer()).await;
        opens_as_before(&app).await;
        app.finish().await;
    });
}

/// Every row of the SQLite fixture into the PostgreSQL tables of the same name, each value
/// through its PostgreSQL column's type (byte strings as hex; 16-byte ids as UUIDs).
async fn copy_fixture_rows(url: &str) {
    use sqlx::{Connection, Row};
    let copy = sqlite_copy_of(&fixture().join("speakup.db"));
    let mut lite = sqlx::SqliteConnection::connect(&copy.url).await.unwrap();
    let mut pg = sqlx::PgConnection::connect(url).await.unwrap();
    // Rows go in table by table: foreign keys are checked by triggers, off for this session.
    sqlx::query("SET session_replication_role = replica")
        .execute(&mut pg)
        .await
        .unwrap();
    let columns = sqlx::query(
        "SELECT table_name::text AS t, column_name::text AS c, data_type::text AS ty \
         FROM information_schema.columns WHERE table_schema = 'public' \
         AND table_name <> '_sqlx_migrations' ORDER BY table_name, ordinal_position",
    )
    .fetch_all(&mut pg)
    .await
    .unwrap();
    let mut tables: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for r in &columns {
        let (t, c, ty): (String, String, String) = (r.get("t"), r.get("c"), r.get("ty"));
        match tables.last_mut() {
            Some((name, cols)) if *name == t => cols.push((c, ty)),
            _ => tables.push((t, vec![(c, ty)])),
        }
    }
    for (table, cols) in &tables {
        // What the migrations seeded (the chain's head) gives way to the release's rows.
        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}")))
            .execute(&mut pg)
            .await
            .unwrap();
        let read: Vec<String> = cols
            .iter()
            .map(|(c, ty)| match ty.as_str() {
                "bytea" | "uuid" => format!("CASE WHEN {c} IS NULL THEN NULL ELSE hex({c}) END"),
                _ => format!("CAST({c} AS TEXT)"),
            })
            .collect();
        let sql = format!("SELECT {} FROM {table}", read.join(", "));
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&mut lite)
            .await
            .unwrap_or_else(|e| panic!("{table} in the fixture: {e}"));
        let names: Vec<&str> = cols.iter().map(|(c, _)| c.as_str()).collect();
        let values: Vec<String> = cols
            .iter()
            .enumerate()
            .map(|(i, (_, ty))| match ty.as_str() {
                "bytea" => format!("decode(${}, 'hex')", i + 1),
                ty => format!("CAST(${} AS {ty})", i + 1),
            })
            .collect();
        let insert = format!(
            "INSERT INTO {table} ({}) VALUES ({})",
            names.join(", "),
            values.join(", ")
        );
        for row in &rows {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(insert.clone()));
            for i in 0..cols.len() {
                q = q.bind(row.get::<Option<String>, _>(i));
            }
            q.execute(&mut pg)
                .await
                .unwrap_or_else(|e| panic!("{table} into PostgreSQL: {e}"));
        }
    }
}
