//! Test harness: starts the real Speak Up server in-process on port 0 with a fresh database
//! (a temporary SQLite file, or a new PostgreSQL database per test) and drives it over HTTP
//! like a browser. Tests that need something beyond the Rust toolchain (PostgreSQL, the
//! `age` command) say so and skip, unless `SPEAKUP_TEST_REQUIRE_ALL=1` (set by `.ci/run`)
//! makes them mandatory.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use speakup::clock::OffsetClock;
use speakup::config::{CommonArgs, FileConfig, ServeArgs, Settings};
use speakup::domain::audit::AuditEntry;
use speakup::domain::holder::OfficerId;
use speakup::domain::officer::{Role, Roles};
use speakup::store::{self, NewOfficer, SharedStore};

pub use speakup;

pub mod browser;
pub mod officer;
pub mod sealed;
pub mod workspace;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn require_all() -> bool {
    std::env::var("SPEAKUP_TEST_REQUIRE_ALL").is_ok_and(|v| v == "1")
}

/// Skips (returns false) or, when everything is required, fails.
///
/// A skip is counted, not hidden: it prints `SPEAKUP-SKIPPED: <test>: <what>` straight to
/// stderr (past the test runner's capture, so `cargo test` shows it even for a passing test)
/// and, when `SPEAKUP_SKIP_LOG` names a file (`.ci/run` sets it), appends that line there,
/// so the closing tally can count a skipped test as skipped rather than passed.
pub fn available(what: &str, ok: bool) -> bool {
    if !ok {
        assert!(
            !require_all(),
            "{what} is required (SPEAKUP_TEST_REQUIRE_ALL=1) but missing"
        );
        record_skip(
            &current_test(),
            &format!("{what} is not available on this machine"),
        );
    }
    ok
}

/// The running test, as `binary::path::to::test` (the test runner names each test's thread
/// after it; the binary's name keeps equal test names in two binaries apart).
pub fn current_test() -> String {
    let binary = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .map(|s| match s.rsplit_once('-') {
            // Cargo appends a hash: `canary-0123abcd` → `canary`.
            Some((name, hash)) if hash.chars().all(|c| c.is_ascii_hexdigit()) => name.to_owned(),
            _ => s,
        })
        .unwrap_or_else(|| "?".into());
    let thread = std::thread::current();
    format!("{binary}::{}", thread.name().unwrap_or("?"))
}

/// Reports one skipped test (`test` must identify it uniquely: the tally counts distinct
/// names). One `write` per line, to a file opened for appending: lines from tests running in
/// parallel never interleave.
pub fn record_skip(test: &str, why: &str) {
    let line = format!("SPEAKUP-SKIPPED: {test}: {why}\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
    if let Some(path) = std::env::var_os("SPEAKUP_SKIP_LOG") {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("open SPEAKUP_SKIP_LOG {path:?}: {e}"));
        f.write_all(line.as_bytes())
            .unwrap_or_else(|e| panic!("write SPEAKUP_SKIP_LOG {path:?}: {e}"));
    }
}

/// Everything the server logs, for canary scans. One buffer for the whole test binary.
static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
/// WARN and ERROR lines of the server's own targets (`speakup…`), each with the thread that
/// logged it: a test's runtime names its threads after the test (see `run_test`), so each
/// test sees its own server's warnings and not those of tests running next to it.
static WARNINGS: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

/// The `MakeWriter` the log capture hands to the server's formatter: it learns each event's
/// level and target before the line is written.
#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

struct LogWriter {
    all: Arc<Mutex<Vec<u8>>>,
    /// Set for a WARN or ERROR event of a `speakup` target: the line is kept there too.
    warning: Option<String>,
}

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.all
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        if let Some(target) = &self.warning {
            let thread = std::thread::current().name().unwrap_or("?").to_owned();
            let line = format!("[{target}] {}", String::from_utf8_lossy(buf).trim_end());
            WARNINGS
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((thread, line));
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = LogWriter;
    fn make_writer(&'a self) -> LogWriter {
        LogWriter {
            all: self.0.clone(),
            warning: None,
        }
    }
    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> LogWriter {
        let ours = meta.target() == "speakup" || meta.target().starts_with("speakup::");
        let serious = matches!(*meta.level(), tracing::Level::WARN | tracing::Level::ERROR);
        LogWriter {
            all: self.0.clone(),
            warning: (ours && serious).then(|| format!("{} {}", meta.level(), meta.target())),
        }
    }
}

