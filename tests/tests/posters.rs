//! Posters and QR codes over HTTP: the public QR codes decode to exactly the configured
//! address (high error correction, a quiet zone, cacheable, the strict CSP kept), there is
//! no code of a guessed address, the posters page is for admins only, the video-wall image
//! is 1920×1080 and scans, and the onion address is announced (`Onion-Location`) only on
//! the clear web and only when it is one. An entity's logo is on its posters, all of them, as
//! the sanitised PNG (loaded from this origin on paper, embedded in the video-wall image),
//! and on no other poster. The printed posters are checked in browser_posters.rs.

#[allow(dead_code)]
mod qr_support;

use speakup_tests::officer::*;
use speakup_tests::speakup::config::{CommonArgs, FileConfig, ServeArgs, Settings};
use speakup_tests::*;

use qr_support::{decode_png, decode_svg, logo_red_pixels, png_grey, red_logo_with_metadata};

const PUBLIC_URL: &str = "https://meldpunt.example.org/speakup";
const ONION: &str = "http://vww6ybal4bd7szmgncyruucpgfkqahzddi37ktceo3ah7ngmcopnpyyd.onion";
/// rqrr's number for error-correction level H.
const ECC_H: u16 = 2;

fn options(public_url: Option<&str>, onion: Option<&str>) -> Options {
    let mut opts = Options::default();
    opts.serve.public_url = public_url.map(str::to_owned);
    opts.serve.onion_url = onion.map(str::to_owned);
    opts
}

