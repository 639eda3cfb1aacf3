//! Reporter writes committed together (ADR 0007, `store/group.rs` on SQLite): many new cases
//! and upload chunks at once, some of them failing part-way. Each failing request gets its own
//! error and leaves nothing behind (not even its queued audit row); every other request is
//! stored whole, with its queued reporter actions. A report and a reply commit with their
//! audit rows in one transaction: when the row cannot be written, nothing is. Run on both
//! databases, so both keep the same promise.

use speakup::domain::holder::{Author, Holder};
use speakup::store::{Content, NewCase, NewEnvelope, NewItem, ReporterAction, StoreError};
use speakup_tests::*;
use time::macros::date;

fn item(id: &str, kind: &str, content: Content) -> NewItem {
    NewItem {
        id: id.into(),
        kind: kind.parse().unwrap(),
        author: Author::Reporter,
        created_on: date!(2026 - 11 - 23),
        reporter_visible: true,
        parent_id: None,
        content,
        encrypted_name: (kind == "attachment").then(|| b"name-ct".to_vec()),
    }
}

/// The day the cases' `report_filed` rows are queued on: after the server's today, so that
/// its housekeeping (which moves the rows of days before today into the chain) leaves them.
const QUEUED_ON: time::Date = date!(2100 - 01 - 01);

/// A case with its report; `upload` adds an attachment claiming that upload.
fn case(id: &str, reference: &str, upload: Option<&str>) -> NewCase {
    let mut items = vec![item(
        &format!("{id}-r"),
        "report",
        Content::Inline(format!("report of {id}").into_bytes()),
    )];
    if let Some(upload) = upload {
        items.push(item(
            &format!("{id}-a"),
            "attachment",
            Content::Blob {
                id: upload.into(),
                plaintext_size: 3,
            },
        ));
    }
    NewCase {
        id: id.into(),
        reference: reference.into(),
        lookup: id.as_bytes().to_vec(),
        case_recipient: "age1case".into(),
        reporter_recipient: "age1rep".into(),
        category: "fraud".into(),
        mode: "anonymous".parse().unwrap(),
        received_on: date!(2026 - 11 - 23),
        reporter_lang: speakup::i18n::Lang::En,
        envelopes: vec![NewEnvelope {
            holder: Holder::Escrow,
            recipient: "age1escrow".into(),
            envelope: b"env".to_vec(),
        }],
        items,
        left_out: Vec::new(),
        channel: speakup::domain::case::Channel::Web,
        audit: None,
        reporter_audit: vec![ReporterAction {
            day: QUEUED_ON,
            action: "report_filed",
        }],
        meeting: None,
        entity: None,
        routed_to: None,
    }
}

#[derive(Debug, PartialEq)]
enum Outcome {
    Stored,
    Duplicate,
    NotPending,
}

fn outcome(r: Result<(), StoreError>) -> Outcome {
    match r {
        Ok(()) => Outcome::Stored,
        Err(StoreError::DuplicateReference) => Outcome::Duplicate,
        Err(StoreError::BlobNotPending(_)) => Outcome::NotPending,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

async fn failures_stay_with_their_request(backend: Backend) {
    let Some(app) = spawn_without_officer(backend).await else {
        return;
    };
    // A day ahead: the housekeeping round a server runs at start purges unclaimed uploads
    // begun before yesterday, and must not take this test's uploads from under it.
    let day = speakup::clock::Clock::today(app.clock.as_ref()) + time::Duration::days(365);
    app.store
        .create_case(&case("base", "GC-0000-0000", None))
        .await
        .unwrap();
    // All requests are queued before any is written, so on SQLite they share batches.
    let mut requests = Vec::new();
    for i in 0..40 {
        let s = app.store.clone();
        requests.push(tokio::spawn(async move {
            let id = format!("c{i}");
            let reference = format!("GC-1000-{i:04}");
            let got = match i % 4 {
                // Fails on its first statement: the reference is taken.
                0 => s.create_case(&case(&id, "GC-0000-0000", None)).await,
                // Fails after its case row and keys are written: the upload does not exist.
                1 => s.create_case(&case(&id, &reference, Some("missing"))).await,
                // An upload streamed in, then claimed by its case.
                2 => {
                    let upload = format!("up{i}");
                    s.create_blob(&upload, day).await.unwrap();
                    s.append_chunks(&upload, 0, vec![b"abc".to_vec(), b"def".to_vec()])
                        .await
                        .unwrap();
                    s.create_case(&case(&id, &reference, Some(&upload))).await
                }
                _ => s.create_case(&case(&id, &reference, None)).await,
            };
            (i, outcome(got))
        }));
    }
    for r in requests {
        let (i, got) = r.await.unwrap();
        let expected = match i % 4 {
            0 => Outcome::Duplicate,
            1 => Outcome::NotPending,
            _ => Outcome::Stored,
        };
        assert_eq!(got, expected, "request {i}");
    }
    for i in 0..40 {
        let stored = app
            .store
            .case_by_reference(&format!("GC-1000-{i:04}"))
            .await
            .unwrap();
        match i % 4 {
            0 => assert!(stored.is_none(), "request {i}"),
            // Rolled back whole: no case row, no key, no item of it.
            1 => assert!(stored.is_none(), "request {i} left its case behind"),
            n => {
                let stored = stored.unwrap_or_else(|| panic!("request {i} lost"));
                let items = app.store.items(&stored.id).await.unwrap();
                assert_eq!(items.len(), if n == 2 { 2 } else { 1 }, "request {i}");
                assert_eq!(app.store.envelopes(&stored.id).await.unwrap().len(), 1);
            }
        }
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM cases").await, 1 + 20);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM case_keys").await, 1 + 20);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM items").await, 1 + 20 + 10);
    // Each stored case queued its `report_filed` row with it; no failed one left a row.
    let queued = "SELECT COUNT(*) FROM audit_pending p JOIN cases c ON c.reference = p.case_ref \
                  WHERE p.action = 'report_filed' AND p.day = '2100-01-01'";
    assert_eq!(app.scalar(queued).await, 1 + 20);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_pending").await,
        1 + 20
    );
    // Each claimed upload kept both its chunks, in order.
    let chunk = app.store.chunk("up2", 1).await.unwrap();
    assert_eq!(chunk.as_deref(), Some(b"def".as_slice()));
    app.finish().await;
}