fn init_logs() -> Arc<Mutex<Vec<u8>>> {
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        // Everything, dependencies included, at the most verbose level: a canary must not
        // appear even where production logging would not look.
        speakup::telemetry::init(
            Capture(buf.clone()),
            tracing_subscriber::EnvFilter::new("trace"),
        );
        // Panic messages (a server task's, not only the handlers' the error layer logs) go
        // to stderr; copy them into the capture too, so canary scans read them.
        let sink = buf.clone();
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let line = format!("[PANIC] {info}\n");
            sink.lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend_from_slice(line.as_bytes());
            previous(info);
        }));
        buf
    })
    .clone()
}

pub fn captured_logs() -> Vec<u8> {
    init_logs()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
}

/// The WARN and ERROR lines the server's own targets logged for the running test (its
/// thread and its runtime's threads, named by `run_test`).
pub fn server_warnings() -> Vec<String> {
    let me = std::thread::current().name().unwrap_or("?").to_owned();
    let workers = runtime_thread_name(&me);
    WARNINGS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter(|(thread, _)| *thread == me || *thread == workers)
        .map(|(_, line)| line.clone())
        .collect()
}

/// Fails if the server logged a WARN or ERROR for this test other than those `expected`
/// (substrings of the lines the test provokes on purpose).
pub fn assert_no_server_warnings(expected: &[&str]) {
    let unexpected: Vec<String> = server_warnings()
        .into_iter()
        .filter(|l| !expected.iter().any(|e| l.contains(e)))
        .collect();
    assert!(
        unexpected.is_empty(),
        "the server logged WARN/ERROR lines:\n{}",
        unexpected.join("\n")
    );
}

fn runtime_thread_name(test: &str) -> String {
    format!("rt:{test}")
}

/// Runs a test's future on its own multi-threaded runtime (as `#[tokio::test(flavor =
/// "multi_thread", worker_threads = 2)]` does) whose threads are named after the test, so
/// the log capture can tell which test's server logged a line.
pub fn run_test<F: std::future::Future<Output = ()>>(test: F) {
    let name = std::thread::current().name().unwrap_or("?").to_owned();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(runtime_thread_name(&name))
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(test)
}

pub struct TestApp {
    pub base: String,
    pub store: SharedStore,
    pub backend: Backend,
    pub database_url: String,
    pub dir: tempfile::TempDir,
    pub officer: age::x25519::Identity,
    pub officer_email: String,
    /// The server's clock: real time, moved forward by `clock.advance(secs)`.
    pub clock: Arc<OffsetClock>,
    /// The server's state, for calling what its loops call (`speakup::server::housekeeping`).
    pub state: speakup::web::SharedState,
    /// The metrics listener's base URL, when the options set `metrics_bind`.
    pub metrics_base: Option<String>,
    pg_admin: Option<(String, String)>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    expected_warnings: Vec<&'static str>,
}

/// Row counts that show whether a request stored anything (`TestApp::stored`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    pub cases: i64,
    pub blobs: i64,
    pub incomplete_blobs: i64,
}

pub struct Options {
    pub with_officer: bool,
    pub file: FileConfig,
    pub serve: ServeArgs,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            with_officer: true,
            file: FileConfig::default(),
            serve: ServeArgs {
                // Generous so ordinary tests never meet the limiters (the crash test reads back
                // every mailbox it was shown from one address: over 1,000 on a fast machine);
                // the rate-limit tests lower them.
                rate_per_client: Some(100_000),
                rate_global: Some(10_000),
                rate_reads_per_client: Some(10_000),
                ..Default::default()
            },
        }
    }
}

