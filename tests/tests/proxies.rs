//! The reverse-proxy examples of docs/deployment.md (`deploy/nginx/speakup.conf`,
//! `deploy/caddy/Caddyfile`), each run as written (only addresses, ports and file paths are
//! swapped for the test's) in front of a spawned Speak Up, with a certificate the test makes:
//! a report is filed and its mailbox opened through the proxy over HTTPS, a client's own
//! `X-Forwarded-For` buys it no fresh rate-limit budget (the proxy replaces the header that
//! Speak Up's `trusted_proxy` setting makes it believe), and the proxy's access log has a line
//! per request but no client address, user agent, receipt or secret path.

use std::net::{IpAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use speakup_tests::speakup::config::ServeArgs;
use speakup_tests::*;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_owned()
}

/// The program's path: on `PATH`, or in /usr/sbin (nginx, for a user whose `PATH` lacks it).
fn find(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// A self-signed certificate for `localhost` (and only that name: the proxy's own log lines
/// about it then cannot be mistaken for a client address).
fn make_certificate(dir: &Path) -> bool {
    let ok = find("openssl").is_some() && find("curl").is_some();
    if !available("openssl and curl (apt-get install openssl curl)", ok) {
        return false;
    }
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:P-256", "-nodes", "-days", "2"])
        .args([
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
        ])
        .args(["-keyout", "key.pem", "-out", "cert.pem"])
        .current_dir(dir)
        .output()
        .expect("openssl");
    assert!(out.status.success(), "openssl: {out:?}");
    true
}

/// The example with each `(from, to)` swapped; every `from` must be in it, so the example and
/// this test cannot drift apart unnoticed.
fn adapt(example: &str, swaps: &[(&str, String)]) -> String {
    let mut text = std::fs::read_to_string(repo_root().join(example)).expect("example");
    for (from, to) in swaps {
        assert!(text.contains(from), "{example} no longer contains {from:?}");
        text = text.replace(from, to);
    }
    text
}

/// A proxy process, stopped when dropped: with SIGTERM first, so nginx's master stops its
/// workers (killed outright, it would leave them running, holding the test's output open).
struct Proxy(Child);

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while matches!(self.0.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for_port(port: u16, proxy: &mut Proxy, stderr: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        let exited = proxy.0.try_wait().expect("proxy status");
        assert!(
            exited.is_none() && Instant::now() < deadline,
            "the proxy did not start ({exited:?}): {}",
            std::fs::read_to_string(stderr).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// curl through the proxy to `https://localhost:PORT`, checking the certificate against the
/// test's own; returns the status and the body. `args` go before the URL.
fn curl(dir: &Path, port: u16, path: &str, args: &[&str]) -> (u16, String) {
    let body = dir.join("curl-body");
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "30", "--cacert", "cert.pem"])
        .args(["--resolve", &format!("localhost:{port}:127.0.0.1")])
        .args(["-b", "cookies.txt", "-c", "cookies.txt", "-o"])
        .arg(&body)
        .args(["-w", "%{http_code}"])
        .args(args)
        .arg(format!("https://localhost:{port}{path}"))
        .current_dir(dir)
        .output()
        .expect("curl");
    assert!(out.status.success(), "curl {path}: {out:?}");
    let status = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("status");
    (status, std::fs::read_to_string(&body).unwrap_or_default())
}

/// Files a report with an attachment, opens its mailbox, then tries three forged
/// `X-Forwarded-For` headers; returns the receipt. Speak Up allows 4 submissions per client.
fn journey(dir: &Path, port: u16) -> String {
    let (status, form) = curl(dir, port, "/report?lang=en", &[]);
    assert_eq!(status, 200, "{form}");
    std::fs::write(dir.join("evidence.txt"), "the second invoice").expect("attachment");
    let csrf = format!("csrf={}", hidden(&form, "csrf"));
    let mut post = vec!["--form-string", csrf.as_str()];
    let fields = [
        "category=fraud",
        "what=Invoices are paid twice to a supplier.",
        "when_where=Since March",
        "involved=Purchasing",
        "mode=anonymous",
        "name=",
        "contact=",
    ];
    for f in fields {
        post.extend(["--form-string", f]);
    }
    post.extend(["-F", "attachments=@evidence.txt"]);
    let (status, page) = curl(dir, port, "/report?lang=en", &post);
    assert_eq!(status, 200, "{page}");
    let token = receipt(&page);
    assert!(token.len() >= 20, "{token}");

    let (_, form) = curl(dir, port, "/follow-up", &[]);
    let csrf = format!("csrf={}", hidden(&form, "csrf"));
    let receipt_field = format!("receipt={token}");
    let (status, mailbox) = curl(
        dir,
        port,
        "/follow-up",
        &[
            "-L",
            "--data-urlencode",
            csrf.as_str(),
            "--data-urlencode",
            receipt_field.as_str(),
        ],
    );
    assert_eq!(status, 200, "{mailbox}");
    assert!(mailbox.contains("Invoices are paid twice"), "{mailbox}");
    assert!(mailbox.contains("evidence.txt"), "{mailbox}");

    // Two submissions spent; a client that names itself someone else gets no more than the
    // two left: the proxy's X-Forwarded-For, not the client's, reaches Speak Up.
    let statuses: Vec<u16> = (1..=3)
        .map(|n| {
            let forged = format!("X-Forwarded-For: 203.0.113.{n}");
            let data = "csrf=forged&receipt=AAAA";
            curl(
                dir,
                port,
                "/follow-up",
                &["-H", forged.as_str(), "--data", data],
            )
            .0
        })
        .collect();
    assert!(statuses[..2].iter().all(|s| *s != 429), "{statuses:?}");
    assert_eq!(statuses[2], 429, "a forged X-Forwarded-For was believed");
    token
}

/// Speak Up behind a proxy on this host: the proxy's address is trusted, 4 submissions per
/// client per minute.
async fn speak_up(port: u16) -> Option<TestApp> {
    let mut opts = Options::default();
    opts.serve = ServeArgs {
        public_url: Some(format!("https://localhost:{port}")),
        trusted_proxy: Some(vec![IpAddr::from([127, 0, 0, 1])]),
        rate_per_client: Some(4),
        ..opts.serve
    };
    spawn_with(Backend::Sqlite, opts).await
}

/// The access log has one line per request and nothing that points to the client or the case.
fn assert_log_keeps_no_client(name: &str, log: &str, lines: usize, receipt: &str) {
    assert!(
        log.lines().count() >= lines,
        "{name}: too few lines:\n{log}"
    );
    for needle in [
        "127.0.0.1",
        "::1",
        "203.0.113",
        "curl/",
        receipt,
        "evidence",
        "csrf",
    ] {
        assert!(
            !log.contains(needle),
            "{name}'s log holds {needle:?}:\n{log}"
        );
    }
}

#[test]
fn nginx_example_proxies_over_tls_and_logs_no_client() {
    let Some(nginx) = find("nginx") else {
        available("nginx (apt-get install nginx)", false);
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    if !make_certificate(d) {
        return;
    }
    let (https, http) = (free_port(), free_port());
    run_test(async move {
        let Some(app) = speak_up(https).await else {
            return;
        };
        let upstream = app.base.trim_start_matches("http://").to_owned();
        let at = |name: &str| d.join(name).display().to_string();
        let site = adapt(
            "deploy/nginx/speakup.conf",
            &[
                ("listen 443 ssl", format!("listen 127.0.0.1:{https} ssl")),
                ("listen 80;", format!("listen 127.0.0.1:{http};")),
                ("listen [::]:443 ssl http2;", String::new()),
                ("listen [::]:80;", String::new()),
                (
                    "server_name speakup.example.org",
                    "server_name localhost".into(),
                ),
                (
                    "/etc/letsencrypt/live/speakup.example.org/fullchain.pem",
                    at("cert.pem"),
                ),
                (
                    "/etc/letsencrypt/live/speakup.example.org/privkey.pem",
                    at("key.pem"),
                ),
                ("/var/log/nginx/", format!("{}/", d.display())),
                ("127.0.0.1:8080", upstream),
            ],
        );
        std::fs::write(d.join("speakup.conf"), site).expect("site");
        // What Debian's /etc/nginx/nginx.conf provides around conf.d/, in the test's folder.
        let main = format!(
            "pid {p}/nginx.pid;\nevents {{}}\nhttp {{\n  client_body_temp_path {p}/body;\n  \
             proxy_temp_path {p}/proxy;\n  fastcgi_temp_path {p}/fastcgi;\n  \
             uwsgi_temp_path {p}/uwsgi;\n  scgi_temp_path {p}/scgi;\n  \
             access_log {p}/main-access.log;\n  include {p}/speakup.conf;\n}}\n",
            p = d.display()
        );
        std::fs::write(d.join("nginx.conf"), main).expect("nginx.conf");
        let stderr = d.join("nginx.stderr");
        let mut proxy = Proxy(
            Command::new(&nginx)
                .args(["-p"])
                .arg(d)
                .args(["-c", "nginx.conf", "-e", "main-error.log"])
                .args(["-g", "daemon off;"])
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&stderr).expect("stderr"))
                .spawn()
                .expect("start nginx"),
        );
        wait_for_port(https, &mut proxy, &stderr);
        let token = journey(d, https);
        // The plain-HTTP server only redirects, and logs the same way.
        let out = Command::new("curl")
            .args([
                "-sS",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code} %{redirect_url}",
            ])
            .arg(format!("http://127.0.0.1:{http}/report"))
            .output()
            .expect("curl");
        let redirect = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(redirect.starts_with("301 https://"), "{redirect}");
        drop(proxy);

        let log = std::fs::read_to_string(d.join("speakup-access.log")).expect("access log");
        assert_log_keeps_no_client("nginx", &log, 9, &token);
        assert!(log.contains(" POST /report 200 "), "{log}");
        assert!(log.contains(" POST /follow-up 429 "), "{log}");
        for other in ["speakup-error.log", "main-error.log", "nginx.stderr"] {
            let text = std::fs::read_to_string(d.join(other)).unwrap_or_default();
            assert!(!text.contains("127.0.0.1"), "{other}: {text}");
        }
        app.finish().await;
    });
}