/// Queued rows of `action` about `reference`.
async fn queued(app: &TestApp, action: &str, reference: &str) -> i64 {
    let sql = format!(
        "SELECT COUNT(*) FROM audit_pending WHERE action = '{action}' AND case_ref = '{reference}'"
    );
    app.scalar(&sql).await
}

/// Posts a server-path reply with `csrf` (from the open mailbox); returns the status.
async fn reply(app: &TestApp, client: &reqwest::Client, csrf: &str) -> u16 {
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.to_owned())
        .text("message", "One more detail.");
    let res = client
        .post(app.url("/mailbox/reply?lang=en"))
        .multipart(form)
        .send()
        .await
        .expect("post reply");
    res.status().as_u16()
}

/// A report and its `report_filed` row, a reply and its `reporter_replied` row, are each one
/// transaction (on SQLite one hand-off to the writer): the row is queued the moment the
/// receipt is shown, and when the row cannot be written (its table gone), neither is the case
/// or the reply, and the reporter is told it failed instead of getting a receipt.
async fn reporter_writes_commit_with_their_audit_rows(backend: Backend) {
    let Some(mut app) = spawn_app(backend).await else {
        return;
    };
    app.expect_warnings(&["request failed"]);
    let client = app.browser();
    let (status, page) = file_report(&app, &client, "en", &Report::default()).await;
    assert_eq!(status, 200, "{page}");
    let case = app.store.cases().await.unwrap().pop().expect("the case");
    assert_eq!(queued(&app, "report_filed", &case.reference).await, 1);
    let (status, mailbox) = open_mailbox(&app, &client, &receipt(&page)).await;
    assert_eq!(status, 200, "{mailbox}");
    let csrf = hidden(&mailbox, "csrf");
    let items = format!("SELECT COUNT(*) FROM items WHERE case_id = '{}'", case.id);
    let items_before = app.scalar(&items).await;
    let stored_before = app.stored().await;

    app.execute("ALTER TABLE audit_pending RENAME TO audit_pending_away")
        .await;
    let (status, page) = file_report(&app, &client, "en", &Report::default()).await;
    assert_eq!(status, 500, "a receipt without its audit row: {page}");
    assert_eq!(
        reply(&app, &client, &csrf).await,
        500,
        "a reply without its row"
    );
    assert_eq!(app.stored().await, stored_before, "a half-stored request");
    assert_eq!(app.scalar(&items).await, items_before);

    app.execute("ALTER TABLE audit_pending_away RENAME TO audit_pending")
        .await;
    assert_eq!(reply(&app, &client, &csrf).await, 200);
    assert_eq!(app.scalar(&items).await, items_before + 1);
    assert_eq!(queued(&app, "reporter_replied", &case.reference).await, 1);
    let (status, page) = file_report(&app, &client, "en", &Report::default()).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(app.stored().await.cases, stored_before.cases + 1);
    let filed = "SELECT COUNT(*) FROM audit_pending WHERE action = 'report_filed'";
    assert_eq!(app.scalar(filed).await, 2);
    app.finish().await;
}

on_both_databases!(
    failures_stay_with_their_request,
    reporter_writes_commit_with_their_audit_rows
);