async fn database(backend: Backend, dir: &Path) -> Option<(String, Option<(String, String)>)> {
    match backend {
        Backend::Sqlite => Some((format!("sqlite:{}", dir.join("speakup.db").display()), None)),
        Backend::Postgres => {
            let url = std::env::var("SPEAKUP_TEST_POSTGRES_URL").ok();
            if !available("PostgreSQL (set SPEAKUP_TEST_POSTGRES_URL)", url.is_some()) {
                return None;
            }
            let admin = url?;
            let name = format!("speakup_test_{}", uuid::Uuid::new_v4().simple());
            let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
                .await
                .expect("connect to SPEAKUP_TEST_POSTGRES_URL");
            sqlx::Executor::execute(
                &mut conn,
                sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")),
            )
            .await
            .expect("create test database");
            let base = admin
                .rsplit_once('/')
                .map(|(b, _)| b.to_owned())
                .unwrap_or(admin.clone());
            Some((format!("{base}/{name}"), Some((admin, name))))
        }
    }
}

pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_with(backend, Options::default()).await
}

/// A server with no officer key yet: the intake is closed.
pub async fn spawn_without_officer(backend: Backend) -> Option<TestApp> {
    let opts = Options {
        with_officer: false,
        ..Default::default()
    };
    spawn_with(backend, opts).await
}

pub async fn spawn_with(backend: Backend, mut opts: Options) -> Option<TestApp> {
    init_logs();
    let dir = tempfile::tempdir().expect("tempdir");
    let (database_url, pg_admin) = database(backend, dir.path()).await?;
    let store = store::connect(&database_url).await.expect("connect");
    store.migrate().await.expect("migrate");
    let officer = age::x25519::Identity::generate();
    let officer_email = "triage@example.org".to_owned();
    if opts.with_officer {
        let audit = AuditEntry::new(0, "cli", "account_created", "", &officer_email);
        store
            .add_officer(
                &NewOfficer {
                    id: OfficerId::generate(),
                    email: officer_email.clone(),
                    name: "Triage Officer".into(),
                    roles: Roles::new(&[Role::Officer]),
                    recipient: officer.to_public().to_string(),
                    created_at: 0,
                },
                None,
                &audit,
            )
            .await
            .expect("add officer");
    }
    let common = CommonArgs {
        config: None,
        database_url: Some(database_url.clone()),
    };
    // The server key file lives outside the database: in the test's folder, for both backends.
    if opts.serve.key_file.is_none() && opts.file.key_file.is_none() {
        opts.file.key_file = Some(dir.path().join("speakup.key"));
    }
    let settings = Settings::from_parts(&common, &opts.serve, opts.file).expect("settings");
    let server = Server {
        store,
        backend,
        database_url,
        dir,
        officer,
        officer_email,
        pg_admin,
    };
    Some(server.launch(settings).await)
}

/// What a server runs on: its database (and folder), and the officer the test decrypts with.
struct Server {
    store: SharedStore,
    backend: Backend,
    database_url: String,
    dir: tempfile::TempDir,
    officer: age::x25519::Identity,
    officer_email: String,
    pg_admin: Option<(String, String)>,
}

impl Server {
    /// Binds port 0 (and the metrics listener when `settings` asks for one) and serves.
    async fn launch(self, settings: Settings) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let metrics = match settings.metrics_bind {
            Some(at) => Some(
                tokio::net::TcpListener::bind(at)
                    .await
                    .expect("bind metrics"),
            ),
            None => None,
        };
        let metrics_base = metrics
            .as_ref()
            .map(|l| format!("http://{}", l.local_addr().expect("metrics addr")));
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let clock = Arc::new(OffsetClock::default());
        let state = speakup::server::build_state(self.store.clone(), settings, clock.clone())
            .await
            .expect("state");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(speakup::server::serve_with_metrics(
            listener,
            metrics,
            state.clone(),
            async move {
                let _ = rx.await;
            },
        ));
        TestApp {
            base,
            store: self.store,
            backend: self.backend,
            database_url: self.database_url,
            dir: self.dir,
            officer: self.officer,
            officer_email: self.officer_email,
            clock,
            state,
            metrics_base,
            pg_admin: self.pg_admin,
            shutdown: Some(tx),
            server: Some(server),
            expected_warnings: Vec::new(),
        }
    }
}

