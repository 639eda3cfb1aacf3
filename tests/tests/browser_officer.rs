//! The officer workspace in a real browser: Debian's Chromium, driven by
//! `tests/browser/officer.mjs` (Playwright), runs the page script against the real server's
//! pages. An officer enrolls (the key is made and downloaded in the browser), a confidential
//! report with a file is filed, and the officer signs in, unlocks the key, reads the report,
//! reveals the identity, acknowledges, replies with a file, downloads both files decrypted
//! and logs out (the key database is deleted). The reporter's mailbox must then show the
//! acknowledgement and the reply: what the browser encrypted opens for the reporter.
//! Without Chromium or Node it skips, unless everything is required (CI).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use speakup_tests::officer::{
    admin_via_cli, create_account, decrypt, enroll, login, open_sealed_key, path_of,
};
use speakup_tests::speakup::clock::Clock;
use speakup_tests::*;

const CHROMIUM: &str = "/usr/bin/chromium";

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("browser")
}

fn node_present() -> bool {
    Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Installs the locked Playwright once (several tests may race here: one lock for all).
fn ensure_node_modules() {
    static ONCE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = ONCE.lock().unwrap_or_else(|e| e.into_inner());
    let dir = browser_dir();
    if dir.join("node_modules/playwright-core").is_dir() {
        return;
    }
    let ci = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&dir)
        .status()
        .expect("run npm ci");
    assert!(ci.success(), "npm ci failed in tests/browser");
}

/// Runs one phase of the script off the async runtime; returns its JSON summary.
async fn node(phase: &str, args: Vec<String>, env: Vec<(String, String)>) -> serde_json::Value {
    let phase = phase.to_owned();
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let out = Command::new("node")
            .arg("officer.mjs")
            .arg(&phase)
            .args(&args)
            .envs(env)
            .current_dir(browser_dir())
            .output()
            .expect("run node");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "browser phase {phase} failed ({:?}):\n{stderr}\n{stdout}",
            out.status
        );
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            format!(
                "browser phase {phase}: {:.1} s\n",
                started.elapsed().as_secs_f64()
            )
            .as_bytes(),
        );
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
    })
    .await
    .expect("node task")
}

/// How far the test has moved the server's clock ahead of real time, in seconds.
fn clock_offset(app: &TestApp) -> i64 {
    let ahead = app.clock.now() - time::OffsetDateTime::now_utc();
    ahead.as_seconds_f64().round() as i64
}

fn str_of<'a>(v: &'a serde_json::Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("no {key} in {v}"))
}

