//! `speakup backup` and `speakup restore` on both databases: a backup taken while the server
//! runs and reporters are filing reports with attachments restores into a fresh database and
//! a fresh key-file location; an instance started on it opens every receipt the backup holds
//! and every attachment downloads and decrypts; the backup holds no plaintext; the key file
//! comes back with mode 0600; a non-empty database is refused without `--force`.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use speakup_tests::*;

/// One filed report: its receipt, the text and the attachments the reporter sent.
struct Filed {
    receipt: String,
    what: String,
    files: Vec<(String, Vec<u8>)>,
}

async fn file_one(app: &TestApp, canary: &str, n: usize) -> Filed {
    let what = format!("{canary} report {n}: invoices are paid twice.");
    let files = vec![
        (
            format!("evidence-{n}.txt"),
            format!("{canary} attachment {n}").into_bytes(),
        ),
        (format!("scan-{n}.bin"), vec![(n % 251) as u8; 20_000 + n]),
    ];
    let name = format!("{canary} Name {n}");
    let report = Report {
        what: &what,
        mode: if n.is_multiple_of(2) {
            "confidential"
        } else {
            "anonymous"
        },
        name: &name,
        contact: "someone@private.example",
        files: files.clone(),
        ..Default::default()
    };
    let (status, page) = file_report(app, &app.browser(), "en", &report).await;
    assert_eq!(status, 200, "{page}");
    Filed {
        receipt: receipt(&page),
        what,
        files,
    }
}