impl TestApp {
    /// A second server on this one's database and key file (two instances behind one load
    /// balancer), with its own connection pool, clock and port; it migrates as `speakup
    /// serve` does. `serve` adds settings (the key file is always this server's). Finish it
    /// before this one: only the first drops a PostgreSQL test database.
    pub async fn spawn_twin(&self, serve: ServeArgs) -> TestApp {
        let store = store::connect(&self.database_url).await.expect("connect");
        store.migrate().await.expect("migrate");
        let common = CommonArgs {
            config: None,
            database_url: Some(self.database_url.clone()),
        };
        let serve = ServeArgs {
            key_file: Some(self.dir.path().join("speakup.key")),
            ..serve
        };
        let settings =
            Settings::from_parts(&common, &serve, FileConfig::default()).expect("settings");
        let officer = self.officer.clone();
        let server = Server {
            store,
            backend: self.backend,
            database_url: self.database_url.clone(),
            dir: tempfile::tempdir().expect("tempdir"),
            officer,
            officer_email: self.officer_email.clone(),
            pg_admin: None,
        };
        server.launch(settings).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The body of a GET, as a browser would show it.
    pub async fn page(&self, client: &reqwest::Client, path: &str) -> String {
        client
            .get(self.url(path))
            .send()
            .await
            .expect("get")
            .text()
            .await
            .expect("body")
    }

    /// A browser: keeps cookies, follows redirects.
    pub fn browser(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .expect("client")
    }

    /// Asks the server to shut down gracefully (as SIGTERM does) without waiting.
    pub fn begin_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Stops the server gracefully and drops a PostgreSQL test database.
    /// Declares WARN/ERROR lines this test provokes on purpose (substrings); `finish`
    /// fails on any other.
    pub fn expect_warnings(&mut self, lines: &[&'static str]) {
        self.expected_warnings.extend_from_slice(lines);
    }

    /// Stops the server gracefully and drops a PostgreSQL test database. Fails the test if
    /// the server task ended with an error or a panic, or if the server's own targets logged
    /// a WARN or ERROR line for this test that it did not declare (`expect_warnings`).
    pub async fn finish(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(s) = self.server.take() {
            match s.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => panic!("the server stopped with an error: {e}"),
                Err(e) => panic!("the server task did not end cleanly (a panic?): {e}"),
            }
        }
        assert_no_server_warnings(&self.expected_warnings);
        if let Some((admin, name)) = self.pg_admin.take()
            && let Ok(mut conn) = <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await
        {
            let _ = sqlx::Executor::execute(
                &mut conn,
                sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")),
            )
            .await;
        }
    }

    /// The server's cookie and CSRF keys, from its key file in the test's folder (never from
    /// the database: see speakup::keyfile).
    pub fn server_keys(&self) -> speakup::web::ServerKeys {
        speakup::server::server_keys(Some(&self.dir.path().join("speakup.key"))).expect("key file")
    }

    /// The single integer a query returns (a `COUNT(*)`), on either database.
    /// Runs one statement on the app's database, as someone with database access would.
    pub async fn execute(&self, sql: &str) {
        let q = sqlx::AssertSqlSafe(sql.to_owned());
        match self.backend {
            Backend::Sqlite => {
                let mut c =
                    <sqlx::SqliteConnection as sqlx::Connection>::connect(&self.database_url)
                        .await
                        .expect("connect");
                sqlx::Executor::execute(&mut c, q).await.map(|_| ())
            }
            Backend::Postgres => {
                let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&self.database_url)
                    .await
                    .expect("connect");
                sqlx::Executor::execute(&mut c, q).await.map(|_| ())
            }
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    pub async fn scalar(&self, sql: &str) -> i64 {
        let q = sqlx::AssertSqlSafe(sql.to_owned());
        match self.backend {
            Backend::Sqlite => {
                let mut c =
                    <sqlx::SqliteConnection as sqlx::Connection>::connect(&self.database_url)
                        .await
                        .expect("connect");
                sqlx::query_scalar(q).fetch_all(&mut c).await
            }
            Backend::Postgres => {
                let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&self.database_url)
                    .await
                    .expect("connect");
                sqlx::query_scalar(q).fetch_all(&mut c).await
            }
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .first()
        .copied()
        .unwrap_or_else(|| panic!("{sql}: no row"))
    }

    /// Rows in `cases`, in `blobs`, and blobs not marked complete (an upload left half-stored).
    pub async fn stored(&self) -> Stored {
        Stored {
            cases: self.scalar("SELECT COUNT(*) FROM cases").await,
            blobs: self.scalar("SELECT COUNT(*) FROM blobs").await,
            incomplete_blobs: self
                .scalar("SELECT COUNT(*) FROM blobs WHERE NOT complete")
                .await,
        }
    }

    /// Every byte the database holds, for canary scans.
    ///
    /// SQLite: the raw bytes of the database files (WAL included), and then every value of
    /// every table listed in `sqlite_master`, read back whole (a value longer than a page is
    /// split over overflow pages in the file, where a raw scan would miss a string that
    /// straddles two of them). A table the scan cannot read (a virtual table, whose rows live
    /// elsewhere, or one that fails to select) fails the test.
    ///
    /// PostgreSQL: every column of every table in `information_schema` (outside the system
    /// schemas), `bytea` columns as their raw bytes and the rest as text, so a table added
    /// later is scanned without anyone remembering to list it.
    pub async fn database_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self.backend {
            Backend::Sqlite => {
                for entry in std::fs::read_dir(self.dir.path()).expect("read dir") {
                    let p = entry.expect("entry").path();
                    if p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("speakup.db"))
                    {
                        out.extend(std::fs::read(&p).expect("read db file"));
                    }
                }
                let mut conn =
                    <sqlx::SqliteConnection as sqlx::Connection>::connect(&self.database_url)
                        .await
                        .expect("connect");
                let tables: Vec<(String, i64, String)> = sqlx::query_as(
                    "SELECT name, rootpage, coalesce(sql, '') FROM sqlite_master WHERE type = 'table'",
                )
                .fetch_all(&mut conn)
                .await
                .expect("list tables");
                assert!(
                    tables.iter().any(|(t, _, _)| t == "cases"),
                    "sqlite_master lists no `cases` table: {tables:?}"
                );
                for (table, rootpage, sql) in tables {
                    assert!(
                        rootpage > 0 && !sql.to_ascii_uppercase().contains("VIRTUAL TABLE"),
                        "table {table} keeps its rows outside the database file's pages; \
                         the canary scan cannot read it: {sql}"
                    );
                    let columns: Vec<(String,)> =
                        sqlx::query_as("SELECT name FROM pragma_table_info(?)")
                            .bind(&table)
                            .fetch_all(&mut conn)
                            .await
                            .unwrap_or_else(|e| panic!("columns of {table}: {e}"));
                    assert!(!columns.is_empty(), "table {table} has no readable columns");
                    for (column,) in columns {
                        let rows: Vec<(Option<Vec<u8>>,)> =
                            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                                "SELECT CAST({} AS BLOB) FROM {}",
                                quote_ident(&column),
                                quote_ident(&table)
                            )))
                            .fetch_all(&mut conn)
                            .await
                            .unwrap_or_else(|e| {
                                panic!("the canary scan cannot read {table}.{column}: {e}")
                            });
                        out.extend(rows.into_iter().flat_map(|(v,)| v.unwrap_or_default()));
                    }
                }
            }
            Backend::Postgres => {
                let mut conn =
                    <sqlx::PgConnection as sqlx::Connection>::connect(&self.database_url)
                        .await
                        .expect("connect");
                let columns: Vec<(String, String, String, String)> = sqlx::query_as(
                    "SELECT c.table_schema::text, c.table_name::text, c.column_name::text, \
                            c.data_type::text \
                     FROM information_schema.columns c \
                     JOIN information_schema.tables t \
                       ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
                     WHERE t.table_type = 'BASE TABLE' \
                       AND c.table_schema NOT IN ('pg_catalog', 'information_schema') \
                     ORDER BY 1, 2, c.ordinal_position",
                )
                .fetch_all(&mut conn)
                .await
                .expect("list columns");
                assert!(
                    columns.iter().any(|(_, t, _, _)| t == "cases"),
                    "information_schema lists no `cases` table"
                );
                for (schema, table, column, data_type) in columns {
                    let from = format!("{}.{}", quote_ident(&schema), quote_ident(&table));
                    let col = quote_ident(&column);
                    if data_type == "bytea" {
                        let rows: Vec<(Option<Vec<u8>>,)> = sqlx::query_as(sqlx::AssertSqlSafe(
                            format!("SELECT {col} FROM {from}"),
                        ))
                        .fetch_all(&mut conn)
                        .await
                        .unwrap_or_else(|e| panic!("dump {table}.{column}: {e}"));
                        out.extend(rows.into_iter().flat_map(|(v,)| v.unwrap_or_default()));
                    } else {
                        let rows: Vec<(Option<String>,)> = sqlx::query_as(sqlx::AssertSqlSafe(
                            format!("SELECT {col}::text FROM {from}"),
                        ))
                        .fetch_all(&mut conn)
                        .await
                        .unwrap_or_else(|e| panic!("dump {table}.{column}: {e}"));
                        for (v,) in rows {
                            out.extend(v.unwrap_or_default().into_bytes());
                            out.push(b'\n');
                        }
                    }
                }
            }
        }
        out
    }
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Runs a `speakup` command against the app's database, as the binary would.
pub async fn try_cli(app: &TestApp, args: &[&str]) -> Result<String, String> {
    use clap::Parser;
    let mut argv = vec!["speakup", "--database-url", app.database_url.as_str()];
    argv.extend_from_slice(args);
    let parsed = speakup::cli::Cli::try_parse_from(argv).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    speakup::cli::run(parsed, &mut out)
        .await
        .map_err(|e| format!("{e:#}"))?;
    String::from_utf8(out).map_err(|e| e.to_string())
}

