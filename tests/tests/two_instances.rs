//! Two `speakup serve` instances on one PostgreSQL database and one key file, as behind a load
//! balancer, share everything: a report filed through one opens (receipt, mailbox, officer's
//! case page and attachment) through the other; an officer signed in on one is signed in on
//! the other; a setting saved on one shows on the other within seconds; and the hourly
//! housekeeping round (retention among it) runs on exactly one of them, the other skipping
//! while the first holds the hour's schedule lease, and taking over once it has run out.
//! (Notification mails: tests/tests/notifications.rs, several instances send each mail once.)

use std::time::{Duration, Instant};

use speakup_tests::officer::*;
use speakup_tests::*;

const WHAT: &str = "canary-two-instances-5d1e";
const FILE: &[u8] = b"canary-two-instances-attachment-8b2c";

/// The admin's settings form with an organisation name and a retention period.
async fn save_settings(app: &TestApp, admin: &Person, org: &str, months: &str) {
    let page = app.page(&admin.client, "/officer/admin/settings").await;
    let form = vec![
        ("csrf", hidden(&page, "csrf")),
        ("org_name", org.to_owned()),
        ("notice_en", String::new()),
        ("notice_nl", String::new()),
        ("notice_fr", String::new()),
        ("notice_de", String::new()),
        ("categories", "fraud\nother".to_owned()),
        ("escrow", String::new()),
        ("retention_months", months.to_owned()),
    ];
    let res = admin
        .client
        .post(app.url("/officer/admin/settings"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

async fn deletions(app: &TestApp) -> i64 {
    app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'case_deleted'")
        .await
}

#[test]
fn two_instances_share_one_postgres_database() {
    run_test(async {
        let Some(a) = spawn_app(Backend::Postgres).await else {
            return;
        };
        let b = a.spawn_twin(Options::default().serve).await;
        assert_ne!(a.base, b.base);

        // An officer signed in on A is signed in on B (one cookie jar for both, as behind a
        // load balancer on one host name).
        let link = admin_via_cli(&a, "admin@example.org").await;
        let admin = enroll(&a, &link, "admin@example.org", false).await;
        login(&a, &admin).await;
        let on_b = b.page(&admin.client, "/officer/admin/accounts").await;
        assert!(on_b.contains("id=\"logout\""), "not signed in on B: {on_b}");
        // An officer with a key, enrolled on B, signed in on B.
        let link = create_account(&a, &admin, "o@example.org", &["officer"]).await;
        let officer = enroll(&b, &link, "o@example.org", true).await;
        login(&b, &officer).await;

        // Filed through A, opened through B: the mailbox shows the report, the officer's
        // case page on A opens the case key and the attachment decrypts.
        let reporter = a.browser();
        let report = Report {
            what: WHAT,
            files: vec![("note.txt".into(), FILE.to_vec())],
            ..Default::default()
        };
        let (status, page) = file_report(&a, &reporter, "en", &report).await;
        assert_eq!(status, 200, "{page}");
        let receipt = receipt(&page);
        let (status, mailbox) = open_mailbox(&b, &b.browser(), &receipt).await;
        assert_eq!(status, 200);
        assert!(mailbox.contains(WHAT), "the mailbox on B: {mailbox}");
        let reference = first_reference(&a, &officer).await;
        let case = open_case(&a, &officer, &reference).await;
        let blob = attr(&case.html, "class=\"decrypt-download\"", "data-src");
        let bytes = officer
            .client
            .get(a.url(&blob))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(decrypt(&case.case_key, &bytes), FILE);

        // A setting saved on A shows on B within seconds.
        let started = Instant::now();
        save_settings(&a, &admin, "Acme Rail", "1").await;
        loop {
            if b.page(&b.browser(), "/").await.contains("Acme Rail") {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "B still shows the old name"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let took = started.elapsed();
        assert!(took <= Duration::from_secs(12), "{took:?}");

        // The housekeeping round: both instances at once, exactly one runs it. The case,
        // closed long ago, is deleted once, with one audit row.
        a.execute("UPDATE cases SET status = 'closed', closed_on = '2000-01-01'")
            .await;
        let (ran_a, ran_b) = tokio::join!(
            speakup::server::housekeeping(&a.state),
            speakup::server::housekeeping(&b.state)
        );
        assert!(ran_a ^ ran_b, "A ran: {ran_a}, B ran: {ran_b}");
        assert_eq!(a.scalar("SELECT COUNT(*) FROM cases").await, 0);
        assert_eq!(deletions(&a).await, 1);
        // Within the hour the instance that did not run it keeps skipping; the one that did
        // runs the next round.
        let (runner, other) = if ran_a { (&a, &b) } else { (&b, &a) };
        assert!(!speakup::server::housekeeping(&other.state).await);
        assert!(speakup::server::housekeeping(&runner.state).await);
        // Once the lease has run out (the runner stopped, say), the other takes over.
        other.clock.advance(51 * 60);
        assert!(speakup::server::housekeeping(&other.state).await);
        assert!(!speakup::server::housekeeping(&runner.state).await);
        assert_eq!(deletions(&a).await, 1);

        b.finish().await;
        a.finish().await;
    });
}
