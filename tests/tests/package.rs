//! The Debian package (`cargo deb`: `[package.metadata.deb]` in server/Cargo.toml and
//! deploy/debian/). Without root: the example configuration file names every setting of
//! docs/configuration.md and each of its lines parses. As root on a CI machine
//! (`SPEAKUP_TEST_PACKAGE=1`): the package is built from this build's binary, installed with
//! `dpkg -i` (user, files, owners and modes), its unit checked with `systemd-analyze verify`
//! and rated with `systemd-analyze security` (the score docs/deployment.md gives), the server
//! started as the unit starts it (its user, folder, umask and command line, without
//! privileges; there is no systemd to run it here) until `/readyz` says ready, and the package
//! purged: program, unit and configuration gone, the cases kept.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use speakup_tests::speakup::config::{CommonArgs, FileConfig, ServeArgs, Settings};
use speakup_tests::*;

const CONFIG: &str = "deploy/debian/speakup.toml";
const UNIT: &str = "deploy/debian/speakup.service";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_owned()
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(repo_root().join(relative)).expect(relative)
}

/// The TOML keys of docs/configuration.md's settings table (its fourth column).
fn documented_keys() -> Vec<String> {
    let docs = read("docs/configuration.md");
    let table = docs
        .split("## Settings\n")
        .nth(1)
        .expect("settings table")
        .split("\n\n")
        .next()
        .expect("table body");
    table
        .lines()
        // `\|` is a bar inside a cell (`en\|nl\|fr\|de`), not a column.
        .map(|row| row.replace("\\|", "/"))
        .filter_map(|row| row.split('|').nth(4).map(str::to_owned))
        .filter_map(|cell| cell.trim().split('`').nth(1).map(str::to_owned))
        .filter(|key| key.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        .collect()
}

#[test]
fn the_example_configuration_names_every_setting_and_each_line_parses() {
    let example = read(CONFIG);
    let keys = documented_keys();
    assert!(keys.len() > 20, "{keys:?}");
    assert!(keys.iter().any(|k| k == "escalation_lang"), "{keys:?}");
    for key in &keys {
        let named = example
            .lines()
            .any(|l| l.trim_start_matches("# ").starts_with(&format!("{key} = ")));
        assert!(named, "{CONFIG} does not name the setting {key}");
    }
    // What is in force parses and makes sense.
    let active: FileConfig = toml::from_str(&example).expect("the active lines");
    assert_eq!(
        active.database_url.as_deref(),
        Some("sqlite:///var/lib/speakup/speakup.db")
    );
    let settings = Settings::from_parts(&CommonArgs::default(), &ServeArgs::default(), active)
        .expect("settings");
    assert_eq!(
        settings.key_file.as_deref(),
        Some(Path::new("/var/lib/speakup/speakup.key"))
    );
    // Each commented setting, uncommented, is a known key with a value of the right type.
    let (lines, categories) = example
        .split_once("# [[categories]]")
        .expect("a categories example");
    for line in lines.lines().filter_map(|l| l.strip_prefix("# ")) {
        if line
            .split_once(" = ")
            .is_some_and(|(k, _)| keys.iter().any(|d| d == k))
        {
            toml::from_str::<FileConfig>(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        }
    }
    let categories = format!("[[categories]]{}", categories.replace("# ", ""));
    let file: FileConfig = toml::from_str(&categories).expect("categories");
    assert_eq!(file.categories.map(|c| c.len()), Some(2));
}

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"))
}

fn succeed(program: &str, args: &[&str]) -> String {
    let out = run(program, args);
    assert!(out.status.success(), "{program} {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn on_path(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The .deb of this build's binary: cargo-deb packages `<target>/release/speakup`, so the
/// binary the tests already built is put there in a folder of the test's own (CI builds no
/// release binary; docs/deployment.md builds the real package with `cargo deb -p speakup`).
fn build_package(dir: &Path) -> PathBuf {
    let staged = dir.join("target/release");
    std::fs::create_dir_all(&staged).expect("staging folder");
    std::fs::copy(speakup_binary(), staged.join("speakup")).expect("stage binary");
    let deb = dir.join("speakup.deb");
    let out = Command::new(env!("CARGO"))
        .args(["deb", "-p", "speakup", "--no-build", "--fast", "-o"])
        .arg(&deb)
        .env("CARGO_TARGET_DIR", dir.join("target"))
        // cargo-deb's own temporary files stay out of the shared temporary folder (the
        // canary tests watch it).
        .env("TMPDIR", dir)
        .current_dir(repo_root())
        .output()
        .expect("cargo deb");
    assert!(out.status.success(), "cargo deb: {out:?}");
    deb
}

/// Leftovers of an earlier run that stopped half-way.
fn remove_leftovers() {
    if run("dpkg", &["-s", "speakup"]).status.success() {
        succeed("dpkg", &["--purge", "speakup"]);
    }
    let _ = std::fs::remove_dir_all("/var/lib/speakup");
    if run("getent", &["passwd", "speakup"]).status.success() {
        succeed("userdel", &["speakup"]);
    }
    if run("getent", &["group", "speakup"]).status.success() {
        succeed("groupdel", &["speakup"]);
    }
}

fn mode(path: &str) -> (u32, u32, u32) {
    let m = std::fs::metadata(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    (m.permissions().mode() & 0o7777, m.uid(), m.gid())
}

/// The installed unit's `Key=value` (the first one).
fn unit_value<'a>(unit: &'a str, key: &str) -> &'a str {
    unit.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("the unit has no {key}="))
}

/// The unit's command, as its `User=`, `Group=`, `UMask=` and `WorkingDirectory=` say, with
/// no new privileges and no capabilities (`NoNewPrivileges=`, `CapabilityBoundingSet=`).
fn as_the_unit(unit: &str, command: &[&str]) -> Command {
    assert_eq!(unit_value(unit, "NoNewPrivileges"), "yes");
    assert_eq!(unit_value(unit, "CapabilityBoundingSet"), "");
    let mut cmd = Command::new("setpriv");
    cmd.arg(format!("--reuid={}", unit_value(unit, "User")))
        .arg(format!("--regid={}", unit_value(unit, "Group")))
        .args([
            "--init-groups",
            "--no-new-privs",
            "--bounding-set=-all",
            "--inh-caps=-all",
        ])
        .args(["--", "sh", "-c", "umask \"$0\" && exec \"$@\""])
        .arg(unit_value(unit, "UMask"))
        .args(command)
        .current_dir(unit_value(unit, "WorkingDirectory"))
        .env_clear()
        .env("PATH", "/usr/bin:/bin");
    cmd
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn probe(base: &str, path: &str) -> Option<(u16, String)> {
    let res = reqwest::get(format!("{base}{path}")).await.ok()?;
    let status = res.status().as_u16();
    Some((status, res.text().await.ok()?))
}

/// Runs the unit's ExecStart as the unit would (on a free port) until `/readyz` is ready
/// after an officer key is added with the same user and configuration; then stops it with
/// SIGTERM, which it must survive cleanly.
async fn serve_as_the_unit(unit: &str) {
    let exec = unit_value(unit, "ExecStart");
    let argv: Vec<&str> = exec.split_whitespace().collect();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = Server(
        as_the_unit(unit, &argv)
            .env("SPEAKUP_BIND", format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start speakup"),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while probe(&base, "/healthz").await.is_none() {
        assert!(
            server.0.try_wait().expect("status").is_none(),
            "speakup exited"
        );
        assert!(Instant::now() < deadline, "speakup did not answer");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(probe(&base, "/healthz").await.map(|p| p.0), Some(200));
    assert_eq!(
        probe(&base, "/readyz").await,
        Some((
            503,
            "not ready: no officer key: the intake is closed".into()
        ))
    );
    let key = age::x25519::Identity::generate().to_public().to_string();
    let mut add: Vec<&str> = argv[..argv.len() - 1].to_vec();
    add.extend(["officer", "add", "--email", "o@example.org", "--name", "O"]);
    add.extend(["--role", "officer", "--recipient", key.as_str()]);
    let out = as_the_unit(unit, &add).output().expect("officer add");
    assert!(out.status.success(), "officer add: {out:?}");
    assert_eq!(probe(&base, "/readyz").await, Some((200, "ready".into())));
    assert_eq!(probe(&base, "/").await.map(|p| p.0), Some(200));

    let pid = server.0.id().to_string();
    succeed("kill", &["-TERM", pid.as_str()]);
    let status = server.0.wait().expect("wait");
    let mut stderr = String::new();
    if let Some(mut pipe) = server.0.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
    }
    assert!(
        status.success(),
        "speakup after SIGTERM: {status:?}\n{stderr}"
    );
    assert!(stderr.contains("listening"), "{stderr}");
}

/// The files the package put in place (and the state the server made), with their owners
/// and modes.
fn check_installed_files(uid: u32, gid: u32) {
    assert_eq!(mode("/usr/bin/speakup"), (0o755, 0, 0));
    assert_eq!(mode("/etc/speakup/speakup.toml"), (0o640, 0, gid));
    assert_eq!(mode("/var/lib/speakup"), (0o700, uid, gid));
    assert_eq!(
        std::fs::read_to_string("/etc/speakup/speakup.toml").expect("config"),
        read(CONFIG)
    );
    let conffiles = succeed("dpkg-query", &["-W", "-f=${Conffiles}", "speakup"]);
    assert!(
        conffiles.contains("/etc/speakup/speakup.toml"),
        "{conffiles}"
    );
    let listed = succeed("dpkg", &["-L", "speakup"]);
    for doc in ["deployment.md", "configuration.md", "examples/Caddyfile"] {
        assert!(
            listed.contains(&format!("/usr/share/doc/speakup/{doc}")),
            "{listed}"
        );
    }
}

#[test]
fn the_package_installs_runs_as_its_user_and_purges() {
    let wanted = std::env::var("SPEAKUP_TEST_PACKAGE").is_ok_and(|v| v == "1");
    let tools = ["dpkg", "setpriv", "systemd-analyze", "cargo-deb"]
        .iter()
        .all(|p| on_path(p));
    let root = run("id", &["-u"]).stdout.starts_with(b"0\n");
    let what = "SPEAKUP_TEST_PACKAGE=1 (installs and purges the system package `speakup`: a \
                throwaway machine only), root, dpkg, setpriv, systemd-analyze and cargo-deb";
    if !available(what, wanted && tools && root) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let deb = build_package(dir.path());
    remove_leftovers();
    let out = run("dpkg", &["-i", deb.to_str().expect("path")]);
    assert!(out.status.success(), "dpkg -i: {out:?}");

    let user = succeed("getent", &["passwd", "speakup"]);
    let fields: Vec<&str> = user.trim().split(':').collect();
    let (uid, gid): (u32, u32) = (fields[2].parse().unwrap(), fields[3].parse().unwrap());
    assert!(uid < 1000, "not a system user: {user}");
    assert_eq!(&fields[5..], ["/var/lib/speakup", "/usr/sbin/nologin"]);
    check_installed_files(uid, gid);
    let unit_path = ["/lib/systemd/system", "/usr/lib/systemd/system"]
        .iter()
        .map(|d| format!("{d}/speakup.service"))
        .find(|p| Path::new(p).is_file())
        .expect("the unit is installed");
    let unit = std::fs::read_to_string(&unit_path).expect("unit");
    assert_eq!(unit, read(UNIT));
    // Installed, not enabled: the operator edits the configuration first.
    assert!(!Path::new("/etc/systemd/system/multi-user.target.wants/speakup.service").exists());

    let verify = run("systemd-analyze", &["verify", &unit_path]);
    assert!(
        verify.status.success(),
        "systemd-analyze verify: {verify:?}"
    );
    let rating = succeed(
        "systemd-analyze",
        &["security", "--offline=true", "--no-pager", &unit_path],
    );
    let score = rating
        .lines()
        .find(|l| l.contains("Overall exposure level for speakup.service"))
        .expect("a score")
        .trim_start_matches("→ ")
        .trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_owned();
    let docs = read("docs/deployment.md");
    assert!(
        docs.contains(&score),
        "docs/deployment.md does not give {score:?}"
    );

    run_test(serve_as_the_unit(&unit));
    for (path, owner_only) in [
        ("/var/lib/speakup/speakup.db", true),
        ("/var/lib/speakup/speakup.key", true),
    ] {
        let (m, owner, _) = mode(path);
        assert_eq!(owner, uid, "{path}");
        assert!(!owner_only || m & 0o077 == 0, "{path}: {m:o}");
    }

    let out = run("dpkg", &["--purge", "speakup"]);
    assert!(out.status.success(), "dpkg --purge: {out:?}");
    for gone in ["/usr/bin/speakup", unit_path.as_str(), "/etc/speakup"] {
        assert!(!Path::new(gone).exists(), "{gone} is left after the purge");
    }
    // The cases are never deleted by a package operation.
    assert!(Path::new("/var/lib/speakup/speakup.db").is_file());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/var/lib/speakup"));
    remove_leftovers();
}