/// The two legal entities most tests use: `alpha` (Alpha NV) and `beta` (Beta BV).
pub async fn alpha_and_beta(app: &TestApp) {
    run_cli(
        app,
        &["entity", "add", "--slug", "alpha", "--name", "Alpha NV"],
    )
    .await;
    run_cli(
        app,
        &["entity", "add", "--slug", "beta", "--name", "Beta BV"],
    )
    .await;
}

pub async fn run_cli(app: &TestApp, args: &[&str]) -> String {
    try_cli(app, args)
        .await
        .unwrap_or_else(|e| panic!("speakup {args:?} failed: {e}"))
}

/// The value of a named hidden input in a page.
pub fn hidden(html: &str, name: &str) -> String {
    let pat = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&pat)
        .unwrap_or_else(|| panic!("no field {name} in page"))
        + pat.len();
    html[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// The receipt token from the page shown after submission.
pub fn receipt(html: &str) -> String {
    let pat = "id=\"receipt\">";
    let start = html.find(pat).expect("receipt element") + pat.len();
    html[start..]
        .split('<')
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned()
}

pub fn contains(haystack: &[u8], needle: &str) -> bool {
    let n = needle.as_bytes();
    haystack.windows(n.len()).any(|w| w == n)
}

/// Files under `dir` (recursively), changed since `since`, that contain `needle`.
pub fn files_containing(dir: &Path, since: std::time::SystemTime, needle: &str) -> Vec<PathBuf> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let Ok(meta) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            if meta.is_dir() {
                stack.push(p);
            } else if meta.is_file()
                && meta.len() < 256 * 1024 * 1024
                && meta.modified().is_ok_and(|m| m >= since)
                && let Ok(bytes) = std::fs::read(&p)
                && contains(&bytes, needle)
            {
                hits.push(p);
            }
        }
    }
    hits
}

