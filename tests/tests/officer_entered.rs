//! Reports an officer enters on a reporter's behalf (issue 11, Directive art. 9(2)), over
//! HTTP with this test doing what the officer's browser does (receipt, keys, age): only
//! compliance officers may, with the session's CSRF token; the case is stored as
//! `officer_entered` with a `report_entered` row naming the officer; the receipt page carries
//! no receipt (the browser fills it in); the reporter opens the mailbox with the receipt
//! without JavaScript; the figures count cases by channel. And the case file's JSON: ciphertext
//! and metadata only, audited, the identity only for an officer who revealed it.

use speakup::clock::Clock;
use speakup::domain::case::Channel;
use speakup_tests::officer::{Person, open_case};
use speakup_tests::sealed::{Part, SealedKeys, SealedReport, intake_holders};
use speakup_tests::workspace::team;
use speakup_tests::*;

/// The sealed form as the officer's browser builds it (`intake.js` `sealReport`): confidential,
/// with a file, for a reporter who reads Dutch.
fn entered(page: &str, what: &str) -> SealedReport {
    SealedReport {
        mode: "confidential",
        what: what.to_owned(),
        when_where: "By phone".into(),
        identity: Some(("Nora".into(), "0470".into())),
        attachment: Some((b"letter scan".to_vec(), "letter.pdf".into())),
        extra: vec![Part::Text("reporter_lang", "nl".into())],
        ..SealedReport::to(intake_holders(page))
    }
}

async fn enter(
    app: &TestApp,
    p: &Person,
    csrf: Option<&str>,
    what: &str,
) -> (u16, String, SealedKeys) {
    let page = app.page(&p.client, "/officer/report?lang=en").await;
    let token = csrf.map_or_else(|| hidden(&page, "csrf"), str::to_owned);
    let report = entered(&page, what);
    let res = p
        .client
        .post(app.url("/officer/report"))
        .multipart(report.form(&token))
        .send()
        .await
        .expect("post");
    let status = res.status().as_u16();
    (status, res.text().await.expect("body"), report.keys)
}

const WHAT: &str = "Told by phone: the warehouse stock is sold off the books.";

