//! The officer workspace end to end over HTTP, on both databases: an admin made on the
//! command line enrolls colleagues; a report is triaged, acknowledged, granted to an
//! investigator, answered and closed; the reporter reads the replies; the audit chain
//! verifies. Officer content is encrypted here before sending (as the browser does), and a
//! canary in it must never reach the database or the logs.

use speakup_tests::officer::*;
use speakup_tests::*;

struct Team {
    admin: Person,
    officer: Person,
    investigator: Person,
}

async fn team(app: &TestApp) -> Team {
    let link = admin_via_cli(app, "admin@example.org").await;
    let admin = enroll(app, &link, "admin@example.org", false).await;
    login(app, &admin).await;
    let officer_link = create_account(app, &admin, "olga@example.org", &["officer"]).await;
    let investigator_link =
        create_account(app, &admin, "ivan@example.org", &["investigator"]).await;
    let officer = enroll(app, &officer_link, "olga@example.org", true).await;
    let investigator = enroll(app, &investigator_link, "ivan@example.org", true).await;
    login(app, &officer).await;
    login(app, &investigator).await;
    Team {
        admin,
        officer,
        investigator,
    }
}

/// An exclusion takes effect only when a second compliance officer confirms it: a new
/// officer account signs in and confirms.
async fn confirm_by_second_officer(app: &TestApp, admin: &Person, reference: &str, id: &str) {
    let link = create_account(app, admin, "second@example.org", &["officer"]).await;
    let second = enroll(app, &link, "second@example.org", true).await;
    login(app, &second).await;
    let page = app.page(&second.client, "/officer/account").await;
    let res = second
        .client
        .post(app.url(&format!("/officer/cases/{reference}/exclude/confirm")))
        .form(&[("csrf", hidden(&page, "csrf").as_str()), ("account", id)])
        .send()
        .await
        .unwrap();
    // Confirmed, back to the case page (which this colleague, holding no copy, cannot open).
    assert_eq!(res.url().query(), Some("done=exclude_confirm"));
}

async fn text_of(app: &TestApp, p: &Person, case: &CaseView, html_marker: &str) -> String {
    let ct = fetch_item(app, &p.client, &case.html, html_marker).await;
    String::from_utf8(decrypt(&case.case_key, &ct)).expect("utf8")
}

