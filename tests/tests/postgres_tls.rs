//! PostgreSQL over TLS (docs/configuration.md, `DATABASE_URL`): the test starts a private
//! PostgreSQL cluster on a free port with `ssl = on`, a certificate from a certificate
//! authority the test makes with `openssl`, and a pg_hba.conf that accepts TCP connections
//! over TLS only (`hostssl`). Then the real `speakup` binary, run as an operator would:
//! - with `sslmode=verify-full` and `sslrootcert` naming the authority: migrates, serves and is
//!   ready (the database answers over TLS); `sslmode=require` works too;
//! - with `sslrootcert` naming another authority: refuses to start, saying the certificate is
//!   not trusted;
//! - with `sslmode=disable`: refused by the server, which insists on TLS.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use speakup_tests::*;

const BIN: &str = env!("CARGO_BIN_EXE_speakup-under-test");

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl");
    assert!(out.status.success(), "openssl {args:?}: {out:?}");
}

/// A certificate authority `NAME.pem` (key `NAME.key`).
fn make_ca(dir: &Path, name: &str) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-days",
            "2",
            "-subj",
            &format!("/CN=Speak Up test CA {name}"),
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.pem"),
        ],
    );
}

/// `ca.pem` and a server certificate for 127.0.0.1 and localhost it signed; `other.pem`, an
/// authority that signed nothing here.
fn make_certificates(dir: &Path) {
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .expect("extensions");
    make_ca(dir, "ca");
    make_ca(dir, "other");
    openssl(
        dir,
        &[
            "req",
            "-subj",
            "/CN=127.0.0.1",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.pem",
        ],
    );
}

/// PostgreSQL's own programs (initdb, pg_ctl), from the newest installed major version.
fn pg_bin() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|b| b.join("initdb").is_file() && b.join("pg_ctl").is_file())
        .collect();
    found.sort();
    found.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// A private PostgreSQL cluster, stopped when dropped. As root (CI), its programs run as the
/// `postgres` system user: initdb refuses to run as root.
struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    as_postgres: bool,
    port: u16,
    dir: tempfile::TempDir,
}

impl Cluster {
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    fn start() -> Option<Self> {
        let tools = Command::new("openssl")
            .arg("version")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !available("openssl (apt-get install openssl)", tools) {
            return None;
        }
        let bin = pg_bin();
        if !available(
            "PostgreSQL server programs (apt-get install postgresql)",
            bin.is_some(),
        ) {
            return None;
        }
        let as_postgres = is_root();
        // Under /tmp, readable by the `postgres` user (TMPDIR may be private to root).
        let dir = tempfile::Builder::new()
            .prefix("speakup-pgtls")
            .tempdir_in("/tmp")
            .expect("tempdir");
        make_certificates(dir.path());
        let key = dir.path().join("server.key");
        std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .expect("chmod the server key");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let cluster = Self {
            bin: bin?,
            data: dir.path().join("data"),
            as_postgres,
            port,
            dir,
        };
        if as_postgres {
            let ok = Command::new("chown")
                .args(["-R", "postgres:"])
                .arg(cluster.dir.path())
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "chown the cluster's folder to postgres");
        }
        cluster.init();
        Some(cluster)
    }

    fn run(&self, mut c: Command, what: &str) -> Output {
        let out = c.output().unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(out.status.success(), "{what}: {out:?}");
        out
    }

    fn init(&self) {
        let dir = self.dir.path();
        let mut c = self.command("initdb");
        c.arg("-D")
            .arg(&self.data)
            .args(["-U", "postgres", "--auth=trust", "--no-sync"]);
        self.run(c, "initdb");
        let conf = format!(
            "\nport = {}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n\
             ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\nfsync = off\n",
            self.port,
            dir.display(),
            dir.join("server.pem").display(),
            dir.join("server.key").display(),
        );
        let mut pg_conf = std::fs::OpenOptions::new()
            .append(true)
            .open(self.data.join("postgresql.conf"))
            .expect("postgresql.conf");
        std::io::Write::write_all(&mut pg_conf, conf.as_bytes()).expect("write conf");
        // TCP connections only over TLS.
        std::fs::write(
            self.data.join("pg_hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
        )
        .expect("pg_hba.conf");
        let mut c = self.command("pg_ctl");
        c.arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(dir.join("log"))
            .args(["-w", "start"]);
        self.run(c, "pg_ctl start");
    }

    fn url(&self, query: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/postgres?{query}",
            self.port
        )
    }

    fn ca(&self, name: &str) -> String {
        self.dir
            .path()
            .join(format!("{name}.pem"))
            .display()
            .to_string()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let mut c = self.command("pg_ctl");
        c.arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"]);
        let _ = c.stdout(Stdio::null()).stderr(Stdio::null()).status();
    }
}

