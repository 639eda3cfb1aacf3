//! The generic "store story": one scenario through the whole store trait, run against
//! SQLite and PostgreSQL, so both implementations are held to the same behaviour.

use speakup::domain::audit::AuditEntry;
use speakup::domain::case::Channel;
use speakup::domain::holder::{Author, CaseId, Holder};
use speakup::domain::officer::{Role, Roles};
use speakup::store::{Content, NewCase, NewEnvelope, NewItem, NewOfficer, StoreError};
use speakup_tests::*;
use time::macros::date;

fn item(id: &str, kind: &str, content: Content, parent: Option<&str>) -> NewItem {
    NewItem {
        id: id.into(),
        kind: kind.parse().unwrap(),
        author: Author::Reporter,
        created_on: date!(2026 - 11 - 23),
        reporter_visible: true,
        parent_id: parent.map(Into::into),
        content,
        encrypted_name: (kind == "attachment").then(|| b"name-ct".to_vec()),
    }
}

async fn store_story(backend: Backend) {
    let Some(app) = spawn_without_officer(backend).await else {
        return;
    };
    let s = app.store.as_ref();

    // Server secrets: the first value stays, whoever asks later.
    let a = s.server_secret("k", b"first").await.unwrap();
    let b = s.server_secret("k", b"second").await.unwrap();
    assert_eq!(
        (a.as_slice(), b.as_slice()),
        (b"first".as_slice(), b"first".as_slice())
    );

    // Officers: unique e-mail.
    let officer = NewOfficer {
        id: "o1".into(),
        email: "a@example.org".into(),
        name: "A".into(),
        roles: Roles::new(&[Role::Officer]),
        recipient: "age1x".into(),
        created_at: 1,
    };
    let audit = AuditEntry::new(1, "cli", "account_created", "", "a@example.org (officer)");
    s.add_officer(&officer, None, &audit).await.unwrap();
    let dup = NewOfficer {
        id: "o2".into(),
        ..officer.clone()
    };
    assert!(matches!(
        s.add_officer(&dup, None, &audit).await,
        Err(StoreError::DuplicateOfficer)
    ));
    assert_eq!(s.officers().await.unwrap().len(), 1);

    // Upload days are a year ahead of the server's clock: the server's own purge of
    // unfinished uploads (begun before its yesterday, run at start-up) must not race this
    // story for them, whatever the date the test runs on.
    let day = speakup::clock::Clock::today(app.clock.as_ref()) + time::Duration::days(365);
    // An upload streamed in, then claimed by a case; another abandoned and discarded.
    s.create_blob("up1", day).await.unwrap();
    s.append_chunk("up1", 0, b"chunk0").await.unwrap();
    s.append_chunk("up1", 1, b"chunk1").await.unwrap();
    s.create_blob("up2", day).await.unwrap();
    s.append_chunk("up2", 0, b"x").await.unwrap();
    s.discard_blob("up2").await.unwrap();
    assert!(s.chunk("up2", 0).await.unwrap().is_none());
    assert!(matches!(
        s.append_chunk("up2", 1, b"y").await,
        Err(StoreError::BlobNotPending(_))
    ));

    let case = NewCase {
        id: "c1".into(),
        reference: "SU-2345-6789".into(),
        lookup: vec![9; 32],
        case_recipient: "age1case".into(),
        reporter_recipient: "age1rep".into(),
        category: "fraud".into(),
        mode: "anonymous".parse().unwrap(),
        received_on: date!(2026 - 11 - 23),
        reporter_lang: speakup::i18n::Lang::Nl,
        entity: None,
        routed_to: None,
        envelopes: vec![NewEnvelope {
            holder: Holder::parse("officer:o1").unwrap(),
            recipient: "age1x".into(),
            envelope: b"env".to_vec(),
        }],
        left_out: Vec::new(),
        items: vec![
            item("r", "report", Content::Inline(b"report-ct".to_vec()), None),
            item(
                "a",
                "attachment",
                Content::Blob {
                    id: "up1".into(),
                    plaintext_size: 12,
                },
                Some("r"),
            ),
        ],
        channel: Channel::Web,
        audit: None,
        reporter_audit: Vec::new(),
        meeting: None,
    };
    s.create_case(&case).await.unwrap();
    // A clashing reference is reported as such (the caller retries with a new one).
    let clash = NewCase {
        id: "c3".into(),
        lookup: vec![7; 32],
        items: vec![item("r3", "report", Content::Inline(b"x".to_vec()), None)],
        ..case.clone()
    };
    assert!(matches!(
        s.create_case(&clash).await,
        Err(StoreError::DuplicateReference)
    ));
    // A claimed upload cannot be appended to, claimed again or discarded.
    assert!(s.append_chunk("up1", 2, b"late").await.is_err());
    s.discard_blob("up1").await.unwrap();
    assert_eq!(s.chunk("up1", 1).await.unwrap().unwrap(), b"chunk1");

    // A case that claims a missing upload fails as a whole: nothing of it remains.
    let broken = NewCase {
        id: "c2".into(),
        reference: "SU-3456-789A".into(),
        lookup: vec![8; 32],
        items: vec![
            item("r2", "report", Content::Inline(b"x".to_vec()), None),
            item(
                "a2",
                "attachment",
                Content::Blob {
                    id: "nope".into(),
                    plaintext_size: 1,
                },
                Some("r2"),
            ),
        ],
        // An officer-entered case's audit row goes with it: neither remains.
        channel: Channel::OfficerEntered,
        audit: Some(AuditEntry::new(
            1_795_000_000,
            "olga@example.org",
            "report_entered",
            "SU-3456-789A",
            "",
        )),
        ..case.clone()
    };
    assert!(s.create_case(&broken).await.is_err());
    assert!(s.case_by_reference("SU-3456-789A").await.unwrap().is_none());
    assert!(
        s.case_audit("SU-3456-789A", &["report_entered"])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(s.cases().await.unwrap().len(), 1);

    // Lookups and reads.
    let found = s.case_by_lookup(&[9; 32]).await.unwrap().unwrap();
    assert_eq!(
        (found.reference.as_str(), found.status.as_str()),
        ("SU-2345-6789", "received")
    );
    assert_eq!(found.received_on, date!(2026 - 11 - 23));
    assert_eq!(found.channel, Channel::Web);
    assert!(s.case_by_lookup(&[1; 32]).await.unwrap().is_none());
    let c1 = CaseId::from("c1");
    assert_eq!(s.envelopes(&c1).await.unwrap()[0].envelope, b"env");

    // Replies continue the sequence.
    s.add_items(
        &c1,
        &[item("m", "message", Content::Inline(b"msg".to_vec()), None)],
    )
    .await
    .unwrap();
    let items = s.items(&c1).await.unwrap();
    let seqs: Vec<(String, i64)> = items.iter().map(|i| (i.id.clone(), i.seq)).collect();
    assert_eq!(
        seqs,
        vec![("r".into(), 1), ("a".into(), 2), ("m".into(), 3)]
    );
    assert_eq!(items[1].size, 12);
    assert_eq!(items[1].parent_id.as_deref(), Some("r"));
    let report = speakup::store::read_blob(s, &items[0].blob_id)
        .await
        .unwrap();
    assert_eq!(report, b"report-ct");
    let name = items[1].name_blob_id.clone().unwrap();
    assert_eq!(
        speakup::store::read_blob(s, &name).await.unwrap(),
        b"name-ct"
    );

    // Abandoned uploads from earlier days are purged; today's are left alone.
    s.create_blob("old", day - time::Duration::days(3))
        .await
        .unwrap();
    s.append_chunk("old", 0, b"x").await.unwrap();
    s.create_blob("today", day).await.unwrap();
    assert_eq!(
        s.purge_incomplete_blobs(day - time::Duration::days(1))
            .await
            .unwrap(),
        1
    );
    assert!(s.chunk("old", 0).await.unwrap().is_none());
    s.append_chunk("today", 0, b"still open").await.unwrap();
    // Claimed blobs are never purged.
    assert_eq!(
        s.purge_incomplete_blobs(day + time::Duration::days(38))
            .await
            .unwrap(),
        1
    );
    assert!(s.chunk("up1", 0).await.unwrap().is_some());
    // The purge's index holds only incomplete blobs (migration 0020): every report, message
    // and file adds a complete one, and each entry was one more page for the writer.
    let partial = match backend {
        Backend::Sqlite => {
            "SELECT COUNT(*) FROM sqlite_master WHERE name = 'blobs_incomplete' \
             AND sql LIKE '%WHERE complete = FALSE'"
        }
        Backend::Postgres => {
            "SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'blobs_incomplete' \
             AND indexdef LIKE '%WHERE (complete = false)'"
        }
    };
    assert_eq!(app.scalar(partial).await, 1, "{partial}");
    app.finish().await;
}

on_both_databases!(store_story);
