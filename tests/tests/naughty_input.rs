//! Hostile input, systematically (finding 7): every string of the Big List of Naughty Strings
//! (vendored in tests/fixtures/blns) in every form field of every reporter route (all fields
//! of a request at once, and for the report also in its text fields alone so the string is
//! stored), the reply's file name included, plus
//! oversized, truncated and mis-encoded requests. Never a 5xx, the server keeps serving, and
//! what was stored before is intact.

use futures_util::StreamExt;
use speakup_tests::*;

/// The list, or every sixth string of it (a fixed sample, about 80) unless
/// `SPEAKUP_NAUGHTY_ALL=1`: the full list is ~2,900 requests per database, minutes on two
/// shared cores, while CI's budget for this test is about a minute.
fn naughty() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/blns/blns.json");
    let text = std::fs::read_to_string(path).expect("tests/fixtures/blns/blns.json");
    let all: Vec<String> = serde_json::from_str(&text).expect("a JSON list of strings");
    assert!(all.len() > 400, "the vendored list is incomplete");
    if std::env::var("SPEAKUP_NAUGHTY_ALL").is_ok_and(|v| v == "1") {
        return all;
    }
    all.into_iter().step_by(6).collect()
}

/// One reporter request: route, form fields (the naughty one replaced), multipart or not.
#[derive(Clone)]
struct Route {
    path: &'static str,
    fields: Vec<(&'static str, String)>,
    multipart: bool,
    /// The fields that get the naughty string (all of them but the token, or a subset that
    /// leaves the form otherwise valid, so the string reaches the store).
    naughty: Vec<usize>,
}

impl Route {
    fn new(path: &'static str, fields: Vec<(&'static str, String)>, multipart: bool) -> Self {
        let naughty = (1..fields.len()).collect();
        Self {
            path,
            fields,
            multipart,
            naughty,
        }
    }
}

fn routes(report_csrf: &str, follow_csrf: &str, mailbox_csrf: &str) -> Vec<Route> {
    let report = |csrf: &str| {
        vec![
            ("csrf", csrf.to_owned()),
            ("category", "fraud".to_owned()),
            ("what", "w".to_owned()),
            ("when_where", "".to_owned()),
            ("involved", "".to_owned()),
            ("mode", "anonymous".to_owned()),
            ("name", "".to_owned()),
            ("contact", "".to_owned()),
        ]
    };
    let sealed = vec![
        ("csrf", report_csrf.to_owned()),
        ("category", "fraud".to_owned()),
        ("mode", "anonymous".to_owned()),
        ("lookup", "00".repeat(32)),
        ("case_recipient", "x".to_owned()),
        ("reporter_recipient", "x".to_owned()),
        ("holder", "x".to_owned()),
        ("report", "x".to_owned()),
        ("envelope", "x".to_owned()),
        ("attachment_name", "x".to_owned()),
    ];
    let mut valid_report = Route::new("/report?lang=en", report(report_csrf), true);
    valid_report.naughty = vec![2, 3, 4, 6, 7];
    vec![
        Route::new("/report?lang=en", report(report_csrf), true),
        valid_report,
        Route::new("/report/sealed?lang=en", sealed, true),
        Route::new(
            "/follow-up",
            vec![
                ("csrf", follow_csrf.to_owned()),
                ("receipt", "x".to_owned()),
                ("lookup", "x".to_owned()),
            ],
            false,
        ),
        Route::new(
            "/mailbox/reply?lang=en",
            vec![
                ("csrf", mailbox_csrf.to_owned()),
                ("message", "x".to_owned()),
            ],
            true,
        ),
        Route::new(
            "/mailbox/reply/sealed?lang=en",
            vec![
                ("csrf", mailbox_csrf.to_owned()),
                ("message", "x".to_owned()),
            ],
            true,
        ),
    ]
}

async fn send(app: &TestApp, client: &reqwest::Client, route: &Route, s: &str) -> u16 {
    let fields: Vec<(&str, String)> = route
        .fields
        .iter()
        .enumerate()
        .map(|(i, (k, v))| {
            (
                *k,
                if route.naughty.contains(&i) {
                    s.to_owned()
                } else {
                    v.clone()
                },
            )
        })
        .collect();
    let req = client.post(app.url(route.path));
    let req = if route.multipart {
        let mut form = reqwest::multipart::Form::new();
        for (k, v) in fields {
            form = form.text(k, v);
        }
        // A file part whose file name is the naughty string too.
        if route.path.starts_with("/mailbox/reply?") {
            form = form.part(
                "attachments",
                reqwest::multipart::Part::bytes(b"f".to_vec()).file_name(s.to_owned()),
            );
        }
        req.multipart(form)
    } else {
        req.form(&fields)
    };
    match req.send().await {
        Ok(res) => res.status().as_u16(),
        Err(e) => panic!("{}: the request failed ({e}) for {s:?}", route.path),
    }
}

