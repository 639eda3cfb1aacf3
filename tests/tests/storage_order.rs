//! No order or time leaks through storage (finding 6): SQLite tables that hold reporter data
//! keep no rowid (which numbered rows in filing order), queued reporter audit rows carry a
//! random key on both databases, and a case deleted by retention leaves its ciphertext
//! neither in SQLite's free pages nor in its write-ahead log.

use speakup::clock::Clock;
use speakup_tests::*;

const WITHOUT_ROWID: [&str; 10] = [
    "cases",
    "case_keys",
    "blobs",
    "chunks",
    "items",
    "case_access",
    "case_events",
    "audit_pending",
    "meeting_requests",
    "minutes",
];

async fn query_fails(app: &TestApp, sql: &str) -> bool {
    let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect(&app.database_url)
        .await
        .expect("connect");
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_all(&mut c)
        .await
        .is_err()
}

async fn storage_keeps_no_filing_order(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = app.browser();
    for _ in 0..3 {
        let (status, page) = file_report(&app, &client, "en", &Report::default()).await;
        assert_eq!(status, 200);
        let (status, _) = open_mailbox(&app, &client, &receipt(&page)).await;
        assert_eq!(status, 200);
    }
    if backend == Backend::Sqlite {
        for table in WITHOUT_ROWID {
            // The attacker's query: the hidden row number, in filing order.
            assert!(
                query_fails(&app, &format!("SELECT rowid FROM {table}")).await,
                "{table} still numbers its rows in the order they were written"
            );
        }
    }
    // Queued reporter actions: each has a random key, so storage order is that key's.
    let pending = app.scalar("SELECT COUNT(*) FROM audit_pending").await;
    assert!(
        pending >= 3,
        "expected queued reporter actions, found {pending}"
    );
    let distinct = app
        .scalar("SELECT COUNT(DISTINCT id) FROM audit_pending")
        .await;
    assert_eq!(distinct, pending, "queued rows without a unique random key");
    app.finish().await;
}

/// Every byte of the SQLite files (database and WAL) on disk.
fn raw_files(app: &TestApp) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(app.dir.path()).expect("dir") {
        let p = entry.expect("entry").path();
        if p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("speakup.db"))
        {
            out.extend(std::fs::read(&p).expect("read"));
        }
    }
    out
}

async fn deleted_cases_leave_no_ciphertext_on_disk(backend: Backend) {
    if backend != Backend::Sqlite {
        // PostgreSQL's dead row versions are the operator's to vacuum (docs/threat-model.md).
        return;
    }
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = app.browser();
    let report = Report {
        files: vec![("memo.txt".into(), vec![b'z'; 300 * 1024])],
        ..Default::default()
    };
    let (status, _) = file_report(&app, &client, "en", &report).await;
    assert_eq!(status, 200);
    let case = app.store.cases().await.unwrap().pop().unwrap();
    let mut samples = Vec::new();
    for item in app.store.items(&case.id).await.unwrap() {
        let ct = speakup::store::read_blob(app.store.as_ref(), &item.blob_id)
            .await
            .unwrap();
        // 48 bytes from the middle of the payload: unique to this ciphertext.
        let mid = ct.len() / 2;
        samples.push(ct[mid..mid + 48].to_vec());
    }
    let before = raw_files(&app);
    assert!(
        samples.iter().any(|s| before.windows(48).any(|w| w == s)),
        "the scan cannot see stored ciphertext at all"
    );
    let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect(&app.database_url)
        .await
        .unwrap();
    sqlx::query("UPDATE cases SET status = 'closed', closed_on = '2000-01-01'")
        .execute(&mut c)
        .await
        .unwrap();
    drop(c);
    let deleted = speakup::app::retention::apply(
        app.store.as_ref(),
        &retention_months(1),
        app.clock.today(),
        app.clock.now(),
    )
    .await
    .unwrap();
    assert_eq!(deleted, 1);
    let after = raw_files(&app);
    for s in &samples {
        assert!(
            !after.windows(48).any(|w| w == s.as_slice()),
            "a deleted case's ciphertext is still in the database files"
        );
    }
    app.finish().await;
}

on_both_databases!(
    storage_keeps_no_filing_order,
    deleted_cases_leave_no_ciphertext_on_disk,
);
