//! Connections and rate limits under attack: half-sent headers are dropped after the header
//! timeout, the connection cap holds, a slow but honest upload succeeds while a trickle is
//! cut, a client flooding past its own limit spends nothing of the global budget,
//! X-Forwarded-For counts only from a trusted proxy, IPv6 clients count per /64, and an
//! absurd limit stops `speakup serve` with a message naming the setting.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use speakup::config::ServeArgs;
use speakup::web::ratelimit::{ClientKey, client_key};
use speakup_tests::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn options(serve: ServeArgs) -> Options {
    Options {
        serve: ServeArgs {
            rate_per_client: serve.rate_per_client.or(Some(1000)),
            rate_global: serve.rate_global.or(Some(10_000)),
            ..serve
        },
        ..Default::default()
    }
}

fn addr(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_owned()
}

/// Opens a connection and sends the start of a request that never ends.
async fn half_sent(app: &TestApp) -> TcpStream {
    let mut s = TcpStream::connect(addr(app)).await.unwrap();
    s.write_all(b"POST /report HTTP/1.1\r\nHost: x\r\nContent-Type: text/pl")
        .await
        .unwrap();
    s
}

/// Waits (at most `limit`) for the server to close the connection; true if it did.
async fn closed_within(mut s: TcpStream, limit: Duration) -> bool {
    let mut buf = [0u8; 1024];
    tokio::time::timeout(limit, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}

async fn half_sent_headers_are_dropped(backend: Backend) {
    let serve = ServeArgs {
        header_timeout_secs: Some(1),
        ..Default::default()
    };
    let Some(app) = spawn_with(backend, options(serve)).await else {
        return;
    };
    let started = Instant::now();
    let mut conns = Vec::new();
    for _ in 0..30 {
        conns.push(half_sent(&app).await);
    }
    // An open connection that never sends a byte is ended the same way.
    conns.push(TcpStream::connect(addr(&app)).await.unwrap());
    let waits = conns
        .into_iter()
        .map(|c| closed_within(c, Duration::from_secs(5)));
    let closed = futures_util::future::join_all(waits).await;
    assert!(
        closed.iter().all(|c| *c),
        "{} of {} half-sent connections were still open after 5 s (header timeout 1 s)",
        closed.iter().filter(|c| !**c).count(),
        closed.len()
    );
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "not before the timeout"
    );
    // The server still serves honest clients.
    let res = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(res.status(), 200);
    app.finish().await;
}

async fn connection_cap_holds(backend: Backend) {
    let serve = ServeArgs {
        max_connections: Some(3),
        header_timeout_secs: Some(60),
        ..Default::default()
    };
    let Some(app) = spawn_with(backend, options(serve)).await else {
        return;
    };
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(half_sent(&app).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(1500))
        .build()
        .unwrap();
    let fourth = client.get(app.url("/healthz")).send().await;
    assert!(
        fourth.is_err(),
        "a fourth connection was served past a cap of 3: {:?}",
        fourth.map(|r| r.status())
    );
    // Once the held connections go, the slots free up.
    drop(held);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let res = client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    app.finish().await;
}

/// A report whose attachment arrives in `pieces` chunks of `size` bytes, `gap` apart.
fn trickled_report(
    csrf: &str,
    pieces: usize,
    size: usize,
    gap: Duration,
) -> reqwest::multipart::Form {
    let stream = futures_util::stream::iter(0..pieces).then(move |_| async move {
        tokio::time::sleep(gap).await;
        Ok::<_, std::io::Error>(bytes::Bytes::from(vec![7u8; size]))
    });
    let part =
        reqwest::multipart::Part::stream(reqwest::Body::wrap_stream(stream)).file_name("slow.bin");
    Report::default().form(csrf).part("attachments", part)
}

async fn slow_honest_upload_succeeds_and_a_trickle_is_cut(backend: Backend) {
    let serve = ServeArgs {
        header_timeout_secs: Some(1),
        idle_timeout_secs: Some(1),
        min_upload_kib_per_sec: Some(4),
        ..Default::default()
    };
    let Some(app) = spawn_with(backend, options(serve)).await else {
        return;
    };
    let client = app.browser();
    let csrf = hidden(&app.page(&client, "/report").await, "csrf");
    // 8 KiB/s for 3 s: twice the minimum, three times the header and idle timeouts.
    let started = Instant::now();
    let form = trickled_report(&csrf, 12, 2048, Duration::from_millis(250));
    let res = client
        .post(app.url("/report"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_secs(3));
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("id=\"receipt\""));
    assert_eq!(app.stored().await.cases, 1);

    // 128 bytes/s: far below the minimum; cut after the head start, nothing stored.
    let csrf = hidden(&app.page(&client, "/report").await, "csrf");
    let form = trickled_report(&csrf, 20, 64, Duration::from_millis(500));
    let sent = tokio::time::timeout(Duration::from_secs(20), async {
        let res = client
            .post(app.url("/report"))
            .multipart(form)
            .send()
            .await?;
        res.text().await
    })
    .await
    .expect("the trickle was still being received after 20 s");
    if let Ok(page) = sent {
        assert!(
            !page.contains("id=\"receipt\""),
            "a trickled upload was accepted"
        );
    }
    assert_eq!(app.stored().await.cases, 1, "the trickle stored a case");
    app.finish().await;
}

