//! The case's officer key (issue 9 §5): officer-only items go to a key the reporter never
//! held. On both databases, against the real server: forged creations are refused with
//! nothing stored; the first creation wins (also when two race); a note and a status reason
//! written after it open with the officer key and not with the case key (what a reporter's
//! browser held); officer-only items sent the old way (to the case key) are refused; a grant
//! carries the officer key, and a revocation or a confirmed exclusion removes it.

use age::x25519::{Identity, Recipient};
use speakup::store::CaseRecord;
use speakup_tests::officer::*;
use speakup_tests::workspace::{Team, team};
use speakup_tests::*;

const CREATED: &str = "SELECT COUNT(*) FROM audit_log WHERE action = 'officer_key_created'";

async fn the_case(app: &TestApp) -> CaseRecord {
    app.store.cases().await.unwrap().pop().expect("a case")
}

async fn fresh(app: &TestApp, reference: &str) -> CaseRecord {
    app.store
        .case_by_reference(reference)
        .await
        .unwrap()
        .expect("the case")
}

/// Nothing of an officer key is stored: no recipient, no sealed copy, no audit row.
async fn assert_no_officer_key(app: &TestApp, reference: &str, what: &str) {
    let case = fresh(app, reference).await;
    assert_eq!(
        case.officer_recipient, None,
        "{what}: a recipient was stored"
    );
    let sealed = app.store.envelopes(&case.id).await.unwrap();
    assert!(
        sealed.iter().all(|e| e.officer_envelope.is_none()),
        "{what}: a sealed officer key was stored"
    );
    assert_eq!(app.scalar(CREATED).await, 0, "{what}: audited");
}

fn opens(key: &Identity, bytes: &[u8]) -> bool {
    age::Decryptor::new(bytes)
        .and_then(|d| d.decrypt(std::iter::once(key as &dyn age::Identity)))
        .is_ok()
}

/// A team and a case filed without JavaScript; the case page alex sees before any officer
/// key exists.
async fn setup(app: &TestApp) -> (Team, String, String) {
    let t = team(app).await;
    let (status, page) = file_report(app, &app.browser(), "en", &Report::default()).await;
    assert_eq!(status, 200, "{page}");
    let reference = the_case(app).await.reference;
    let html = app
        .page(&t.alex.client, &format!("/officer/cases/{reference}"))
        .await;
    (t, reference, html)
}

