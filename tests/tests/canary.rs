//! Rule `no-plaintext-at-rest`, proven: unique strings put in every reporter field, a reply and an
//! attachment (content and name) appear nowhere in the database, the server's log output
//! (captured at trace level, dependencies included) or the temporary directory.

use speakup_tests::*;

async fn no_plaintext_anywhere(backend: Backend) {
    let started = std::time::SystemTime::now() - std::time::Duration::from_secs(2);
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let mut made = TempWatch::start();
    let client = app.browser();
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let canary = |what: &str| format!("CANARY-{what}-{tag}");
    let (what, when_where, involved, name, contact) = (
        canary("what"),
        canary("when"),
        canary("involved"),
        canary("name"),
        canary("contact"),
    );
    let (file_body, file_name, reply) = (canary("filebody"), canary("filename"), canary("reply"));
    let mut big = file_body.clone().into_bytes();
    big.extend(std::iter::repeat_n(b'x', 700_000));
    big.extend(file_body.as_bytes());

    let report = Report {
        what: &what,
        when_where: &when_where,
        involved: &involved,
        mode: "confidential",
        name: &name,
        contact: &contact,
        files: vec![(format!("{file_name}.txt"), big)],
        ..Default::default()
    };
    let (status, page) = file_report(&app, &client, "en", &report).await;
    assert_eq!(status, 200, "{page}");
    let (_, mailbox) = open_mailbox(&app, &client, &receipt(&page)).await;
    assert!(
        mailbox.contains(&what),
        "the mailbox must show the report back"
    );
    let form = reqwest::multipart::Form::new()
        .text("csrf", hidden(&mailbox, "csrf"))
        .text("message", reply.clone());
    let res = client
        .post(app.url("/mailbox/reply"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert!(res.text().await.unwrap().contains(&reply));

    // A refused submission (unknown category) must not leave plaintext behind either.
    let refused = Report {
        category: "no-such-category",
        what: &what,
        ..Default::default()
    };
    let (status, _) = file_report(&app, &client, "en", &refused).await;
    assert_eq!(status, 422);

    let db = app.database_bytes().await;
    let logs = speakup_tests::captured_logs();
    assert!(
        !logs.is_empty(),
        "the log capture must see the server's logs"
    );
    for c in [
        &what,
        &when_where,
        &involved,
        &name,
        &contact,
        &file_body,
        &file_name,
        &reply,
    ] {
        assert!(!contains(&db, c), "{c} found in the {backend:?} database");
        assert!(!contains(&logs, c), "{c} found in the server log");
        let hits = files_containing(&std::env::temp_dir(), started, c);
        assert!(hits.is_empty(), "{c} found in temporary files {hits:?}");
    }
    // Not even briefly: no file was made in the temporary directory while the server handled
    // the report, the reply and the refusal (a file removed again is caught here too).
    let files = made.files_created();
    assert!(
        files.is_empty(),
        "files made in the temporary directory: {files:?}"
    );
    // The scan is not vacuous: ciphertext is there, and so is metadata.
    assert!(contains(&db, "age-encryption.org/v1"));
    assert!(contains(&db, "fraud"));
    // Nothing above is a server fault: no WARN or ERROR from the server's own code.
    assert_no_server_warnings(&[]);
    app.finish().await;
}

on_both_databases!(no_plaintext_anywhere);

/// The scans above read panic messages too: a panic anywhere in the process (a server task's
/// included) is copied into the capture.
#[test]
fn panic_messages_reach_the_capture() {
    let _ = captured_logs();
    let tag = format!("PANIC-CANARY-{}", uuid::Uuid::new_v4().simple());
    let message = tag.clone();
    let _ = std::thread::spawn(move || panic!("{message}")).join();
    assert!(
        contains(&captured_logs(), &tag),
        "a panic message is missing from the capture"
    );
}