/// A report as a browser sends it.
pub struct Report<'a> {
    pub category: &'a str,
    pub what: &'a str,
    pub when_where: &'a str,
    pub involved: &'a str,
    pub mode: &'a str,
    pub name: &'a str,
    pub contact: &'a str,
    pub files: Vec<(String, Vec<u8>)>,
}

impl Default for Report<'_> {
    fn default() -> Self {
        Self {
            category: "fraud",
            what: "Invoices are paid twice to a supplier.",
            when_where: "Since March, Antwerp office",
            involved: "Purchasing department",
            mode: "anonymous",
            name: "",
            contact: "",
            files: Vec::new(),
        }
    }
}

impl Report<'_> {
    pub fn form(&self, csrf: &str) -> reqwest::multipart::Form {
        let mut f = reqwest::multipart::Form::new()
            .text("csrf", csrf.to_owned())
            .text("category", self.category.to_owned())
            .text("what", self.what.to_owned())
            .text("when_where", self.when_where.to_owned())
            .text("involved", self.involved.to_owned())
            .text("mode", self.mode.to_owned())
            .text("name", self.name.to_owned())
            .text("contact", self.contact.to_owned());
        for (name, bytes) in &self.files {
            f = f.part(
                "attachments",
                reqwest::multipart::Part::bytes(bytes.clone()).file_name(name.clone()),
            );
        }
        f
    }
}