async fn forged_creations_are_refused(backend: Backend) {
    let Some(app) = spawn_without_officer(backend).await else {
        return;
    };
    let (t, reference, html) = setup(&app).await;
    let csrf = hidden(&html, "csrf");
    let holders = officer_key_holders(&html);
    assert_eq!(holders.len(), 1, "alex holds the case: {holders:?}");
    let case = the_case(&app).await;
    let key = Identity::generate();
    let recipient = key.to_public().to_string();
    let good = || seal_officer_key(&key, &holders);
    let two_stanzas = {
        let to: Recipient = holders[0].1.parse().unwrap();
        vec![(
            holders[0].0.clone(),
            encrypt(
                &[to, Identity::generate().to_public()],
                b"# Speak Up officer key\n",
            ),
        )]
    };
    let mut extra = good();
    extra.push(("officer:someone-else".into(), good().remove(0).1));
    let renamed = vec![("escrow".to_owned(), good().remove(0).1)];
    let junk = vec![(holders[0].0.clone(), b"not an age file".to_vec())];
    type Forgery<'a> = (&'a str, &'a str, Vec<(String, Vec<u8>)>, u16);
    let cases: Vec<Forgery> = vec![
        ("two stanzas", &recipient, two_stanzas, 400),
        ("no envelope", &recipient, Vec::new(), 400),
        ("an envelope too many", &recipient, extra, 400),
        ("another holder", &recipient, renamed, 400),
        ("not age", &recipient, junk, 400),
        ("the case key", &case.case_recipient, good(), 400),
        ("the reporter's key", &case.reporter_recipient, good(), 400),
        ("no recipient", "age1nonsense", good(), 400),
    ];
    for (what, to, envelopes, expected) in cases {
        let status = post_officer_key(&app, &t.alex, &reference, &csrf, to, envelopes).await;
        assert_eq!(status, expected, "{what}");
        assert_no_officer_key(&app, &reference, what).await;
    }
    // Someone who holds no copy of the case key cannot make one (ivan is not granted yet).
    let ivan_csrf = hidden(&app.page(&t.ivan.client, "/officer/account").await, "csrf");
    let status = post_officer_key(&app, &t.ivan, &reference, &ivan_csrf, &recipient, good()).await;
    assert_eq!(status, 403, "a non-holder made the officer key");
    assert_no_officer_key(&app, &reference, "non-holder").await;
    // Without the CSRF token, nothing either.
    let status = post_officer_key(&app, &t.alex, &reference, "forged", &recipient, good()).await;
    assert_eq!(status, 403, "no CSRF token");
    assert_no_officer_key(&app, &reference, "no CSRF token").await;

    // The real one, then a second creation: refused, the first stays.
    let status = post_officer_key(&app, &t.alex, &reference, &csrf, &recipient, good()).await;
    assert_eq!(status, 204);
    let other = Identity::generate();
    let again = seal_officer_key(&other, &holders);
    let other_recipient = other.to_public().to_string();
    let status = post_officer_key(&app, &t.alex, &reference, &csrf, &other_recipient, again).await;
    assert_eq!(status, 403, "a second officer key replaced the first");
    let stored = fresh(&app, &reference).await;
    assert_eq!(
        stored.officer_recipient.as_deref(),
        Some(recipient.as_str())
    );
    let mine = app.store.envelopes(&stored.id).await.unwrap().remove(0);
    let alex = t.alex.identity.as_ref().unwrap();
    let sealed = mine
        .officer_envelope
        .expect("alex's copy of the officer key");
    assert_eq!(open_sealed_key(alex, &sealed).to_public(), key.to_public());
    assert_eq!(app.scalar(CREATED).await, 1);
    let page = app
        .page(&t.alex.client, &format!("/officer/cases/{reference}"))
        .await;
    assert!(!page.contains("id=\"officer-key-holders\""), "asks again");
    app.finish().await;
}

async fn two_creations_at_once(backend: Backend) {
    let Some(app) = spawn_without_officer(backend).await else {
        return;
    };
    let (t, reference, html) = setup(&app).await;
    let csrf = hidden(&html, "csrf");
    let holders = officer_key_holders(&html);
    let (a, b) = (Identity::generate(), Identity::generate());
    let (ra, rb) = (a.to_public().to_string(), b.to_public().to_string());
    let (first, second) = tokio::join!(
        post_officer_key(
            &app,
            &t.alex,
            &reference,
            &csrf,
            &ra,
            seal_officer_key(&a, &holders)
        ),
        post_officer_key(
            &app,
            &t.alex,
            &reference,
            &csrf,
            &rb,
            seal_officer_key(&b, &holders)
        ),
    );
    let mut answers = [first, second];
    answers.sort();
    assert_eq!(answers, [204, 403], "exactly one creation wins");
    let stored = fresh(&app, &reference).await.officer_recipient.unwrap();
    let winner = if stored == ra { &a } else { &b };
    let case = fresh(&app, &reference).await;
    let mine = app.store.envelopes(&case.id).await.unwrap().remove(0);
    let alex = t.alex.identity.as_ref().unwrap();
    let sealed = open_sealed_key(alex, &mine.officer_envelope.unwrap());
    assert_eq!(
        sealed.to_public(),
        winner.to_public(),
        "the copy is the winner's"
    );
    assert_eq!(app.scalar(CREATED).await, 1);
    app.finish().await;
}

