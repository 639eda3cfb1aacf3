//! Officers and admins cannot undermine sign-in or each other, on both databases: concurrent
//! wrong codes cannot outrun the account lock, a burst of logins leaves the server
//! answering, an admin's reset clears the kept key (and the person is told), and a "grant"
//! cannot overwrite a colleague's working copy of a case key.

use speakup_tests::officer::*;
use speakup_tests::speakup::clock::Clock;
use speakup_tests::*;

/// A code for the current step that is certainly not the right one.
fn wrong_code(app: &TestApp, seed: &[u8]) -> String {
    let right = speakup::auth::code_at(seed, app.clock.now().unix_timestamp()).expect("code");
    let first = (right.as_bytes()[0] - b'0' + 1) % 10;
    format!("{first}{}", &right[1..])
}

async fn post_login(app: &TestApp, csrf: &str, email: &str, password: &str, code: &str) -> u16 {
    app.browser()
        .post(app.url("/officer/login"))
        .form(&[
            ("csrf", csrf),
            ("email", email),
            ("password", password),
            ("code", code),
        ])
        .send()
        .await
        .expect("login")
        .status()
        .as_u16()
}

async fn concurrent_wrong_codes_cannot_outrun_the_lock(backend: Backend) {
    let Some(app) = spawn_without_officer(backend).await else {
        return;
    };
    let link = admin_via_cli(&app, "admin@example.org").await;
    let admin = enroll(&app, &link, "admin@example.org", false).await;
    app.clock.advance(31);
    let page = app.page(&app.browser(), "/officer/login").await;
    let csrf = hidden(&page, "csrf");
    let code = wrong_code(&app, &admin.seed);
    let attempts = (0..40).map(|_| post_login(&app, &csrf, &admin.email, PASSWORD, &code));
    let statuses = futures_util::future::join_all(attempts).await;
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    let now = app.clock.now().unix_timestamp();
    let until = app
        .scalar("SELECT locked_until FROM officers WHERE email = 'admin@example.org'")
        .await;
    assert!(until > now, "account not locked");
    // The right password with a fresh, right code is refused while the lock lasts.
    let (status, _) = login_with(&app, &admin, PASSWORD, &fresh_code(&app, &admin)).await;
    assert_eq!(status, 401, "signed in while locked");
    // Once the lock is over, the sign-in succeeds and closes the window of failures, whose
    // row counts them by reason (docs/audit.md, "Failed sign-ins").
    app.clock.advance(16 * 60);
    login(&app, &admin).await;
    let by_reason = failed_sign_ins(&app).await;
    let count = |why: &str| by_reason.get(why).copied().unwrap_or(0);
    let evaluated = count("wrong code");
    assert!(
        evaluated <= 5,
        "{evaluated} attempts were evaluated: {by_reason:?}"
    );
    let refused = count("account locked after repeated failures")
        + count("too many attempts from this address");
    assert_eq!(evaluated + refused, 41, "{by_reason:?}");
    app.finish().await;
}

fn fresh_code(app: &TestApp, p: &Person) -> String {
    app.clock.advance(31);
    speakup::auth::code_at(&p.seed, app.clock.now().unix_timestamp()).expect("code")
}

async fn health_answers_during_a_login_burst(backend: Backend) {
    let Some(app) = spawn_without_officer(backend).await else {
        return;
    };
    let page = app.page(&app.browser(), "/officer/login").await;
    let csrf = hidden(&page, "csrf");
    let logins = futures_util::future::join_all((0..64).map(|i| {
        let email = format!("nobody{i}@example.org");
        let csrf = csrf.clone();
        let app = &app;
        async move { post_login(app, &csrf, &email, "some guessed password", "123456").await }
    }));
    let health = async {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        app.browser()
            .get(app.url("/healthz"))
            .timeout(std::time::Duration::from_secs(30))
            .send()
            .await
            .map(|r| r.status().as_u16())
    };
    let (statuses, health) = tokio::join!(logins, health);
    assert_eq!(health.ok(), Some(200), "/healthz did not answer");
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    app.finish().await;
}

