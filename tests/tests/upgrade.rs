//! Upgrades: a SQLite database made at schema 0007 (tests/fixtures/schema-0007, how it was made
//! is in its README) is opened by this build, which applies the migrations since; the server is
//! then ready, every receipt the fixture holds opens its mailbox with the report's text and its
//! attachment, the officer key the fixture names decrypts the cases, and the audit chain is
//! intact. Migrations are forward-only: a database from an older release must keep working.

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
        let officer: age::x25519::Identity = std::fs::read_to_string(dir.join("officer.key"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let reports: Vec<serde_json::Value> =
            serde_json::from_str(&std::fs::read_to_string(dir.join("reports.json")).unwrap())
                .unwrap();
        assert_eq!(reports.len(), 3);

        let app = spawn_on(Backend::Sqlite, db, key, officer).await;
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
            let (status, mailbox) =
                open_mailbox(&app, &client, r["receipt"].as_str().unwrap()).await;
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
                &app,
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
        let verdict = run_cli(&app, &["audit", "verify"]).await;
        assert!(verdict.contains("intact"), "{verdict}");
        app.finish().await;
    });
}