async fn officer_only_items_need_the_officer_key(backend: Backend) {
    let Some(app) = spawn_without_officer(backend).await else {
        return;
    };
    let (t, reference, _) = setup(&app).await;
    let path = |action: &str| format!("/officer/cases/{reference}/{action}");
    let case_recipient: Recipient = the_case(&app).await.case_recipient.parse().unwrap();

    // Before any officer key exists, a note has nowhere to go.
    let csrf = hidden(&app.page(&t.alex.client, "/officer/account").await, "csrf");
    let to_case = case_recipient.to_string();
    let (status, _) = post_parts(
        &app,
        &t.alex,
        &path("notes"),
        &[("csrf", &csrf), ("recipient", &to_case)],
        vec![(
            "message",
            encrypt(std::slice::from_ref(&case_recipient), b"too early"),
        )],
    )
    .await;
    assert_eq!(status, 400, "a note to the case key was stored");

    // Opening the case makes the officer key, as the page's script does.
    let view = open_case(&app, &t.alex, &reference).await;
    assert_ne!(view.to_officers.to_string(), to_case);
    let officers = view.to_officers.to_string();
    let to_officers = std::slice::from_ref(&view.to_officers);
    let note = "Check the supplier register before anything else.";
    // The old route, to the case key: refused, whether it says so or not.
    for declared in [to_case.as_str(), ""] {
        let (status, _) = post_parts(
            &app,
            &t.alex,
            &path("notes"),
            &[("csrf", &view.csrf), ("recipient", declared)],
            vec![(
                "message",
                encrypt(std::slice::from_ref(&case_recipient), note.as_bytes()),
            )],
        )
        .await;
        assert_eq!(status, 400, "a note declared to {declared:?} was stored");
        let (status, _) = post_parts(
            &app,
            &t.alex,
            &path("status"),
            &[
                ("csrf", &view.csrf),
                ("status", "investigating"),
                ("outcome", ""),
                ("recipient", declared),
            ],
            vec![(
                "reason",
                encrypt(std::slice::from_ref(&case_recipient), b"a reason"),
            )],
        )
        .await;
        assert_eq!(status, 400, "a reason declared to {declared:?} was stored");
    }
    let stored = app.store.items(&the_case(&app).await.id).await.unwrap();
    assert!(
        stored
            .iter()
            .all(|i| i.kind != speakup::domain::case::ItemKind::Note),
        "a refused note was stored"
    );

    // To the officer key: stored; the case key does not open it, the officer key does.
    let (status, page) = post_parts(
        &app,
        &t.alex,
        &path("notes"),
        &[("csrf", &view.csrf), ("recipient", &officers)],
        vec![
            ("message", encrypt(to_officers, note.as_bytes())),
            ("attachment", encrypt(to_officers, b"register extract")),
            ("attachment_name", encrypt(to_officers, b"register.txt")),
        ],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let (status, page) = post_parts(
        &app,
        &t.alex,
        &path("status"),
        &[
            ("csrf", &view.csrf),
            ("status", "investigating"),
            ("outcome", ""),
            ("recipient", &officers),
        ],
        vec![("reason", encrypt(to_officers, b"Enough to look into."))],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let case = the_case(&app).await;
    let mut officer_only = Vec::new();
    for i in app.store.items(&case.id).await.unwrap() {
        if !i.reporter_visible {
            officer_only.push(read_blob(&app, &i.blob_id).await);
            if let Some(n) = &i.name_blob_id {
                officer_only.push(read_blob(&app, n).await);
            }
        }
    }
    let events = app.store.events(&case.id).await.unwrap();
    officer_only.extend(events.into_iter().filter_map(|e| e.reason));
    assert_eq!(officer_only.len(), 4, "note, file, file name, reason");
    for bytes in &officer_only {
        assert!(
            !opens(&view.case_key, bytes),
            "the case key opens an officer-only item"
        );
        assert!(
            opens(&view.officer_key, bytes),
            "the officer key does not open it"
        );
    }
    assert_eq!(
        decrypt(&view.officer_key, &officer_only[0]),
        note.as_bytes()
    );
    app.finish().await;
}

async fn read_blob(app: &TestApp, id: &str) -> Vec<u8> {
    speakup::store::read_blob(app.store.as_ref(), id)
        .await
        .unwrap()
}

async fn grants_carry_the_officer_key(backend: Backend) {
    let Some(app) = spawn_without_officer(backend).await else {
        return;
    };
    let (t, reference, _) = setup(&app).await;
    let view = open_case(&app, &t.alex, &reference).await;
    let ivan = t.ivan.identity.as_ref().unwrap().to_public();
    let ivan_id = {
        let form = &view.html[view.html.find("id=\"grant-account\"").expect("grant form")..];
        attr(form, &format!("data-recipient=\"{ivan}\""), "value")
    };
    let grants = format!("/officer/cases/{reference}/grants");
    let fields = [("csrf", view.csrf.as_str()), ("account", ivan_id.as_str())];
    let grant = |parts| post_parts(&app, &t.alex, &grants, &fields, parts);
    // The case key alone: refused once the case has an officer key, nothing stored.
    let mut parts = grant_parts(&view, &ivan);
    parts.truncate(1);
    let (status, _) = grant(parts).await;
    assert_eq!(status, 400, "a grant without the officer key");
    let holders = || async {
        let case = fresh(&app, &reference).await;
        app.store.envelopes(&case.id).await.unwrap()
    };
    assert_eq!(holders().await.len(), 1, "ivan got a copy anyway");
    // An officer key with two stanzas: refused too.
    let mut parts = grant_parts(&view, &ivan);
    parts[1].1 = encrypt(&[ivan.clone(), Identity::generate().to_public()], b"x");
    let (status, _) = grant(parts).await;
    assert_eq!(status, 400, "a malformed officer key");
    assert_eq!(holders().await.len(), 1);

    let (status, page) = grant(grant_parts(&view, &ivan)).await;
    assert_eq!(status, 200, "{page}");
    let ivan_view = open_case(&app, &t.ivan, &reference).await;
    assert_eq!(
        ivan_view.officer_key.to_public(),
        view.officer_key.to_public()
    );
    assert!(holders().await.iter().all(|e| e.officer_envelope.is_some()));

    // Revoking removes both copies.
    let res = t
        .alex
        .client
        .post(app.url(&format!("/officer/cases/{reference}/revoke")))
        .form(&[("csrf", view.csrf.as_str()), ("account", ivan_id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let left = holders().await;
    assert_eq!(left.len(), 1, "ivan's copies stayed");
    assert!(left[0].holder.to_db().ends_with(&t_alex_id(&app).await));

    // Granted again, then excluded (proposed by alex, confirmed by a second officer): both
    // copies go again.
    let view = open_case(&app, &t.alex, &reference).await;
    let fields = [("csrf", view.csrf.as_str()), ("account", ivan_id.as_str())];
    let (status, page) =
        post_parts(&app, &t.alex, &grants, &fields, grant_parts(&view, &ivan)).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(holders().await.len(), 2);
    let exclude = |who: &Person, csrf: String, step: &'static str| {
        let url = app.url(&format!("/officer/cases/{reference}/{step}"));
        let form = [("csrf", csrf), ("account", ivan_id.clone())];
        let request = who.client.post(url).form(&form);
        // Where the action led: its `done` notice (the case page may then refuse the person).
        async move {
            request
                .send()
                .await
                .unwrap()
                .url()
                .query()
                .map(str::to_owned)
        }
    };
    let done = exclude(&t.alex, view.csrf.clone(), "exclude").await;
    assert_eq!(done.as_deref(), Some("done=exclude"));
    let link = create_account(&app, &t.admin, "olga@example.org", &["officer"]).await;
    let olga = enroll(&app, &link, "olga@example.org", true).await;
    login(&app, &olga).await;
    let csrf = hidden(&app.page(&olga.client, "/officer/account").await, "csrf");
    let done = exclude(&olga, csrf, "exclude/confirm").await;
    assert_eq!(done.as_deref(), Some("done=exclude_confirm"));
    let left = holders().await;
    assert_eq!(left.len(), 1, "an excluded colleague kept a copy");
    assert!(left[0].holder.to_db().ends_with(&t_alex_id(&app).await));
    app.finish().await;
}

async fn t_alex_id(app: &TestApp) -> String {
    let (alex, _) = app
        .store
        .officer_by_email("alex@example.org")
        .await
        .unwrap()
        .unwrap();
    alex.id.to_string()
}

on_both_databases!(forged_creations_are_refused);
on_both_databases!(two_creations_at_once);
on_both_databases!(officer_only_items_need_the_officer_key);
on_both_databases!(grants_carry_the_officer_key);