async fn officer_in_chromium(backend: Backend) {
    let ok = Path::new(CHROMIUM).is_file() && node_present();
    if !available("Chromium and Node.js", ok) {
        return;
    }
    ensure_node_modules();
    let Some(app) = spawn_without_officer(backend).await else {
        return;
    };
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let label = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/browser-artifacts")
        .join(label);
    // The admin's enrollment and login move the server clock forward (one TOTP step each);
    // the browser computes its codes for the server's time.
    let link = admin_via_cli(&app, "admin@example.org").await;
    let admin = enroll(&app, &link, "admin@example.org", false).await;
    login(&app, &admin).await;
    let email = "olga@example.org";
    let link = create_account(&app, &admin, email, &["officer"]).await;
    let offset = clock_offset(&app);
    let mut env = vec![
        ("SPEAKUP_CLOCK_OFFSET".to_owned(), offset.to_string()),
        (
            "SPEAKUP_ARTIFACTS".to_owned(),
            artifacts.display().to_string(),
        ),
    ];
    // SQLite unlocks with the key file, PostgreSQL with the passphrase-wrapped copy.
    let passphrase = format!("wrap {tag}");
    let (unlock, wrap) = match backend {
        Backend::Sqlite => ("file", ""),
        Backend::Postgres => ("passphrase", passphrase.as_str()),
    };
    let enrolled = node(
        "enroll",
        vec![
            "--link".into(),
            app.url(&path_of(&link)),
            "--email".into(),
            email.into(),
            "--passphrase".into(),
            wrap.into(),
            "--key-dir".into(),
            app.dir.path().join("officer-key").display().to_string(),
        ],
        env.clone(),
    )
    .await;
    let (account, _) = app
        .store
        .officer_by_email(email)
        .await
        .expect("lookup")
        .expect("officer account");
    assert_eq!(account.recipient, str_of(&enrolled, "recipient"));
    assert_eq!(account.has_wrapped_identity, !wrap.is_empty(), "{enrolled}");

    // The report is sealed to the officer's new key.
    let reporter = app.browser();
    let what = format!("The depot manager sells fuel privately {tag}");
    let attachment_text = format!("fuel log {tag}\n");
    let report = Report {
        what: &what,
        mode: "confidential",
        name: "Rita Reporter",
        contact: "rita@private.example",
        files: vec![("fuel-log.txt".into(), attachment_text.clone().into_bytes())],
        ..Default::default()
    };
    let (status, receipt_page) = file_report(&app, &reporter, "en", &report).await;
    assert_eq!(status, 200, "{receipt_page}");
    let token = receipt(&receipt_page);

    let marker = format!("ACK-MARKER-{tag}");
    let reply = format!("Please send the fuel receipts {tag}");
    let note = format!("NOTE-MARKER-{tag}");
    let reason = format!("REASON-MARKER-{tag}");
    let offset = clock_offset(&app);
    env[0].1 = offset.to_string();
    let summary = node(
        "work",
        vec![
            "--base".into(),
            app.base.clone(),
            "--email".into(),
            email.into(),
            "--password".into(),
            str_of(&enrolled, "password").into(),
            "--totp-secret".into(),
            str_of(&enrolled, "totp_secret").into(),
            "--key-file".into(),
            str_of(&enrolled, "key_file").into(),
            "--unlock".into(),
            unlock.into(),
            "--passphrase".into(),
            wrap.into(),
            "--report-text".into(),
            what.clone(),
            "--report-attachment-name".into(),
            "fuel-log.txt".into(),
            "--report-attachment-text".into(),
            attachment_text.clone(),
            "--reporter-name".into(),
            "Rita Reporter".into(),
            "--marker".into(),
            marker.clone(),
            "--reply".into(),
            reply.clone(),
            "--note".into(),
            note.clone(),
            "--reason".into(),
            reason.clone(),
        ],
        env,
    )
    .await;
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        format!("browser summary ({label}): {summary}\n").as_bytes(),
    );
    assert_eq!(summary["status"], "Acknowledged", "{summary}");
    assert_eq!(summary["identity_revealed"], "Rita Reporter", "{summary}");
    assert_eq!(summary["key_in_indexeddb"], true, "{summary}");
    let shots = summary["screenshots"].as_array().expect("screenshots");
    assert_eq!(shots.len(), 6, "{summary}");
    for s in shots {
        assert!(Path::new(str_of(s, "path")).is_file(), "{s}");
        // Nothing makes the page scroll sideways, on a phone either.
        assert_eq!(s["overflow_px"], 0, "{s}");
    }

    // The server holds only what the browser encrypted; the reporter can read it.
    let case = app.store.cases().await.unwrap().pop().expect("the case");
    assert!(case.acknowledged_on.is_some(), "not acknowledged");
    assert_eq!(summary["reference"], case.reference.as_str());
    let db = app.database_bytes().await;
    for secret in [&marker, &reply, &note, &reason] {
        assert!(!contains(&db, secret), "plaintext {secret} in the database");
    }
    assert_eq!(
        summary["status_after_reason"], "Being investigated",
        "{summary}"
    );
    officer_only_items_need_the_officer_key(&app, &case, str_of(&enrolled, "key_file"), &note)
        .await;
    let (status, mailbox) = open_mailbox(&app, &reporter, &token).await;
    assert_eq!(status, 200, "{mailbox}");
    assert!(
        mailbox.contains(&marker),
        "acknowledgement not readable: {mailbox}"
    );
    assert!(mailbox.contains(&reply), "reply not readable: {mailbox}");
    let file_link = mailbox
        .split("href=\"/mailbox/attachments/")
        .skip(1)
        .find(|s| {
            s.split('<')
                .next()
                .is_some_and(|a| a.ends_with(">officer-reply.txt"))
        })
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("reply file not listed: {mailbox}"))
        .to_owned();
    let res = reporter
        .get(app.url(&format!("/mailbox/attachments/{file_link}")))
        .send()
        .await
        .expect("download");
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.text().await.expect("body"),
        format!("reply file {marker}\n")
    );
    app.finish().await;
}

/// The note the browser wrote went to the officer key the page made: the case key (what the
/// reporter's browser held when it filed the case) does not open it; the officer key, from
/// the officer's sealed copy, does.
async fn officer_only_items_need_the_officer_key(
    app: &TestApp,
    case: &speakup::store::CaseRecord,
    key_file: &str,
    note: &str,
) {
    let text = std::fs::read_to_string(key_file).expect("key file");
    let officer: age::x25519::Identity = text
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .expect("identity")
        .parse()
        .expect("officer identity");
    let mine = app
        .store
        .envelopes(&case.id)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.recipient == officer.to_public().to_string())
        .expect("the officer's copy");
    let case_key = open_sealed_key(&officer, &mine.envelope);
    let officer_key = open_sealed_key(&officer, &mine.officer_envelope.expect("an officer key"));
    let fresh = app.store.case_by_reference(&case.reference).await.unwrap();
    assert_eq!(
        fresh.and_then(|c| c.officer_recipient),
        Some(officer_key.to_public().to_string())
    );
    let items = app.store.items(&case.id).await.unwrap();
    let item = items
        .iter()
        .find(|i| i.kind == speakup::domain::case::ItemKind::Note)
        .expect("the note");
    let bytes = speakup::store::read_blob(app.store.as_ref(), &item.blob_id)
        .await
        .unwrap();
    let opens = |key: &age::x25519::Identity| {
        age::Decryptor::new(&bytes[..])
            .and_then(|d| d.decrypt(std::iter::once(key as &dyn age::Identity)))
            .is_ok()
    };
    assert!(!opens(&case_key), "the case key opens an internal note");
    assert_eq!(decrypt(&officer_key, &bytes), note.as_bytes());
}

on_both_databases!(officer_in_chromium);
