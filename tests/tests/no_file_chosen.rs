//! A file input left empty, as a real browser sends it without JavaScript: a part named like
//! the input with `filename=""`, `application/octet-stream` and no bytes. Found by the
//! browser journeys (tests/browser/reporter.mjs, a11y.mjs): Chromium's no-JS report without
//! a file was stored with one empty file named "attachment", and an empty mailbox message
//! was accepted as a 0-byte file instead of being refused.
//!
//! The server now starts a file only at its first non-empty chunk (web/upload.rs, `file`).

use speakup_tests::*;

fn empty_file_part() -> reqwest::multipart::Part {
    reqwest::multipart::Part::bytes(Vec::new())
        .file_name("")
        .mime_str("application/octet-stream")
        .expect("mime")
}

/// Run on a runtime named after the test, so `finish` can check this test's server log.
#[test]
fn an_empty_file_input_is_no_file() {
    speakup_tests::run_test(an_empty_file_input_is_no_file_scenario());
}

async fn an_empty_file_input_is_no_file_scenario() {
    let app = spawn_app(Backend::Sqlite).await.expect("app");
    let client = app.browser();
    let page = app.page(&client, "/report?lang=en").await;
    let form = Report::default()
        .form(&hidden(&page, "csrf"))
        .part("attachments", empty_file_part());
    let res = client
        .post(app.url("/report?lang=en"))
        .multipart(form)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 200);
    let receipt_page = res.text().await.expect("body");
    assert!(
        receipt_page.contains("<dt>Files received</dt><dd>0</dd>"),
        "a report without a file counts a file: {receipt_page}"
    );

    // The mailbox: a message with nothing in it (no text, no file chosen) is refused.
    let (status, mailbox) = open_mailbox(&app, &client, &receipt(&receipt_page)).await;
    assert_eq!(status, 200, "{mailbox}");
    assert!(
        !mailbox.contains("/mailbox/attachments/"),
        "an empty file was stored with the report: {mailbox}"
    );
    let form = reqwest::multipart::Form::new()
        .text("csrf", hidden(&mailbox, "csrf"))
        .text("message", "")
        .part("attachments", empty_file_part());
    let res = client
        .post(app.url("/mailbox/reply?lang=en"))
        .multipart(form)
        .send()
        .await
        .expect("reply");
    assert_eq!(
        res.status(),
        422,
        "an empty message was accepted: {}",
        res.text().await.unwrap_or_default()
    );
    app.finish().await;
}
