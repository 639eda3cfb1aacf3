//! The HTTP benchmark suite (issue 14) and the memory-under-attack figures (issue 9 §2):
//! `cargo bench -p speakup-tests --bench http` starts the real `speakup serve` in a process of
//! its own, on SQLite and on PostgreSQL (skipped with a line saying so when
//! SPEAKUP_TEST_POSTGRES_URL is unset), drives it over loopback and prints each figure next to
//! its limit measured in the same run. Options after `--`: `--quick` (short runs, 64 MiB
//! attachment; also BENCH_QUICK=1), `--scenario throughput|attacks|all` (default all);
//! BENCH_BACKEND=sqlite|postgres runs one database, BENCH_SECS=N sets each timed run's length. Figures go to docs/performance.md.
//!
//! The server process is this binary re-executed as `speakup` (`child.rs`): the same code as
//! `server/src/main.rs`, built with the same release profile, so one command builds and runs
//! everything. Not a timed test: nothing here fails on a slow machine; a crash, a 5xx or a
//! missed memory bound is reported, not asserted.

mod attacks;
mod child;
mod limits;
mod load;
mod report;
mod throughput;

use std::process::ExitCode;
use std::time::Duration;

use speakup_tests::Backend;

pub struct Opts {
    pub quick: bool,
    /// Length of each timed run.
    pub secs: Duration,
    /// Size of the large attachment, MiB.
    pub attach_mib: usize,
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    format!("{cores} cores ({cpu}); load average {}", load.trim())
}

fn main() -> ExitCode {
    if let Some(code) = child::role() {
        return code;
    }
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--bench") {
        println!("run with `cargo bench -p speakup-tests --bench http` (not a test)");
        return ExitCode::SUCCESS;
    }
    let quick =
        args.iter().any(|a| a == "--quick") || std::env::var("BENCH_QUICK").is_ok_and(|v| v == "1");
    let scenario = args
        .iter()
        .position(|a| a == "--scenario")
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| "all".to_owned());
    let opts = Opts {
        quick,
        secs: Duration::from_secs(
            std::env::var("BENCH_SECS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(if quick { 2 } else { 10 }),
        ),
        attach_mib: if quick { 64 } else { 1024 },
    };
    let only = std::env::var("BENCH_BACKEND").ok();
    let backends = [(Backend::Sqlite, "sqlite"), (Backend::Postgres, "postgres")];
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("machine: {}", machine());
    let mut tables = Vec::new();
    for (backend, name) in backends {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let done = runtime.block_on(async {
            let Some(site) = child::Site::new(backend).await else {
                println!("[{name}] skipped: SPEAKUP_TEST_POSTGRES_URL is unset");
                return None;
            };
            let mut t = Vec::new();
            if scenario == "all" || scenario == "throughput" {
                let mut r = report::Report::new(name);
                throughput::run(&site, &opts, &mut r).await;
                t.push(r.table());
            }
            site.finish().await;
            // A database of its own: the officer's case list holds only the attack's case.
            if (scenario == "all" || scenario == "attacks")
                && let Some(site) = child::Site::new(backend).await
            {
                t.push(attacks::run(&site, &opts, name).await);
                site.finish().await;
            }
            Some(t)
        });
        tables.extend(done.unwrap_or_default());
    }
    println!("\nmachine at the end: {}", machine());
    for t in tables {
        println!("{t}");
    }
    ExitCode::SUCCESS
}
