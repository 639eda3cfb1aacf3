//! The processes under test: `speakup serve` in a child process of its own (this bench binary
//! re-executed as the `speakup` binary: `__speakup ARGS` runs exactly what
//! `server/src/main.rs` runs, built with the same release profile), the bare axum handler
//! it is compared with (`__bare`), the database each run starts from (three officers and an
//! escrow key, made with the real CLI), and the child's memory read from /proc.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use age::x25519::Identity;
use speakup_tests::Backend;

/// Runs a child role when this binary was started as one; `None` for the bench itself.
pub fn role() -> Option<ExitCode> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("__speakup") => Some(run_speakup(&args[2..])),
        Some("__bare") => Some(run_bare(&args[2..])),
        _ => None,
    }
}

/// The body of `server/src/main.rs`, line for line.
fn run_speakup(args: &[String]) -> ExitCode {
    use clap::Parser;
    let argv = std::iter::once("speakup".to_owned()).chain(args.iter().cloned());
    let cli = speakup::cli::Cli::parse_from(argv);
    speakup::telemetry::init(std::io::stderr, speakup::telemetry::filter());
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout();
    match runtime.block_on(speakup::cli::run(cli, &mut stdout)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// A bare axum handler serving fixed bytes at `/report` and `/`: `__bare ADDR REPORT LANDING`.
fn run_bare(args: &[String]) -> ExitCode {
    let [addr, report, landing] = args else {
        eprintln!("usage: __bare ADDR REPORT_FILE LANDING_FILE");
        return ExitCode::FAILURE;
    };
    let read = |p: &String| bytes::Bytes::from(std::fs::read(p).unwrap_or_default());
    let (report, landing) = (read(report), read(landing));
    let page = |b: bytes::Bytes| {
        move || {
            let b = b.clone();
            async move { ([("content-type", "text/html; charset=utf-8")], b) }
        }
    };
    let app = axum::Router::new()
        .route("/report", axum::routing::get(page(report)))
        .route("/", axum::routing::get(page(landing)));
    let Ok(runtime) = tokio::runtime::Runtime::new() else {
        return ExitCode::FAILURE;
    };
    runtime.block_on(async move {
        let Ok(listener) = tokio::net::TcpListener::bind(addr.as_str()).await else {
            return ExitCode::FAILURE;
        };
        match axum::serve(listener, app).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::FAILURE,
        }
    })
}

fn free_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    l.local_addr().unwrap_or_else(|e| panic!("addr: {e}"))
}

/// A child process serving HTTP on loopback.
pub struct Proc {
    child: Child,
    pub addr: SocketAddr,
    pub log: PathBuf,
}

impl Proc {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn status_kib(&self, key: &str) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with(key))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            })
            .unwrap_or(0)
    }
    /// Resident memory now, MiB.
    pub fn rss(&self) -> f64 {
        self.status_kib("VmRSS:") as f64 / 1024.0
    }
    /// The peak resident memory since start or the last `reset_peak`, MiB (VmHWM).
    pub fn peak(&self) -> f64 {
        self.status_kib("VmHWM:") as f64 / 1024.0
    }
    /// Sets the peak back to the current resident memory (Linux ≥ 4.0: `5` to clear_refs).
    pub fn reset_peak(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5");
    }

    async fn wait_ready(&mut self, path: &str) {
        let started = Instant::now();
        let client = reqwest::Client::new();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                panic!("the server exited ({status}) before it was ready:\n{log}");
            }
            if let Ok(r) = client.get(self.url(path)).send().await
                && r.status().is_success()
            {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the server did not answer {path} within 60 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGTERM (graceful, as an operator stops it), then waits.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(15) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(args: &[String], log: PathBuf) -> Child {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("own path: {e}"));
    let out = std::fs::File::create(&log).unwrap_or_else(|e| panic!("log file: {e}"));
    Command::new(exe)
        .args(args)
        .stdout(Stdio::null())
        .stderr(out)
        .spawn()
        .unwrap_or_else(|e| panic!("spawn: {e}"))
}

