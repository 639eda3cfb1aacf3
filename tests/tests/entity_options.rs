//! What an entity sets for itself beyond issue 12's first cut: its logo (an uploaded PNG or
//! SVG that is never served as sent: the server redraws it as a fresh PNG of at most 512
//! pixels a side, refuses an SVG that refers to anything outside itself, a file that is not
//! an image, or one over 512 KiB, and an admin can remove it), and its own choice of whether
//! reporters may leave officers out (`reporter_leave_out`, the instance's when not set).

#[allow(dead_code)]
mod qr_support;

use age::x25519::Identity;
use resvg::tiny_skia::Pixmap;
use speakup::app::{entities, routing::Plan};
use speakup_tests::officer::*;
use speakup_tests::*;

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Adds an officer with a fresh key through the command line.
async fn officer(app: &TestApp, email: &str, places: &[&str]) {
    let recipient = Identity::generate().to_public().to_string();
    let mut args = vec!["officer", "add", "--email", email, "--name", email];
    args.extend_from_slice(&["--recipient", &recipient]);
    args.extend_from_slice(places);
    let out = run_cli(app, &args).await;
    assert!(out.contains(&format!("added {email}")), "{out}");
}

/// An admin signed in, and the entity `alpha` with one officer.
async fn admin_and_alpha(app: &TestApp) -> Person {
    let link = admin_via_cli(app, "admin@example.org").await;
    let admin = enroll(app, &link, "admin@example.org", false).await;
    login(app, &admin).await;
    run_cli(
        app,
        &["entity", "add", "--slug", "alpha", "--name", "Alpha NV"],
    )
    .await;
    officer(app, "alpha@example.org", &["--entity", "alpha"]).await;
    admin
}

