//! The posters printed in a real browser: Debian's Chromium (driven by
//! `tests/browser/posters.mjs`) prints every poster (A4, A3 and the card, in each language
//! and the combined versions) to PDF with the page size the poster's CSS asks for. Each PDF
//! must have exactly one page of the right size, nothing on the poster may be cut off, and
//! the page, rasterised by Poppler's `pdftoppm`, must scan: one QR code with exactly the
//! public address, and a second with the onion address. An entity's posters are printed too:
//! with its logo (loaded, named in the poster's language) they still fit one page and scan.
//! Without Chromium, Node or Poppler it skips, unless everything is required (CI).

#[allow(dead_code)]
mod qr_support;

use std::sync::Arc;

use reqwest::cookie::{CookieStore, Jar};
use speakup_tests::browser::{self, note, str_of};
use speakup_tests::officer::{Person, admin_via_cli, enroll, entity_named, login, upload_logo};
use speakup_tests::*;

const PUBLIC_URL: &str = "http://report.example.org";
const ONION: &str = "http://vww6ybal4bd7szmgncyruucpgfkqahzddi37ktceo3ah7ngmcopnpyyd.onion";
const FORMATS: &[(&str, f64, f64)] = &[
    // Page sizes in PostScript points (1/72 inch).
    ("a4", 595.28, 841.89),
    ("a3", 841.89, 1190.55),
    ("card", 297.64, 419.53),
];
const SETS: &[&str] = &["en", "nl", "fr", "de", "nl-fr", "nl-fr-de-en"];

/// Signs the admin in with a client whose cookies the test can read; the admin and the
/// session cookie, for the browser.
async fn admin_cookie(app: &TestApp) -> (Person, String) {
    let link = admin_via_cli(app, "admin@example.org").await;
    let person = enroll(app, &link, "admin@example.org", false).await;
    let jar = Arc::new(Jar::default());
    let client = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .build()
        .expect("client");
    let admin = Person { client, ..person };
    login(app, &admin).await;
    let url = app.url("/officer/").parse().expect("url");
    let cookie = jar
        .cookies(&url)
        .and_then(|v| v.to_str().ok().map(str::to_owned))
        .expect("a session cookie");
    (admin, cookie)
}

/// The entity whose posters are printed too, with a logo, and its name per poster language.
const ENTITY: &str = "?entity=acme";
const NAMES: [&str; 4] = ["Acme Ltd", "Acme BV", "Acme SA", "Acme GmbH"];

/// What a printed poster must show of a logo: none on the instance's, the entity's own,
/// loaded and named in the poster's first language, on the entity's.
fn assert_logo(path: &str, images: &serde_json::Value) {
    let images = images.as_array().expect("images");
    if !path.ends_with(ENTITY) {
        assert!(images.is_empty(), "{path}: {images:?}");
        return;
    }
    let lang = ["en", "nl", "fr", "de"]
        .iter()
        .position(|l| path.contains(&format!("/{l}")))
        .expect("a language");
    assert_eq!(images.len(), 1, "{path}: {images:?}");
    let img = &images[0];
    assert_eq!(str_of(img, "src"), "/e/acme/logo.png", "{path}");
    assert_eq!(str_of(img, "alt"), NAMES[lang], "{path}");
    assert_eq!(img["loaded"], true, "{path}: the logo did not load");
    assert!(img["height"].as_f64().unwrap_or(0.0) > 5.0, "{path}: {img}");
}

async fn every_poster_prints_on_one_page_and_scans(backend: Backend) {
    if !browser::ready() || !available("Poppler (pdfinfo, pdftoppm)", qr_support::poppler_present())
    {
        return;
    }
    let mut opts = Options::default();
    opts.serve.public_url = Some(PUBLIC_URL.to_owned());
    opts.serve.onion_url = Some(ONION.to_owned());
    let Some(app) = spawn_with(backend, opts).await else {
        return;
    };
    let (admin, cookie) = admin_cookie(&app).await;
    entity_named(&app, &admin, "acme", NAMES).await;
    let logo = qr_support::red_logo_with_metadata();
    assert_eq!(upload_logo(&app, &admin, "acme", logo).await, 200);
    let paths: Vec<String> = ["", ENTITY]
        .iter()
        .flat_map(|q| {
            FORMATS.iter().flat_map(move |(f, _, _)| {
                SETS.iter()
                    .map(move |s| format!("/officer/admin/posters/{f}/{s}{q}"))
            })
        })
        .collect();
    let out = app.dir.path().join("pdf");
    let summary = browser::node(
        "posters.mjs",
        "print",
        vec![
            "--base".into(),
            app.base.clone(),
            "--paths".into(),
            paths.join(","),
            "--out".into(),
            out.display().to_string(),
        ],
        vec![("SPEAKUP_COOKIE".into(), cookie)],
    )
    .await;
    let posters = summary["posters"].as_array().expect("posters");
    assert_eq!(posters.len(), paths.len());
    for p in posters {
        let path = str_of(p, "path");
        let pdf = std::path::PathBuf::from(str_of(p, "pdf"));
        assert_eq!(p["clipped_px"], 0, "{path}: the poster is cut off ({p})");
        assert_logo(path, &p["images"]);
        let (pages, w, h) = qr_support::pdf_pages(&pdf);
        assert_eq!(pages, 1, "{path} printed on {pages} pages");
        let (format, want_w, want_h) = FORMATS
            .iter()
            .find(|(f, _, _)| path.contains(&format!("/{f}/")))
            .expect("a format");
        assert!(
            (w - want_w).abs() < 2.0 && (h - want_h).abs() < 2.0,
            "{path}: page of {w}×{h} pt, not {format}"
        );
        // The card is small: a finer scan, as a phone held close would see it.
        let dpi = if *format == "card" { 400 } else { 200 };
        let mut found: Vec<String> = qr_support::decode_pdf(&pdf, dpi)
            .into_iter()
            .map(|(text, _)| text)
            .collect();
        found.sort();
        note(&format!("{path}: 1 page, codes {found:?}"));
        let address = match path.ends_with(ENTITY) {
            true => format!("{PUBLIC_URL}/e/acme/"),
            false => PUBLIC_URL.to_owned(),
        };
        let mut want = vec![address, ONION.to_owned()];
        want.sort();
        assert_eq!(found, want, "{path}: the printed codes");
    }
    app.finish().await;
}

on_both_databases!(every_poster_prints_on_one_page_and_scans);
