//! Running the Node scripts in `tests/browser/` (playwright-core driving Debian's Chromium,
//! never a downloaded browser) from a Rust test: availability, the locked install, one phase
//! per call with its JSON summary; the officer a workspace script signs in as.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use speakup::clock::Clock;

use crate::officer::Person;
use crate::workspace::{History, Team, history, team};
use crate::{Backend, TestApp, available};

pub const CHROMIUM: &str = "/usr/bin/chromium";

/// The npm packages the scripts need, all exact-pinned in `tests/browser/package-lock.json`.
const PACKAGES: &[&str] = &["playwright-core", "axe-core"];

pub fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("browser")
}

fn node_present() -> bool {
    Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// True when Chromium and Node are there (and the locked packages installed); false skips,
/// unless everything is required, which fails instead.
pub fn ready() -> bool {
    let ok = Path::new(CHROMIUM).is_file() && node_present();
    if !available("Chromium and Node.js", ok) {
        return false;
    }
    ensure_node_modules();
    true
}

/// Installs the locked packages once (several tests may race here: one lock for all).
fn ensure_node_modules() {
    static ONCE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = ONCE.lock().unwrap_or_else(|e| e.into_inner());
    let dir = browser_dir();
    if PACKAGES
        .iter()
        .all(|p| dir.join("node_modules").join(p).is_dir())
    {
        return;
    }
    let ci = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&dir)
        .status()
        .expect("run npm ci");
    assert!(ci.success(), "npm ci failed in tests/browser");
}

/// Where a test's screenshots go: `SPEAKUP_ARTIFACTS`, or `target/browser-artifacts/<db>`.
pub fn artifacts(backend: Backend) -> PathBuf {
    if let Some(dir) = std::env::var_os("SPEAKUP_ARTIFACTS") {
        return PathBuf::from(dir);
    }
    let label = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/browser-artifacts")
        .join(label)
}

/// How far the test has moved the server's clock ahead of real time, in seconds.
pub fn clock_offset(app: &TestApp) -> i64 {
    let ahead = app.clock.now() - time::OffsetDateTime::now_utc();
    ahead.as_seconds_f64().round() as i64
}

/// The environment every script gets: the server's clock offset (for TOTP codes) and where
/// its screenshots go.
pub fn script_env(app: &TestApp, backend: Backend) -> Vec<(String, String)> {
    vec![
        (
            "SPEAKUP_CLOCK_OFFSET".to_owned(),
            clock_offset(app).to_string(),
        ),
        (
            "SPEAKUP_ARTIFACTS".to_owned(),
            artifacts(backend).display().to_string(),
        ),
    ]
}

/// Writes a person's key to a file in the test's directory, as the workspace offers it for
/// download (`alex@example.org` → `alex-key.txt`); returns its path.
pub fn write_key_file(app: &TestApp, p: &Person) -> PathBuf {
    let identity = p.identity.as_ref().expect("a key");
    let name = p.email.split('@').next().expect("an email");
    let key_file = app.dir.path().join(format!("{name}-key.txt"));
    std::fs::write(
        &key_file,
        format!(
            "# public key: {}\n{}\n",
            identity.to_public(),
            age::secrecy::ExposeSecret::expose_secret(&identity.to_string())
        ),
    )
    .expect("write key file");
    key_file
}

/// The team and a case with a history, for a script that signs in as Alex (an officer with a
/// key) and opens that case.
pub struct OfficerScript {
    pub team: Team,
    pub history: History,
    /// `--base`, Alex's `--email`, `--password`, `--totp-secret` and `--key-file` (his key,
    /// written to a file as the workspace offers it), and `--case`.
    pub args: Vec<String>,
}

pub async fn officer_with_history(app: &TestApp) -> OfficerScript {
    let team = team(app).await;
    let history = history(app, &team).await;
    let alex = &team.alex;
    let key_file = write_key_file(app, alex);
    let args = vec![
        "--base".into(),
        app.base.clone(),
        "--email".into(),
        alex.email.clone(),
        "--password".into(),
        alex.password.clone(),
        "--totp-secret".into(),
        speakup::auth::seed_base32(&alex.seed),
        "--key-file".into(),
        key_file.display().to_string(),
        "--case".into(),
        history.reference.clone(),
    ];
    OfficerScript {
        team,
        history,
        args,
    }
}

/// The string `key` of a JSON summary, or a failure naming it.
pub fn str_of<'a>(v: &'a serde_json::Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("no {key} in {v}"))
}

/// Writes a line to the test's stderr (shown with `--nocapture` or when the test fails).
pub fn note(line: &str) {
    let _ = std::io::Write::write_all(&mut std::io::stderr(), format!("{line}\n").as_bytes());
}

/// Runs `node SCRIPT PHASE ARGS…` in `tests/browser` off the async runtime; returns its JSON
/// summary, or fails with the script's own message.
pub async fn node(
    script: &str,
    phase: &str,
    args: Vec<String>,
    env: Vec<(String, String)>,
) -> serde_json::Value {
    let script = script.to_owned();
    let phase = phase.to_owned();
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let out = Command::new("node")
            .arg(&script)
            .arg(&phase)
            .args(&args)
            .envs(env)
            .current_dir(browser_dir())
            .output()
            .expect("run node");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "browser script {script} {phase} failed ({:?}):\n{stderr}\n{stdout}",
            out.status
        );
        note(&format!(
            "browser {script} {phase}: {:.1} s",
            started.elapsed().as_secs_f64()
        ));
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
    })
    .await
    .expect("node task")
}