#[test]
fn caddy_example_proxies_over_tls_and_logs_no_client() {
    let Some(caddy) = find("caddy") else {
        available("caddy (apt-get install caddy)", false);
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    if !make_certificate(d) {
        return;
    }
    let (https, http) = (free_port(), free_port());
    run_test(async move {
        let Some(app) = speak_up(https).await else {
            return;
        };
        let upstream = app.base.trim_start_matches("http://").to_owned();
        let site = adapt(
            "deploy/caddy/Caddyfile",
            &[
                (
                    "\tadmin off\n",
                    format!("\tadmin off\n\thttp_port {http}\n"),
                ),
                (
                    "speakup.example.org {",
                    format!(
                        "localhost:{https} {{\n\ttls {} {}",
                        d.join("cert.pem").display(),
                        d.join("key.pem").display()
                    ),
                ),
                (
                    "/var/log/caddy/speakup-access.log",
                    d.join("access.log").display().to_string(),
                ),
                ("127.0.0.1:8080", upstream),
            ],
        );
        std::fs::write(d.join("Caddyfile"), site).expect("Caddyfile");
        let stderr = d.join("caddy.stderr");
        let mut proxy = Proxy(
            Command::new(&caddy)
                .args(["run", "--adapter", "caddyfile", "--config", "Caddyfile"])
                .current_dir(d)
                // Caddy's own state (certificates it would manage) stays in the test's folder.
                .env("HOME", d)
                .env("XDG_DATA_HOME", d.join("data"))
                .env("XDG_CONFIG_HOME", d.join("config"))
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&stderr).expect("stderr"))
                .spawn()
                .expect("start caddy"),
        );
        wait_for_port(https, &mut proxy, &stderr);
        let token = journey(d, https);
        // A request for a host no site serves: not logged with its address either.
        let out = Command::new("curl")
            .args(["-sk", "-o", "/dev/null"])
            .arg(format!("https://127.0.0.1:{https}/"))
            .output()
            .expect("curl");
        assert!(
            out.status.success() || out.status.code() == Some(35),
            "{out:?}"
        );
        std::thread::sleep(Duration::from_millis(300));
        drop(proxy);

        let log = std::fs::read_to_string(d.join("access.log")).expect("access log");
        assert_log_keeps_no_client("caddy", &log, 8, &token);
        assert!(
            log.contains(r#""method":"POST","host":"localhost"#)
                && log.contains(r#""uri":"/report""#),
            "{log}"
        );
        let errors = std::fs::read_to_string(&stderr).unwrap_or_default();
        assert!(!errors.contains("remote_ip"), "caddy's own log: {errors}");
        assert!(!errors.contains("127.0.0.1"), "caddy's own log: {errors}");
        app.finish().await;
    });
}