/// The binary run to completion with `url`; its exit status and standard error.
fn speakup(url: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(BIN)
        .arg("--database-url")
        .arg(url)
        .args(args)
        .env_remove("SPEAKUP_CONFIG")
        .env("SPEAKUP_LOG", "error")
        .stdin(Stdio::null())
        .output()
        .expect("run speakup-under-test");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn postgres_over_tls_verified_refused_and_required() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let verified = cluster.url(&format!(
        "sslmode=verify-full&sslrootcert={}",
        cluster.ca("ca")
    ));
    let key = age::x25519::Identity::generate().to_public().to_string();
    let (ok, err) = speakup(
        &verified,
        &[
            "officer",
            "add",
            "--email",
            "t@example.org",
            "--name",
            "T",
            "--recipient",
            &key,
        ],
    );
    assert!(ok, "over verify-full: {err}");

    // Served over verify-full: ready, so the database answers through TLS.
    let dir = tempfile::tempdir().expect("tempdir");
    let key_file = dir.path().join("speakup.key");
    let mut child = Command::new(BIN)
        .arg("--database-url")
        .arg(&verified)
        .args(["serve", "--bind", "127.0.0.1:0", "--key-file"])
        .arg(&key_file)
        .env_remove("SPEAKUP_CONFIG")
        .env("SPEAKUP_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    let base = loop {
        line.clear();
        assert!(
            out.read_line(&mut line).expect("stdout") > 0,
            "serve exited"
        );
        if let Some(rest) = line.strip_prefix("Speak Up is running: open ") {
            break rest.split(' ').next().expect("address").to_owned();
        }
    };
    std::thread::spawn(move || {
        let mut rest = Vec::new();
        let _ = out.read_to_end(&mut rest);
    });
    let ready = run_ready(&format!("{base}/readyz"));
    child.kill().expect("stop serve");
    child.wait().expect("reap");
    assert_eq!(ready, (200, "ready".to_owned()));

    // sslmode=require: encrypted, certificate not checked.
    let (ok, err) = speakup(&cluster.url("sslmode=require"), &["migrate"]);
    assert!(ok, "over require: {err}");

    // Another authority: a start-up error that says the certificate is not trusted.
    let wrong = cluster.url(&format!(
        "sslmode=verify-full&sslrootcert={}",
        cluster.ca("other")
    ));
    let (ok, err) = speakup(&wrong, &["migrate"]);
    assert!(!ok, "a certificate from an unknown authority was accepted");
    assert!(err.contains("cannot open the database"), "{err}");
    assert!(
        err.contains("certificate") && err.contains("UnknownIssuer"),
        "{err}"
    );

    // Without TLS: the server refuses the connection.
    let (ok, err) = speakup(&cluster.url("sslmode=disable"), &["migrate"]);
    assert!(!ok, "a connection without TLS was accepted");
    assert!(
        err.contains("no encryption") || err.contains("pg_hba.conf"),
        "{err}"
    );
}

fn run_ready(url: &str) -> (u16, String) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(async {
            let res = reqwest::get(url).await.expect("readyz");
            (res.status().as_u16(), res.text().await.expect("body"))
        })
}