/// Opens the mailbox on `app`; if it opens, checks the report's text and that every
/// attachment downloads and decrypts to what was sent. Returns whether it opened.
async fn opens_fully(app: &TestApp, filed: &Filed) -> bool {
    let client = app.browser();
    let (status, mailbox) = open_mailbox(app, &client, &filed.receipt).await;
    if status == 401 {
        return false;
    }
    assert_eq!(status, 200, "{mailbox}");
    assert!(mailbox.contains(&filed.what), "the report text is missing");
    let ids: Vec<&str> = mailbox
        .split("/mailbox/attachments/")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .filter(|id| !id.ends_with("/sealed"))
        .collect();
    let mut got = Vec::new();
    for id in ids {
        let res = client
            .get(app.url(&format!("/mailbox/attachments/{id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        got.push(res.bytes().await.unwrap().to_vec());
    }
    got.sort();
    got.dedup();
    let mut want: Vec<Vec<u8>> = filed.files.iter().map(|(_, b)| b.clone()).collect();
    want.sort();
    assert_eq!(got, want, "the attachments differ after the restore");
    true
}

async fn cli_on(url: &str, args: &[&str]) -> Result<String, String> {
    use clap::Parser;
    let mut argv = vec!["speakup", "--database-url", url];
    argv.extend_from_slice(args);
    let parsed = speakup::cli::Cli::try_parse_from(argv).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    speakup::cli::run(parsed, &mut out)
        .await
        .map_err(|e| format!("{e:#}"))?;
    Ok(String::from_utf8(out).unwrap())
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

async fn round_trip_under_load(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    if backend == Backend::Postgres
        && !available(
            "pg_dump and pg_restore",
            speakup::store::ops::pg_tool("pg_restore").is_ok(),
        )
    {
        app.finish().await;
        return;
    }
    let canary = format!("CANARY{}", uuid::Uuid::new_v4().simple());
    let mut before = Vec::new();
    for n in 0..3 {
        before.push(file_one(&app, &canary, n).await);
    }

    // Back up while reporters go on filing.
    let out = app.dir.path().join("speakup-backup.tar");
    let key = app.dir.path().join("speakup.key");
    let done = AtomicBool::new(false);
    let filing = async {
        let mut during = Vec::new();
        let mut n = 100;
        while !done.load(Ordering::SeqCst) || during.len() < 2 {
            during.push(file_one(&app, &canary, n).await);
            n += 1;
        }
        during
    };
    let backing_up = async {
        let printed = run_cli(
            &app,
            &[
                "backup",
                "--out",
                out.to_str().unwrap(),
                "--key-file",
                key.to_str().unwrap(),
            ],
        )
        .await;
        done.store(true, Ordering::SeqCst);
        printed
    };
    let (during, printed) = tokio::join!(filing, backing_up);
    assert!(printed.contains("backup written to"), "{printed}");
    assert!(printed.contains("with the server key file"), "{printed}");
    let after = file_one(&app, &canary, 999).await;

    // Ciphertext and metadata only; private; a second backup never overwrites.
    let bytes = std::fs::read(&out).unwrap();
    assert!(!contains(&bytes, &canary), "the backup holds plaintext");
    assert!(contains(&bytes, "manifest.json"));
    assert_eq!(mode(&out), 0o600);
    let again = try_cli(&app, &["backup", "--out", out.to_str().unwrap()]).await;
    assert!(again.unwrap_err().contains("exists"));

    // Restore into a fresh database and a fresh key-file location.
    let target = empty_database(backend).await.unwrap();
    let new_key = target.dir.path().join("keys").join("speakup.key");
    let restore = |force: bool| {
        let mut args = vec![
            "restore".to_owned(),
            out.to_str().unwrap().to_owned(),
            "--key-file".to_owned(),
            new_key.to_str().unwrap().to_owned(),
        ];
        if force {
            args.push("--force".into());
        }
        let url = target.url.clone();
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            cli_on(&url, &args).await
        }
    };
    let printed = restore(false).await.unwrap();
    assert!(printed.contains("restored"), "{printed}");
    assert_eq!(mode(&new_key), 0o600);
    assert_eq!(
        std::fs::read_to_string(&new_key).unwrap(),
        std::fs::read_to_string(&key).unwrap()
    );
    // Now it is not empty: refused without --force, clearly; replaced with it.
    let err = restore(false).await.unwrap_err();
    assert!(
        err.contains("not empty") && err.contains("--force"),
        "{err}"
    );
    assert!(restore(true).await.unwrap().contains("already there"));
    // Nor into the running server's own database.
    let err = try_cli(&app, &["restore", out.to_str().unwrap()])
        .await
        .unwrap_err();
    assert!(err.contains("not empty"), "{err}");

    // An instance on the restored database opens every receipt it holds, fully.
    let restored = spawn_on(backend, target, new_key.clone(), app.officer.clone()).await;
    for filed in &before {
        assert!(
            opens_fully(&restored, filed).await,
            "a receipt filed before the backup"
        );
    }
    let mut opened = before.len() as i64;
    for filed in &during {
        if opens_fully(&restored, filed).await {
            opened += 1;
        }
    }
    assert!(
        !opens_fully(&restored, &after).await,
        "filed after the backup"
    );
    let cases = restored.scalar("SELECT COUNT(*) FROM cases").await;
    assert_eq!(cases, opened, "every restored case opens with its receipt");
    assert!(
        run_cli(&restored, &["audit", "verify"])
            .await
            .contains("intact")
    );
    restored.finish().await;
    app.finish().await;
}

async fn refusals_are_clear(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let dir = app.dir.path();
    // Not a backup.
    let junk = dir.join("junk.tar");
    std::fs::write(&junk, b"not a tar file at all").unwrap();
    let err = try_cli(&app, &["restore", junk.to_str().unwrap(), "--force"])
        .await
        .unwrap_err();
    assert!(err.contains("junk.tar is not a Speak Up backup"), "{err}");
    // No key file where one is named.
    let err = try_cli(
        &app,
        &[
            "backup",
            "--out",
            dir.join("b.tar").to_str().unwrap(),
            "--key-file",
            dir.join("missing.key").to_str().unwrap(),
        ],
    )
    .await
    .unwrap_err();
    assert!(
        err.contains("missing.key") && err.contains("does not exist"),
        "{err}"
    );
    assert!(!dir.join("b.tar").exists());
    app.finish().await;
}

on_both_databases!(round_trip_under_load, refusals_are_clear);

/// SQLite: ciphertext deleted without `secure_delete` lingers in the database file's free
/// pages, but the backup (`VACUUM INTO`, a fresh file) does not carry it.
#[test]
fn sqlite_backup_holds_no_deleted_ciphertext() {
    run_test(async {
        let Some(app) = spawn_app(Backend::Sqlite).await else {
            return;
        };
        let report = Report {
            files: vec![("big.bin".into(), vec![7u8; 300_000])],
            ..Default::default()
        };
        let (status, _) = file_report(&app, &app.browser(), "en", &report).await;
        assert_eq!(status, 200);
        let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect(&app.database_url)
            .await
            .unwrap();
        let (blob, data): (String, Vec<u8>) =
            sqlx::query_as("SELECT blob_id, data FROM chunks ORDER BY length(data) DESC LIMIT 1")
                .fetch_one(&mut c)
                .await
                .unwrap();
        let samples: Vec<&[u8]> = [20_000, 90_000, 150_000, 250_000]
            .iter()
            .map(|at| &data[*at..*at + 32])
            .collect();
        // Deleted the careless way, so the bytes stay in free pages.
        sqlx::query("PRAGMA secure_delete = OFF")
            .execute(&mut c)
            .await
            .unwrap();
        sqlx::query("DELETE FROM chunks WHERE blob_id = $1")
            .bind(&blob)
            .execute(&mut c)
            .await
            .unwrap();
        let mut files = Vec::new();
        for entry in std::fs::read_dir(app.dir.path()).unwrap() {
            let p = entry.unwrap().path();
            if p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("speakup.db")
            {
                files.extend(std::fs::read(&p).unwrap());
            }
        }
        let lingering = |hay: &[u8]| {
            samples
                .iter()
                .filter(|s| hay.windows(s.len()).any(|w| w == **s))
                .count()
        };
        assert!(
            lingering(&files) > 0,
            "the database files should still hold them"
        );
        let out = app.dir.path().join("b.tar");
        run_cli(&app, &["backup", "--out", out.to_str().unwrap()]).await;
        assert_eq!(lingering(&std::fs::read(&out).unwrap()), 0);
        app.finish().await;
    });
}
