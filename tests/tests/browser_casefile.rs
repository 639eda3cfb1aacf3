//! The officer-entered report and the case file in Chromium (issue 11), driven by
//! `tests/browser/casefile.mjs`. An officer enters a report on a reporter's behalf: the
//! browser encrypts it (no request carries its text, its file or the receipt), the receipt is
//! shown once, and the reporter opens the mailbox with it without JavaScript (in Chromium,
//! and over plain HTTP in this test) and with JavaScript (decrypted in the browser). The case is stored as
//! officer-entered, its page says so, and its `report_entered` row names the officer. Then the
//! officer downloads a case with a history (a file, messages, a note, a status change with
//! its reason) as a case file, which this test unzips: the report, the file, the thread, the
//! reason and the audit extract are there, and `index.html` shows them. Nothing of any of it
//! reaches the database. Without Chromium or Node it skips, unless everything is required.

use std::process::Command;

use speakup::domain::case::Channel;
use speakup_tests::browser::{self, OfficerScript, str_of};
use speakup_tests::*;

const WHAT: &str = "Phoned in: the canteen supplier bribes the buyer with trips.";
const FILE_TEXT: &str = "notes of the call, canary 7f3a";

/// One member of a ZIP file, as text (python3's zipfile: no ZIP crate in the workspace).
fn unzip(zip: &str, member: &str) -> String {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys, zipfile; sys.stdout.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]).decode('utf-8'))",
            zip,
            member,
        ])
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "{member}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn names(zip: &str) -> Vec<String> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys, zipfile; print('\\n'.join(zipfile.ZipFile(sys.argv[1]).namelist()))",
            zip,
        ])
        .output()
        .expect("run python3");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

async fn entered_report_and_case_file(backend: Backend) {
    if !browser::ready() {
        return;
    }
    let Some(app) = spawn_without_officer(backend).await else {
        return;
    };
    let OfficerScript {
        team: t,
        history: h,
        mut args,
    } = browser::officer_with_history(&app).await;
    let out = app.dir.path().join("casefile");
    args.extend([
        "--what".into(),
        WHAT.into(),
        "--file-text".into(),
        FILE_TEXT.into(),
        "--out".into(),
        out.display().to_string(),
    ]);
    let summary = browser::node(
        "casefile.mjs",
        "run",
        args,
        browser::script_env(&app, backend),
    )
    .await;

    // The reporter, with JavaScript, read the report in the browser.
    assert_eq!(str_of(&summary, "mailbox_what"), WHAT, "{summary}");
    // ... and in Chromium without JavaScript (the server decrypted it), file included.
    assert_eq!(str_of(&summary, "plain_what"), WHAT, "{summary}");
    assert_eq!(
        str_of(&summary, "plain_when_where"),
        "On the phone, this morning",
        "{summary}"
    );
    assert_eq!(
        str_of(&summary, "plain_file"),
        "phone-notes.txt",
        "{summary}"
    );
    assert_eq!(str_of(&summary, "plain_file_text"), FILE_TEXT, "{summary}");
    // ... and without JavaScript over plain HTTP, with the receipt shown to the officer.
    let receipt = str_of(&summary, "receipt");
    let (status, mailbox) = open_mailbox(&app, &app.browser(), receipt).await;
    assert_eq!(status, 200, "{mailbox}");
    assert!(mailbox.contains(WHAT), "{mailbox}");
    assert!(mailbox.contains("phone-notes.txt"), "{mailbox}");

    // Stored as officer-entered, shown so, and audited with the officer's name.
    let reference = str_of(&summary, "reference");
    let case = app
        .store
        .case_by_reference(reference)
        .await
        .unwrap()
        .expect("the entered case");
    assert_eq!(case.channel, Channel::OfficerEntered);
    let sql = format!(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'report_entered' \
         AND actor = '{}' AND case_ref = '{reference}'",
        t.alex.email
    );
    assert_eq!(app.scalar(&sql).await, 1);
    let page = app
        .page(
            &t.alex.client,
            &format!("/officer/cases/{reference}?lang=en"),
        )
        .await;
    assert!(page.contains(">Entered by an officer<"), "{page}");

    // The case file.
    let zip = str_of(&summary, "zip");
    let members = names(zip);
    let report = unzip(zip, "report.json");
    assert!(
        report.contains("The depot manager sells fuel privately."),
        "{report}"
    );
    let file = members
        .iter()
        .find(|n| n.starts_with("files/") && n.ends_with("fuel-log.txt"))
        .unwrap_or_else(|| panic!("no file in {members:?}"));
    assert_eq!(unzip(zip, file), "fuel log");
    let thread: String = members
        .iter()
        .filter(|n| n.starts_with("thread/"))
        .map(|n| unzip(zip, n))
        .collect();
    for line in [
        "We received your report.",
        "The manager also takes cash.",
        "We are looking into it.",
    ] {
        assert!(thread.contains(line), "{line} not in the thread: {thread}");
    }
    let notes: String = members
        .iter()
        .filter(|n| n.starts_with("notes/"))
        .map(|n| unzip(zip, n))
        .collect();
    assert!(notes.contains("Check the supplier register."), "{notes}");
    let index = unzip(zip, "index.html");
    for shown in [
        "The depot manager sells fuel privately.",
        "fuel-log.txt",
        "We received your report.",
        "The manager also takes cash.",
        "Check the supplier register.",
        h.reason,
        "Case file downloaded",
        &t.alex.email,
    ] {
        assert!(index.contains(shown), "{shown} not in index.html");
    }
    assert!(index.contains("@media print"));
    for external in ["<script", "<link", "http://", "https://", "src="] {
        assert!(!index.contains(external), "index.html has {external}");
    }
    assert!(unzip(zip, "case.json").contains(h.reason));
    assert!(unzip(zip, "audit.json").contains("Case file downloaded"));
    let sql = format!(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'case_file_downloaded' \
         AND actor = '{}' AND case_ref = '{}'",
        t.alex.email, h.reference
    );
    assert_eq!(app.scalar(&sql).await, 1);

    // The canary: none of the plaintext reached the database or the log.
    let db = app.database_bytes().await;
    let logs = captured_logs();
    for canary in [WHAT, FILE_TEXT, "phone-notes.txt", receipt, h.reason] {
        assert!(!contains(&db, canary), "{canary} in the database");
        assert!(!contains(&logs, canary), "{canary} in the log");
    }
    app.finish().await;
}

on_both_databases!(entered_report_and_case_file);
