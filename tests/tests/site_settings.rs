//! The site settings are one source of truth: what an admin saves in the workspace reaches
//! every page that shows it. The regression this guards: the reporter's mailbox labelled a
//! case's category from the configuration file, so a category an admin added in the
//! workspace showed there as its raw code.

use speakup_tests::officer::*;
use speakup_tests::*;

/// The text of the mailbox's category field: the first `<dd>` of the report as filed.
fn category_shown(mailbox: &str) -> String {
    let report = mailbox
        .find("<dl class=\"report\"")
        .expect("the report in the mailbox");
    let start = report + mailbox[report..].find("<dd>").expect("its first field") + 4;
    mailbox[start..]
        .split("</dd>")
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned()
}

async fn mailbox_labels_categories_from_the_site_settings(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let link = admin_via_cli(&app, "admin@example.org").await;
    let admin = enroll(&app, &link, "admin@example.org", false).await;
    login(&app, &admin).await;
    let page = app.page(&admin.client, "/officer/admin/settings").await;
    let form = vec![
        ("csrf", hidden(&page, "csrf")),
        ("org_name", "Acme Rail".to_owned()),
        ("notice_en", String::new()),
        ("notice_nl", String::new()),
        ("notice_fr", String::new()),
        ("notice_de", String::new()),
        (
            "categories",
            "fraud\nsafety-rail | Rail safety | Spoorveiligheid | Sécurité ferroviaire | Bahnsicherheit"
                .to_owned(),
        ),
        ("escrow", String::new()),
        ("retention_months", String::new()),
    ];
    let res = admin
        .client
        .post(app.url("/officer/admin/settings"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // The category exists only in the workspace's settings, not in the configuration.
    let reporter = app.browser();
    let report = Report {
        category: "safety-rail",
        ..Default::default()
    };
    let (status, receipt_page) = file_report(&app, &reporter, "nl", &report).await;
    assert_eq!(status, 200, "{receipt_page}");
    let (status, _) = open_mailbox(&app, &reporter, &receipt(&receipt_page)).await;
    assert_eq!(status, 200);
    for (lang, label) in [
        ("en", "Rail safety"),
        ("nl", "Spoorveiligheid"),
        ("fr", "Sécurité ferroviaire"),
        ("de", "Bahnsicherheit"),
    ] {
        let mailbox = app.page(&reporter, &format!("/mailbox?lang={lang}")).await;
        assert_eq!(category_shown(&mailbox), label, "{lang}");
    }
    app.finish().await;
}

on_both_databases!(mailbox_labels_categories_from_the_site_settings);
