//! The reporter pages in a real browser: Debian's Chromium, driven by
//! `tests/browser/reporter.mjs` (Playwright), against the real server.
//!
//! 1. With JavaScript, in English, Dutch, French and German: from the landing page to the
//!    report form, a report with a file (confidential in one language, anonymous in the
//!    others) is encrypted in the browser; the receipt appears in `#receipt`, `#protection`
//!    says the browser encrypted it; the mailbox, opened with the receipt, is sealed and
//!    decrypts in place. The server must hold the case under that receipt's lookup value and
//!    never the report's text, the reporter's name, the file or the receipt: neither in the
//!    database nor in the logs.
//! 2. Without JavaScript, the same through the server's own encryption.
//! 3. An officer answers two of those cases (encrypted here, as the officer's browser does);
//!    the reporter reads the answer and its file with and without JavaScript, then closes the
//!    mailbox.
//!
//! Screenshots of every reporter page (1280 and 360 px wide) go to `SPEAKUP_ARTIFACTS`
//! (default `target/browser-artifacts/<database>`). Without Chromium or Node it skips, unless
//! everything is required (CI).

use std::path::Path;
use std::time::Instant;

use speakup_tests::browser::{self, note, str_of};
use speakup_tests::officer::{
    Person, admin_via_cli, create_account, encrypt, enroll, login, open_case, post_parts,
};
use speakup_tests::speakup::domain::receipt::ReceiptToken;
use speakup_tests::speakup::i18n::Lang;
use speakup_tests::*;

const LANGS: [&str; 4] = ["en", "nl", "fr", "de"];

/// One report of a plan, as the script fills the form.
struct Planned {
    lang: &'static str,
    mode: &'static str,
    what: String,
    name: String,
    contact: String,
    attachment_name: String,
    attachment_text: String,
}

impl Planned {
    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "lang": self.lang,
            "mode": self.mode,
            "what": self.what,
            "when_where": "Since March, second floor",
            "involved": "Purchasing department",
            "name": self.name,
            "contact": self.contact,
            "attachment_name": self.attachment_name,
            "attachment_text": self.attachment_text,
        })
    }

    /// Everything of this report that only the reporter and the officers may read.
    fn secrets(&self) -> Vec<&str> {
        let mut s = vec![self.what.as_str(), self.attachment_text.as_str()];
        if self.mode == "confidential" {
            s.push(self.name.as_str());
            s.push(self.contact.as_str());
        }
        s
    }
}

/// Reports in the four languages; the one in `confidential_in` is confidential.
fn plan(tag: &str, path: &str, confidential_in: &str) -> Vec<Planned> {
    LANGS
        .iter()
        .map(|&lang| {
            let confidential = lang == confidential_in;
            Planned {
                lang,
                mode: if confidential {
                    "confidential"
                } else {
                    "anonymous"
                },
                what: format!("CANARY-what-{path}-{lang}-{tag}: the depot sells fuel privately"),
                name: if confidential {
                    format!("CANARY-name-{path}-{tag}")
                } else {
                    String::new()
                },
                contact: if confidential {
                    format!("canary-contact-{path}-{tag}@private.example")
                } else {
                    String::new()
                },
                attachment_name: format!("fuel-log-{lang}.txt"),
                attachment_text: format!("CANARY-file-{path}-{lang}-{tag}\n"),
            }
        })
        .collect()
}

/// The admin who makes the officer, and the officer (with an age key) who receives reports.
async fn team(app: &TestApp) -> Person {
    let link = admin_via_cli(app, "admin@example.org").await;
    let admin = enroll(app, &link, "admin@example.org", false).await;
    login(app, &admin).await;
    let link = create_account(app, &admin, "olga@example.org", &["officer"]).await;
    let officer = enroll(app, &link, "olga@example.org", true).await;
    login(app, &officer).await;
    officer
}

fn artifacts_env(app: &TestApp) -> Vec<(String, String)> {
    vec![(
        "SPEAKUP_ARTIFACTS".to_owned(),
        browser::artifacts(app.backend).display().to_string(),
    )]
}