async fn case_workflow(backend: Backend) {
    let Some(app) = spawn_without_officer(backend).await else {
        return;
    };
    let t = team(&app).await;
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let canary = |what: &str| format!("CANARY-{what}-{tag}");

    // A confidential report with a file, through the ordinary intake.
    let reporter = app.browser();
    let attachment = b"minutes of the meeting".to_vec();
    let report = Report {
        what: "The purchasing manager takes kickbacks.",
        mode: "confidential",
        name: "Rita Reporter",
        contact: "rita@private.example",
        files: vec![("minutes.txt".into(), attachment.clone())],
        ..Default::default()
    };
    let (status, receipt_page) = file_report(&app, &reporter, "en", &report).await;
    assert_eq!(status, 200, "{receipt_page}");
    let token = receipt(&receipt_page);

    // Triage: the list shows metadata and deadlines; the case decrypts with the officer key.
    let list = app.page(&t.officer.client, "/officer/cases").await;
    assert!(list.contains("id=\"case-list\""), "{list}");
    assert!(list.contains("deadline open") || list.contains("deadline due_soon"));
    let reference = first_reference(&app, &t.officer).await;
    let case = open_case(&app, &t.officer, &reference).await;
    let report_json = text_of(&app, &t.officer, &case, "data-format=\"report\"").await;
    assert!(report_json.contains("takes kickbacks"), "{report_json}");
    assert!(
        !case.html.contains("data-format=\"identity\""),
        "identity shown without reveal"
    );

    // The attachment: ciphertext from the server, decrypted here with the case key.
    let src = attr(&case.html, "class=\"decrypt-download\"", "data-src");
    let cipher = t.officer.client.get(app.url(&src)).send().await.unwrap();
    assert_eq!(cipher.status(), 200);
    let cipher = cipher.bytes().await.unwrap();
    assert_eq!(decrypt(&case.case_key, &cipher), attachment);

    // Reveal the identity: needs a reason, which the audit log keeps.
    let res = t
        .officer
        .client
        .post(app.url(&format!("/officer/cases/{reference}/reveal")))
        .form(&[
            ("csrf", case.csrf.as_str()),
            ("reason", "needed to interview"),
        ])
        .send()
        .await
        .unwrap();
    let revealed = res.text().await.unwrap();
    let identity = String::from_utf8(decrypt(
        &case.case_key,
        &b64(&attr(&revealed, "data-format=\"identity\"", "data-age")),
    ))
    .unwrap();
    assert!(identity.contains("Rita Reporter"));

    // Acknowledge with a message to the reporter (encrypted to case and reporter).
    let ack_text = format!("We received your report. {}", canary("ack"));
    let (status, page) = post_parts(
        &app,
        &t.officer,
        &format!("/officer/cases/{reference}/messages"),
        &[("csrf", &case.csrf), ("kind", "acknowledgement")],
        vec![("message", encrypt(&case.to_both, ack_text.as_bytes()))],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("id=\"case-status\">Acknowledged<"), "{page}");

    // Grant the investigator: the case key file, re-encrypted to their recipient.
    let case = open_case(&app, &t.officer, &reference).await;
    let inv_recipient = t.investigator.identity.as_ref().unwrap().to_public();
    let grant_form = &case.html[case.html.find("id=\"grant-account\"").expect("grant form")..];
    let grant_to = attr(grant_form, "data-recipient=\"age1", "value");
    let (status, page) = post_parts(
        &app,
        &t.officer,
        &format!("/officer/cases/{reference}/grants"),
        &[("csrf", &case.csrf), ("account", &grant_to)],
        grant_parts(&case, &inv_recipient),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let list = app.page(&t.officer.client, "/officer/cases").await;
    assert!(
        list.contains("Name of ivan@example.org"),
        "assignee not listed"
    );

    // The investigator reads the case and leaves an internal note.
    let inv_case = open_case(&app, &t.investigator, &reference).await;
    assert!(
        text_of(&app, &t.investigator, &inv_case, "data-format=\"report\"")
            .await
            .contains("kickbacks")
    );
    let note = canary("note");
    let (status, _) = post_parts(
        &app,
        &t.investigator,
        &format!("/officer/cases/{reference}/notes"),
        &[
            ("csrf", &inv_case.csrf),
            ("recipient", &inv_case.to_officers.to_string()),
        ],
        vec![(
            "message",
            encrypt(std::slice::from_ref(&inv_case.to_officers), note.as_bytes()),
        )],
    )
    .await;
    assert_eq!(status, 200);

    // Feedback, then investigating → concluded (with an encrypted reason) → closed.
    let feedback = format!("We have opened an investigation. {}", canary("feedback"));
    let (status, _) = post_parts(
        &app,
        &t.officer,
        &format!("/officer/cases/{reference}/messages"),
        &[("csrf", &case.csrf), ("kind", "message"), ("feedback", "1")],
        vec![
            ("message", encrypt(&case.to_both, feedback.as_bytes())),
            ("attachment", encrypt(&case.to_both, b"our findings")),
            ("attachment_name", encrypt(&case.to_both, b"findings.txt")),
        ],
    )
    .await;
    assert_eq!(status, 200);
    for (next, outcome) in [
        ("investigating", ""),
        ("concluded", "substantiated"),
        ("closed", ""),
    ] {
        let reason = encrypt(
            std::slice::from_ref(&case.to_officers),
            canary("reason").as_bytes(),
        );
        let to = case.to_officers.to_string();
        let (status, page) = post_parts(
            &app,
            &t.officer,
            &format!("/officer/cases/{reference}/status"),
            &[
                ("csrf", &case.csrf),
                ("status", next),
                ("outcome", outcome),
                ("recipient", &to),
            ],
            vec![("reason", reason)],
        )
        .await;
        assert_eq!(status, 200, "{next}: {page}");
    }
    let record = app
        .store
        .case_by_reference(&reference)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.status.as_str(), "closed");
    assert!(record.acknowledged_on.is_some() && record.feedback_on.is_some());
    let history = app
        .page(&t.officer.client, &format!("/officer/cases/{reference}"))
        .await;
    assert_eq!(history.matches("class=\"history\"").count(), 1);
    assert!(history.contains("Substantiated"));

    // The reporter reads both replies and the officer's file in the mailbox (no JavaScript).
    let (_, mailbox) = open_mailbox(&app, &reporter, &token).await;
    assert!(mailbox.contains(&canary("ack")), "{mailbox}");
    assert!(mailbox.contains(&canary("feedback")));
    assert!(mailbox.contains("findings.txt"));
    assert!(
        !mailbox.contains(&canary("note")),
        "internal note shown to reporter"
    );

    // The officer's plaintext never reached the server's storage or logs.
    let db = app.database_bytes().await;
    let logs = captured_logs();
    for what in ["ack", "feedback", "note", "reason"] {
        assert!(
            !contains(&db, &canary(what)),
            "{what} canary in the database"
        );
        assert!(!contains(&logs, &canary(what)), "{what} canary in the logs");
    }
    assert_no_server_warnings(&[]);

    // Everything above is in an intact audit chain.
    let verdict = run_cli(&app, &["audit", "verify"]).await;
    assert!(verdict.starts_with("audit log intact"), "{verdict}");
    let auditor_link = create_account(&app, &t.admin, "audrey@example.org", &["auditor"]).await;
    let auditor = enroll(&app, &auditor_link, "audrey@example.org", false).await;
    login(&app, &auditor).await;
    let log = app
        .page(&auditor.client, &format!("/officer/audit?case={reference}"))
        .await;
    for action in [
        "revealed identity",
        "needed to interview",
        "granted access",
        "changed status",
        "sent message",
        "added note",
        "downloaded file",
    ] {
        assert!(log.contains(action), "audit page lacks {action}");
    }
    assert!(log.contains("id=\"chain-verdict\""));
    app.finish().await;
}

