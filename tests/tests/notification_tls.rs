//! Notification mails over TLS (issue 10: "SMTP with STARTTLS or implicit TLS"), against
//! the test SMTP server (tests/smtp_sink.py) run with a certificate the test makes: a
//! private certificate authority, trusted through `SPEAKUP_SMTP_CA_FILE`. For each mode the
//! mail arrives when the authority is trusted, is refused when it is not (the certificate
//! is checked), and a client that skips TLS gets nowhere (the server insists on it).

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use speakup_tests::*;

const SMTP_PASSWORD: &str = "smtp-tls-pw-canary-81f4";
const FROM: &str = "Speak Up <noreply@example.org>";

/// A certificate authority and a server certificate for 127.0.0.1 it signed, made with the
/// `openssl` command line.
fn make_certificates(dir: &Path) -> bool {
    let ok = Command::new("openssl")
        .arg("version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !available("openssl (apt-get install openssl)", ok) {
        return false;
    }
    let ext = dir.join("server.ext");
    std::fs::write(
        &ext,
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .expect("extensions");
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl");
        assert!(out.status.success(), "openssl {args:?}: {out:?}");
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let mut ca = vec![
        "req",
        "-x509",
        "-days",
        "2",
        "-subj",
        "/CN=Speak Up test CA",
    ];
    ca.extend(ec);
    ca.extend(["-keyout", "ca.key", "-out", "ca.pem"]);
    run(&ca);
    let mut csr = vec!["req", "-subj", "/CN=127.0.0.1"];
    csr.extend(ec);
    csr.extend(["-keyout", "server.key", "-out", "server.csr"]);
    run(&csr);
    run(&[
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
    ]);
    true
}

/// The SMTP server in `mode` (`starttls` or `implicit`), writing each mail to a folder.
struct TlsSink {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl TlsSink {
    fn start(mode: &str, certs: &Path) -> Option<Self> {
        let ok = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !available("aiosmtpd (pip install aiosmtpd)", ok) {
            return None;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("smtp_sink.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(dir.path())
            .arg(SMTP_PASSWORD)
            .arg(mode)
            .arg(certs.join("server.pem"))
            .arg(certs.join("server.key"))
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the SMTP sink");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("sink port");
        let port = line
            .trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the sink said {line:?}"));
        Some(Self { child, dir, port })
    }

    /// Mails received so far (each leaves a .json file once written).
    fn received(&self) -> usize {
        std::fs::read_dir(self.dir.path())
            .expect("sink folder")
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .count()
    }
}

impl Drop for TlsSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn notify(app: &TestApp, url: &str, ca: Option<&Path>) -> Result<String, String> {
    let ca = ca.map(|p| p.display().to_string());
    let mut argv = vec!["notify", "--now", "--smtp-url", url, "--smtp-from", FROM];
    if let Some(ca) = &ca {
        argv.extend(["--smtp-ca-file", ca.as_str()]);
    }
    try_cli(app, &argv).await
}

async fn mail_goes_out_over_tls_only_to_a_trusted_server(backend: Backend) {
    let certs = tempfile::tempdir().expect("tempdir");
    if !make_certificates(certs.path()) {
        return;
    }
    let ca = certs.path().join("ca.pem");
    let Some(mut app) = spawn_app(backend).await else {
        return;
    };
    for (mode, scheme) in [("starttls", "smtp"), ("implicit", "smtps")] {
        let Some(sink) = TlsSink::start(mode, certs.path()) else {
            return;
        };
        let url = format!("{scheme}://mailer:{SMTP_PASSWORD}@127.0.0.1:{}", sink.port);
        // The server's certificate is signed by an authority nobody trusts yet: refused.
        let err = notify(&app, &url, None)
            .await
            .expect_err("an unknown authority");
        assert!(err.contains("could not be delivered"), "{mode}: {err}");
        assert!(!err.contains(SMTP_PASSWORD), "{mode}: {err}");
        // Without STARTTLS the server takes nothing. (Against implicit TLS a plain client
        // only waits for a greeting that never comes, until its 30-second timeout.)
        if mode == "starttls" {
            let plain = format!(
                "smtp://mailer:{SMTP_PASSWORD}@127.0.0.1:{}?tls=none",
                sink.port
            );
            assert!(notify(&app, &plain, None).await.is_err(), "{mode}: no TLS");
        }
        assert_eq!(sink.received(), 0, "{mode}: a mail got through");
        // Trusted through SPEAKUP_SMTP_CA_FILE: the officers' digests arrive.
        let out = notify(&app, &url, Some(&ca)).await.expect("delivered");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while sink.received() == 0 {
            assert!(tokio::time::Instant::now() < deadline, "{mode}: {out}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        app.execute("DELETE FROM notify_sent").await;
    }
    // A CA file that holds no certificate is refused at start, by name.
    let bogus = certs.path().join("server.csr");
    let err = notify(&app, "smtps://127.0.0.1:1", Some(&bogus))
        .await
        .expect_err("no certificate");
    assert!(err.contains("SPEAKUP_SMTP_CA_FILE"), "{err}");
    assert!(!contains(&captured_logs(), SMTP_PASSWORD));
    app.expect_warnings(&["could not be delivered"]);
    app.finish().await;
}

on_both_databases!(mail_goes_out_over_tls_only_to_a_trusted_server);