/// Files `plan` through the browser; checks what the pages showed and what the server keeps.
/// Returns each report's receipt and reference.
async fn journey(app: &TestApp, js: bool, plan: &[Planned]) -> Vec<(String, String)> {
    let shots = if js { "reporter-js" } else { "reporter-nojs" };
    let summary = browser::node(
        "reporter.mjs",
        "journey",
        vec![
            "--base".into(),
            app.base.clone(),
            "--js".into(),
            if js { "on" } else { "off" }.into(),
            "--plan".into(),
            serde_json::Value::Array(plan.iter().map(Planned::json).collect()).to_string(),
            "--shots".into(),
            shots.into(),
        ],
        artifacts_env(app),
    )
    .await;
    let reports = summary["reports"].as_array().expect("reports");
    assert_eq!(reports.len(), plan.len(), "{summary}");
    let mut out = Vec::new();
    for (r, p) in reports.iter().zip(plan) {
        let tr = Lang::from_code(p.lang).expect("language").tr();
        let ms = r["ms"].as_u64().unwrap_or_default();
        note(&format!(
            "reporter journey ({}, JavaScript {}): {ms} ms",
            p.lang,
            if js { "on" } else { "off" }
        ));
        assert_eq!(str_of(r, "receipt_lang"), p.lang, "{r}");
        let expected = if js {
            tr.get("receipt.protection_browser")
        } else {
            tr.get("receipt.protection")
        };
        assert_eq!(
            str_of(r, "protection"),
            expected,
            "#protection ({})",
            p.lang
        );
        assert!(
            str_of(r, "receipt_title").starts_with(tr.get("receipt.title")),
            "{r}"
        );
        assert_eq!(r["sealed"], js, "{r}");
        assert_eq!(str_of(r, "what"), p.what, "report text in the mailbox: {r}");
        assert_eq!(str_of(r, "status"), tr.get("status.received"), "{r}");
        if p.mode == "confidential" {
            assert_eq!(str_of(r, "name"), p.name, "{r}");
        }
        assert_eq!(str_of(r, "attachment_name"), p.attachment_name, "{r}");
        assert_eq!(r["attachment"]["name"], p.attachment_name.as_str(), "{r}");
        assert_eq!(r["attachment"]["text"], p.attachment_text.as_str(), "{r}");
        if js {
            // Report, file name, and identity when confidential.
            let items = if p.mode == "confidential" { 3 } else { 2 };
            assert_eq!(r["decrypted_items"], items, "{r}");
        }

        // The receipt the page showed is the one the case is stored under.
        let receipt = str_of(r, "receipt").to_owned();
        let token = ReceiptToken::parse(&receipt).expect("a receipt");
        let case = app
            .store
            .case_by_lookup(&token.derive().lookup.0)
            .await
            .expect("lookup")
            .unwrap_or_else(|| panic!("no case stored for the receipt shown ({})", p.lang));
        assert_eq!(case.reference, str_of(r, "reference"), "{r}");
        assert_eq!(case.mode.as_str(), p.mode, "{r}");
        assert_eq!(case.status.as_str(), "received", "{r}");

        let shots = r["screenshots"].as_array().expect("screenshots");
        if out.is_empty() {
            // Landing, form, receipt, follow-up and mailbox, each at 1280 and 360 px.
            assert_eq!(shots.len(), 10, "{r}");
        }
        for s in shots {
            assert!(Path::new(str_of(s, "path")).is_file(), "{s}");
            assert_eq!(s["overflow_px"], 0, "the page scrolls sideways: {s}");
        }
        let widths = r["phone_widths"].as_array().expect("phone widths");
        if !out.is_empty() {
            assert_eq!(widths.len(), 5, "{r}");
        }
        for w in widths {
            assert_eq!(
                w["overflow_px"], 0,
                "the page scrolls sideways at 360 px: {w}"
            );
        }
        out.push((receipt, case.reference));
    }

    // Only ciphertext reached the server; nothing readable was stored or logged.
    let db = app.database_bytes().await;
    let logs = captured_logs();
    for p in plan {
        for secret in p.secrets() {
            assert!(!contains(&db, secret), "plaintext {secret} in the database");
            assert!(!contains(&logs, secret), "plaintext {secret} in the logs");
        }
    }
    for (receipt, _) in &out {
        let bare = receipt.replace('-', "");
        for r in [receipt.as_str(), bare.as_str()] {
            assert!(!contains(&db, r), "the receipt {r} is in the database");
            assert!(!contains(&logs, r), "the receipt {r} is in the logs");
        }
    }
    out
}