async fn officers_enter_reports(backend: Backend) {
    let Some(app) = spawn_without_officer(backend).await else {
        return;
    };
    let t = team(&app).await;
    // Investigators and admins are refused the form and the post; nothing is stored.
    for p in [&t.ivan, &t.admin] {
        let res = p
            .client
            .get(app.url("/officer/report"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403);
    }
    let alex_page = app.page(&t.alex.client, "/officer/report?lang=en").await;
    assert!(
        alex_page.contains("id=\"enter-report-form\""),
        "{alex_page}"
    );
    // The plaintext controls carry no name: without the script nothing can post them.
    assert!(!alex_page.contains("name=\"what\""));
    let csrf = hidden(&alex_page, "csrf");
    let res = t
        .ivan
        .client
        .post(app.url("/officer/report"))
        .multipart(entered(&alex_page, WHAT).form(&csrf))
        .send()
        .await;
    // The server refuses before reading the body; under load it can close the connection
    // while the client is still writing it (a broken pipe), which is a refusal too. Either
    // way nothing is stored (checked below).
    match res {
        Ok(res) => assert_eq!(res.status(), 403),
        Err(e) => assert!(e.is_request(), "{e}"),
    }
    // CSRF is mandatory: a token from no session, or none at all, is refused.
    let (status, _, _) = enter(&app, &t.alex, Some("forged"), WHAT).await;
    assert_eq!(status, 403);
    assert!(app.store.cases().await.unwrap().is_empty());

    let (status, page, k) = enter(&app, &t.alex, None, WHAT).await;
    assert_eq!(status, 200, "{page}");
    // The receipt never reached the server, so the page cannot carry it.
    assert!(
        page.contains("<code id=\"receipt\" data-sealed></code>"),
        "{page}"
    );
    let grouped = k.token.grouped().to_string();
    assert!(!page.contains(&grouped));
    let case = app.store.cases().await.unwrap().pop().expect("a case");
    assert_eq!(case.channel, Channel::OfficerEntered);
    assert_eq!(case.reporter_lang, Some(speakup::i18n::Lang::Nl));
    assert!(page.contains(&case.reference));
    let sql = format!(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'report_entered' \
         AND actor = 'alex@example.org' AND case_ref = '{}'",
        case.reference
    );
    assert_eq!(app.scalar(&sql).await, 1);
    // No reporter row: the reporter did not file it.
    let sql = format!(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'report_filed' AND case_ref = '{}'",
        case.reference
    );
    assert_eq!(app.scalar(&sql).await, 0);

    // The case page names the channel.
    let view = open_case(&app, &t.alex, &case.reference).await;
    assert!(
        view.html
            .contains("data-channel=\"channel.officer_entered\">Entered by an officer<"),
        "{}",
        view.html
    );

    // The reporter opens the mailbox with the receipt, without JavaScript.
    let reporter = app.browser();
    let (status, mailbox) = open_mailbox(&app, &reporter, &grouped).await;
    assert_eq!(status, 200, "{mailbox}");
    assert!(mailbox.contains(WHAT), "{mailbox}");

    // No plaintext of it anywhere in the database.
    let db = app.database_bytes().await;
    for canary in [WHAT, "letter scan", "letter.pdf", "Nora", grouped.as_str()] {
        assert!(!contains(&db, canary), "{canary} in the database");
    }
    app.finish().await;
}

/// The figures count cases by channel (five of each, so the counts are shown, not `<5`).
async fn statistics_count_by_channel(backend: Backend) {
    let Some(app) = spawn_without_officer(backend).await else {
        return;
    };
    let t = team(&app).await;
    for i in 0..5 {
        let (status, page, _) = enter(&app, &t.alex, None, &format!("Call number {i}")).await;
        assert_eq!(status, 200, "{page}");
    }
    let reporter = app.browser();
    for _ in 0..5 {
        let (status, page) = file_report(&app, &reporter, "en", &Report::default()).await;
        assert_eq!(status, 200, "{page}");
    }
    let year = app.clock.today().year();
    let json = run_cli(
        &app,
        &[
            "stats",
            "--from",
            &format!("{year}-01"),
            "--to",
            &format!("{year}-12"),
            "--format",
            "json",
        ],
    )
    .await;
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    let rows = v["by_channel"]["rows"].as_array().expect("channel rows");
    assert_eq!(rows[0], serde_json::json!(["web", 5]), "{json}");
    assert_eq!(rows[1], serde_json::json!(["officer_entered", 5]), "{json}");
    let csv = run_cli(
        &app,
        &[
            "stats",
            "--from",
            &format!("{year}-01"),
            "--to",
            &format!("{year}-12"),
        ],
    )
    .await;
    assert!(
        csv.lines().any(|l| l == "channel,officer_entered,5"),
        "{csv}"
    );
    app.finish().await;
}

/// The case file's JSON: ciphertext and metadata only; audited; the identity only after
/// this officer revealed it.
async fn case_file_json(backend: Backend) {
    let Some(app) = spawn_without_officer(backend).await else {
        return;
    };
    let t = team(&app).await;
    let (status, page, _) = enter(&app, &t.alex, None, WHAT).await;
    assert_eq!(status, 200, "{page}");
    let reference = app.store.cases().await.unwrap()[0].reference.clone();
    let path = format!("/officer/cases/{reference}/case-file");
    let get = |p: &Person| p.client.get(app.url(&path)).send();
    let json = |body: String| -> serde_json::Value { serde_json::from_str(&body).expect("json") };
    let first = json(get(&t.alex).await.unwrap().text().await.unwrap());
    let kinds: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["report", "attachment"],
        "no identity before a reveal"
    );
    assert!(!first.to_string().contains(WHAT));
    let actions: Vec<&str> = first["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions.first(),
        Some(&"Report entered on a reporter's behalf")
    );
    assert_eq!(actions.last(), Some(&"Case file downloaded"));

    let view = open_case(&app, &t.alex, &reference).await;
    let res = t
        .alex
        .client
        .post(app.url(&format!("/officer/cases/{reference}/reveal")))
        .form(&[
            ("csrf", view.csrf.as_str()),
            ("reason", "Needed to call back"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let after = json(get(&t.alex).await.unwrap().text().await.unwrap());
    assert!(
        after["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["kind"] == "identity")
    );
    // An investigator without a grant gets nothing, and no row.
    let res = get(&t.ivan).await.unwrap();
    assert_eq!(res.status(), 403);
    let sql = format!(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'case_file_downloaded' AND case_ref = '{reference}'"
    );
    assert_eq!(app.scalar(&sql).await, 2);
    app.finish().await;
}

on_both_databases!(
    officers_enter_reports,
    statistics_count_by_channel,
    case_file_json
);
