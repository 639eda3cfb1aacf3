//! What a reporter's browser has to load, over plain HTTP (no browser needed): the report
//! form and its stylesheet stay small enough for a slow, expensive or watched connection, and
//! each script is sent only to the pages that use it: `reporter.js` to `/report`,
//! `/follow-up` and `/mailbox`, `officer.js` to the officer workspace. No page carries an
//! inline script (only JSON data blocks, which the CSP does not run).

use speakup_tests::officer::{admin_via_cli, create_account, enroll, first_reference, login};
use speakup_tests::*;

/// The report form's HTML plus `style.css`, uncompressed, without any script.
const INTAKE_BUDGET: usize = 30_000;

const REPORTER_JS: &str = "/static/reporter.js";
const OFFICER_JS: &str = "/static/officer.js";

/// Every `<script …>` opening tag of a page.
fn script_tags(html: &str) -> Vec<String> {
    html.match_indices("<script")
        .map(|(i, _)| {
            let end = html[i..].find('>').map_or(html.len(), |e| i + e + 1);
            html[i..end].to_owned()
        })
        .collect()
}

/// Checks which bundle a page loads; `expect` is `Some(path)` or `None` for no script.
fn check_scripts(name: &str, html: &str, expect: Option<&str>) {
    let tags = script_tags(html);
    let mut loaded = Vec::new();
    for t in &tags {
        if t.contains("type=\"application/json\"") {
            assert!(!t.contains("src="), "{name}: a data block with src: {t}");
            continue;
        }
        let src = t
            .split("src=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap_or_else(|| panic!("{name}: an inline script: {t}"));
        loaded.push(src.to_owned());
    }
    let want: Vec<String> = expect.into_iter().map(str::to_owned).collect();
    assert_eq!(loaded, want, "{name}: scripts loaded");
    for (js, other) in [(REPORTER_JS, OFFICER_JS), (OFFICER_JS, REPORTER_JS)] {
        if expect == Some(js) {
            assert!(!html.contains(other), "{name} mentions {other}");
        }
    }
    if expect.is_none() {
        assert!(
            !html.contains(REPORTER_JS) && !html.contains(OFFICER_JS),
            "{name} mentions a script"
        );
    }
}

async fn get(app: &TestApp, client: &reqwest::Client, path: &str) -> (u16, String) {
    let res = client.get(app.url(path)).send().await.expect("get");
    (res.status().as_u16(), res.text().await.expect("body"))
}

/// Run on a runtime named after the test, so `finish` can check this test's server log.
#[test]
fn intake_page_and_stylesheet_stay_small() {
    speakup_tests::run_test(intake_page_and_stylesheet_stay_small_scenario());
}

async fn intake_page_and_stylesheet_stay_small_scenario() {
    let app = spawn_app(Backend::Sqlite).await.expect("app");
    let client = app.browser();
    let (status, css) = get(&app, &client, "/static/style.css").await;
    assert_eq!(status, 200);
    for lang in ["en", "nl", "fr", "de"] {
        let (status, html) = get(&app, &client, &format!("/report?lang={lang}")).await;
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("id=\"report-form\""), "{html}");
        let total = html.len() + css.len();
        assert!(
            total < INTAKE_BUDGET,
            "/report?lang={lang} ({} bytes) + style.css ({} bytes) = {total} bytes, over {INTAKE_BUDGET}",
            html.len(),
            css.len()
        );
    }
    app.finish().await;
}

/// Run on a runtime named after the test, so `finish` can check this test's server log.
#[test]
fn each_script_only_where_it_is_used() {
    speakup_tests::run_test(each_script_only_where_it_is_used_scenario());
}

async fn each_script_only_where_it_is_used_scenario() {
    let app = spawn_without_officer(Backend::Sqlite).await.expect("app");
    // An officer with a key, so the intake is open and there is a case to show.
    let link = admin_via_cli(&app, "admin@example.org").await;
    let admin = enroll(&app, &link, "admin@example.org", false).await;
    login(&app, &admin).await;
    let email = "alex@example.org";
    let link = create_account(&app, &admin, email, &["admin", "officer", "auditor"]).await;
    let pending = create_account(&app, &admin, "pat@example.org", &["officer"]).await;
    let alex = enroll(&app, &link, email, true).await;
    login(&app, &alex).await;

    let reporter = app.browser();
    for (path, expect) in [
        ("/", None),
        ("/?lang=nl", None),
        ("/report", Some(REPORTER_JS)),
        ("/report?lang=de", Some(REPORTER_JS)),
        ("/follow-up", Some(REPORTER_JS)),
        ("/follow-up?lang=fr", Some(REPORTER_JS)),
        ("/no-such-page", None),
        ("/static/no-such-file.js", None),
    ] {
        let (_, html) = get(&app, &reporter, path).await;
        check_scripts(path, &html, expect);
    }
    // Without an open mailbox, /mailbox is the "mailbox closed" error page: no script.
    let (status, html) = get(&app, &reporter, "/mailbox").await;
    assert_ne!(status, 200, "{html}");
    check_scripts("/mailbox (closed)", &html, None);

    // The receipt page (the answer to the report form), then the mailbox, plain and with an
    // error shown.
    let (status, page) = file_report(&app, &reporter, "en", &Report::default()).await;
    assert_eq!(status, 200, "{page}");
    check_scripts("receipt page", &page, None);
    let (status, page) = open_mailbox(&app, &reporter, &receipt(&page)).await;
    assert_eq!(status, 200, "{page}");
    check_scripts("/mailbox", &page, Some(REPORTER_JS));

    // The script finds its page by `body[data-page]` (a space lost in a template once made
    // that `<bodydata-page=…>`, and the script did nothing).
    assert!(page.contains("<body data-page=\"mailbox\">"), "{page}");
    for (path, kind) in [("/report", "report"), ("/follow-up", "follow-up")] {
        let (_, html) = get(&app, &reporter, path).await;
        assert!(
            html.contains(&format!("<body data-page=\"{kind}\">")),
            "{html}"
        );
    }
    let (_, form) = get(&app, &reporter, "/follow-up").await;
    let failed = reporter
        .post(app.url("/follow-up"))
        .form(&[
            ("csrf", hidden(&form, "csrf").as_str()),
            ("receipt", "nope"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(failed.status(), 401);
    check_scripts(
        "/follow-up (failed)",
        &failed.text().await.expect("body"),
        Some(REPORTER_JS),
    );

    // The officer workspace: every page loads officer.js and nothing else.
    let reference = first_reference(&app, &alex).await;
    let (_, html) = get(&app, &reporter, "/officer/login").await;
    check_scripts("/officer/login", &html, Some(OFFICER_JS));
    let (_, html) = get(&app, &reporter, &officer::path_of(&pending)).await;
    check_scripts("enrollment", &html, Some(OFFICER_JS));
    for path in [
        "/officer/cases".to_owned(),
        format!("/officer/cases/{reference}"),
        "/officer/account".to_owned(),
        "/officer/admin/accounts".to_owned(),
        "/officer/admin/settings".to_owned(),
        "/officer/audit".to_owned(),
    ] {
        let (status, html) = get(&app, &alex.client, &path).await;
        assert_eq!(status, 200, "{path}: {html}");
        check_scripts(&path, &html, Some(OFFICER_JS));
    }

    // Both bundles are there to be loaded, as scripts.
    for js in [REPORTER_JS, OFFICER_JS] {
        let res = reporter.get(app.url(js)).send().await.expect("get");
        assert_eq!(res.status(), 200, "{js}");
        let kind = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(kind.contains("javascript"), "{js}: {kind}");
    }
    app.finish().await;
}
