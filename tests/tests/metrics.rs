//! Prometheus metrics on their own listener (`SPEAKUP_METRICS_BIND`), on both databases: after
//! real traffic (a report with an attachment, a mailbox opened with the receipt, a 404 on a
//! path holding the case reference, a housekeeping round) the scrape has every family
//! docs/monitoring.md lists, and nothing that identifies a reporter or a case: no case
//! reference, receipt, lookup value, client address or report text. The reporters' port does
//! not serve `/metrics`, and the metrics listener serves nothing else.

use speakup_tests::speakup::config::ServeArgs;
use speakup_tests::*;

const CANARY: &str = "CANARY-metrics-7f3a9c";

async fn lookups_hex(app: &TestApp) -> Vec<String> {
    match app.backend {
        Backend::Sqlite => {
            let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect(&app.database_url)
                .await
                .unwrap();
            sqlx::query_scalar("SELECT lower(hex(lookup)) FROM cases")
                .fetch_all(&mut c)
                .await
                .unwrap()
        }
        Backend::Postgres => {
            let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&app.database_url)
                .await
                .unwrap();
            sqlx::query_scalar("SELECT encode(lookup, 'hex') FROM cases")
                .fetch_all(&mut c)
                .await
                .unwrap()
        }
    }
}

async fn scrape_after_traffic_names_no_reporter(backend: Backend) {
    let opts = Options {
        serve: ServeArgs {
            metrics_bind: Some("127.0.0.1:0".into()),
            ..Options::default().serve
        },
        ..Default::default()
    };
    let Some(app) = spawn_with(backend, opts).await else {
        return;
    };
    let metrics = app.metrics_base.clone().expect("metrics listener");
    let client = app.browser();
    let report = Report {
        what: CANARY,
        files: vec![("evidence.txt".into(), format!("{CANARY} file").into_bytes())],
        ..Default::default()
    };
    let (status, page) = file_report(&app, &client, "en", &report).await;
    assert_eq!(status, 200, "{page}");
    let receipt = receipt(&page);
    let (status, _) = open_mailbox(&app, &app.browser(), &receipt).await;
    assert_eq!(status, 200);
    let reference = app.store.cases().await.unwrap()[0].reference.clone();
    // A 404 whose path carries the case reference: counted, but never by its path.
    let res = client
        .get(app.url(&format!("/{reference}?r={receipt}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 404);
    assert_eq!(probe(&app.url("/healthz")).await.0, 200);
    assert!(speakup::server::housekeeping(&app.state).await);

    let (status, text) = probe(&format!("{metrics}/metrics")).await;
    assert_eq!(status, 200, "{text}");
    for family in [
        "speakup_http_requests_total{class=\"2xx\",method=\"POST\",route=\"/report\"} 1",
        "speakup_http_requests_total{class=\"4xx\",method=\"GET\",route=\"(unmatched)\"} 1",
        "speakup_http_requests_total{class=\"3xx\",method=\"POST\",route=\"/follow-up\"} 1",
        "speakup_http_requests_total{class=\"2xx\",method=\"GET\",route=\"/healthz\"} 1",
        "speakup_http_request_duration_seconds_bucket{route=\"/report\",le=\"",
        "speakup_http_request_duration_seconds_count{route=\"/report\"} 2",
        "speakup_reports_received_total 1",
        "speakup_db_pool_connections{state=\"size\"}",
        "speakup_db_pool_connections{state=\"idle\"}",
        "speakup_db_pool_connections{state=\"max\"}",
        "speakup_job_last_success{job=\"retention\"} 1",
        "speakup_job_last_success{job=\"audit_check\"} 1",
        "speakup_job_last_duration_seconds{job=\"retention\"}",
        "speakup_job_seconds_since_last_run{job=\"sessions\"}",
        "speakup_job_runs_total{job=\"retention\",outcome=\"success\"}",
        "speakup_up 1",
        // Today's report and mailbox opening wait for the chain until the day is over.
        "speakup_queue_days{queue=\"reporter_audit\"} 1",
    ] {
        assert!(
            text.contains(family),
            "no `{family}` in the scrape:\n{text}"
        );
    }
    let mut secrets = vec![
        CANARY.to_owned(),
        reference.clone(),
        receipt.clone(),
        "127.0.0.1".to_owned(),
        "evidence".to_owned(),
    ];
    secrets.extend(lookups_hex(&app).await);
    assert_eq!(secrets.len(), 6, "one lookup value");
    for secret in &secrets {
        assert!(!text.contains(secret.as_str()), "the scrape holds {secret}");
    }

    // The reporters' port has no /metrics; the metrics port has nothing else.
    assert_eq!(probe(&app.url("/metrics")).await.0, 404);
    assert_eq!(probe(&format!("{metrics}/")).await.0, 404);
    assert_eq!(probe(&format!("{metrics}/healthz")).await.0, 404);
    app.finish().await;
}

/// Off by default: no metrics listener, and `/metrics` is a 404 on the public port.
async fn off_by_default(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    assert!(app.metrics_base.is_none());
    assert!(app.state.settings.metrics_bind.is_none());
    assert_eq!(probe(&app.url("/metrics")).await.0, 404);
    app.finish().await;
}

async fn probe(url: &str) -> (u16, String) {
    let res = reqwest::get(url).await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

on_both_databases!(scrape_after_traffic_names_no_reporter, off_by_default);

#[test]
fn a_bad_address_is_refused_naming_the_setting() {
    use speakup::config::{CommonArgs, FileConfig, Settings};
    for (bad, why) in [
        ("localhost", "not an address"),
        ("127.0.0.1:8080", "also SPEAKUP_BIND"),
    ] {
        let serve = ServeArgs {
            metrics_bind: Some(bad.into()),
            ..Default::default()
        };
        let err = Settings::from_parts(&CommonArgs::default(), &serve, FileConfig::default())
            .err()
            .unwrap_or_else(|| panic!("{bad} accepted"))
            .to_string();
        assert!(err.contains("SPEAKUP_METRICS_BIND"), "{err}");
        assert!(err.contains(why), "{err}");
    }
    let file = FileConfig {
        metrics_bind: Some("127.0.0.1:9464".into()),
        ..Default::default()
    };
    let s = Settings::from_parts(&CommonArgs::default(), &ServeArgs::default(), file).unwrap();
    assert_eq!(s.metrics_bind, Some("127.0.0.1:9464".parse().unwrap()));
    assert!(
        s.non_default()
            .contains(&("SPEAKUP_METRICS_BIND", "127.0.0.1:9464".to_owned()))
    );
}
