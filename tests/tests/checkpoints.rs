//! SQLite's checkpoints run on a task of the store's, beside the writer
//! (`store/checkpoints.rs`): what reporters write reaches the database file within moments,
//! although no commit comes near the size at which SQLite would checkpoint by itself. (On
//! PostgreSQL there is nothing of the kind to test.)

use std::time::{Duration, Instant};

use speakup_tests::*;

fn db_size(app: &TestApp) -> u64 {
    std::fs::metadata(app.dir.path().join("speakup.db"))
        .expect("database file")
        .len()
}

#[test]
fn reports_reach_the_database_file_without_a_commit_copying_them() {
    run_test(async {
        let Some(app) = spawn_app(Backend::Sqlite).await else {
            return;
        };
        // Whatever the start wrote is copied, and the task has backed off to its idle wait.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let before = db_size(&app);
        let client = app.browser();
        // 16 reports with 96 KiB each: about 400 pages of the log, far below the 10,000 at
        // which a commit would copy them itself (and below SQLite's default of 1,000).
        for i in 0..16u8 {
            let what = format!("checkpoint report {i}");
            let report = Report {
                what: &what,
                files: vec![(format!("f{i}.bin"), vec![i; 96 * 1024])],
                ..Default::default()
            };
            let (status, page) = file_report(&app, &client, "en", &report).await;
            assert_eq!(status, 200, "{page}");
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let grown = db_size(&app).saturating_sub(before);
            if grown >= 16 * 96 * 1024 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the database file grew by {grown} bytes in 10 s: the log was not copied"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        app.finish().await;
    });
}