fn header(res: &reqwest::Response, name: &str) -> String {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// The response's cache and security headers as the QR endpoints must send them.
fn assert_public_image(res: &reqwest::Response, content_type: &str) {
    assert_eq!(res.status(), 200);
    assert_eq!(header(res, "content-type"), content_type);
    assert!(
        header(res, "cache-control").starts_with("public, max-age="),
        "{:?}",
        res.headers()
    );
    assert!(header(res, "content-security-policy").starts_with("default-src 'none'"));
    assert_eq!(header(res, "x-content-type-options"), "nosniff");
}

async fn qr_codes_decode_to_exactly_the_public_address(backend: Backend) {
    let Some(app) = spawn_with(backend, options(Some(PUBLIC_URL), None)).await else {
        return;
    };
    let client = app.browser();
    let res = client.get(app.url("/poster/qr.svg")).send().await.unwrap();
    assert_public_image(&res, "image/svg+xml");
    let svg = res.text().await.unwrap();
    assert!(!svg.contains("<script"), "{svg}");
    assert_eq!(decode_svg(&svg, 1.0), vec![(PUBLIC_URL.to_owned(), ECC_H)]);

    let res = client.get(app.url("/poster/qr.png")).send().await.unwrap();
    assert_public_image(&res, "image/png");
    let png = res.bytes().await.unwrap();
    assert_eq!(decode_png(&png), vec![(PUBLIC_URL.to_owned(), ECC_H)]);
    // The quiet zone: four white modules (12 px each) around the code, on every side.
    let (w, h, grey) = png_grey(&png);
    let border = 4 * 12;
    for y in 0..h {
        for x in 0..w {
            if x < border || y < border || x >= w - border || y >= h - border {
                assert!(
                    grey[y * w + x] > 200,
                    "dark pixel at {x},{y} in the quiet zone"
                );
            }
        }
    }
    // And the code starts right inside it (the finder pattern's dark corner).
    assert!(grey[border * w + border] < 50);
    app.finish().await;
}

async fn no_code_without_a_configured_address(backend: Backend) {
    let Some(app) = spawn_with(backend, options(None, None)).await else {
        return;
    };
    let client = app.browser();
    for path in ["/poster/qr.svg", "/poster/qr.png"] {
        let res = client
            .get(app.url(path))
            .header("accept-language", "nl")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{path}");
        assert_eq!(header(&res, "cache-control"), "no-store", "{path}");
        assert!(header(&res, "content-type").starts_with("text/html"));
        let body = res.text().await.unwrap();
        assert!(body.contains("lang=\"nl\""), "{body}");
        assert!(body.contains("Pagina niet gevonden"), "{body}");
    }
    // The admin's posters page explains what is missing instead of offering posters.
    let link = admin_via_cli(&app, "admin@example.org").await;
    let admin = enroll(&app, &link, "admin@example.org", false).await;
    login(&app, &admin).await;
    let page = app.page(&admin.client, "/officer/admin/posters").await;
    assert!(page.contains("id=\"posters-no-address\""), "{page}");
    assert!(page.contains("SPEAKUP_PUBLIC_URL"), "{page}");
    assert!(!page.contains("id=\"poster-a4-en\""), "{page}");
    let res = admin
        .client
        .get(app.url("/officer/admin/posters/a4/en"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    app.finish().await;
}

async fn the_posters_page_is_for_admins_only(backend: Backend) {
    let Some(app) = spawn_with(backend, options(Some(PUBLIC_URL), None)).await else {
        return;
    };
    let link = admin_via_cli(&app, "admin@example.org").await;
    let admin = enroll(&app, &link, "admin@example.org", false).await;
    login(&app, &admin).await;
    let link = create_account(&app, &admin, "officer@example.org", &["officer"]).await;
    let officer = enroll(&app, &link, "officer@example.org", true).await;
    let home = login(&app, &officer).await;
    assert!(!home.contains("href=\"/officer/admin/posters\""), "{home}");

    let paths = [
        "/officer/admin/posters",
        "/officer/admin/posters/a4/nl-fr",
        "/officer/admin/posters/screen/en.png",
    ];
    for path in paths {
        let res = officer.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 403, "an officer opened {path}");
        // Not signed in: the login page, not the poster.
        let res = app.browser().get(app.url(path)).send().await.unwrap();
        let body = res.text().await.unwrap();
        assert!(!body.contains("id=\"poster\""), "{path} without a session");
        assert!(!body.contains("id=\"posters\""), "{path} without a session");
    }

    let page = app.page(&admin.client, "/officer/admin/posters").await;
    assert!(page.contains("id=\"nav-posters\""), "{page}");
    for f in ["a4", "a3", "card"] {
        for s in ["en", "nl", "fr", "de", "nl-fr", "nl-fr-de-en"] {
            assert!(page.contains(&format!("id=\"poster-{f}-{s}\"")), "{f} {s}");
        }
    }
    let poster = app
        .page(&admin.client, "/officer/admin/posters/a4/nl-fr")
        .await;
    assert!(poster.contains("id=\"poster\""), "{poster}");
    assert!(poster.contains("meldpunt.example.org/speakup"), "{poster}");
    assert!(
        poster.contains("Loopt er iets mis op het werk?"),
        "{poster}"
    );
    assert!(poster.contains("Un problème au travail ?"), "{poster}");
    for path in [
        "/officer/admin/posters/a5/en",
        "/officer/admin/posters/a4/es",
        "/officer/admin/posters/screen/en.gif",
    ] {
        let res = admin.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 404, "{path}");
    }
    app.finish().await;
}

async fn the_video_wall_image_is_full_hd_and_scans(backend: Backend) {
    let Some(app) = spawn_with(backend, options(Some(PUBLIC_URL), Some(ONION))).await else {
        return;
    };
    let link = admin_via_cli(&app, "admin@example.org").await;
    let admin = enroll(&app, &link, "admin@example.org", false).await;
    login(&app, &admin).await;
    for set in ["en", "nl-fr-de-en"] {
        let res = admin
            .client
            .get(app.url(&format!("/officer/admin/posters/screen/{set}.png")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(header(&res, "content-type"), "image/png");
        let png = res.bytes().await.unwrap();
        let (w, h, _) = png_grey(&png);
        assert_eq!((w, h), (1920, 1080), "{set}");
        let mut found: Vec<String> = decode_png(&png).into_iter().map(|(t, _)| t).collect();
        found.sort();
        assert_eq!(
            found,
            vec![ONION.to_owned(), PUBLIC_URL.to_owned()],
            "{set}"
        );
    }
    let svg = app
        .page(&admin.client, "/officer/admin/posters/screen/fr.svg")
        .await;
    assert!(svg.contains("width=\"1920\" height=\"1080\""), "{svg}");
    assert!(svg.contains("Signalez-le en toute sécurité."), "{svg}");
    app.finish().await;
}

async fn onion_location_only_on_the_clear_web(backend: Backend) {
    let Some(app) = spawn_with(backend, options(Some(PUBLIC_URL), Some(ONION))).await else {
        return;
    };
    let client = app.browser();
    for path in ["/", "/report", "/follow-up"] {
        let res = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(header(&res, "onion-location"), format!("{ONION}{path}"));
    }
    // Over Tor already (the onion service forwards its own host name): nothing to announce.
    let host = ONION.trim_start_matches("http://");
    let res = client
        .get(app.url("/report"))
        .header("host", host)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("onion-location").is_none());
    app.finish().await;

    // No onion address configured: no header.
    let Some(app) = spawn_with(backend, options(Some(PUBLIC_URL), None)).await else {
        return;
    };
    let res = app.browser().get(app.url("/")).send().await.unwrap();
    assert!(res.headers().get("onion-location").is_none());
    app.finish().await;
}

/// Where the video-wall image puts an entity's logo (app/posters.rs `SCREEN_LOGO`).
const SCREEN_LOGO: (u32, u32, u32, u32) = (820, 60, 480, 120);

/// The admin's GET of `path`: status and body.
async fn fetch(app: &TestApp, admin: &Person, path: &str) -> (u16, Vec<u8>) {
    let res = admin.client.get(app.url(path)).send().await.unwrap();
    (res.status().as_u16(), res.bytes().await.unwrap().to_vec())
}

/// The printed posters of `acme` (with a logo) show it, named in each poster's language; those
/// of `bare` (without) and the instance's show none.
async fn printed_posters_show_only_an_entitys_own_logo(app: &TestApp, admin: &Person) {
    let names = [
        ("en", "Acme Ltd"),
        ("nl", "Acme BV"),
        ("fr", "Acme SA"),
        ("de", "Acme GmbH"),
    ];
    for f in ["a4", "a3", "card"] {
        for s in ["en", "nl", "fr", "de", "nl-fr", "nl-fr-de-en"] {
            let name = names.iter().find(|(l, _)| s.starts_with(l)).unwrap().1;
            let path = format!("/officer/admin/posters/{f}/{s}");
            let page = app
                .page(&admin.client, &format!("{path}?entity=acme"))
                .await;
            let img = format!("<img class=\"logo\" src=\"/e/acme/logo.png\" alt=\"{name}\">");
            assert_eq!(page.matches("<img").count(), 1, "{path}: {page}");
            assert!(page.contains(&img), "{path}: {page}");
            for other in [format!("{path}?entity=bare"), path.clone()] {
                let page = app.page(&admin.client, &other).await;
                assert!(page.contains("id=\"poster\""), "{other}: {page}");
                assert!(!page.contains("<img"), "{other}: {page}");
            }
        }
    }
}

async fn an_entitys_logo_is_on_its_posters_only(backend: Backend) {
    let Some(app) = spawn_with(backend, options(Some(PUBLIC_URL), None)).await else {
        return;
    };
    let link = admin_via_cli(&app, "admin@example.org").await;
    let admin = enroll(&app, &link, "admin@example.org", false).await;
    login(&app, &admin).await;
    entity_named(
        &app,
        &admin,
        "acme",
        ["Acme Ltd", "Acme BV", "Acme SA", "Acme GmbH"],
    )
    .await;
    entity_named(
        &app,
        &admin,
        "bare",
        ["Bare Ltd", "Bare BV", "Bare SA", "Bare GmbH"],
    )
    .await;
    let upload = red_logo_with_metadata();
    assert_eq!(upload_logo(&app, &admin, "acme", upload.clone()).await, 200);
    let (_, served) = fetch(&app, &admin, "/e/acme/logo.png").await;
    assert_ne!(served, upload, "the logo is served redrawn");
    printed_posters_show_only_an_entitys_own_logo(&app, &admin).await;

    // The video-wall image: the logo (red) in its box for acme only, and every code scans.
    let acme = format!("{PUBLIC_URL}/e/acme/");
    for set in ["en", "nl-fr-de-en"] {
        let screen = |q: &str| format!("/officer/admin/posters/screen/{set}.png{q}");
        let (status, png) = fetch(&app, &admin, &screen("?entity=acme")).await;
        assert_eq!(status, 200);
        assert_eq!(png_grey(&png).0, 1920);
        let red = logo_red_pixels(&png, SCREEN_LOGO);
        assert!(red > 30_000, "{set}: {red} red pixels where the logo goes");
        assert_eq!(decode_png(&png), vec![(acme.clone(), ECC_H)], "{set}");
        for q in ["?entity=bare", ""] {
            let (_, png) = fetch(&app, &admin, &screen(q)).await;
            assert_eq!(logo_red_pixels(&png, SCREEN_LOGO), 0, "{set}{q}");
        }
    }
    // Its SVG embeds exactly the sanitised PNG, and refers to nothing else.
    let (_, svg) = fetch(
        &app,
        &admin,
        "/officer/admin/posters/screen/fr.svg?entity=acme",
    )
    .await;
    let svg = String::from_utf8(svg).unwrap();
    let data = svg
        .split("href=\"data:image/png;base64,")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no embedded logo: {svg}"));
    assert_eq!(b64(data), served);
    assert_eq!(svg.matches("href=").count(), 1, "{svg}");
    assert!(svg.contains("<title>Acme SA</title>"), "{svg}");

    // Removed: gone from the posters too.
    let page = app
        .page(&admin.client, "/officer/admin/entities/acme")
        .await;
    let form = [("csrf", hidden(&page, "csrf"))];
    let url = app.url("/officer/admin/entities/acme/logo/remove");
    let res = admin.client.post(url).form(&form).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let page = app
        .page(&admin.client, "/officer/admin/posters/a4/en?entity=acme")
        .await;
    assert!(
        page.contains("id=\"poster\"") && !page.contains("<img"),
        "{page}"
    );
    let (_, png) = fetch(
        &app,
        &admin,
        "/officer/admin/posters/screen/en.png?entity=acme",
    )
    .await;
    assert_eq!(logo_red_pixels(&png, SCREEN_LOGO), 0);
    app.finish().await;
}

on_both_databases!(
    an_entitys_logo_is_on_its_posters_only,
    qr_codes_decode_to_exactly_the_public_address,
    no_code_without_a_configured_address,
    the_posters_page_is_for_admins_only,
    the_video_wall_image_is_full_hd_and_scans,
    onion_location_only_on_the_clear_web,
);

/// A setting that is not an onion service's address stops the start, naming the setting.
#[test]
fn a_malformed_onion_address_is_refused_at_start() {
    for bad in [
        "https://meldpunt.example.org",
        "vww6ybal4bd7szmgncyruucpgfkqahzddi37ktceo3ah7ngmcopnpyyd.onion",
        "ftp://vww6ybal4bd7szmgncyruucpgfkqahzddi37ktceo3ah7ngmcopnpyyd.onion",
        "http://vww6ybal4bd7szmgncyruucpgfkqahzddi37ktceo3ah7ngmcopnpyyd.onion/?src=poster",
    ] {
        let serve = ServeArgs {
            onion_url: Some(bad.to_owned()),
            ..Default::default()
        };
        let err = Settings::from_parts(&CommonArgs::default(), &serve, FileConfig::default())
            .err()
            .unwrap_or_else(|| panic!("{bad} was accepted"))
            .to_string();
        assert!(err.contains("SPEAKUP_ONION_URL"), "{err}");
    }
    let file: FileConfig = toml_file("onion_url = \"http://not-an-onion.example\"\n");
    let err = Settings::from_parts(&CommonArgs::default(), &ServeArgs::default(), file)
        .expect_err("refused")
        .to_string();
    assert!(err.contains("SPEAKUP_ONION_URL"), "{err}");
}

fn toml_file(text: &str) -> FileConfig {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("speakup.toml");
    std::fs::write(&path, text).unwrap();
    FileConfig::load(Some(&path)).unwrap()
}