/// POSTs the follow-up form as the client named in X-Forwarded-For; the status.
async fn follow_up_as(app: &TestApp, client: &reqwest::Client, csrf: &str, xff: &str) -> u16 {
    client
        .post(app.url("/follow-up"))
        .header("x-forwarded-for", xff)
        .form(&[("csrf", csrf), ("receipt", "2345-6789-ABCD-EFGH-JKMN-PQRS")])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn a_flood_does_not_spend_the_global_budget(backend: Backend) {
    let serve = ServeArgs {
        rate_per_client: Some(3),
        rate_global: Some(6),
        trusted_proxy: Some(vec![IpAddr::from([127, 0, 0, 1])]),
        ..Default::default()
    };
    let Some(app) = spawn_with(backend, options(serve)).await else {
        return;
    };
    let client = app.browser();
    let csrf = hidden(&app.page(&client, "/follow-up").await, "csrf");
    // The flooder writes its victim's address leftmost: only the rightmost entry counts.
    let mut flood = Vec::new();
    for _ in 0..12 {
        flood.push(follow_up_as(&app, &client, &csrf, "203.0.113.9, 203.0.113.5").await);
    }
    assert_eq!(&flood[..3], &[401, 401, 401], "{flood:?}");
    assert!(flood[3..].iter().all(|s| *s == 429), "{flood:?}");
    // Another client behind the same proxy still gets through.
    let other = follow_up_as(&app, &client, &csrf, "203.0.113.9").await;
    assert_eq!(other, 401, "the flood closed the intake for everyone");
    app.finish().await;
}

async fn forwarded_for_is_ignored_from_an_untrusted_peer(backend: Backend) {
    let serve = ServeArgs {
        rate_per_client: Some(3),
        rate_global: Some(100),
        ..Default::default()
    };
    let Some(app) = spawn_with(backend, options(serve)).await else {
        return;
    };
    let client = app.browser();
    let csrf = hidden(&app.page(&client, "/follow-up").await, "csrf");
    let mut statuses = Vec::new();
    for i in 0..5 {
        // A fresh made-up address each time: were the header believed, none would be limited.
        statuses.push(follow_up_as(&app, &client, &csrf, &format!("198.51.100.{i}")).await);
    }
    assert_eq!(statuses, vec![401, 401, 401, 429, 429]);
    app.finish().await;
}

#[test]
fn ipv6_clients_count_per_64() {
    let proxy: IpAddr = "::1".parse().unwrap();
    let one: IpAddr = "2001:db8:aa:bb::1".parse().unwrap();
    let same_64: IpAddr = "2001:db8:aa:bb:1234:5678:9abc:def0".parse().unwrap();
    let next_64: IpAddr = "2001:db8:aa:bc::1".parse().unwrap();
    let none = reqwest::header::HeaderMap::new();
    assert_eq!(client_key(one, &none, &[]), client_key(same_64, &none, &[]));
    assert_ne!(client_key(one, &none, &[]), client_key(next_64, &none, &[]));
    // Behind a trusted IPv6 proxy, the forwarded address is keyed the same way.
    let mut h = reqwest::header::HeaderMap::new();
    h.insert("x-forwarded-for", same_64.to_string().parse().unwrap());
    assert_eq!(client_key(proxy, &h, &[proxy]), ClientKey::from(one));
    assert_eq!(client_key(proxy, &h, &[]), ClientKey::from(proxy));
    assert_eq!(
        client_key("192.0.2.7".parse().unwrap(), &none, &[]),
        ClientKey::V4([192, 0, 2, 7])
    );
}

#[test]
fn absurd_limits_stop_serve_with_the_setting_named() {
    run_test(async {
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite:{}", dir.path().join("speakup.db").display());
        for (flag, value, name) in [
            ("--rate-per-client", "100000000", "SPEAKUP_RATE_PER_CLIENT"),
            ("--rate-global", "0", "SPEAKUP_RATE_GLOBAL"),
            ("--max-attachments", "500", "SPEAKUP_MAX_ATTACHMENTS"),
            ("--max-connections", "0", "SPEAKUP_MAX_CONNECTIONS"),
        ] {
            let argv = [
                "speakup",
                "--database-url",
                db.as_str(),
                "serve",
                "--bind",
                "127.0.0.1:0",
                flag,
                value,
            ];
            let cli = <speakup::cli::Cli as clap::Parser>::try_parse_from(argv).unwrap();
            // In its own task, so a panic shows as a join error rather than ending the test.
            let run = tokio::spawn(async move {
                let mut out = Vec::new();
                speakup::cli::run(cli, &mut out)
                    .await
                    .map_err(|e| format!("{e:#}"))
            });
            let outcome = tokio::time::timeout(Duration::from_secs(20), run)
                .await
                .expect("serve started instead of refusing");
            let err = outcome
                .unwrap_or_else(|p| panic!("{flag} {value} panicked: {p}"))
                .expect_err("serve accepted an absurd limit");
            assert!(err.contains(name), "{flag} {value}: {err}");
        }
    });
}

on_both_databases!(slow_honest_upload_succeeds_and_a_trickle_is_cut);

mod sqlite_only {
    use super::*;

    #[test]
    fn half_sent_headers() {
        run_test(half_sent_headers_are_dropped(Backend::Sqlite))
    }
    #[test]
    fn connection_cap() {
        run_test(connection_cap_holds(Backend::Sqlite))
    }
    #[test]
    fn flood_and_global_budget() {
        run_test(a_flood_does_not_spend_the_global_budget(Backend::Sqlite))
    }
    #[test]
    fn untrusted_forwarded_for() {
        run_test(forwarded_for_is_ignored_from_an_untrusted_peer(
            Backend::Sqlite,
        ))
    }
}
