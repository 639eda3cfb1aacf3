//! The reporter pages every visitor gets alike are kept rendered (`web/reporter/page_cache.rs`,
//! issue 14). Each page below is fetched first, so that it is kept, then changed: the next
//! view must show the change at once: the site settings, an entity added, an entity's own
//! settings, a new officer key and the minute of the form's token.

use age::x25519::Identity;
use speakup_tests::officer::*;
use speakup_tests::*;

/// The recipients `script#intake-keys` tells the browser to seal to.
fn sealed_to(page: &str) -> Vec<String> {
    let holders = speakup_tests::sealed::intake_holders(page);
    holders.iter().map(|(_, r)| r.to_string()).collect()
}

/// Saves the site settings page with this organisation name and category list.
async fn save_settings(app: &TestApp, admin: &Person, org: &str, categories: &str) {
    let page = app.page(&admin.client, "/officer/admin/settings").await;
    let mut form = vec![
        ("csrf", hidden(&page, "csrf")),
        ("org_name", org.to_owned()),
        ("categories", categories.to_owned()),
    ];
    for field in ["notice_en", "notice_nl", "notice_fr", "notice_de"] {
        form.push((field, String::new()));
    }
    form.push(("escrow", String::new()));
    form.push(("retention_months", String::new()));
    let url = app.url("/officer/admin/settings");
    let res = admin.client.post(url).form(&form).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body = res.text().await.unwrap();
    assert_eq!(app.state.site.get().org_name, org, "not saved: {body}");
}

/// Saves entity alpha's own settings with these names (English, Dutch).
async fn rename_alpha(app: &TestApp, admin: &Person, en: &str, nl: &str) {
    let page = app
        .page(&admin.client, "/officer/admin/entities/alpha")
        .await;
    let form = [
        ("csrf", hidden(&page, "csrf")),
        ("name_en", en.to_owned()),
        ("name_nl", nl.to_owned()),
        ("name_fr", en.to_owned()),
        ("name_de", en.to_owned()),
    ];
    let url = app.url("/officer/admin/entities/alpha");
    let res = admin.client.post(url).form(&form).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

async fn kept_pages_show_every_change_at_once(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let link = admin_via_cli(&app, "admin@example.org").await;
    let admin = enroll(&app, &link, "admin@example.org", false).await;
    login(&app, &admin).await;
    let reporter = app.browser();
    let view = |path: &'static str| app.page(&reporter, path);

    // The site settings.
    assert!(!view("/?lang=nl").await.contains("Acme Rail"));
    assert!(!view("/report?lang=nl").await.contains("Spoorveiligheid"));
    let categories = "fraud\nsafety-rail | Rail safety | Spoorveiligheid | Sécurité ferroviaire | Bahnsicherheit";
    save_settings(&app, &admin, "Acme Rail", categories).await;
    let landing = view("/?lang=nl").await;
    assert!(landing.contains("Acme Rail"), "{landing}");
    assert!(view("/report?lang=nl").await.contains("Spoorveiligheid"));

    // Entities: the instance's landing lists them once there are two.
    assert!(!view("/?lang=en").await.contains("/e/alpha/"));
    alpha_and_beta(&app).await;
    let landing = view("/?lang=en").await;
    assert!(landing.contains("/e/alpha/?lang=en"), "{landing}");
    assert!(landing.contains("/e/beta/?lang=en"), "{landing}");

    // An entity's own settings: its landing and its form show its new name.
    assert!(view("/e/alpha/?lang=nl").await.contains("Alpha NV"));
    assert!(view("/e/alpha/report?lang=nl").await.contains("Alpha NV"));
    rename_alpha(&app, &admin, "Alpha Rail NV", "Alfa Spoor NV").await;
    assert!(view("/e/alpha/?lang=nl").await.contains("Alfa Spoor NV"));
    assert!(
        view("/e/alpha/report?lang=nl")
            .await
            .contains("Alfa Spoor NV")
    );
    assert!(view("/?lang=en").await.contains("Alpha Rail NV"));

    // A new officer key: the instance's form seals to it at once.
    let before = sealed_to(&view("/report?lang=en").await);
    let recipient = Identity::generate().to_public().to_string();
    assert!(!before.contains(&recipient));
    let args = [
        "officer",
        "add",
        "--email",
        "new@example.org",
        "--name",
        "New Officer",
        "--recipient",
        &recipient,
    ];
    run_cli(&app, &args).await;
    let after = sealed_to(&view("/report?lang=en").await);
    assert!(after.contains(&recipient), "{after:?}");
    assert_eq!(after.len(), before.len() + 1);

    // The minute, last (the admin's session ends with it): an hour on, the form carries a new
    // token, and a report sent with it is taken.
    let first = view("/report?lang=en").await;
    app.clock.advance(3600);
    let later = view("/report?lang=en").await;
    assert_ne!(hidden(&first, "csrf"), hidden(&later, "csrf"));
    let (status, page) = file_report(&app, &reporter, "en", &Report::default()).await;
    assert_eq!(status, 200, "{page}");
    app.finish().await;
}

on_both_databases!(kept_pages_show_every_change_at_once);
