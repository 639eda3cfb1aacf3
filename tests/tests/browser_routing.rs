//! Routing before sealing with JavaScript, in Debian's Chromium (`tests/browser/routing.mjs`):
//! the report form offers the officers to leave out, hides those who would not read a routed
//! category, refuses a third one in the page without sending anything, and seals the report
//! in the browser to the readers less the one left out. The server then holds no envelope
//! for that officer, and records them as excluded. SQLite only: the server-side rules run on
//! both databases in `tests/tests/routing.rs`.

use speakup_tests::browser;
use speakup_tests::officer::*;
use speakup_tests::*;

async fn add_officer(app: &TestApp, email: &str) -> String {
    let key = age::x25519::Identity::generate().to_public().to_string();
    let name = format!("Name of {email}");
    let args = [
        "officer",
        "add",
        "--email",
        email,
        "--name",
        &name,
        "--recipient",
        &key,
    ];
    run_cli(app, &args).await;
    let officers = app.store.officers().await.unwrap();
    officers
        .into_iter()
        .find(|o| o.email == email)
        .unwrap()
        .id
        .to_string()
}

async fn leave_out_in_the_browser(backend: Backend) {
    if !browser::ready() {
        return;
    }
    let Some(app) = spawn_without_officer(backend).await else {
        return;
    };
    let link = admin_via_cli(&app, "admin@example.org").await;
    let admin = enroll(&app, &link, "admin@example.org", false).await;
    login(&app, &admin).await;
    let olga = add_officer(&app, "olga@example.org").await;
    let oscar = add_officer(&app, "oscar@example.org").await;
    let otto = add_officer(&app, "otto@example.org").await;
    run_cli(&app, &["group", "add", "--name", "HR"]).await;
    run_cli(
        &app,
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
    // The settings page as shown, with harassment routed to HR and leave-outs on.
    let page = app.page(&admin.client, "/officer/admin/settings").await;
    let categories = page
        .split("id=\"categories\"")
        .nth(1)
        .and_then(|s| s.split_once('>'))
        .and_then(|(_, s)| s.split("</textarea>").next())
        .map(|s| html_unescape(s).replace("&#x7c;", "|"))
        .expect("categories");
    let res = admin
        .client
        .post(app.url("/officer/admin/settings"))
        .form(&[
            ("csrf", hidden(&page, "csrf")),
            ("org_name", attr(&page, "id=\"org-name\"", "value")),
            ("categories", categories),
            ("retention_months", "0".into()),
            ("route_harassment", "HR".into()),
            ("reporter_leave_out", "on".into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let what = "The depot manager hides overtime.";
    let summary = browser::node(
        "routing.mjs",
        "file",
        vec![
            "--base".into(),
            app.base.clone(),
            "--category".into(),
            "harassment".into(),
            "--leave-out".into(),
            oscar.clone(),
            "--what".into(),
            what.into(),
        ],
        Vec::new(),
    )
    .await;
    assert_eq!(summary["offered"], 3, "{summary}");
    assert_eq!(
        summary["shown"], 1,
        "harassment offers its readers only: {summary}"
    );
    assert_eq!(summary["shown_fraud"], 3, "{summary}");
    // The refused attempt stored nothing; the sealed one is the only case.
    let cases = app.store.cases().await.unwrap();
    assert_eq!(cases.len(), 1);
    let envelopes = app.store.envelopes(&cases[0].id).await.unwrap();
    let mut holders: Vec<String> = envelopes.iter().map(|e| e.holder.to_db()).collect();
    holders.sort();
    let mut want = vec![format!("officer:{olga}"), format!("officer:{otto}")];
    want.sort();
    assert_eq!(holders, want, "sealed to the readers less the one left out");
    let sql = format!(
        "SELECT COUNT(*) FROM case_access WHERE officer_id = '{oscar}' AND kind = 'exclusion' \
         AND by_officer = 'reporter'"
    );
    assert_eq!(app.scalar(&sql).await, 1);
    // Sealed in the browser: the server never saw the text.
    assert!(!contains(&app.database_bytes().await, what));
    app.finish().await;
}

#[test]
fn leave_out_in_the_browser_sqlite() {
    run_test(leave_out_in_the_browser(Backend::Sqlite));
}