/// Opens the form, submits the report, returns the receipt page's HTML and status.
pub async fn file_report(
    app: &TestApp,
    client: &reqwest::Client,
    lang: &str,
    report: &Report<'_>,
) -> (u16, String) {
    let page = client
        .get(app.url(&format!("/report?lang={lang}")))
        .send()
        .await
        .expect("get form")
        .text()
        .await
        .expect("form body");
    let csrf = hidden(&page, "csrf");
    let res = client
        .post(app.url(&format!("/report?lang={lang}")))
        .multipart(report.form(&csrf))
        .send()
        .await
        .expect("post report");
    let status = res.status().as_u16();
    (status, res.text().await.expect("receipt body"))
}

/// Opens the mailbox with a receipt; returns the mailbox page (after the redirect).
pub async fn open_mailbox(app: &TestApp, client: &reqwest::Client, receipt: &str) -> (u16, String) {
    let page = client
        .get(app.url("/follow-up"))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("body");
    let csrf = hidden(&page, "csrf");
    let res = client
        .post(app.url("/follow-up"))
        .form(&[("csrf", csrf.as_str()), ("receipt", receipt)])
        .send()
        .await
        .expect("post follow-up");
    let status = res.status().as_u16();
    (status, res.text().await.expect("mailbox body"))
}

/// Runs a scenario `async fn name(Backend)` as two tests, one per database.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[test]
                fn sqlite() {
                    $crate::run_test(super::$name($crate::Backend::Sqlite))
                }
                #[test]
                fn postgres() {
                    $crate::run_test(super::$name($crate::Backend::Postgres))
                }
            }
        )+
    };
}

/// Watches the temporary directory for files created while a test runs, including files
/// made and removed again before any scan could read them (the server must make none: it
/// keeps uploads in the database, encrypted, and nothing else on disk). Folders are not
/// reported: tests make their own temporary folders there.
pub struct TempWatch {
    inotify: inotify::Inotify,
}

impl TempWatch {
    pub fn start() -> Self {
        let inotify = inotify::Inotify::init().expect("inotify");
        inotify
            .watches()
            .add(
                std::env::temp_dir(),
                inotify::WatchMask::CREATE | inotify::WatchMask::MOVED_TO,
            )
            .expect("watch the temporary directory");
        Self { inotify }
    }

