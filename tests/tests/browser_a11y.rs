//! Accessibility in a real browser: `tests/browser/a11y.mjs` runs axe-core (exact-pinned in
//! `tests/browser/package-lock.json`) in Debian's Chromium on every page a reporter or an
//! officer reaches: landing, report form (also with validation errors), receipt (browser and
//! server encryption), follow-up (also failed), mailbox (sealed and server mode), error pages,
//! officer login (also failed), enrollment, case list, case page (locked and decrypted), admin
//! accounts, settings, audit log, statistics and account, in the light and the dark colour scheme.
//! The test fails on any violation of impact "serious" or "critical", listing them; the
//! lesser ones are printed.
//!
//! On the reporter pages at 360 CSS px the page must not scroll sideways and every
//! interactive control must be at least 44×44 CSS px (a radio button or checkbox together
//! with its label; links inside a sentence exempt).
//! Without Chromium or Node it skips, unless everything is required (CI).

use speakup_tests::browser::{self, note, str_of};
use speakup_tests::officer::{
    admin_via_cli, create_account, encrypt, enroll, first_reference, login, open_case, post_parts,
};
use speakup_tests::*;

/// Every page the script must have checked: a missing one fails the test.
const PAGES: &[&str] = &[
    "landing",
    "report form",
    "report form (photo chosen)",
    "receipt (browser encryption)",
    "follow-up",
    "follow-up (failed)",
    "mailbox (sealed, decrypted in the browser)",
    "mailbox (sealed, locked in a new tab)",
    "mailbox (sealed, message sent)",
    "error 404",
    "mailbox closed (error page)",
    "report form (validation errors)",
    "receipt (server encryption)",
    "mailbox (server)",
    "mailbox (server, error shown)",
    "officer enrollment",
    "officer login",
    "officer login (failed)",
    "officer case list",
    "officer case (locked)",
    "officer case (decrypted)",
    "admin accounts",
    "admin settings",
    "admin triage groups",
    "auditor leave-outs",
    "admin entities",
    "admin entity",
    "audit log",
    "statistics",
    "enter a report",
    "officer account",
    "officer 404",
    "entity landing",
    "entity 404",
];