/// Raw bodies no browser sends: broken boundaries, truncation, invalid UTF-8, oversize.
fn raw_requests(csrf: &str) -> Vec<(&'static str, String, Vec<u8>)> {
    let mp = "multipart/form-data; boundary=XyZ".to_owned();
    let part = |name: &str, value: &[u8]| {
        let mut b = format!("--XyZ\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n")
            .into_bytes();
        b.extend_from_slice(value);
        b.extend_from_slice(b"\r\n");
        b
    };
    let mut invalid_utf8 = part("csrf", csrf.as_bytes());
    invalid_utf8.extend(part("what", b"\xff\xfe\xc3\x28 bad"));
    invalid_utf8.extend(b"--XyZ--\r\n");
    let mut truncated = part("csrf", csrf.as_bytes());
    truncated.extend(b"--XyZ\r\nContent-Disposition: form-data; name=\"what\"\r\n\r\nhalf");
    let mut huge = part("csrf", csrf.as_bytes());
    huge.extend(part("what", &vec![b'a'; 3 * 1024 * 1024]));
    huge.extend(b"--XyZ--\r\n");
    vec![
        ("/report", mp.clone(), invalid_utf8),
        ("/report", mp.clone(), truncated.clone()),
        ("/report/sealed", mp.clone(), truncated),
        ("/report", mp.clone(), b"no boundary at all".to_vec()),
        (
            "/report",
            "multipart/form-data".into(),
            b"--XyZ--\r\n".to_vec(),
        ),
        (
            "/report",
            "multipart/form-data; boundary=".into(),
            b"----\r\n".to_vec(),
        ),
        ("/report/sealed", mp.clone(), huge.clone()),
        ("/mailbox/reply", mp.clone(), huge),
        (
            "/follow-up",
            "application/x-www-form-urlencoded".into(),
            b"csrf=%FF&receipt=%C3%28&&=&%".to_vec(),
        ),
        (
            "/follow-up",
            "application/x-www-form-urlencoded".into(),
            vec![b'a'; 2 * 1024 * 1024],
        ),
        (
            "/mailbox/reply/sealed",
            "text/plain".into(),
            b"\x00\x01".to_vec(),
        ),
    ]
}

async fn naughty_strings_never_break_the_server(backend: Backend) {
    let mut opts = Options::default();
    opts.serve.rate_per_client = Some(100_000);
    opts.serve.rate_global = Some(100_000);
    opts.serve.max_reporter_items_per_day = Some(10_000);
    let Some(app) = spawn_with(backend, opts).await else {
        return;
    };
    let started = std::time::Instant::now();
    // A case filed before, and its mailbox session for the reply routes.
    let client = app.browser();
    let what = format!("EARLIER-{}", uuid::Uuid::new_v4().simple());
    let earlier = Report {
        what: &what,
        ..Default::default()
    };
    let (status, page) = file_report(&app, &client, "en", &earlier).await;
    assert_eq!(status, 200);
    let earlier_receipt = receipt(&page);
    let case = app.store.cases().await.unwrap().pop().unwrap();
    let items_before = app.store.items(&case.id).await.unwrap().len();
    let cases_before = app.stored().await.cases;
    let (_, mailbox) = open_mailbox(&app, &client, &earlier_receipt).await;
    let report_page = app.page(&client, "/report").await;
    let follow_page = app.page(&client, "/follow-up").await;
    let all = routes(
        &hidden(&report_page, "csrf"),
        &hidden(&follow_page, "csrf"),
        &hidden(&mailbox, "csrf"),
    );
    let strings = naughty();
    let mut jobs = Vec::new();
    for route in &all {
        for s in &strings {
            jobs.push((route, s));
        }
    }
    let total = jobs.len();
    let statuses: Vec<(u16, &str, &String)> = futures_util::stream::iter(jobs)
        .map(|(route, s)| {
            let (app, client) = (&app, &client);
            async move { (send(app, client, route, s).await, route.path, s) }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    for (status, path, s) in &statuses {
        assert!(*status < 500, "{path}: {status} for {s:?}");
    }
    for (path, content_type, body) in raw_requests(&hidden(&report_page, "csrf")) {
        let res = client
            .post(app.url(path))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await;
        if let Ok(res) = res {
            assert!(res.status().as_u16() < 500, "{path}: {}", res.status());
        }
    }
    // Still serving, and what was stored before is intact.
    assert!(!app.page(&app.browser(), "/").await.is_empty());
    assert!(app.stored().await.cases >= cases_before);
    assert!(
        app.store
            .case_by_reference(&case.reference)
            .await
            .unwrap()
            .is_some()
    );
    let after = app.store.items(&case.id).await.unwrap();
    assert!(
        after.len() >= items_before,
        "items of the earlier case were lost"
    );
    let (status, page) = open_mailbox(&app, &app.browser(), &earlier_receipt).await;
    assert_eq!(status, 200);
    assert!(
        page.contains(&what),
        "the earlier case's report no longer opens"
    );
    eprintln!("{total} naughty requests in {:?}", started.elapsed());
    app.finish().await;
}

on_both_databases!(naughty_strings_never_break_the_server);