/// The officer answers the case with a message and a file, encrypted as their browser would.
async fn officer_replies(app: &TestApp, officer: &Person, reference: &str, text: &str, file: &str) {
    let case = open_case(app, officer, reference).await;
    let (status, page) = post_parts(
        app,
        officer,
        &format!("/officer/cases/{reference}/messages"),
        &[("csrf", &case.csrf), ("kind", "message")],
        vec![
            ("message", encrypt(&case.to_both, text.as_bytes())),
            ("attachment", encrypt(&case.to_both, file.as_bytes())),
            ("attachment_name", encrypt(&case.to_both, b"answer.txt")),
        ],
    )
    .await;
    assert_eq!(status, 200, "{page}");
}

/// The reporter opens the mailbox and reads the answer (journey 3).
async fn read_reply(app: &TestApp, js: bool, lang: &str, receipt: &str, text: &str, file: &str) {
    let summary = browser::node(
        "reporter.mjs",
        "read",
        vec![
            "--base".into(),
            app.base.clone(),
            "--js".into(),
            if js { "on" } else { "off" }.into(),
            "--lang".into(),
            lang.into(),
            "--receipt".into(),
            receipt.into(),
            "--expect".into(),
            text.into(),
            "--expect-file".into(),
            "answer.txt".into(),
            "--expect-file-text".into(),
            file.into(),
            "--shots".into(),
            format!("reporter-{}", if js { "js" } else { "nojs" }),
        ],
        artifacts_env(app),
    )
    .await;
    assert_eq!(str_of(&summary, "message"), text, "{summary}");
    assert_eq!(summary["sealed"], js, "{summary}");
    if js {
        assert_eq!(summary["key_in_session"], true, "{summary}");
        assert_eq!(summary["key_after_logout"], false, "{summary}");
    }
    for s in summary["screenshots"].as_array().expect("screenshots") {
        assert!(Path::new(str_of(s, "path")).is_file(), "{s}");
        assert_eq!(s["overflow_px"], 0, "the page scrolls sideways: {s}");
    }
}

/// Journeys 1 and 3 (with JavaScript); on SQLite also 2 (without) and 3 across both paths.
async fn reporter_in_chromium(backend: Backend) {
    if !browser::ready() {
        return;
    }
    let Some(app) = spawn_without_officer(backend).await else {
        return;
    };
    let started = Instant::now();
    let officer = team(&app).await;
    let tag = uuid::Uuid::new_v4().simple().to_string();

    let with_js = plan(&tag, "js", "nl");
    let js_cases = journey(&app, true, &with_js).await;
    let mut cases = vec![(true, with_js[0].lang, js_cases[0].clone())];
    if backend == Backend::Sqlite {
        let without_js = plan(&tag, "nojs", "fr");
        let nojs_cases = journey(&app, false, &without_js).await;
        assert_eq!(app.store.cases().await.expect("cases").len(), 8);
        cases.push((false, without_js[2].lang, nojs_cases[2].clone()));
    } else {
        assert_eq!(app.store.cases().await.expect("cases").len(), 4);
    }

    // Journey 3: an answer from the team, read with and without JavaScript.
    for (filed_with_js, lang, (receipt, reference)) in cases {
        let how = if filed_with_js { "js" } else { "nojs" };
        let text = format!("CANARY-answer-{how}-{tag}: please send the fuel receipts");
        let file = format!("CANARY-answer-file-{how}-{tag}\n");
        officer_replies(&app, &officer, &reference, &text, &file).await;
        for js in [true, false] {
            read_reply(&app, js, lang, &receipt, &text, &file).await;
        }
        let db = app.database_bytes().await;
        for secret in [&text, &file] {
            assert!(!contains(&db, secret), "plaintext {secret} in the database");
        }
    }
    note(&format!(
        "reporter browser journeys ({backend:?}): {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    app.finish().await;
}

on_both_databases!(reporter_in_chromium);
