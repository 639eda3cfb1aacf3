//! Routing before sealing (issue 12), on both databases: a category routed to a triage group
//! is sealed only to that group's officers, on the server path and the browser path (every
//! envelope of every case checked); the reporter's leave-outs, with and without JavaScript,
//! leave those officers without an envelope and excluded (no grant until an auditor lifts
//! it); bad leave-outs get a clear error in the reporter's language and store nothing; the
//! landing page says who reads a report.

use age::x25519::Recipient;
use speakup_tests::officer::*;
use speakup_tests::sealed::{self, SealedReport, key_holders};
use speakup_tests::*;

struct World {
    app: TestApp,
    admin: Person,
    olga: Person,
    oscar: Person,
    otto: Person,
    audrey: Person,
}

async fn world(backend: Backend) -> Option<World> {
    let app = spawn_without_officer(backend).await?;
    let link = admin_via_cli(&app, "admin@example.org").await;
    let admin = enroll(&app, &link, "admin@example.org", false).await;
    login(&app, &admin).await;
    let mut people = Vec::new();
    for (email, role) in [
        ("olga@example.org", "officer"),
        ("oscar@example.org", "officer"),
        ("otto@example.org", "officer"),
        ("audrey@example.org", "auditor"),
    ] {
        let link = create_account(&app, &admin, email, &[role]).await;
        let p = enroll(&app, &link, email, role == "officer").await;
        login(&app, &p).await;
        people.push(p);
    }
    let audrey = people.pop()?;
    let otto = people.pop()?;
    let oscar = people.pop()?;
    let olga = people.pop()?;
    Some(World {
        app,
        admin,
        olga,
        oscar,
        otto,
        audrey,
    })
}

async fn id_of(app: &TestApp, email: &str) -> String {
    app.store
        .officers()
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.email == email)
        .unwrap()
        .id
        .to_string()
}

/// The textarea's text as the browser would submit it.
fn textarea(html: &str, id: &str) -> String {
    let start = html.find(&format!("id=\"{id}\"")).expect("textarea");
    let body = &html[start..];
    let body = &body[body.find('>').unwrap() + 1..];
    html_unescape(&body[..body.find("</textarea>").unwrap()]).replace("&#x7c;", "|")
}

/// Saves the settings page as shown, with `extra` fields added (routes, the leave-out box).
async fn save_settings(app: &TestApp, admin: &Person, extra: &[(&str, &str)]) -> (u16, String) {
    let page = app.page(&admin.client, "/officer/admin/settings").await;
    let mut form = vec![
        ("csrf".to_owned(), hidden(&page, "csrf")),
        (
            "org_name".to_owned(),
            attr(&page, "id=\"org-name\"", "value"),
        ),
        ("categories".to_owned(), textarea(&page, "categories")),
        ("retention_months".to_owned(), "0".to_owned()),
    ];
    for (k, v) in extra {
        form.push(((*k).to_owned(), (*v).to_owned()));
    }
    let res = admin
        .client
        .post(app.url("/officer/admin/settings"))
        .form(&form)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// The holders of every envelope of the case, as stored (`officer:<id>`, `escrow`).
async fn holders_of(app: &TestApp, reference: &str) -> Vec<String> {
    let case = app
        .store
        .case_by_reference(reference)
        .await
        .unwrap()
        .expect("case");
    let mut h: Vec<String> = app
        .store
        .envelopes(&case.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.holder.to_db())
        .collect();
    h.sort();
    h
}

fn officers(ids: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|id| format!("officer:{id}")).collect();
    v.sort();
    v
}

/// The reference on a receipt page.
fn reference_in(page: &str) -> String {
    let start = page.find("SU-").expect("a reference on the receipt page");
    page[start..start + 12].to_owned()
}