/// Starts the bare handler serving these two pages.
pub async fn bare(dir: &std::path::Path, report: &[u8], landing: &[u8]) -> Proc {
    let (r, l) = (dir.join("bare-report.html"), dir.join("bare-landing.html"));
    std::fs::write(&r, report).unwrap_or_else(|e| panic!("write: {e}"));
    std::fs::write(&l, landing).unwrap_or_else(|e| panic!("write: {e}"));
    let addr = free_addr();
    let args = vec![
        "__bare".to_owned(),
        addr.to_string(),
        r.display().to_string(),
        l.display().to_string(),
    ];
    let log = dir.join("bare.log");
    let mut p = Proc {
        child: spawn(&args, log.clone()),
        addr,
        log,
    };
    p.wait_ready("/").await;
    p
}

/// A database with three officers (role `officer`, each with an age key) and an escrow key,
/// the shape the issue measures with.
pub struct Site {
    pub dir: tempfile::TempDir,
    pub db_url: String,
    pub escrow: Identity,
    pg_admin: Option<(String, String)>,
}

impl Site {
    pub async fn new(backend: Backend) -> Option<Site> {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let (db_url, pg_admin) = match backend {
            Backend::Sqlite => (
                format!("sqlite:{}", dir.path().join("speakup.db").display()),
                None,
            ),
            Backend::Postgres => {
                let admin = std::env::var("SPEAKUP_TEST_POSTGRES_URL").ok()?;
                let name = format!("speakup_bench_{}", uuid::Uuid::new_v4().simple());
                pg_exec(&admin, &format!("CREATE DATABASE {name}")).await;
                let base = admin
                    .rsplit_once('/')
                    .map_or(admin.clone(), |(b, _)| b.to_owned());
                (format!("{base}/{name}"), Some((admin, name)))
            }
        };
        let site = Site {
            dir,
            db_url,
            escrow: Identity::generate(),
            pg_admin,
        };
        for i in 1..=3 {
            let recipient = Identity::generate().to_public().to_string();
            site.cli(&[
                "officer",
                "add",
                "--email",
                &format!("officer{i}@example.org"),
                "--name",
                &format!("Officer {i}"),
                "--role",
                "officer",
                "--recipient",
                &recipient,
            ])
            .await;
        }
        Some(site)
    }

    /// Runs a `speakup` command on this database, in this process (as the binary would).
    pub async fn cli(&self, args: &[&str]) -> String {
        use clap::Parser;
        let mut argv = vec!["speakup", "--database-url", self.db_url.as_str()];
        argv.extend_from_slice(args);
        let cli = speakup::cli::Cli::try_parse_from(argv).unwrap_or_else(|e| panic!("{e}"));
        let mut out = Vec::new();
        speakup::cli::run(cli, &mut out)
            .await
            .unwrap_or_else(|e| panic!("speakup {args:?}: {e:#}"));
        String::from_utf8_lossy(&out).into_owned()
    }

    /// `speakup serve` on this database with `extra` settings; returns once it answers.
    pub async fn serve(&self, extra: &[&str]) -> Proc {
        let addr = free_addr();
        let key = self.dir.path().join("speakup.key");
        let mut args: Vec<String> = [
            "__speakup",
            "--database-url",
            &self.db_url,
            "serve",
            "--bind",
            &addr.to_string(),
            "--key-file",
            &key.display().to_string(),
            "--escrow-recipient",
            &self.escrow.to_public().to_string(),
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let log = self.dir.path().join(format!("server-{}.log", addr.port()));
        let mut p = Proc {
            child: spawn(&args, log.clone()),
            addr,
            log,
        };
        p.wait_ready("/healthz").await;
        p
    }

    /// Drops a PostgreSQL database made for the run.
    pub async fn finish(mut self) {
        if let Some((admin, name)) = self.pg_admin.take() {
            pg_exec(
                &admin,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            )
            .await;
        }
    }
}

async fn pg_exec(url: &str, sql: &str) {
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(url)
        .await
        .unwrap_or_else(|e| panic!("connect to SPEAKUP_TEST_POSTGRES_URL: {e}"));
    sqlx::Executor::execute(&mut conn, sqlx::AssertSqlSafe(sql.to_owned()))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}
