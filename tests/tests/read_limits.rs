//! Rate limits on every reporter route that reads a case (issue 9 §2), on both databases: a
//! flood of reads from one client gets 429 with a localized page on every read route, never
//! a 5xx, while another client still reads, and reading spends nothing of the flooding
//! client's budget for submissions.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use speakup::config::ServeArgs;
use speakup_tests::*;

/// Small, so the budget refills slowly (one read every 15 seconds) while the test runs.
const READS: u32 = 4;

/// Linux routes all of 127.0.0.0/8 to loopback; some systems only have 127.0.0.1.
fn loopback_aliases() -> bool {
    available(
        "loopback addresses other than 127.0.0.1",
        std::net::TcpListener::bind("127.0.0.2:0").is_ok(),
    )
}

/// A reporter's browser at 127.0.0.`host` (its own client to the server), with the cookies
/// of `jar`, following no redirects.
fn reporter_at(host: u8, jar: &Arc<reqwest::cookie::Jar>) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, host)))
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

async fn get(client: &reqwest::Client, url: String) -> reqwest::Response {
    client.get(url).send().await.expect("get")
}

async fn a_read_flood_is_refused_per_client(backend: Backend) {
    if !loopback_aliases() {
        return;
    }
    let opts = Options {
        serve: ServeArgs {
            rate_per_client: Some(1000),
            rate_global: Some(10_000),
            rate_reads_per_client: Some(READS),
            ..Default::default()
        },
        ..Default::default()
    };
    let Some(app) = spawn_with(backend, opts).await else {
        return;
    };
    // A reporter files with a file and opens the mailbox (one read), from 127.0.0.2.
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let follows = reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)))
        .cookie_provider(jar.clone())
        .build()
        .expect("client");
    let report = Report {
        files: vec![("ledger.pdf".into(), b"%PDF-1.4 ledger".to_vec())],
        ..Default::default()
    };
    let (status, page) = file_report(&app, &follows, "en", &report).await;
    assert_eq!(status, 200, "{page}");
    let receipt = receipt(&page);
    let (status, mailbox) = open_mailbox(&app, &follows, &receipt).await;
    assert_eq!(status, 200, "{mailbox}");
    let keys = speakup::domain::receipt::ReceiptToken::parse(&receipt)
        .unwrap()
        .derive();
    let case = app
        .store
        .case_by_lookup(&keys.lookup.0)
        .await
        .unwrap()
        .unwrap();
    let file = app
        .store
        .items(&case.id)
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.kind == speakup::domain::case::ItemKind::Attachment)
        .expect("the attachment")
        .id;
    let routes = [
        "/mailbox?lang=nl".to_owned(),
        format!("/mailbox/items/{file}?lang=nl"),
        format!("/mailbox/attachments/{file}?lang=nl"),
        format!("/mailbox/attachments/{file}/sealed?lang=nl"),
    ];

    // The flood: far more reads than the budget, at once, from the same address.
    let flooder = reporter_at(2, &jar);
    let statuses: Vec<u16> = futures_util::future::join_all(
        (0..40).map(|i| get(&flooder, app.url(&routes[i % routes.len()]))),
    )
    .await
    .iter()
    .map(|r| r.status().as_u16())
    .collect();
    assert!(
        statuses.iter().all(|s| *s < 500),
        "a server error: {statuses:?}"
    );
    let served = statuses.iter().filter(|s| **s == 200).count();
    assert!(
        served <= READS as usize,
        "{served} reads served: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 429),
        "{statuses:?}"
    );

    // Every read route now refuses this client, with a localized page and Retry-After; so
    // does HEAD, which runs the same handler.
    for route in &routes {
        let res = get(&flooder, app.url(route)).await;
        assert_eq!(res.status(), 429, "GET {route}");
        assert!(res.headers().get("retry-after").is_some(), "GET {route}");
        let body = res.text().await.unwrap();
        assert!(body.contains("<html lang=\"nl\""), "GET {route}: {body}");
    }
    let head = flooder.head(app.url("/mailbox")).send().await.unwrap();
    assert_eq!(head.status(), 429, "HEAD /mailbox");

    // Another client (the same mailbox, another address) still reads every route.
    let other = reporter_at(3, &jar);
    for route in &routes {
        assert_eq!(
            get(&other, app.url(route)).await.status(),
            200,
            "GET {route}"
        );
    }

    // Reading spent nothing of the flooding client's submissions: it still replies.
    let res = flooder
        .post(app.url("/mailbox/reply?lang=en"))
        .multipart(
            reqwest::multipart::Form::new()
                .text("csrf", hidden(&mailbox, "csrf"))
                .text("message", "One more thing about the invoices."),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "the reply was refused");
    app.finish().await;
}

on_both_databases!(a_read_flood_is_refused_per_client);