    /// The names of the files created (or moved in) since `start`.
    pub fn files_created(&mut self) -> Vec<String> {
        let mut buffer = [0u8; 64 * 1024];
        let mut names = Vec::new();
        loop {
            match self.inotify.read_events(&mut buffer) {
                Ok(events) => {
                    for e in events {
                        if !e.mask.contains(inotify::EventMask::ISDIR)
                            && let Some(name) = e.name
                        {
                            names.push(name.to_string_lossy().into_owned());
                        }
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return names,
                Err(e) => panic!("reading inotify events: {e}"),
            }
        }
    }
}

/// A new, empty database (no tables) and a folder for its files, for a test that restores a
/// backup into it.
pub struct EmptyDatabase {
    pub dir: tempfile::TempDir,
    pub url: String,
    pg_admin: Option<(String, String)>,
}

pub async fn empty_database(backend: Backend) -> Option<EmptyDatabase> {
    let dir = tempfile::tempdir().expect("tempdir");
    let (url, pg_admin) = database(backend, dir.path()).await?;
    Some(EmptyDatabase { dir, url, pg_admin })
}

/// A copy of a SQLite database file (a fixture an older release made) in a new folder, for
/// `spawn_on`.
pub fn sqlite_copy_of(file: &Path) -> EmptyDatabase {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("speakup.db");
    std::fs::copy(file, &path).expect("copy the database file");
    EmptyDatabase {
        url: format!("sqlite:{}", path.display()),
        dir,
        pg_admin: None,
    }
}

/// A server on an existing database (a restored one), reading the key file `key_file`; it
/// migrates as `speakup serve` does and adds no officer. `officer` is the identity the test
/// decrypts with.
pub async fn spawn_on(
    backend: Backend,
    db: EmptyDatabase,
    key_file: PathBuf,
    officer: age::x25519::Identity,
) -> TestApp {
    init_logs();
    let store = store::connect(&db.url).await.expect("connect");
    store.migrate().await.expect("migrate");
    let common = CommonArgs {
        config: None,
        database_url: Some(db.url.clone()),
    };
    let opts = Options::default();
    let serve = ServeArgs {
        key_file: Some(key_file),
        ..opts.serve
    };
    let settings = Settings::from_parts(&common, &serve, opts.file).expect("settings");
    let server = Server {
        store,
        backend,
        database_url: db.url,
        dir: db.dir,
        officer,
        officer_email: "triage@example.org".to_owned(),
        pg_admin: db.pg_admin,
    };
    server.launch(settings).await
}

/// A retention policy of the organisation's period alone, in months (no period by outcome).
pub fn retention_months(months: u8) -> speakup::domain::retention::Policy {
    speakup::domain::retention::Policy {
        months,
        ..Default::default()
    }
}

/// Applies this build's migrations up to version `last` only: a database as an older release
/// left it (the crash and upgrade tests).
pub async fn migrate_to(backend: Backend, url: &str, last: i64) {
    let dir = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../migrations")
        .join(dir);
    let mut m = sqlx::migrate::Migrator::new(path).await.unwrap();
    m.migrations = m
        .migrations
        .iter()
        .filter(|x| x.version <= last)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    match backend {
        Backend::Sqlite => {
            let opts: sqlx::sqlite::SqliteConnectOptions = url.parse().unwrap();
            let pool = sqlx::SqlitePool::connect_with(opts.create_if_missing(true))
                .await
                .unwrap();
            m.run(&pool).await.unwrap();
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            m.run(&pool).await.unwrap();
            pool.close().await;
        }
    }
}

/// The `speakup` binary of this build, built first (a no-op when it is up to date) so a
/// test that runs it as its own process never runs a stale one (the lifecycle and package
/// tests).
pub fn speakup_binary() -> PathBuf {
    // This test runs from <target>/<profile>/deps/.
    let exe = std::env::current_exe().expect("current exe");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("<target>/<profile>")
        .to_owned();
    let target_dir = profile_dir.parent().expect("<target>").to_owned();
    let mut cargo = std::process::Command::new(env!("CARGO"));
    cargo
        .args(["build", "-p", "speakup", "--bin", "speakup", "--target-dir"])
        .arg(&target_dir)
        .current_dir(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .expect("workspace root"),
        );
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        cargo.arg("--release");
    }
    let out = cargo.output().expect("run cargo build");
    assert!(
        out.status.success(),
        "cargo build -p speakup failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bin = profile_dir.join("speakup");
    assert!(bin.is_file(), "no binary at {bin:?}");
    bin
}