/// An officer's action on the case: path under the case, form fields, encrypted parts.
type Step<'a> = (&'a str, Vec<(&'a str, &'a str)>, Vec<(&'a str, Vec<u8>)>);

fn describe(page: &str, scheme: &str, v: &serde_json::Value) -> String {
    let mut s = format!(
        "{page} ({scheme}): {} [{}] {} ({} element(s))",
        str_of(v, "id"),
        v["impact"].as_str().unwrap_or("?"),
        str_of(v, "help"),
        v["count"]
    );
    for n in v["nodes"].as_array().into_iter().flatten() {
        s.push_str(&format!(
            "\n      {}  {}\n        {}",
            str_of(n, "target"),
            str_of(n, "html"),
            str_of(n, "summary").replace('\n', "\n        ")
        ));
    }
    s
}

async fn every_page_is_accessible(backend: Backend) {
    if !browser::ready() {
        return;
    }
    let Some(app) = spawn_without_officer(backend).await else {
        return;
    };
    // One officer who may do everything (so every officer page can be shown), with an age
    // key; a second account left pending, for its enrollment page.
    let link = admin_via_cli(&app, "admin@example.org").await;
    run_cli(
        &app,
        &["entity", "add", "--slug", "alpha", "--name", "Alpha NV"],
    )
    .await;
    let admin = enroll(&app, &link, "admin@example.org", false).await;
    login(&app, &admin).await;
    let email = "alex@example.org";
    let link = create_account(&app, &admin, email, &["admin", "officer", "auditor"]).await;
    let alex = enroll(&app, &link, email, true).await;
    let pending = create_account(&app, &admin, "pat@example.org", &["investigator"]).await;
    let key_file = browser::write_key_file(&app, &alex);

    // A case with everything a page can show: a confidential report with a file, the
    // identity revealed, an acknowledgement, a message with a file, a note and a status change.
    let reporter = app.browser();
    let report = Report {
        mode: "confidential",
        name: "Rita Reporter",
        contact: "rita@private.example",
        files: vec![("minutes.txt".into(), b"minutes of the meeting".to_vec())],
        ..Default::default()
    };
    let (status, receipt_page) = file_report(&app, &reporter, "en", &report).await;
    assert_eq!(status, 200, "{receipt_page}");
    let rich_receipt = receipt(&receipt_page);
    login(&app, &alex).await;
    let reference = first_reference(&app, &alex).await;
    let case = open_case(&app, &alex, &reference).await;
    let res = alex
        .client
        .post(app.url(&format!("/officer/cases/{reference}/reveal")))
        .form(&[("csrf", case.csrf.as_str()), ("reason", "to call back")])
        .send()
        .await
        .expect("reveal");
    assert_eq!(res.status(), 200);
    let to_case = std::slice::from_ref(&case.to_officers);
    let officers = case.to_officers.to_string();
    let steps: Vec<Step> = vec![
        (
            "messages",
            vec![("kind", "acknowledgement")],
            vec![(
                "message",
                encrypt(&case.to_both, b"We received your report."),
            )],
        ),
        (
            "messages",
            vec![("kind", "message"), ("feedback", "1")],
            vec![
                (
                    "message",
                    encrypt(&case.to_both, b"Could you send the invoices?"),
                ),
                ("attachment", encrypt(&case.to_both, b"a list of questions")),
                ("attachment_name", encrypt(&case.to_both, b"questions.txt")),
            ],
        ),
        (
            "notes",
            vec![("recipient", officers.as_str())],
            vec![
                ("message", encrypt(to_case, b"Check the supplier register.")),
                ("attachment", encrypt(to_case, b"register extract")),
                ("attachment_name", encrypt(to_case, b"register.txt")),
            ],
        ),
        (
            "status",
            vec![
                ("status", "investigating"),
                ("outcome", ""),
                ("recipient", officers.as_str()),
            ],
            vec![("reason", encrypt(to_case, b"Enough to look into."))],
        ),
    ];
    for (action, fields, parts) in steps {
        let mut all = vec![("csrf", case.csrf.as_str())];
        all.extend(fields);
        let (status, page) = post_parts(
            &app,
            &alex,
            &format!("/officer/cases/{reference}/{action}"),
            &all,
            parts,
        )
        .await;
        assert_eq!(status, 200, "{action}: {page}");
    }

    let summary = browser::node(
        "a11y.mjs",
        "audit",
        vec![
            "--base".into(),
            app.base.clone(),
            "--email".into(),
            email.into(),
            "--password".into(),
            alex.password.clone(),
            "--totp-secret".into(),
            speakup_tests::speakup::auth::seed_base32(&alex.seed),
            "--key-file".into(),
            key_file.display().to_string(),
            "--enroll-link".into(),
            app.url(&speakup_tests::officer::path_of(&pending)),
            "--receipt".into(),
            rich_receipt,
            "--case".into(),
            reference,
        ],
        vec![(
            "SPEAKUP_CLOCK_OFFSET".to_owned(),
            browser::clock_offset(&app).to_string(),
        )],
    )
    .await;
    note(&format!(
        "axe-core {} injected by {}; {} pages in {} ms",
        str_of(&summary, "axe_version"),
        str_of(&summary, "axe_injection"),
        summary["pages"].as_array().map_or(0, Vec::len),
        summary["ms"]
    ));

    // The whole report, for reading: every violation, every page's phone-width numbers.
    let dir = browser::artifacts(app.backend);
    std::fs::create_dir_all(&dir).expect("artifacts dir");
    std::fs::write(
        dir.join("a11y-report.json"),
        serde_json::to_string_pretty(&summary).expect("json"),
    )
    .expect("write a11y report");

    let pages = summary["pages"].as_array().expect("pages");
    let names: Vec<&str> = pages.iter().map(|p| str_of(p, "name")).collect();
    assert_eq!(names, PAGES, "the pages checked");

    let mut serious = Vec::new();
    let mut lesser = Vec::new();
    let mut phone = Vec::new();
    for p in pages {
        let name = str_of(p, "name");
        for (scheme, key) in [("light", "violations"), ("dark", "dark_violations")] {
            for v in p[key].as_array().expect("violations") {
                let line = describe(name, scheme, v);
                match v["impact"].as_str() {
                    Some("serious" | "critical") => serious.push(line),
                    _ => lesser.push(line),
                }
            }
        }
        if let Some(ph) = p.get("phone") {
            let width = ph["scroll_width"].as_u64().expect("scroll width");
            if width > 360 {
                phone.push(format!(
                    "{name}: scrolls sideways at 360 px ({width} px wide)"
                ));
            }
            for t in ph["small_targets"].as_array().expect("targets") {
                phone.push(format!("{name}: target smaller than 44×44 px: {t}"));
            }
        }
    }
    for l in &lesser {
        note(&format!("axe (moderate/minor): {l}"));
    }
    assert!(
        serious.is_empty(),
        "{} serious or critical accessibility violation(s):\n  {}",
        serious.len(),
        serious.join("\n  ")
    );
    assert!(
        phone.is_empty(),
        "reporter pages at phone width:\n  {}",
        phone.join("\n  ")
    );
    app.finish().await;
}

#[test]
fn every_page_is_accessible_sqlite() {
    speakup_tests::run_test(every_page_is_accessible(Backend::Sqlite));
}