/// Files a report on the server path with these leave-outs; status and page.
async fn file_plain(
    app: &TestApp,
    lang: &str,
    category: &str,
    leave_out: &[&str],
) -> (u16, String) {
    let client = app.browser();
    let page = app.page(&client, &format!("/report?lang={lang}")).await;
    let report = Report {
        category,
        ..Report::default()
    };
    let mut form = report.form(&hidden(&page, "csrf"));
    for id in leave_out {
        form = form.text("leave_out", (*id).to_owned());
    }
    let res = client
        .post(app.url(&format!("/report?lang={lang}")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// The browser path, done here as the script does: seals to `to` (holders as stored) and
/// sends `leave_out`.
async fn file_sealed(
    app: &TestApp,
    category: &str,
    to: &[(String, Recipient)],
    leave_out: &str,
) -> u16 {
    let client = app.browser();
    let page = app.page(&client, "/report?lang=en").await;
    let report = SealedReport {
        category: category.to_owned(),
        leave_out: if leave_out.is_empty() {
            Vec::new()
        } else {
            vec![leave_out.to_owned()]
        },
        ..SealedReport::to(to.to_vec())
    };
    let res = client
        .post(app.url("/report/sealed?lang=en"))
        .multipart(report.form(&hidden(&page, "csrf")))
        .send()
        .await
        .unwrap();
    res.status().as_u16()
}

/// `script#intake-keys` of the report form: every holder, and the routes.
async fn intake_keys(app: &TestApp) -> serde_json::Value {
    sealed::intake_keys(&app.page(&app.browser(), "/report?lang=en").await)
}

fn keys_for(keys: &serde_json::Value, holders: &[String]) -> Vec<(String, Recipient)> {
    key_holders(keys)
        .into_iter()
        .filter(|(h, _)| holders.contains(h))
        .collect()
}

async fn a_routed_category_is_sealed_to_its_group_only(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let app = &w.app;
    let (olga, oscar, otto) = (
        id_of(app, "olga@example.org").await,
        id_of(app, "oscar@example.org").await,
        id_of(app, "otto@example.org").await,
    );
    // The CLI makes the group; only accounts with the officer role may join it.
    run_cli(app, &["group", "add", "--name", "HR compliance"]).await;
    assert!(
        try_cli(app, &["group", "add", "--name", "HR compliance"])
            .await
            .is_err()
    );
    let no = try_cli(
        app,
        &[
            "group",
            "member",
            "--group",
            "HR compliance",
            "--officer",
            "audrey@example.org",
        ],
    );
    assert!(no.await.is_err(), "an auditor joined a triage group");
    run_cli(
        app,
        &[
            "group",
            "member",
            "--group",
            "HR compliance",
            "--officer",
            "otto@example.org",
        ],
    )
    .await;
    let listed = run_cli(app, &["group", "list"]).await;
    assert!(
        listed.contains("HR compliance\totto@example.org"),
        "{listed}"
    );
    // The admin page makes another group; a route to a group without members is refused.
    let page = app.page(&w.admin.client, "/officer/admin/groups").await;
    let res = w
        .admin
        .client
        .post(app.url("/officer/admin/groups"))
        .form(&[("csrf", hidden(&page, "csrf").as_str()), ("name", "Empty")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (status, body) = save_settings(app, &w.admin, &[("route_harassment", "Empty")]).await;
    assert_eq!(status, 422, "a route to an empty group was saved");
    assert!(body.contains("at least one member"), "{body}");
    let (status, _) = save_settings(app, &w.admin, &[("route_harassment", "HR compliance")]).await;
    assert_eq!(status, 200);

    // The server path: harassment reaches Otto alone; fraud reaches all three.
    let (status, page) = file_plain(app, "en", "harassment", &[]).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        holders_of(app, &reference_in(&page)).await,
        officers(&[&otto])
    );
    let (status, page) = file_plain(app, "en", "fraud", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(
        holders_of(app, &reference_in(&page)).await,
        officers(&[&olga, &oscar, &otto])
    );

    // The browser path: the form tells the browser the route; the server wants exactly it.
    let keys = intake_keys(app).await;
    assert_eq!(
        keys["routes"]["harassment"],
        serde_json::json!([format!("officer:{otto}")])
    );
    let everyone = keys_for(&keys, &officers(&[&olga, &oscar, &otto]));
    let cases = app.scalar("SELECT COUNT(*) FROM cases").await;
    assert_eq!(file_sealed(app, "harassment", &everyone, "").await, 400);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM cases").await,
        cases,
        "a refused report was stored"
    );
    let group = keys_for(&keys, &officers(&[&otto]));
    assert_eq!(file_sealed(app, "harassment", &group, "").await, 200);
    // Every harassment case: Otto's envelope only.
    for case in app.store.cases().await.unwrap() {
        let want = if case.category == "harassment" {
            officers(&[&otto])
        } else {
            officers(&[&olga, &oscar, &otto])
        };
        assert_eq!(
            holders_of(app, &case.reference).await,
            want,
            "{}",
            case.category
        );
    }
    // Olga, outside the group, cannot open a harassment case.
    let harassment = app
        .store
        .cases()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.category == "harassment")
        .unwrap();
    let res = w
        .olga
        .client
        .get(app.url(&format!("/officer/cases/{}", harassment.reference)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // Otto, in the group, opens it with his own copy.
    open_case(app, &w.otto, &harassment.reference).await;

    // The landing page names the role and the group (no names: the setting is off).
    let landing = app.page(&app.browser(), "/?lang=en").await;
    assert!(
        landing.contains("Reports are read by our compliance officers."),
        "{landing}"
    );
    assert!(
        landing.contains("read only by the group HR compliance."),
        "{landing}"
    );
    assert!(
        !landing.contains("Name of otto@example.org"),
        "names shown while off"
    );
    let nl = app.page(&app.browser(), "/?lang=nl").await;
    assert!(
        nl.contains("alleen gelezen door de groep HR compliance"),
        "{nl}"
    );
    // Audited: the group, its member (by the CLI) and the routes in the settings row.
    for (action, actor) in [
        ("triage_group_added", "cli"),
        ("triage_group_member_added", "cli"),
        ("triage_group_added", "admin@example.org"),
    ] {
        let sql = format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = '{action}' AND actor = '{actor}'"
        );
        assert_eq!(app.scalar(&sql).await, 1, "{action} by {actor}");
    }
    let sql = "SELECT COUNT(*) FROM audit_log WHERE action = 'settings_changed' \
               AND detail LIKE '%harassment routed to HR compliance%'";
    assert_eq!(app.scalar(sql).await, 1);
    w.app.finish().await;
}

async fn a_reporter_leaves_officers_out(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let app = &w.app;
    let (olga, oscar, otto) = (
        id_of(app, "olga@example.org").await,
        id_of(app, "oscar@example.org").await,
        id_of(app, "otto@example.org").await,
    );
    // Off by default: no names, no choice, and a forged leave-out is refused.
    let form = app.page(&app.browser(), "/report?lang=en").await;
    assert!(!form.contains("id=\"leave-out\""));
    let cases = app.scalar("SELECT COUNT(*) FROM cases").await;
    let (status, page) = file_plain(app, "en", "fraud", &[&oscar]).await;
    assert_eq!(status, 422);
    assert!(
        page.contains("Leaving people out is not offered here"),
        "{page}"
    );
    assert!(
        page.contains("Invoices are paid twice"),
        "the report was lost: {page}"
    );
    let (status, _) = save_settings(app, &w.admin, &[("reporter_leave_out", "on")]).await;
    assert_eq!(status, 200);
    let form = app.page(&app.browser(), "/report?lang=en").await;
    assert!(
        form.contains(&format!("id=\"leave-out-{oscar}\"")),
        "{form}"
    );
    let landing = app.page(&app.browser(), "/?lang=en").await;
    assert!(landing.contains("Name of oscar@example.org"), "{landing}");
    let sql = "SELECT COUNT(*) FROM audit_log WHERE action = 'settings_changed' \
               AND detail LIKE '%, reporter leave-outs on'";
    assert_eq!(app.scalar(sql).await, 1);

    // Bad leave-outs: a clear error in the reporter's language, nothing stored.
    let (status, page) = file_plain(app, "en", "fraud", &[&olga, &oscar, &otto]).await;
    assert_eq!(status, 422);
    assert!(page.contains("at most two people"), "{page}");
    let (status, page) = file_plain(app, "nl", "fraud", &[&olga, &oscar, &otto]).await;
    assert_eq!(status, 422);
    assert!(page.contains("hoogstens twee mensen"), "{page}");
    let (status, page) = file_plain(app, "fr", "fraud", &["not-an-officer"]).await;
    assert_eq!(status, 422);
    assert!(page.contains("ne peut plus recevoir"), "{page}");
    run_cli(app, &["group", "add", "--name", "HR"]).await;
    run_cli(
        app,
        &[
            "group",
            "member",
            "--group",
            "HR",
            "--officer",
            "otto@example.org",
        ],
    )
    .await;
    let (status, _) = save_settings(
        app,
        &w.admin,
        &[("reporter_leave_out", "on"), ("route_harassment", "HR")],
    )
    .await;
    assert_eq!(status, 200);
    let (status, page) = file_plain(app, "de", "harassment", &[&otto]).await;
    assert_eq!(status, 422);
    assert!(page.contains("Sie haben alle ausgeschlossen"), "{page}");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM cases").await,
        cases,
        "a refused report was stored"
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM case_access").await, 0);

    // Without JavaScript: Oscar left out holds no envelope and is excluded, by day only.
    let (status, page) = file_plain(app, "en", "fraud", &[&oscar]).await;
    assert_eq!(status, 200, "{page}");
    let plain = reference_in(&page);
    assert_eq!(holders_of(app, &plain).await, officers(&[&olga, &otto]));
    // With JavaScript (as the script seals): the same.
    let keys = intake_keys(app).await;
    let everyone = keys_for(&keys, &officers(&[&olga, &oscar, &otto]));
    assert_eq!(
        file_sealed(app, "fraud", &everyone, &oscar).await,
        400,
        "an envelope for someone left out"
    );
    let to = keys_for(&keys, &officers(&[&olga, &otto]));
    assert_eq!(file_sealed(app, "fraud", &to, &oscar).await, 200);
    let sealed = app
        .store
        .cases()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.reference != plain)
        .unwrap()
        .reference;
    assert_eq!(holders_of(app, &sealed).await, officers(&[&olga, &otto]));
    let sql = format!(
        "SELECT COUNT(*) FROM case_access WHERE officer_id = '{oscar}' AND kind = 'exclusion' \
         AND by_officer = 'reporter' AND at % 86400 = 0"
    );
    assert_eq!(
        app.scalar(&sql).await,
        2,
        "each case records the leave-out, by day"
    );
    let queued = "SELECT COUNT(*) FROM audit_pending WHERE action = 'officers_left_out'";
    assert_eq!(app.scalar(queued).await, 2);

    // Oscar cannot open it; Olga can neither grant him nor lift the reporter's exclusion.
    let res = w
        .oscar
        .client
        .get(app.url(&format!("/officer/cases/{plain}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let view = open_case(app, &w.olga, &plain).await;
    assert!(
        view.html.contains("left out by the reporter"),
        "{}",
        view.html
    );
    assert!(
        !view.html.contains("/exclude/lift"),
        "officers are offered to lift a leave-out"
    );
    let oscar_key: Recipient = w.oscar.identity.as_ref().unwrap().to_public();
    let grant = format!("/officer/cases/{plain}/grants");
    let fields = [("csrf", view.csrf.as_str()), ("account", oscar.as_str())];
    let (status, _) = post_parts(
        app,
        &w.olga,
        &grant,
        &fields,
        grant_parts(&view, &oscar_key),
    )
    .await;
    assert_eq!(status, 403, "a left-out officer was granted");
    let res = w
        .olga
        .client
        .post(app.url(&format!("/officer/cases/{plain}/exclude/lift")))
        .form(&[("csrf", view.csrf.as_str()), ("account", oscar.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        403,
        "an officer lifted a reporter's leave-out"
    );
    assert_eq!(holders_of(app, &plain).await, officers(&[&olga, &otto]));

    // An auditor sees it and lifts it; then a grant works and Oscar opens the case.
    let list = app
        .page(&w.audrey.client, "/officer/audit/leave-outs")
        .await;
    assert!(
        list.contains(&plain) && list.contains("oscar@example.org"),
        "{list}"
    );
    let denied = app.page(&w.olga.client, "/officer/audit/leave-outs").await;
    assert!(!denied.contains("id=\"leave-outs\""));
    let res = w
        .audrey
        .client
        .post(app.url("/officer/audit/leave-outs/lift"))
        .form(&[
            ("csrf", hidden(&list, "csrf").as_str()),
            ("case", plain.as_str()),
            ("account", oscar.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let view = open_case(app, &w.olga, &plain).await;
    let fields = [("csrf", view.csrf.as_str()), ("account", oscar.as_str())];
    let (status, body) = post_parts(
        app,
        &w.olga,
        &grant,
        &fields,
        grant_parts(&view, &oscar_key),
    )
    .await;
    assert!(
        status < 400,
        "the grant after lifting failed: {status} {body}"
    );
    open_case(app, &w.oscar, &plain).await;
    let sql = format!(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'leave_out_lifted' \
         AND actor = 'audrey@example.org' AND case_ref = '{plain}' AND detail = 'oscar@example.org'"
    );
    assert_eq!(app.scalar(&sql).await, 1);
    w.app.finish().await;
}

on_both_databases!(
    a_routed_category_is_sealed_to_its_group_only,
    a_reporter_leaves_officers_out,
);
