//! Rule `clear-errors`: bad input of every kind gets a clear 4xx page in the reporter's language
//! (never a 500), and what was stored before stays intact and readable.

use speakup::config::ServeArgs;
use speakup_tests::*;

async fn bad_input_is_refused_kindly(backend: Backend) {
    let opts = Options {
        serve: ServeArgs {
            max_attachment_mib: Some(1),
            max_attachments: Some(2),
            rate_per_client: Some(1000),
            rate_global: Some(10_000),
            ..Default::default()
        },
        ..Default::default()
    };
    let Some(app) = spawn_with(backend, opts).await else {
        return;
    };
    let client = app.browser();
    let (status, page) = file_report(&app, &client, "en", &Report::default()).await;
    assert_eq!(status, 200);
    let token = receipt(&page);
    let cases_before = app.store.cases().await.unwrap().len();
    let stored_before = app.stored().await;

    let form_page = app.page(&client, "/report?lang=nl").await;
    let csrf = hidden(&form_page, "csrf");
    let post = |form: reqwest::multipart::Form| {
        client
            .post(app.url("/report?lang=nl"))
            .multipart(form)
            .send()
    };

    // Each case: what is sent, the status expected.
    let no_csrf = reqwest::multipart::Form::new().text("what", "x");
    let forged = reqwest::multipart::Form::new()
        .text("csrf", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .text("what", "x");
    let unknown_category = Report {
        category: "nope",
        ..Default::default()
    }
    .form(&csrf);
    let empty_what = Report {
        what: "   ",
        ..Default::default()
    }
    .form(&csrf);
    let bad_mode = Report {
        mode: "public",
        ..Default::default()
    }
    .form(&csrf);
    let confidential_no_name = Report {
        mode: "confidential",
        ..Default::default()
    }
    .form(&csrf);
    let huge = "x".repeat(20_001);
    let huge_field = Report {
        what: &huge,
        ..Default::default()
    }
    .form(&csrf);
    let big_file = Report {
        files: vec![("big.bin".into(), vec![1u8; 1024 * 1024 + 1])],
        ..Default::default()
    }
    .form(&csrf);
    let three_files = Report {
        files: vec![
            ("a".into(), vec![1]),
            ("b".into(), vec![2]),
            ("c".into(), vec![3]),
        ],
        ..Default::default()
    }
    .form(&csrf);
    let bad_utf8 = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .text("category", "fraud")
        .part(
            "what",
            reqwest::multipart::Part::bytes(vec![0xff, 0xfe, 0x41]),
        );
    let cases: Vec<(&str, reqwest::multipart::Form, u16)> = vec![
        ("no csrf", no_csrf, 403),
        ("forged csrf", forged, 403),
        ("unknown category", unknown_category, 422),
        ("empty what", empty_what, 422),
        ("bad mode", bad_mode, 422),
        ("confidential without name", confidential_no_name, 422),
        ("field too long", huge_field, 422),
        ("file too big", big_file, 413),
        ("too many files", three_files, 422),
        ("invalid utf-8", bad_utf8, 400),
    ];
    for (what, form, expected) in cases {
        let res = match post(form).await {
            Ok(res) => res,
            // The one refusal the server may make before it has read the body (the file is
            // over the limit while it is still arriving): it may then close the connection
            // under the client. Anywhere else a dropped connection is a failure.
            Err(e) if expected == 413 && (e.is_request() || e.is_body()) => {
                assert_eq!(
                    app.stored().await,
                    stored_before,
                    "{what}: stored something"
                );
                continue;
            }
            Err(e) => panic!("{what}: {e}"),
        };
        let status = res.status().as_u16();
        let ctype = res.headers()["content-type"].to_str().unwrap().to_owned();
        let body = res.text().await.unwrap();
        assert_eq!(status, expected, "{what}: {body}");
        assert!(ctype.starts_with("text/html"), "{what}: {ctype}");
        assert!(body.contains("lang=\"nl\""), "{what}: page not in Dutch");
        assert_eq!(
            app.stored().await,
            stored_before,
            "{what}: stored something"
        );
    }

    // A body that is not multipart at all, and garbage multipart.
    let res = client
        .post(app.url("/report?lang=fr"))
        .body("hello")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error());
    assert!(res.text().await.unwrap().contains("lang=\"fr\""));
    let res = client
        .post(app.url("/report?lang=de"))
        .header("content-type", "multipart/form-data; boundary=XYZ")
        .body("--XYZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nabc\r\n--XY")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());
    assert!(res.text().await.unwrap().contains("lang=\"de\""));

    // Cross-site posts are refused even with a valid token.
    let res = client
        .post(app.url("/report"))
        .header("sec-fetch-site", "cross-site")
        .multipart(Report::default().form(&csrf))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    // Bogus receipts, unknown pages, wrong methods: 4xx pages, never 500.
    for (method, path, expected) in [
        ("GET", "/nope?lang=de", 404),
        ("DELETE", "/report", 405),
        ("GET", "/mailbox", 401),
        ("GET", "/mailbox/attachments/x", 401),
    ] {
        let res = client
            .request(method.parse().unwrap(), app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), expected, "{method} {path}");
        assert!(
            res.text().await.unwrap().contains("<html"),
            "{method} {path}"
        );
    }
    let long_receipt = "A".repeat(100_000);
    let (status, _) = open_mailbox(&app, &client, &long_receipt).await;
    assert_eq!(status, 401);

    // Nothing refused was stored; nothing stored before was lost.
    assert_eq!(app.store.cases().await.unwrap().len(), cases_before);
    let (status, mailbox) = open_mailbox(&app, &app.browser(), &token).await;
    assert_eq!(status, 200);
    assert!(mailbox.contains("Invoices are paid twice"));
    // No upload is left half-stored (nor whole: no blob was added at all).
    assert_eq!(stored_before.incomplete_blobs, 0);
    assert_eq!(app.stored().await, stored_before);
    app.finish().await;
}

async fn intake_closed_without_officers(backend: Backend) {
    let Some(app) = spawn_without_officer(backend).await else {
        return;
    };
    let client = app.browser();
    let landing = app.page(&client, "/").await;
    assert!(
        !landing.contains("href=\"/report"),
        "no report link while not configured"
    );
    let form = app.page(&client, "/report").await;
    assert!(
        !form.contains("name=\"what\""),
        "no form while not configured"
    );
    // A hand-made valid token: the refusal must come from the missing keys, not the token.
    let keys = app.server_keys();
    let csrf = speakup::web::csrf::issue(
        &keys.csrf,
        speakup::web::csrf::Purpose::Report,
        b"",
        time::OffsetDateTime::now_utc(),
    );
    let res = client
        .post(app.url("/report"))
        .multipart(Report::default().form(&csrf))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    assert!(app.store.cases().await.unwrap().is_empty());
    app.finish().await;
}

on_both_databases!(bad_input_is_refused_kindly, intake_closed_without_officers);