async fn role_boundaries(backend: Backend) {
    let Some(app) = spawn_without_officer(backend).await else {
        return;
    };
    let t = team(&app).await;
    let (status, _) = file_report(&app, &app.browser(), "en", &Report::default()).await;
    assert_eq!(status, 200);
    let reference = first_reference(&app, &t.officer).await;
    let case = open_case(&app, &t.officer, &reference).await;
    let item = attr(&case.html, "data-format=\"report\"", "data-age-src");
    assert!(!item.is_empty());

    let status_of = |client: &reqwest::Client, path: String| {
        let req = client.get(app.url(&path));
        async move { req.send().await.unwrap().status().as_u16() }
    };
    // An investigator sees no case that was not granted to them.
    assert_eq!(
        status_of(
            &t.investigator.client,
            format!("/officer/cases/{reference}")
        )
        .await,
        403
    );
    let list = app.page(&t.investigator.client, "/officer/cases").await;
    assert!(!list.contains(&reference));
    // An admin runs the system but reads no case, not even its ciphertext.
    assert_eq!(
        status_of(&t.admin.client, "/officer/cases".into()).await,
        403
    );
    assert_eq!(
        status_of(&t.admin.client, format!("/officer/cases/{reference}")).await,
        403
    );
    let items = app
        .store
        .envelopes(
            &app.store
                .case_by_reference(&reference)
                .await
                .unwrap()
                .unwrap()
                .id,
        )
        .await
        .unwrap();
    // Holders are `officer:<id>`: the admin's own id is not among them, the officer's is
    // (so the comparison is against the form the store really uses).
    let id_of = |email: &'static str| {
        let store = app.store.clone();
        async move {
            let (account, _) = store.officer_by_email(email).await.unwrap().unwrap();
            format!("officer:{}", account.id)
        }
    };
    let (admin_holder, officer_holder) = (
        id_of("admin@example.org").await,
        id_of("olga@example.org").await,
    );
    assert!(
        items.iter().any(|e| e.holder.to_db() == officer_holder),
        "the triage officer holds no key copy: {:?}",
        items.iter().map(|e| e.holder.to_db()).collect::<Vec<_>>()
    );
    assert!(
        items.iter().all(|e| e.holder.to_db() != admin_holder),
        "the admin holds a key copy of a case"
    );
    // Nobody without a session gets anything but the login page.
    let anonymous = app.browser();
    let res = anonymous
        .get(app.url(&format!("/officer/cases/{reference}")))
        .send()
        .await
        .unwrap();
    assert!(res.url().path().ends_with("/officer/login"));
    // Officers' admin pages are closed to non-admins.
    assert_eq!(
        status_of(&t.officer.client, "/officer/admin/accounts".into()).await,
        403
    );
    assert_eq!(
        status_of(&t.officer.client, "/officer/audit".into()).await,
        403
    );

    // A colleague who joins later has no key copy of an existing case.
    let second = create_account(&app, &t.admin, "oscar@example.org", &["officer"]).await;
    let oscar = enroll(&app, &second, "oscar@example.org", true).await;
    login(&app, &oscar).await;
    assert_eq!(
        status_of(&oscar.client, format!("/officer/cases/{reference}")).await,
        403,
        "joined later: no envelope yet"
    );
    let oscar_rcpt = oscar.identity.as_ref().unwrap().to_public();
    let option_value = |html: &str, form: &str, email: &str| {
        html.split(&format!("id=\"{form}\""))
            .nth(1)
            .and_then(|s| s.split("<option value=\"").find(|o| o.contains(email)))
            .and_then(|o| o.split('"').next())
            .unwrap_or_else(|| panic!("{email} not offered in {form}"))
            .to_owned()
    };
    // An investigator cannot grant: given access to the case and sending their own valid
    // CSRF token and a well-formed grant, only their role stands in the way...
    let ivan_id = option_value(&case.html, "grant-account", "ivan@example.org");
    let inv_rcpt = t.investigator.identity.as_ref().unwrap().to_public();
    let (status, page) = post_parts(
        &app,
        &t.officer,
        &format!("/officer/cases/{reference}/grants"),
        &[("csrf", &case.csrf), ("account", &ivan_id)],
        grant_parts(&case, &inv_rcpt),
    )
    .await;
    assert_eq!(status, 200, "granting the investigator: {page}");
    let inv_case = open_case(&app, &t.investigator, &reference).await;
    let officer_page = app
        .page(&t.officer.client, &format!("/officer/cases/{reference}"))
        .await;
    let oscar_id = option_value(&officer_page, "grant-account", "oscar@example.org");
    let grant_to_oscar = |who: &'static str| {
        let (person, csrf) = match who {
            "investigator" => (&t.investigator, inv_case.csrf.clone()),
            _ => (&t.officer, case.csrf.clone()),
        };
        let parts = grant_parts(&case, &oscar_rcpt);
        let (app, reference, oscar_id) = (&app, &reference, &oscar_id);
        async move {
            post_parts(
                app,
                person,
                &format!("/officer/cases/{reference}/grants"),
                &[("csrf", &csrf), ("account", oscar_id)],
                parts,
            )
            .await
        }
    };
    let (status, page) = grant_to_oscar("investigator").await;
    assert_eq!(status, 403, "investigator grant: {page}");
    assert_eq!(
        status_of(&oscar.client, format!("/officer/cases/{reference}")).await,
        403,
        "the refused grant gave oscar a key copy"
    );
    // ...as the very same grant made by an officer succeeds.
    let (status, page) = grant_to_oscar("officer").await;
    assert_eq!(status, 200, "the officer's identical grant: {page}");
    assert_eq!(
        status_of(&oscar.client, format!("/officer/cases/{reference}")).await,
        200
    );

    // Excluding a colleague deletes their key copy at once and blocks a later grant.
    let page = app
        .page(&t.officer.client, &format!("/officer/cases/{reference}"))
        .await;
    let exclude_id = page
        .split("id=\"exclude-account\"")
        .nth(1)
        .and_then(|s| {
            s.split("<option value=\"")
                .find(|o| o.contains("oscar@example.org"))
        })
        .and_then(|o| o.split('"').next())
        .expect("oscar can be excluded")
        .to_owned();
    let res = t
        .officer
        .client
        .post(app.url(&format!("/officer/cases/{reference}/exclude")))
        .form(&[
            ("csrf", case.csrf.as_str()),
            ("account", exclude_id.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    confirm_by_second_officer(&app, &t.admin, &reference, &exclude_id).await;
    assert_eq!(
        status_of(&oscar.client, format!("/officer/cases/{reference}")).await,
        403,
        "an excluded colleague still opens the case"
    );
    let (status, _) = post_parts(
        &app,
        &t.officer,
        &format!("/officer/cases/{reference}/grants"),
        &[("csrf", &case.csrf), ("account", &exclude_id)],
        grant_parts(&case, &oscar_rcpt),
    )
    .await;
    assert_eq!(status, 403, "an excluded colleague was granted access");

    // Disabling an account locks its open session out at once.
    let accounts = app.page(&t.admin.client, "/officer/admin/accounts").await;
    let row = accounts
        .split("data-account=\"ivan@example.org\"")
        .nth(1)
        .expect("row");
    let disable = row
        .split("action=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("disable form")
        .to_owned();
    assert!(disable.ends_with("/disable"));
    let res = t
        .admin
        .client
        .post(app.url(&disable))
        .form(&[("csrf", hidden(&accounts, "csrf").as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = t
        .investigator
        .client
        .get(app.url("/officer/cases"))
        .send()
        .await
        .unwrap();
    assert!(
        res.url().path().ends_with("/officer/login"),
        "disabled account still in"
    );
    let code = speakup::auth::code_at(&t.investigator.seed, {
        app.clock.advance(31);
        speakup::clock::Clock::now(app.clock.as_ref()).unix_timestamp()
    })
    .unwrap();
    let (status, _) = login_with(&app, &t.investigator, PASSWORD, &code).await;
    assert_eq!(status, 401, "disabled account logged in");
    app.finish().await;
}

async fn login_rules(backend: Backend) {
    let Some(app) = spawn_without_officer(backend).await else {
        return;
    };
    let link = admin_via_cli(&app, "admin@example.org").await;
    let admin = enroll(&app, &link, "admin@example.org", false).await;
    // An enrollment link works once.
    let again = app
        .browser()
        .get(app.url(&path_of(&link)))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 410);

    let now = || speakup::clock::Clock::now(app.clock.as_ref()).unix_timestamp();
    app.clock.advance(31);
    let code = speakup::auth::code_at(&admin.seed, now()).unwrap();
    // Wrong password with a right code: refused, and the code is not spent by it.
    let (status, page) = login_with(&app, &admin, "wrong password entirely", &code).await;
    assert_eq!(status, 401);
    assert!(page.contains("role=\"alert\""));
    let (status, _) = login_with(&app, &admin, PASSWORD, &code).await;
    assert_eq!(status, 200);
    // The same code a second time (replay) is refused, even with the right password.
    let fresh = Person {
        client: app.browser(),
        ..clone_person(&admin)
    };
    let (status, _) = login_with(&app, &fresh, PASSWORD, &code).await;
    assert_eq!(status, 401, "a TOTP code was accepted twice");
    // The password alone is never enough.
    let (status, _) = login_with(&app, &fresh, PASSWORD, "").await;
    assert_eq!(status, 401);

    // Idle timeout: 30 minutes without a request ends the session.
    assert!(
        app.page(&admin.client, "/officer/account")
            .await
            .contains("id=\"logout\"")
    );
    app.clock.advance(31 * 60);
    let res = admin
        .client
        .get(app.url("/officer/account"))
        .send()
        .await
        .unwrap();
    assert!(
        res.url().path().ends_with("/officer/login"),
        "idle session survived"
    );

    // Absolute timeout: 12 hours even with steady use.
    login(&app, &admin).await;
    for _ in 0..25 {
        app.clock.advance(29 * 60);
        let _ = admin
            .client
            .get(app.url("/officer/account"))
            .send()
            .await
            .unwrap();
    }
    let res = admin
        .client
        .get(app.url("/officer/account"))
        .send()
        .await
        .unwrap();
    assert!(
        res.url().path().ends_with("/officer/login"),
        "session outlived 12 hours"
    );

    // Five failures lock the account: then even the right password and code are refused.
    for _ in 0..5 {
        let (status, _) = login_with(&app, &fresh, "not the password at all", "000000").await;
        assert_eq!(status, 401);
    }
    app.clock.advance(31);
    let (status, _) = login_with(
        &app,
        &fresh,
        PASSWORD,
        &speakup::auth::code_at(&admin.seed, now()).unwrap(),
    )
    .await;
    assert_eq!(status, 401, "locked account logged in");
    app.clock.advance(16 * 60);
    login(&app, &fresh).await;

    // Logout ends the session on the server and tells the browser to forget everything.
    let page = app.page(&fresh.client, "/officer/account").await;
    let res = fresh
        .client
        .post(app.url("/officer/logout"))
        .form(&[("csrf", hidden(&page, "csrf").as_str())])
        .send()
        .await
        .unwrap();
    assert!(res.url().path().ends_with("/officer/login"));
    let res = fresh
        .client
        .get(app.url("/officer/account"))
        .send()
        .await
        .unwrap();
    assert!(res.url().path().ends_with("/officer/login"));

    // Every failure above is in the audit log (the first of a window in its own row, the
    // rest counted in the row that closes the window at the next sign-in), as are the logins.
    let by_reason = failed_sign_ins(&app).await;
    assert!(by_reason.values().sum::<i64>() >= 8, "{by_reason:?}");
    assert!(by_reason.contains_key("code already used"), "{by_reason:?}");
    app.finish().await;
}

fn clone_person(p: &Person) -> Person {
    Person {
        email: p.email.clone(),
        password: p.password.clone(),
        seed: p.seed.clone(),
        identity: None,
        client: p.client.clone(),
    }
}

async fn forged_and_malformed_posts(backend: Backend) {
    let Some(app) = spawn_without_officer(backend).await else {
        return;
    };
    let t = team(&app).await;
    let (status, _) = file_report(&app, &app.browser(), "en", &Report::default()).await;
    assert_eq!(status, 200);
    let reference = first_reference(&app, &t.officer).await;
    let case = open_case(&app, &t.officer, &reference).await;
    let id = app
        .store
        .case_by_reference(&reference)
        .await
        .unwrap()
        .unwrap()
        .id;
    let before = app.store.items(&id).await.unwrap().len();
    let path = format!("/officer/cases/{reference}/messages");
    let good = || encrypt(&case.to_both, b"hello");

    // A wrong CSRF token, and a request another site made.
    let (status, _) = post_parts(
        &app,
        &t.officer,
        &path,
        &[("csrf", "forged"), ("kind", "message")],
        vec![("message", good())],
    )
    .await;
    assert_eq!(status, 403);
    let res = t
        .officer
        .client
        .post(app.url(&path))
        .header("sec-fetch-site", "cross-site")
        .multipart(
            reqwest::multipart::Form::new()
                .text("csrf", case.csrf.clone())
                .text("kind", "message"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // Not age, a message only the case can read (the reporter could not), an oversized
    // part, and a file without its name: all refused.
    for parts in [
        vec![("message", b"plain text, not encrypted".to_vec())],
        vec![(
            "message",
            encrypt(std::slice::from_ref(&case.to_officers), b"x"),
        )],
        vec![
            ("message", good()),
            ("attachment", encrypt(&case.to_both, b"file")),
        ],
        vec![("message", vec![b'a'; 300 * 1024])],
    ] {
        let (status, _) = post_parts(
            &app,
            &t.officer,
            &path,
            &[("csrf", &case.csrf), ("kind", "message")],
            parts,
        )
        .await;
        assert!(
            (400..500).contains(&status),
            "accepted a bad message: {status}"
        );
    }
    // A status jump the workflow does not allow, and concluding without an outcome.
    for (next, outcome) in [("closed", ""), ("concluded", "")] {
        let (status, _) = post_parts(
            &app,
            &t.officer,
            &format!("/officer/cases/{reference}/status"),
            &[("csrf", &case.csrf), ("status", next), ("outcome", outcome)],
            vec![],
        )
        .await;
        assert_eq!(status, 400, "{next}");
    }
    assert_eq!(
        app.store.items(&id).await.unwrap().len(),
        before,
        "a refused post stored items"
    );
    let record = app
        .store
        .case_by_reference(&reference)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.status.as_str(), "received");
    app.finish().await;
}

async fn tampered_audit_log_is_detected(backend: Backend) {
    let Some(app) = spawn_without_officer(backend).await else {
        return;
    };
    let link = admin_via_cli(&app, "admin@example.org").await;
    let admin = enroll(&app, &link, "admin@example.org", false).await;
    login(&app, &admin).await;
    create_account(&app, &admin, "x@example.org", &["auditor"]).await;
    let ok = run_cli(&app, &["audit", "verify"]).await;
    assert!(ok.starts_with("audit log intact: 4 rows"), "{ok}");

    // Someone with database access softens an entry: the chain breaks at that row.
    let original = app.store.audit_rows(2, 1).await.unwrap()[0]
        .entry
        .detail
        .clone();
    assert_ne!(original, "nothing happened");
    let sql = "UPDATE audit_log SET detail = 'nothing happened' WHERE seq = 3";
    execute(&app, sql).await;
    assert_eq!(
        app.store.audit_rows(2, 1).await.unwrap()[0].entry.detail,
        "nothing happened",
        "the tampering did not reach row 3"
    );
    let err = try_cli(&app, &["audit", "verify"]).await.unwrap_err();
    assert!(err.contains("broken at row 3"), "{err}");
    // Putting the original text back restores the chain; deleting the newest row is
    // caught too.
    let restore = format!(
        "UPDATE audit_log SET detail = '{}' WHERE seq = 3",
        original.replace('\'', "''")
    );
    execute(&app, &restore).await;
    let ok = run_cli(&app, &["audit", "verify"]).await;
    assert!(ok.starts_with("audit log intact: 4 rows"), "{ok}");
    execute(&app, "DELETE FROM audit_log WHERE seq >= 3").await;
    let err = try_cli(&app, &["audit", "verify"]).await.unwrap_err();
    assert!(err.contains("broken at row 3"), "{err}");
    app.finish().await;
}

async fn execute(app: &TestApp, sql: &str) {
    match app.backend {
        Backend::Sqlite => {
            let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect(&app.database_url)
                .await
                .unwrap();
            sqlx::Executor::execute(&mut c, sqlx::AssertSqlSafe(sql.to_owned()))
                .await
                .unwrap();
        }
        Backend::Postgres => {
            let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&app.database_url)
                .await
                .unwrap();
            sqlx::Executor::execute(&mut c, sqlx::AssertSqlSafe(sql.to_owned()))
                .await
                .unwrap();
        }
    }
}

async fn admin_settings_reach_the_public_pages(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let link = admin_via_cli(&app, "admin@example.org").await;
    let admin = enroll(&app, &link, "admin@example.org", false).await;
    login(&app, &admin).await;
    let page = app.page(&admin.client, "/officer/admin/settings").await;
    let save = |categories: &str, escrow: &str| {
        let form = vec![
            ("csrf", hidden(&page, "csrf")),
            ("org_name", "Acme Rail".to_owned()),
            ("notice_en", "Call our hotline on weekdays.".to_owned()),
            ("notice_nl", "Bel onze meldlijn op weekdagen.".to_owned()),
            ("notice_fr", String::new()),
            ("notice_de", String::new()),
            ("categories", categories.to_owned()),
            ("escrow", escrow.to_owned()),
        ];
        let req = admin
            .client
            .post(app.url("/officer/admin/settings"))
            .form(&form);
        async move { req.send().await.unwrap() }
    };
    // Invalid input is refused and changes nothing.
    let res = save("Not A Code", "").await;
    assert_eq!(res.status(), 422);
    let res = save("fraud", "age1notakey").await;
    assert_eq!(res.status(), 422);
    assert!(!app.page(&app.browser(), "/").await.contains("Acme Rail"));

    let res = save("fraud\nsafety-rail | Rail safety | Spoorveiligheid", "").await;
    assert_eq!(res.status(), 200);
    let landing = app.page(&app.browser(), "/?lang=nl").await;
    assert!(landing.contains("Acme Rail") && landing.contains("Bel onze meldlijn"));
    let form = app.page(&app.browser(), "/report?lang=nl").await;
    assert!(form.contains("Spoorveiligheid"));
    assert!(
        !form.contains("value=\"harassment\""),
        "removed category still offered"
    );
    let report = Report {
        category: "safety-rail",
        ..Default::default()
    };
    let (status, _) = file_report(&app, &app.browser(), "en", &report).await;
    assert_eq!(status, 200);
    let rows = app.store.audit_rows(0, 1000).await.unwrap();
    assert!(rows.iter().any(|r| r.entry.action == "settings_changed"));
    app.finish().await;
}

async fn retention_deletes_closed_cases(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = app.browser();
    let with_file = Report {
        files: vec![("a.txt".into(), b"evidence".to_vec())],
        ..Default::default()
    };
    for _ in 0..3 {
        let (status, _) = file_report(&app, &client, "en", &with_file).await;
        assert_eq!(status, 200);
    }
    let cases = app.store.cases().await.unwrap();
    let today = speakup::clock::Clock::today(app.clock.as_ref());
    let close = |id: speakup::domain::holder::CaseId, on: time::Date| {
        let store = app.store.clone();
        async move {
            let update = speakup::store::CaseUpdate {
                event: Some(speakup::store::NewEvent {
                    at: 0,
                    actor: "x".into(),
                    status: speakup::domain::case::CaseStatus::Closed,
                    outcome: None,
                    reason: None,
                }),
                closed_on: Some(on),
                ..Default::default()
            };
            let audit = speakup::domain::audit::AuditEntry::new(0, "x", "status_changed", "", "");
            store.update_case(&id, &update, &[audit]).await.unwrap();
        }
    };
    // One closed 13 months ago, one closed a month ago, one still open.
    close(cases[0].id.clone(), today - time::Duration::days(400)).await;
    close(cases[1].id.clone(), today - time::Duration::days(30)).await;
    let now = speakup::clock::Clock::now(app.clock.as_ref());
    assert_eq!(
        speakup::app::retention::apply(app.store.as_ref(), &retention_months(0), today, now)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        speakup::app::retention::apply(app.store.as_ref(), &retention_months(12), today, now)
            .await
            .unwrap(),
        1
    );
    let left: Vec<speakup::domain::holder::CaseId> = app
        .store
        .cases()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(left, vec![cases[1].id.clone(), cases[2].id.clone()]);
    // Its ciphertext went with it: no item, envelope or chunk of it is left.
    assert!(app.store.items(&cases[0].id).await.unwrap().is_empty());
    assert!(app.store.envelopes(&cases[0].id).await.unwrap().is_empty());
    for c in &cases[1..] {
        for i in app.store.items(&c.id).await.unwrap() {
            assert!(app.store.chunk(&i.blob_id, 0).await.unwrap().is_some());
        }
    }
    let row = app.store.audit_rows(0, 100).await.unwrap().pop().unwrap();
    assert_eq!(row.entry.action, "case_deleted");
    assert_eq!(row.entry.case_ref, cases[0].reference);
    let verdict = run_cli(&app, &["audit", "verify"]).await;
    assert!(verdict.starts_with("audit log intact"));
    app.finish().await;
}

async fn a_replaced_key_gets_a_fresh_copy(backend: Backend) {
    let Some(app) = spawn_without_officer(backend).await else {
        return;
    };
    let t = team(&app).await;
    let second = create_account(&app, &t.admin, "oscar@example.org", &["officer"]).await;
    enroll(&app, &second, "oscar@example.org", true).await;
    let (status, _) = file_report(&app, &app.browser(), "en", &Report::default()).await;
    assert_eq!(status, 200);
    let reference = first_reference(&app, &t.officer).await;

    // Oscar lost his key: a reset and a new enrollment give him a new one.
    let accounts = app.page(&t.admin.client, "/officer/admin/accounts").await;
    let row = accounts
        .split("data-account=\"oscar@example.org\"")
        .nth(1)
        .unwrap();
    let reset = row
        .split("action=\"")
        .nth(2)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    assert!(reset.ends_with("/reset"), "{reset}");
    let res = t
        .admin
        .client
        .post(app.url(&reset))
        .form(&[("csrf", hidden(&accounts, "csrf").as_str())])
        .send()
        .await
        .unwrap();
    let page = res.text().await.unwrap();
    let link = page
        .split("id=\"enrollment-link\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap()
        .to_owned();
    let oscar = enroll(&app, &link, "oscar@example.org", true).await;
    login(&app, &oscar).await;
    let res = oscar
        .client
        .get(app.url(&format!("/officer/cases/{reference}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "a copy sealed to the old key opened");

    // A colleague seals a fresh copy to his new key.
    let case = open_case(&app, &t.officer, &reference).await;
    let grant_form = &case.html[case.html.find("id=\"grant-account\"").unwrap()..];
    let option = grant_form
        .split("<option ")
        .find(|o| o.contains("oscar@example.org"))
        .expect("oscar can be given a fresh copy");
    let id = option
        .split("value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let (status, _) = post_parts(
        &app,
        &t.officer,
        &format!("/officer/cases/{reference}/grants"),
        &[("csrf", &case.csrf), ("account", id)],
        grant_parts(&case, &oscar.identity.as_ref().unwrap().to_public()),
    )
    .await;
    assert_eq!(status, 200);
    let view = open_case(&app, &oscar, &reference).await;
    assert!(!view.html.is_empty());
    app.finish().await;
}

on_both_databases!(
    a_replaced_key_gets_a_fresh_copy,
    retention_deletes_closed_cases,
    admin_settings_reach_the_public_pages,
    case_workflow,
    role_boundaries,
    login_rules,
    forged_and_malformed_posts,
    tampered_audit_log_is_detected
);
