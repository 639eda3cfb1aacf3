//! Memory and speed of a streamed attachment upload: files a report with a 200 MiB
//! attachment through the real server (in this process, on SQLite or PostgreSQL) and reports
//! the peak resident memory above idle, sampled from /proc. Run with
//! `cargo bench -p speakup-tests --bench upload_memory` (set SPEAKUP_TEST_POSTGRES_URL and
//! BENCH_BACKEND=postgres for PostgreSQL). Figures go to docs/performance.md.
//!
//! The client streams its body from a generator in this same process, so the figure is an
//! upper bound for the server alone.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use speakup::config::ServeArgs;
use speakup_tests::*;

const MIB: usize = 1024 * 1024;
const SIZE_MIB: usize = 200;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let backend = match std::env::var("BENCH_BACKEND").as_deref() {
            Ok("postgres") => Backend::Postgres,
            _ => Backend::Sqlite,
        };
        let opts = Options {
            serve: ServeArgs {
                max_attachment_mib: Some(256),
                rate_per_client: Some(1000),
                rate_global: Some(1000),
                ..Default::default()
            },
            ..Default::default()
        };
        let app = spawn_with(backend, opts).await.expect("backend available");
        let client = app.browser();
        // Warm up: one small report, so pools, catalogs and templates are loaded.
        file_report(&app, &client, "en", &Report::default()).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let idle = rss_kib();

        let peak = Arc::new(AtomicU64::new(idle));
        let stop = Arc::new(AtomicBool::new(false));
        let sampler = {
            let (peak, stop) = (peak.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    peak.fetch_max(rss_kib(), Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(10));
                }
            })
        };

        let page = app.page(&client, "/report").await;
        let csrf = hidden(&page, "csrf");
        let chunk = bytes::Bytes::from(vec![0x5au8; MIB]);
        let stream = futures_util::stream::iter(
            (0..SIZE_MIB).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
        );
        let part = reqwest::multipart::Part::stream_with_length(
            reqwest::Body::wrap_stream(stream),
            (SIZE_MIB * MIB) as u64,
        )
        .file_name("big.bin");
        let form = Report::default().form(&csrf).part("attachments", part);
        let started = Instant::now();
        let res = client.post(app.url("/report")).multipart(form).send().await.unwrap();
        let status = res.status();
        let _ = res.text().await;
        let elapsed = started.elapsed();
        stop.store(true, Ordering::Relaxed);
        sampler.join().unwrap();
        assert_eq!(status, 200, "upload refused");

        let peak = peak.load(Ordering::Relaxed);
        let above = (peak.saturating_sub(idle)) as f64 / 1024.0;
        println!(
            "upload_memory backend={backend:?} size={SIZE_MIB}MiB idle_rss={:.1}MiB peak_rss={:.1}MiB \
             above_idle={above:.1}MiB time={:.2}s throughput={:.1}MiB/s",
            idle as f64 / 1024.0,
            peak as f64 / 1024.0,
            elapsed.as_secs_f64(),
            SIZE_MIB as f64 / elapsed.as_secs_f64()
        );
        app.finish().await;
        if above >= 64.0 {
            eprintln!("peak RSS above idle is {above:.1} MiB: over the 64 MiB target");
            std::process::exit(1);
        }
    });
}
