//! Rule `reporter-anonymity`: security headers on every response, no cookie before the mailbox, an
//! access log without IP address or user agent, day-only dates, and rate limits that answer
//! with a localized page.

use futures_util::StreamExt;
use speakup::config::ServeArgs;
use speakup_tests::*;

async fn headers_cookies_and_logs(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = app.browser();
    for path in ["/", "/report", "/follow-up", "/static/style.css", "/nope"] {
        let res = client
            .get(app.url(path))
            .header("user-agent", "CanaryAgent/9.9")
            .send()
            .await
            .unwrap();
        let h = res.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.starts_with("default-src 'none'"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"));
        // Scripts only where the page uses our own bundle, and only from this origin.
        let scripted = path.starts_with("/report") || path == "/follow-up";
        assert_eq!(
            csp.contains("script-src 'self';"),
            scripted,
            "{path}: {csp}"
        );
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert!(h.contains_key("permissions-policy"));
        assert!(h.get("set-cookie").is_none(), "{path} sets a cookie");
        assert!(
            h.get("strict-transport-security").is_none(),
            "no HSTS over plain HTTP"
        );
        if path != "/static/style.css" {
            assert_eq!(h["cache-control"], "no-store", "{path}");
        }
    }
    // Pages reference nothing outside this origin.
    for path in ["/", "/report", "/follow-up"] {
        let html = app.page(&client, path).await;
        // Only our bundle, and data blocks the browser never executes; no inline code.
        for tag in html.split("<script").skip(1) {
            let open = tag.split('>').next().unwrap_or_default();
            assert!(
                open.contains("src=\"/static/reporter.js\"")
                    || open.contains("type=\"application/json\""),
                "{path} has an inline or foreign script: <script{open}>"
            );
        }
        assert_eq!(path == "/", !html.contains("<script"), "{path}");
        assert!(
            !html.contains("src=\"http"),
            "{path} loads a third-party resource"
        );
        assert!(!html.contains("href=\"//"), "{path}");
    }

    // The day on the server's clock before and after filing: the report must carry one of
    // them (they differ only if the filing crossed midnight UTC).
    let day_before = speakup::clock::Clock::today(app.clock.as_ref());
    let (_, page) = file_report(&app, &client, "en", &Report::default()).await;
    let day_after = speakup::clock::Clock::today(app.clock.as_ref());
    let res = {
        let f = app.page(&client, "/follow-up").await;
        let no_redirect = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        no_redirect
            .post(app.url("/follow-up"))
            .form(&[("csrf", hidden(&f, "csrf")), ("receipt", receipt(&page))])
            .send()
            .await
            .unwrap()
    };
    assert_eq!(res.status(), 303);
    let cookie = res.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("speakup_mailbox="));
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    assert!(
        !cookie.contains("Expires") && !cookie.contains("Max-Age"),
        "a browser-session cookie"
    );

    // Reporter actions are stamped with a day, never a time.
    let case = app.store.cases().await.unwrap().pop().unwrap();
    assert!(
        case.received_on == day_before || case.received_on == day_after,
        "received on {}, filed between {day_before} and {day_after}",
        case.received_on
    );

    let logs = String::from_utf8_lossy(&captured_logs()).into_owned();
    // The test binary logs everything (its own HTTP client too); the access log is the
    // server's record of requests, and production keeps dependencies at warn.
    let access: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains(" request method="))
        .collect();
    assert!(
        access.iter().any(|l| l.contains("route=/report")),
        "the access log records routes"
    );
    assert!(
        access
            .iter()
            .any(|l| l.contains("route=(unmatched) status=404"))
    );
    for line in access {
        assert!(!line.contains("CanaryAgent"), "user agent logged: {line}");
        assert!(!line.contains("127.0.0.1"), "client address logged: {line}");
        assert!(!line.contains("lang="), "query string logged: {line}");
    }
    app.finish().await;
}

async fn submissions_are_rate_limited(backend: Backend) {
    let opts = Options {
        serve: ServeArgs {
            rate_per_client: Some(3),
            rate_global: Some(100),
            ..Default::default()
        },
        ..Default::default()
    };
    let Some(app) = spawn_with(backend, opts).await else {
        return;
    };
    let client = app.browser();
    let f = app.page(&client, "/follow-up").await;
    let csrf = hidden(&f, "csrf");
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let res = client
            .post(app.url("/follow-up?lang=fr"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("receipt", "2345-6789-ABCD-EFGH-JKMN-PQRS"),
            ])
            .send()
            .await
            .unwrap();
        statuses.push(res.status().as_u16());
        if res.status() == 429 {
            assert!(res.headers().contains_key("retry-after"));
            let body = res.text().await.unwrap();
            assert!(body.contains("lang=\"fr\""), "a localized 429 page");
        }
    }
    assert_eq!(statuses, vec![401, 401, 401, 429, 429]);
    // Reading pages is not limited.
    assert_eq!(client.get(app.url("/")).send().await.unwrap().status(), 200);
    app.finish().await;
}

/// A report being uploaded when the shutdown signal comes is finished and stored, not cut.
async fn shutdown_lets_uploads_finish(backend: Backend) {
    let Some(mut app) = spawn_app(backend).await else {
        return;
    };
    let client = app.browser();
    let page = app.page(&client, "/report").await;
    let csrf = hidden(&page, "csrf");
    // A slow client: 8 MiB in 32 pieces, 20 ms apart, that stops halfway until the shutdown
    // has begun, so the upload certainly spans it (no guess at how long a head start takes).
    let (shutdown_begun, wait_for_shutdown) = tokio::sync::watch::channel(false);
    let stream = futures_util::stream::iter(0..32).then(move |i| {
        let mut wait_for_shutdown = wait_for_shutdown.clone();
        async move {
            if i == 16 {
                let _ = wait_for_shutdown.wait_for(|begun| *begun).await;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            Ok::<_, std::io::Error>(bytes::Bytes::from(vec![7u8; 256 * 1024]))
        }
    });
    let part = reqwest::multipart::Part::stream_with_length(
        reqwest::Body::wrap_stream(stream),
        8 * 1024 * 1024,
    )
    .file_name("slow.bin");
    let form = Report::default().form(&csrf).part("attachments", part);
    let url = app.url("/report");
    let upload = tokio::spawn(async move { client.post(url).multipart(form).send().await });
    // The server is receiving the file once it has opened a blob for it.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while app.stored().await.incomplete_blobs == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the server never started storing the upload"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    app.begin_shutdown();
    shutdown_begun.send(true).unwrap();
    let res = upload.await.unwrap().unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("id=\"receipt\""));
    let case = app.store.cases().await.unwrap().pop().unwrap();
    let sizes: Vec<i64> = app
        .store
        .items(&case.id)
        .await
        .unwrap()
        .iter()
        .map(|i| i.size)
        .collect();
    assert!(sizes.contains(&(8 * 1024 * 1024)), "{sizes:?}");
    app.finish().await;
}

on_both_databases!(
    headers_cookies_and_logs,
    submissions_are_rate_limited,
    shutdown_lets_uploads_finish
);