/// Enrolls through a link with the given key and wrapped key, as the browser would.
async fn enroll_raw(app: &TestApp, link: &str, recipient: &str, wrapped: &str) -> (u16, String) {
    let client = app.browser();
    let path = path_of(link);
    let page = app.page(&client, &path).await;
    let secret: String = page
        .split("id=\"totp-secret\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .expect("secret")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let seed = totp_rs::Secret::try_from_base32(&secret)
        .expect("seed")
        .to_vec();
    app.clock.advance(31);
    let code = speakup::auth::code_at(&seed, app.clock.now().unix_timestamp()).expect("code");
    let res = client
        .post(app.url(&path))
        .form(&[
            ("csrf", hidden(&page, "csrf").as_str()),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
            ("code", code.as_str()),
            ("recipient", recipient),
            ("wrapped_identity", wrapped),
        ])
        .send()
        .await
        .expect("enroll");
    (res.status().as_u16(), res.text().await.expect("body"))
}

async fn reset_link(app: &TestApp, admin: &Person, email: &str) -> String {
    let accounts = app.page(&admin.client, "/officer/admin/accounts").await;
    let id = app
        .store
        .officers()
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.email == email)
        .expect("account")
        .id;
    let res = admin
        .client
        .post(app.url(&format!("/officer/admin/accounts/{id}/reset")))
        .form(&[("csrf", hidden(&accounts, "csrf").as_str())])
        .send()
        .await
        .unwrap();
    let page = res.text().await.unwrap();
    page.split("id=\"enrollment-link\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap_or_else(|| panic!("no link: {page}"))
        .to_owned()
}

const WRAPPED: &str = "-----BEGIN AGE ENCRYPTED FILE-----\nYWdlLWVuY3J5cHRpb24ub3JnL3YxCg==\n-----END AGE ENCRYPTED FILE-----";

async fn a_reset_clears_the_kept_key(backend: Backend) {
    let Some(app) = spawn_without_officer(backend).await else {
        return;
    };
    let link = admin_via_cli(&app, "admin@example.org").await;
    let admin = enroll(&app, &link, "admin@example.org", false).await;
    login(&app, &admin).await;
    let first = create_account(&app, &admin, "olga@example.org", &["officer"]).await;
    let old = age::x25519::Identity::generate().to_public().to_string();
    let (status, body) = enroll_raw(&app, &first, &old, WRAPPED).await;
    assert_eq!(status, 200, "{body}");
    let kept = "SELECT COUNT(*) FROM officers WHERE wrapped_identity IS NOT NULL";
    assert_eq!(app.scalar(kept).await, 1);

    // The admin resets Olga: the wrapped key and the registered key are gone at once.
    let link = reset_link(&app, &admin, "olga@example.org").await;
    assert_eq!(
        app.scalar(kept).await,
        0,
        "the wrapped key survived the reset"
    );
    let keyless =
        "SELECT COUNT(*) FROM officers WHERE email = 'olga@example.org' AND recipient = ''";
    assert_eq!(app.scalar(keyless).await, 1, "the old recipient survived");
    // Enrolling through the new link "keeping the key" is refused: a new key is required.
    let (status, body) = enroll_raw(&app, &link, "", "").await;
    assert!(
        body.contains("Your role needs an encryption key"),
        "{status}: {body}"
    );
    assert_eq!(app.scalar(keyless).await, 1, "enrolled without a key");
    let olga = enroll(&app, &link, "olga@example.org", true).await;
    let new = olga.identity.as_ref().unwrap().to_public().to_string();

    // Nothing to download, and a new case is sealed to the new key only.
    let first_page = login(&app, &olga).await;
    assert!(first_page.contains("id=\"reset-notice\""), "{first_page}");
    let res = olga
        .client
        .get(app.url("/officer/key/wrapped"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let (status, _) = file_report(&app, &app.browser(), "en", &Report::default()).await;
    assert_eq!(status, 200);
    let case = app.store.cases().await.unwrap().pop().expect("a case");
    let recipients: Vec<String> = app
        .store
        .envelopes(&case.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.recipient)
        .collect();
    assert!(recipients.contains(&new), "{recipients:?}");
    assert!(
        !recipients.contains(&old),
        "sealed to the kept key: {recipients:?}"
    );
    // The notice is shown once.
    let again = login(&app, &olga).await;
    assert!(!again.contains("id=\"reset-notice\""));
    app.finish().await;
}

async fn a_grant_cannot_overwrite_a_working_copy(backend: Backend) {
    let Some(app) = spawn_without_officer(backend).await else {
        return;
    };
    let link = admin_via_cli(&app, "admin@example.org").await;
    let admin = enroll(&app, &link, "admin@example.org", false).await;
    login(&app, &admin).await;
    let a = create_account(&app, &admin, "olga@example.org", &["officer"]).await;
    let b = create_account(&app, &admin, "oscar@example.org", &["officer"]).await;
    let olga = enroll(&app, &a, "olga@example.org", true).await;
    let oscar = enroll(&app, &b, "oscar@example.org", true).await;
    login(&app, &olga).await;
    login(&app, &oscar).await;
    let (status, _) = file_report(&app, &app.browser(), "en", &Report::default()).await;
    assert_eq!(status, 200);
    let reference = first_reference(&app, &olga).await;
    let case = app
        .store
        .case_by_reference(&reference)
        .await
        .unwrap()
        .unwrap();
    let oscar_id = app
        .store
        .officers()
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.email == "oscar@example.org")
        .unwrap()
        .id;
    let copy_of_oscar = || async {
        app.store
            .envelopes(&case.id)
            .await
            .unwrap()
            .into_iter()
            .find(|e| e.holder.is_officer(&oscar_id))
            .map(|e| (e.recipient, e.envelope))
    };
    let before = copy_of_oscar().await.expect("oscar holds a copy");

    // Olga "grants" Oscar an envelope that opens nothing.
    let view = open_case(&app, &olga, &reference).await;
    let junk = encrypt(
        &[age::x25519::Identity::generate().to_public()],
        b"not the case key",
    );
    let (status, _) = post_parts(
        &app,
        &olga,
        &format!("/officer/cases/{reference}/grants"),
        &[("csrf", &view.csrf), ("account", oscar_id.as_str())],
        vec![("envelope", junk)],
    )
    .await;
    assert!(status == 403 || status == 400, "grant accepted: {status}");
    assert_eq!(copy_of_oscar().await, Some(before), "oscar's copy changed");
    open_case(&app, &oscar, &reference).await;
    let granted = "SELECT COUNT(*) FROM audit_log WHERE action = 'access_granted'";
    assert_eq!(app.scalar(granted).await, 0);
    app.finish().await;
}

async fn post_form(app: &TestApp, p: &Person, path: &str, account: &str) -> u16 {
    let page = app.page(&p.client, "/officer/account").await;
    p.client
        .post(app.url(path))
        .form(&[
            ("csrf", hidden(&page, "csrf").as_str()),
            ("account", account),
        ])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn an_exclusion_needs_a_second_officer(backend: Backend) {
    let Some(app) = spawn_without_officer(backend).await else {
        return;
    };
    let link = admin_via_cli(&app, "admin@example.org").await;
    let admin = enroll(&app, &link, "admin@example.org", false).await;
    login(&app, &admin).await;
    let mut people = Vec::new();
    for email in ["olga@example.org", "oscar@example.org", "otto@example.org"] {
        let link = create_account(&app, &admin, email, &["officer"]).await;
        let p = enroll(&app, &link, email, true).await;
        login(&app, &p).await;
        people.push(p);
    }
    let (olga, oscar, otto) = (&people[0], &people[1], &people[2]);
    let (status, _) = file_report(&app, &app.browser(), "en", &Report::default()).await;
    assert_eq!(status, 200);
    let reference = first_reference(&app, olga).await;
    let oscar_id = app
        .store
        .officers()
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.email == "oscar@example.org")
        .unwrap()
        .id;
    let case_of = |p: &Person| {
        let c = p.client.clone();
        let url = app.url(&format!("/officer/cases/{reference}"));
        async move { c.get(url).send().await.unwrap().status().as_u16() }
    };
    let path = |what: &str| format!("/officer/cases/{reference}/{what}");

    // Olga proposes: Oscar still opens the case, and Olga cannot confirm her own proposal.
    assert_eq!(
        post_form(&app, olga, &path("exclude"), oscar_id.as_str()).await,
        200
    );
    assert_eq!(
        case_of(oscar).await,
        200,
        "the exclusion took effect unconfirmed"
    );
    let page = app.page(&otto.client, path("").trim_end_matches('/')).await;
    assert!(page.contains("id=\"pending-exclusions\""), "{page}");
    let confirm = path("exclude/confirm");
    assert_eq!(
        post_form(&app, olga, &confirm, oscar_id.as_str()).await,
        403
    );
    assert_eq!(case_of(oscar).await, 200, "the proposer confirmed alone");
    // Otto confirms: now Oscar's copy is gone and no grant gets it back.
    assert_eq!(
        post_form(&app, otto, &confirm, oscar_id.as_str()).await,
        200
    );
    assert_eq!(
        case_of(oscar).await,
        403,
        "a confirmed exclusion did not take effect"
    );
    let copies = app
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
    assert!(!copies.iter().any(|e| e.holder.is_officer(&oscar_id)));
    // The proposer cannot lift it; a different officer can.
    let lift = path("exclude/lift");
    assert_eq!(post_form(&app, olga, &lift, oscar_id.as_str()).await, 403);
    assert_eq!(post_form(&app, otto, &lift, oscar_id.as_str()).await, 200);
    let excluded = "SELECT COUNT(*) FROM case_access WHERE kind = 'exclusion'";
    assert_eq!(
        app.scalar(excluded).await,
        0,
        "the exclusion was not lifted"
    );
    // The audit log names each step plainly.
    for action in [
        "exclusion_proposed",
        "exclusion_confirmed",
        "exclusion_lifted",
    ] {
        let sql = format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = '{action}' \
             AND detail = 'oscar@example.org' AND case_ref = '{reference}'"
        );
        assert_eq!(app.scalar(&sql).await, 1, "{action}");
    }
    app.finish().await;
}

on_both_databases!(
    an_exclusion_needs_a_second_officer,
    concurrent_wrong_codes_cannot_outrun_the_lock,
    health_answers_during_a_login_burst,
    a_reset_clears_the_kept_key,
    a_grant_cannot_overwrite_a_working_copy,
);