/// Uploads `bytes` as the logo of `alpha`; the status and the page.
async fn upload(app: &TestApp, admin: &Person, name: &str, bytes: Vec<u8>) -> (u16, String) {
    let page = app
        .page(&admin.client, "/officer/admin/entities/alpha")
        .await;
    let form = reqwest::multipart::Form::new()
        .text("csrf", hidden(&page, "csrf"))
        .part(
            "logo",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()),
        );
    let res = admin
        .client
        .post(app.url("/officer/admin/entities/alpha/logo"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// The logo as served: status, and the bytes.
async fn served(app: &TestApp) -> (u16, Vec<u8>) {
    let res = app
        .browser()
        .get(app.url("/e/alpha/logo.png"))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    if status == 200 {
        assert_eq!(res.headers()["content-type"], "image/png");
        assert!(
            res.headers()["cache-control"]
                .to_str()
                .unwrap()
                .starts_with("public")
        );
        assert!(res.headers().contains_key("content-security-policy"));
    }
    (status, res.bytes().await.unwrap().to_vec())
}

/// Decodes a served logo: its size (it must be a PNG).
fn size(png: &[u8]) -> (u32, u32) {
    assert!(png.starts_with(PNG_SIGNATURE), "a PNG");
    let p = Pixmap::decode_png(png).expect("the logo decodes");
    (p.width(), p.height())
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// A 40×20 PNG with a text chunk carrying `secret-metadata`.
fn png_with_metadata() -> Vec<u8> {
    qr_support::png_with_metadata(40, 20, (0, 90, 200))
}

const IMG: &str = "<img class=\"logo\" src=\"/e/alpha/logo.png\" alt=\"Alpha NV\">";

async fn logos_are_redrawn_as_png(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin = admin_and_alpha(&app).await;
    assert_eq!(served(&app).await.0, 404);
    // A PNG comes back redrawn, without its metadata, shown on the entity's reporter pages.
    let (status, page) = upload(&app, &admin, "logo.png", png_with_metadata()).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("src=\"/e/alpha/logo.png\""));
    let (status, png) = served(&app).await;
    assert_eq!((status, size(&png)), (200, (40, 20)));
    assert!(!contains(&png, b"secret-metadata"));
    let client = app.browser();
    for path in [
        "/e/alpha/?lang=en",
        "/e/alpha/report?lang=en",
        "/e/alpha/follow-up?lang=en",
    ] {
        assert!(app.page(&client, path).await.contains(IMG), "{path}");
    }
    assert!(
        !app.page(&client, "/report?lang=en")
            .await
            .contains("logo.png")
    );
    // An SVG is rendered (its script is not), fitted within 512 pixels.
    let svg = r##"<svg xmlns="http://www.w3.org/2000/svg" width="2000" height="1000"><rect width="2000" height="1000" fill="#c00"/><script>alert('logo')</script></svg>"##;
    let (status, _) = upload(&app, &admin, "logo.svg", svg.into()).await;
    assert_eq!(status, 200);
    let (_, png) = served(&app).await;
    assert_eq!(size(&png), (512, 256));
    assert!(!contains(&png, b"alert") && !contains(&png, b"<script"));
    // Refused with a clear message, and the logo is unchanged.
    let outside = r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script><image href="http://127.0.0.1:9/x.png" width="10" height="10"/></svg>"#;
    let refused: [(&str, Vec<u8>, &str); 4] = [
        (
            "evil.svg",
            outside.into(),
            "refers to another file or image",
        ),
        ("big.png", vec![b'x'; 600 * 1024], "too large"),
        (
            "doc.pdf",
            b"%PDF-1.4 not an image".to_vec(),
            "neither a PNG nor an SVG",
        ),
        ("broken.svg", b"<svg xmlns=".to_vec(), "could not be read"),
    ];
    for (name, bytes, message) in refused {
        let (status, page) = upload(&app, &admin, name, bytes).await;
        assert_eq!(status, 422, "{name}");
        assert!(page.contains(message), "{name}: {page}");
        assert_eq!(served(&app).await.1, png, "{name} left the logo as it was");
    }
    // Without the CSRF token nothing is read.
    let form = reqwest::multipart::Form::new()
        .part("logo", reqwest::multipart::Part::bytes(png_with_metadata()));
    let res = admin
        .client
        .post(app.url("/officer/admin/entities/alpha/logo"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(served(&app).await.1, png);
    // Removed: gone from the pages and the address.
    let page = app
        .page(&admin.client, "/officer/admin/entities/alpha")
        .await;
    let res = admin
        .client
        .post(app.url("/officer/admin/entities/alpha/logo/remove"))
        .form(&[("csrf", hidden(&page, "csrf"))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(served(&app).await.0, 404);
    assert!(
        !app.page(&client, "/e/alpha/?lang=en")
            .await
            .contains("logo.png")
    );
    let audited = "SELECT COUNT(*) FROM audit_log WHERE action = 'entity_changed' AND detail LIKE 'alpha logo%'";
    assert_eq!(app.scalar(audited).await, 3);
    app.finish().await;
}

/// Saves alpha's settings page with its leave-out choice.
async fn choose_leave_out(app: &TestApp, admin: &Person, choice: &str) -> u16 {
    let page = app
        .page(&admin.client, "/officer/admin/entities/alpha")
        .await;
    let mut form = vec![("csrf".to_owned(), hidden(&page, "csrf"))];
    for lang in ["en", "nl", "fr", "de"] {
        form.push((format!("name_{lang}"), "Alpha NV".into()));
    }
    form.push(("reporter_leave_out".into(), choice.into()));
    let url = app.url("/officer/admin/entities/alpha");
    let res = admin.client.post(url).form(&form).send().await.unwrap();
    res.status().as_u16()
}

async fn offered(app: &TestApp, slug: Option<&str>) -> bool {
    let entity = match slug {
        Some(s) => Some(entities::find(&app.state, s).await.unwrap()),
        None => None,
    };
    let plan = Plan::load(&app.state, entity.as_ref()).await.unwrap();
    let path = slug.map_or("/report?lang=en".into(), |s| {
        format!("/e/{s}/report?lang=en")
    });
    let form = app.page(&app.browser(), &path).await;
    assert_eq!(plan.offered(), form.contains("id=\"leave-out\""), "{path}");
    plan.offered()
}

async fn leave_out_is_set_per_entity(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin = admin_and_alpha(&app).await;
    // As the instance (off) until the entity says otherwise.
    assert!(!offered(&app, Some("alpha")).await && !offered(&app, None).await);
    assert_eq!(choose_leave_out(&app, &admin, "on").await, 200);
    assert!(offered(&app, Some("alpha")).await);
    assert!(!offered(&app, None).await, "the instance keeps its own");
    let page = app
        .page(&admin.client, "/officer/admin/entities/alpha")
        .await;
    assert!(page.contains("<option value=\"on\" selected>"));
    assert_eq!(choose_leave_out(&app, &admin, "maybe").await, 422);
    assert!(
        offered(&app, Some("alpha")).await,
        "a refused form changes nothing"
    );
    assert_eq!(choose_leave_out(&app, &admin, "").await, 200);
    assert!(!offered(&app, Some("alpha")).await);
    app.finish().await;
}

on_both_databases!(logos_are_redrawn_as_png, leave_out_is_set_per_entity);

/// The sealed form as the officer's browser builds it, sealed to what `page` names.
fn entered_form(page: &str) -> reqwest::multipart::Form {
    use speakup::domain::receipt::ReceiptToken;
    let derived = ReceiptToken::generate().unwrap().derive();
    let case_key = Identity::generate();
    let both = [case_key.to_public(), derived.recipient()];
    let lookup: String = derived
        .lookup
        .0
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let report = serde_json::json!({"type": "report", "version": 1, "category": "fraud",
        "what": "Told by phone", "when_where": "", "involved": ""});
    let part = |b: Vec<u8>| {
        reqwest::multipart::Part::bytes(b)
            .file_name("part.age")
            .mime_str("application/octet-stream")
            .unwrap()
    };
    let key_file = age::secrecy::ExposeSecret::expose_secret(&case_key.to_string()).to_owned();
    let mut f = reqwest::multipart::Form::new()
        .text("csrf", hidden(page, "csrf"))
        .text("category", "fraud")
        .text("mode", "anonymous")
        .text("lookup", lookup)
        .text("case_recipient", case_key.to_public().to_string())
        .text("reporter_recipient", derived.recipient().to_string())
        .part(
            "report",
            part(encrypt(&both, report.to_string().as_bytes())),
        );
    for (holder, r) in speakup_tests::sealed::intake_holders(page) {
        f = f
            .text("holder", holder)
            .part("envelope", part(encrypt(&[r], key_file.as_bytes())));
    }
    f.text("reporter_lang", "en")
}

async fn officers_enter_reports_into_their_entities(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin = admin_and_alpha(&app).await;
    run_cli(
        &app,
        &["entity", "add", "--slug", "beta", "--name", "Beta BV"],
    )
    .await;
    officer(&app, "beta@example.org", &["--entity", "beta"]).await;
    let link = create_account(&app, &admin, "anna@example.org", &["officer"]).await;
    let anna = enroll(&app, &link, "anna@example.org", true).await;
    login(&app, &anna).await;
    let anna_id = app
        .store
        .officer_by_email(&anna.email)
        .await
        .unwrap()
        .unwrap()
        .0
        .id;
    let page = app
        .page(&admin.client, "/officer/admin/entities/alpha")
        .await;
    let alpha_id = app
        .store
        .officer_by_email("alpha@example.org")
        .await
        .unwrap()
        .unwrap()
        .0
        .id;
    // The page's checkboxes make the group exactly these two.
    let form = [
        ("csrf", hidden(&page, "csrf")),
        ("officer", anna_id.to_string()),
        ("officer", alpha_id.to_string()),
    ];
    let url = app.url("/officer/admin/entities/alpha/members");
    assert_eq!(
        admin
            .client
            .post(url)
            .form(&form)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // She is offered her entity (and the instance's own), not the other.
    let page = app.page(&anna.client, "/officer/report?lang=en").await;
    assert!(
        page.contains("<option value=\"alpha\">Alpha NV</option>"),
        "{page}"
    );
    assert!(!page.contains("value=\"beta\""));
    let beta = anna
        .client
        .get(app.url("/officer/report?entity=beta"))
        .send()
        .await
        .unwrap();
    assert_eq!(beta.status(), 403);
    // Filed into alpha: sealed to alpha's group only.
    let page = app
        .page(&anna.client, "/officer/report?entity=alpha&lang=en")
        .await;
    assert!(page.contains("data-action=\"/officer/report?entity=alpha\""));
    let cases = "SELECT COUNT(*) FROM cases";
    let before = app.scalar(cases).await;
    // Posted to an entity she is not in: refused, nothing stored.
    let res = anna
        .client
        .post(app.url("/officer/report?entity=beta"))
        .multipart(entered_form(&page))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(app.scalar(cases).await, before);
    let res = anna
        .client
        .post(app.url("/officer/report?entity=alpha"))
        .multipart(entered_form(&page))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body = res.text().await.unwrap();
    let at = body.find("SU-").expect("a reference");
    let case = app
        .store
        .case_by_reference(&body[at..at + 12])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(case.entity.as_ref().map(|e| e.as_str()), Some("alpha"));
    let officers = app.store.officers().await.unwrap();
    let mut holders: Vec<String> = app
        .store
        .envelopes(&case.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| match e.holder.officer() {
            Some(id) => officers.iter().find(|o| &o.id == id).unwrap().email.clone(),
            None => "escrow".into(),
        })
        .collect();
    holders.sort();
    assert_eq!(holders, ["alpha@example.org", "anna@example.org"]);
    app.finish().await;
}

on_both_databases!(officers_enter_reports_into_their_entities);
