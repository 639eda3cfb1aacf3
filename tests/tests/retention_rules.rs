//! Retention by outcome, legal holds and cases never closed (issue 11): an admin sets a shorter
//! period for one outcome; a case under a legal hold survives its period until an officer lifts
//! the hold (both audited with their reason); a case that was never closed is flagged to
//! officers and never deleted; bad periods and empty reasons are refused with nothing changed.

use speakup::clock::Clock;
use speakup::domain::case::Outcome;
use speakup::domain::retention::Policy;
use speakup_tests::officer::{admin_via_cli, create_account, enroll, login};
use speakup_tests::*;

async fn save_settings(
    app: &TestApp,
    admin: &reqwest::Client,
    extra: &[(&str, &str)],
) -> (u16, String) {
    let page = app.page(admin, "/officer/admin/settings").await;
    let mut form: Vec<(String, String)> = vec![
        ("csrf".into(), hidden(&page, "csrf")),
        ("org_name".into(), "Example Group".into()),
        ("categories".into(), "fraud\nother".into()),
        ("escrow".into(), String::new()),
        ("retention_months".into(), "36".into()),
    ];
    form.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let res = admin
        .post(app.url("/officer/admin/settings"))
        .form(&form)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn hold(
    app: &TestApp,
    who: &reqwest::Client,
    reference: &str,
    step: &str,
    reason: &str,
) -> u16 {
    // The session's token, from a page every account sees.
    let page = app.page(who, "/officer/account").await;
    let form = [
        ("csrf", hidden(&page, "csrf")),
        ("hold", step.to_owned()),
        ("reason", reason.to_owned()),
    ];
    let res = who
        .post(app.url(&format!("/officer/cases/{reference}/hold")))
        .form(&form)
        .send()
        .await
        .unwrap();
    res.status().as_u16()
}

async fn reference_of(app: &TestApp, category: &str) -> String {
    let cases = app.store.cases().await.expect("cases");
    let case = cases
        .iter()
        .find(|c| c.category == category)
        .expect("a case of the category");
    case.reference.clone()
}

async fn periods_holds_and_open_cases(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let link = admin_via_cli(&app, "admin@example.org").await;
    let admin = enroll(&app, &link, "admin@example.org", false).await;
    login(&app, &admin).await;
    let officer_link = create_account(&app, &admin, "olga@example.org", &["officer"]).await;
    let olga = enroll(&app, &officer_link, "olga@example.org", true).await;
    login(&app, &olga).await;
    let reporter = app.browser();
    for category in ["fraud", "corruption", "harassment"] {
        let (status, _) = file_report(
            &app,
            &reporter,
            "en",
            &Report {
                category,
                ..Default::default()
            },
        )
        .await;
        assert_eq!(status, 200);
    }
    // Fraud: closed early 2025 as not admissible; corruption: closed then as substantiated;
    // harassment: received in 2023 and still being investigated.
    app.execute("UPDATE cases SET received_on = '2024-12-01', closed_on = '2025-01-01', status = 'closed', outcome = 'not_admissible' WHERE category = 'fraud'").await;
    app.execute("UPDATE cases SET received_on = '2024-12-01', closed_on = '2025-01-01', status = 'closed', outcome = 'substantiated' WHERE category = 'corruption'").await;
    app.execute("UPDATE cases SET received_on = '2023-01-01', status = 'investigating' WHERE category = 'harassment'").await;
    let (fraud, corruption, harassment) = (
        reference_of(&app, "fraud").await,
        reference_of(&app, "corruption").await,
        reference_of(&app, "harassment").await,
    );

    // A period that is not a number of months is refused by name, and nothing is saved.
    let (status, page) =
        save_settings(&app, &admin.client, &[("retention_out_of_scope", "many")]).await;
    assert_eq!(status, 422, "{page}");
    assert!(
        page.contains("Each retention period by outcome must be empty"),
        "{page}"
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM site_settings WHERE name = 'retention_by_outcome'")
            .await,
        0
    );
    let (status, page) =
        save_settings(&app, &admin.client, &[("retention_not_admissible", "2")]).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("name=\"retention_not_admissible\" value=\"2\""),
        "{page}"
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'settings_changed' AND detail LIKE '%retention 36 months, not_admissible 2'").await,
        1
    );

    // The case never closed is flagged on the list and on its page.
    let list = app.page(&olga.client, "/officer/cases").await;
    let row = &list[list.find(&format!(">{harassment}<")).expect("row")..];
    assert!(
        row[..row.find("</tr>").unwrap()].contains("Open past the retention period"),
        "{row}"
    );
    let page = app
        .page(&olga.client, &format!("/officer/cases/{harassment}"))
        .await;
    assert!(page.contains("id=\"retention-open-too-long\""));

    // A hold needs a reason; set once, it cannot be set again.
    assert_eq!(hold(&app, &olga.client, &fraud, "set", "  ").await, 400);
    assert_eq!(
        hold(
            &app,
            &olga.client,
            &fraud,
            "set",
            "Proceedings before the labour court"
        )
        .await,
        200
    );
    assert_eq!(hold(&app, &olga.client, &fraud, "set", "again").await, 400);
    let page = app
        .page(&olga.client, &format!("/officer/cases/{fraud}"))
        .await;
    assert!(page.contains("Under a legal hold since"), "{page}");
    assert_eq!(
        app.scalar(&format!("SELECT COUNT(*) FROM audit_log WHERE action = 'legal_hold_set' AND case_ref = '{fraud}' AND detail = 'Proceedings before the labour court' AND actor = 'olga@example.org'")).await,
        1
    );
    // An admin manages no case access: refused.
    assert_eq!(
        hold(&app, &admin.client, &corruption, "set", "x").await,
        403
    );

    let policy = Policy {
        months: 36,
        by_outcome: vec![(Outcome::NotAdmissible, 2)],
    };
    let (today, now) = (app.clock.today(), app.clock.now());
    let store = app.store.as_ref();
    assert_eq!(
        speakup::app::retention::apply(store, &policy, today, now)
            .await
            .unwrap(),
        0,
        "the hold, the longer period and the open case keep all three"
    );

    assert_eq!(
        hold(&app, &olga.client, &fraud, "lift", "The court case ended").await,
        200
    );
    assert_eq!(
        speakup::app::retention::apply(store, &policy, today, now)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM cases WHERE reference = '{fraud}'"
        ))
        .await,
        0
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM cases").await, 2);
    assert_eq!(
        app.scalar(&format!("SELECT COUNT(*) FROM audit_log WHERE action = 'case_deleted' AND case_ref = '{fraud}' AND detail = 'retention: closed on 2025-01-01 (not_admissible), kept 2 months'")).await,
        1
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'legal_hold_lifted' AND detail = 'The court case ended'").await, 1);
    // Years later the substantiated case goes too; the open one never does.
    let later = today + time::Duration::days(5 * 366);
    assert_eq!(
        speakup::app::retention::apply(store, &policy, later, now)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM cases WHERE reference = '{harassment}'"
        ))
        .await,
        1
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM legal_holds").await, 0);
    app.finish().await;
}

on_both_databases!(periods_holds_and_open_cases);
