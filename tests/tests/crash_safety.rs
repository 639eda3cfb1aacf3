//! Crash safety, on both databases, with the real `speakup` binary killed by SIGKILL:
//! - while reporters submit reports with attachments (several in flight), 20 times, restarting
//!   on the same database and key file each time: every receipt a reporter was shown opens its
//!   case afterwards, with its text, and every attachment downloads and decrypts;
//! - while the retention period deletes closed cases: each closed case is deleted exactly once
//!   with its one audit row, the audit chain stays intact, no ciphertext of a deleted case is
//!   left behind, and the open cases still open;
//! - while `speakup migrate` upgrades a database at an older schema: no migration is ever left
//!   half-applied, and once it finishes the server is ready and takes and opens a report.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use speakup_tests::*;

const BIN: &str = env!("CARGO_BIN_EXE_speakup-under-test");
/// Kills while reporters submit, per database.
const KILLS: usize = 20;
/// Reporters submitting at once.
const REPORTERS: usize = 4;

/// A random number below `n` (tests carry no random-number crate; a v4 UUID is random).
fn below(n: u64) -> u64 {
    (uuid::Uuid::new_v4().as_u128() % u128::from(n.max(1))) as u64
}

/// The real binary, run as an operator would, with its stdout drained (a full pipe must not
/// stall it) and its log discarded.
fn spawn_bin(url: &str, args: &[&str]) -> Child {
    Command::new(BIN)
        .arg("--database-url")
        .arg(url)
        .args(args)
        .env_remove("SPEAKUP_CONFIG")
        .env("SPEAKUP_LOG", "error")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start speakup-under-test")
}

/// `speakup serve` on port 0; returns once it printed its address (the port is bound).
fn serve(url: &str, key: &Path) -> (Child, String) {
    let key = key.display().to_string();
    let mut child = spawn_bin(
        url,
        &[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--key-file",
            &key,
            "--rate-per-client",
            "100000",
            "--rate-global",
            "100000",
        ],
    );
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    let base = loop {
        line.clear();
        let n = out.read_line(&mut line).expect("read stdout");
        assert!(n > 0, "speakup serve exited: {:?}", child.try_wait());
        if let Some(rest) = line.strip_prefix("Speak Up is running: open ") {
            break rest.split(' ').next().expect("address").to_owned();
        }
    };
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = out.read_to_end(&mut sink);
    });
    (child, base)
}

fn kill(mut child: Child) {
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
}

/// A report a reporter saw acknowledged: its receipt, text and attachment.
#[derive(Clone)]
struct Filed {
    receipt: String,
    what: String,
    file: Vec<u8>,
}

/// Files reports through `base` until the server goes away; keeps each one acknowledged.
async fn reporter(base: String, who: usize, shown: Arc<Mutex<Vec<Filed>>>) {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client");
    for n in 0.. {
        let what = format!("crash report {who}-{n} {}", uuid::Uuid::new_v4().simple());
        let len = 1 + below(256 * 1024) as usize;
        let file: Vec<u8> = (0..len).map(|i| (i * 31 + who + n) as u8).collect();
        let Ok(res) = client.get(format!("{base}/report")).send().await else {
            return;
        };
        let Ok(page) = res.text().await else { return };
        let report = Report {
            what: &what,
            files: vec![(format!("evidence-{who}-{n}.bin"), file.clone())],
            ..Default::default()
        };
        let form = report.form(&hidden(&page, "csrf"));
        let Ok(res) = client
            .post(format!("{base}/report"))
            .multipart(form)
            .send()
            .await
        else {
            return;
        };
        let status = res.status().as_u16();
        let Ok(body) = res.text().await else { return };
        assert_eq!(status, 200, "a refused report: {body}");
        let filed = Filed {
            receipt: receipt(&body),
            what,
            file,
        };
        shown.lock().unwrap().push(filed);
    }
}

/// Opens the mailbox with the receipt: the text is there and the attachment decrypts.
async fn opens_fully(app: &TestApp, f: &Filed) {
    let client = app.browser();
    let (status, mailbox) = open_mailbox(app, &client, &f.receipt).await;
    assert_eq!(status, 200, "a receipt shown before a crash does not open");
    assert!(mailbox.contains(&f.what), "the report text is missing");
    let ids: Vec<&str> = mailbox
        .split("/mailbox/attachments/")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .filter(|id| !id.ends_with("/sealed"))
        .collect();
    assert!(!ids.is_empty(), "no attachment listed");
    for id in ids {
        let res = client
            .get(app.url(&format!("/mailbox/attachments/{id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.bytes().await.unwrap().to_vec(), f.file);
    }
}

async fn cli_on(url: &str, args: &[&str]) -> String {
    use clap::Parser;
    let mut argv = vec!["speakup", "--database-url", url];
    argv.extend_from_slice(args);
    let parsed = speakup::cli::Cli::try_parse_from(argv).unwrap();
    let mut out = Vec::new();
    speakup::cli::run(parsed, &mut out)
        .await
        .unwrap_or_else(|e| panic!("speakup {args:?}: {e:#}"));
    String::from_utf8(out).unwrap()
}

async fn killed_while_reporters_submit(backend: Backend) {
    let Some(db) = empty_database(backend).await else {
        return;
    };
    let key: PathBuf = db.dir.path().join("speakup.key");
    let officer = age::x25519::Identity::generate();
    let recipient = officer.to_public().to_string();
    cli_on(
        &db.url,
        &[
            "officer",
            "add",
            "--email",
            "triage@example.org",
            "--name",
            "Triage",
            "--recipient",
            &recipient,
        ],
    )
    .await;
    let shown = Arc::new(Mutex::new(Vec::new()));
    for round in 0..KILLS {
        let url = db.url.clone();
        let k = key.clone();
        let (child, base) = tokio::task::spawn_blocking(move || serve(&url, &k))
            .await
            .unwrap();
        let reporters: Vec<_> = (0..REPORTERS)
            .map(|r| tokio::spawn(reporter(base.clone(), round * REPORTERS + r, shown.clone())))
            .collect();
        tokio::time::sleep(Duration::from_millis(150 + below(600))).await;
        kill(child);
        for r in reporters {
            r.await.expect("a reporter failed");
        }
    }
    let filed = shown.lock().unwrap().clone();
    eprintln!("{} reports acknowledged before {KILLS} kills", filed.len());
    assert!(
        filed.len() >= KILLS,
        "only {} reports were acknowledged in {KILLS} runs",
        filed.len()
    );
    let app = spawn_on(backend, db, key, officer).await;
    let stored = app.stored().await;
    assert!(stored.cases >= filed.len() as i64, "{stored:?}");
    for f in &filed {
        opens_fully(&app, f).await;
    }
    app.finish().await;
}

/// Files `n` reports with an attachment through the in-process server.
async fn file_reports(app: &TestApp, n: usize, tag: &str) -> Vec<Filed> {
    let mut out = Vec::new();
    for i in 0..n {
        let what = format!("{tag} {i} {}", uuid::Uuid::new_v4().simple());
        let file = format!("{tag} attachment {i}").repeat(2000).into_bytes();
        let report = Report {
            what: &what,
            files: vec![(format!("{tag}-{i}.txt"), file.clone())],
            ..Default::default()
        };
        let (status, page) = file_report(app, &app.browser(), "en", &report).await;
        assert_eq!(status, 200, "{page}");
        out.push(Filed {
            receipt: receipt(&page),
            what,
            file,
        });
    }
    out
}

async fn killed_during_retention(backend: Backend) {
    const CLOSED: usize = 30;
    let Some(mut app) = spawn_app(backend).await else {
        return;
    };
    file_reports(&app, CLOSED, "closed").await;
    app.execute("UPDATE cases SET status = 'closed', closed_on = '2000-01-01'")
        .await;
    let open = file_reports(&app, 3, "open").await;
    app.execute("INSERT INTO site_settings (name, value) VALUES ('retention_months', '1')")
        .await;
    // The in-process server stops; it holds the hour's schedule lease since its start.
    app.begin_shutdown();
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.execute("DELETE FROM notify_lease").await;
    let key = app.dir.path().join("speakup.key");
    let mut interrupted = 0;
    let mut left = Vec::new();
    // Short at first, longer after each kill that came before any deletion, so the kills fall
    // within the run rather than before or after it.
    let mut window = 20;
    for _ in 0..8 {
        let before = app.scalar("SELECT COUNT(*) FROM cases").await;
        let (url, k) = (app.database_url.clone(), key.clone());
        let (child, _) = tokio::task::spawn_blocking(move || serve(&url, &k))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(window / 2 + below(window / 2))).await;
        kill(child);
        let after = app.scalar("SELECT COUNT(*) FROM cases").await;
        left.push(after);
        if after == before {
            window = (window * 2).min(2000);
        }
        if after < before && after > open.len() as i64 {
            interrupted += 1;
        }
        // A round killed midway keeps its lease (15 minutes): the next start would wait.
        app.execute("DELETE FROM notify_lease").await;
        // Each deleted case has its one audit row, whatever the moment of the kill.
        let deleted = app
            .scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'case_deleted'")
            .await;
        assert_eq!(deleted + after, (CLOSED + open.len()) as i64);
    }
    eprintln!("retention runs interrupted midway: {interrupted} of 8; cases left: {left:?}");
    // A server started again finishes the work in its first round.
    let twin = app.spawn_twin(Options::default().serve).await;
    for _ in 0..100 {
        if twin.scalar("SELECT COUNT(*) FROM cases").await == open.len() as i64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        twin.scalar("SELECT COUNT(*) FROM cases").await,
        open.len() as i64
    );
    assert_eq!(
        twin.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'case_deleted'")
            .await,
        CLOSED as i64
    );
    // No ciphertext of a deleted case is left: every blob belongs to an item of an open case.
    let orphans = twin
        .scalar(
            "SELECT COUNT(*) FROM blobs b WHERE NOT EXISTS \
             (SELECT 1 FROM items i WHERE i.blob_id = b.id OR i.name_blob_id = b.id)",
        )
        .await;
    assert_eq!(orphans, 0);
    let verdict = run_cli(&twin, &["audit", "verify"]).await;
    assert!(verdict.contains("intact"), "{verdict}");
    for f in &open {
        opens_fully(&twin, f).await;
    }
    twin.finish().await;
    app.finish().await;
}

/// Applies this build's migrations up to `last` only: a database left by an older release.
/// Empties the database and brings it back to schema 0001: an older release's database.
async fn reset_to_first_schema(backend: Backend, url: &str) {
    match backend {
        Backend::Sqlite => {
            let file = url.strip_prefix("sqlite:").unwrap();
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{file}{suffix}"));
            }
        }
        Backend::Postgres => {
            let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(url)
                .await
                .unwrap();
            sqlx::Executor::execute(&mut c, "DROP SCHEMA public CASCADE; CREATE SCHEMA public")
                .await
                .unwrap();
        }
    }
    migrate_to(backend, url, 1).await;
}

async fn killed_during_migration(backend: Backend) {
    let Some(db) = empty_database(backend).await else {
        return;
    };
    let total =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations/sqlite"))
            .unwrap()
            .count() as i64;
    let count = |sql: &'static str| {
        let url = db.url.clone();
        async move {
            match backend {
                Backend::Sqlite => {
                    let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
                        .await
                        .unwrap();
                    sqlx::query_scalar::<_, i64>(sql)
                        .fetch_one(&mut c)
                        .await
                        .unwrap()
                }
                Backend::Postgres => {
                    let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
                        .await
                        .unwrap();
                    sqlx::query_scalar::<_, i64>(sql)
                        .fetch_one(&mut c)
                        .await
                        .unwrap()
                }
            }
        }
    };
    // How long a whole `speakup migrate` takes from schema 0001 here: the kills fall within it.
    reset_to_first_schema(backend, &db.url).await;
    let started = std::time::Instant::now();
    assert!(spawn_bin(&db.url, &["migrate"]).wait().unwrap().success());
    let whole = started.elapsed().as_millis() as u64;
    let mut seen = Vec::new();
    for _ in 0..8 {
        reset_to_first_schema(backend, &db.url).await;
        let child = spawn_bin(&db.url, &["migrate"]);
        tokio::time::sleep(Duration::from_millis(below(whole + 1))).await;
        kill(child);
        // Never half-applied: every recorded migration succeeded, with no gap.
        assert_eq!(
            count("SELECT COUNT(*) FROM _sqlx_migrations WHERE NOT success").await,
            0
        );
        let applied = count("SELECT COUNT(*) FROM _sqlx_migrations").await;
        assert_eq!(
            count("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations").await,
            applied
        );
        seen.push(applied);
        // Started again, it finishes the upgrade.
        assert!(spawn_bin(&db.url, &["migrate"]).wait().unwrap().success());
        assert_eq!(count("SELECT COUNT(*) FROM _sqlx_migrations").await, total);
    }
    eprintln!("migrations applied when killed ({whole} ms for all): {seen:?} of {total}");
    let key = db.dir.path().join("speakup.key");
    let officer = age::x25519::Identity::generate();
    let recipient = officer.to_public().to_string();
    cli_on(
        &db.url,
        &[
            "officer",
            "add",
            "--email",
            "t@example.org",
            "--name",
            "T",
            "--recipient",
            &recipient,
        ],
    )
    .await;
    let app = spawn_on(backend, db, key, officer).await;
    let res = reqwest::get(app.url("/readyz")).await.unwrap();
    assert_eq!(res.status(), 200);
    let filed = file_reports(&app, 1, "after").await;
    opens_fully(&app, &filed[0]).await;
    app.finish().await;
}

on_both_databases!(
    killed_while_reporters_submit,
    killed_during_retention,
    killed_during_migration
);
