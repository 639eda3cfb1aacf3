//! Memory under attack (issue 9 §2): the server's idle resident memory, then its peak during
//! each attack the review reproduced: sealed-intake forms made of thousands of small, unknown
//! or envelope parts (one after another and three at once); a case filled with as many
//! large-as-allowed reporter items as it takes, read by 8 slow readers of `GET /mailbox` and
//! of the officer case page; 200 half-sent requests; a login flood. Target: every peak within
//! 64 MiB of idle. The submission rate limits are lifted so that one address can build the
//! case quickly (an attacker has many addresses); every other setting is the default.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant};

use bytes::Bytes;
use speakup_tests::hidden;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::Opts;
use crate::child::{Proc, Site};
use crate::load::{self, Multipart, Post, drive};

struct Line {
    attack: String,
    answers: String,
    /// The idle RSS of the server process this attack ran against.
    idle: f64,
    before: f64,
    peak: f64,
}

struct Attacks {
    backend: String,
    idle: f64,
    lines: Vec<Line>,
}

impl Attacks {
    fn note(&self, n: String) {
        println!("[{}] {n}", self.backend);
    }

    fn record(&mut self, attack: String, answers: String, before: f64, peak: f64) {
        println!(
            "[{}] attack {attack}: {answers}; RSS before {before:.1} MiB, peak {peak:.1} MiB \
             ({:+.1} MiB over idle {:.1})",
            self.backend,
            peak - self.idle,
            self.idle
        );
        self.lines.push(Line {
            attack,
            answers,
            idle: self.idle,
            before,
            peak,
        });
    }

    fn table(&self) -> String {
        let mut t = format!(
            "\n### {}: memory under attack (idle {:.1} MiB at the end; target: peak ≤ idle + 64 MiB)\n\n\
             | attack | what the server answered | RSS before | peak | peak − idle | met |\n\
             |---|---|---|---|---|---|\n",
            self.backend, self.idle
        );
        for l in &self.lines {
            let over = l.peak - l.idle;
            t.push_str(&format!(
                "| {} | {} | {:.1} MiB | {:.1} MiB | {over:+.1} MiB | {} |\n",
                l.attack,
                l.answers,
                l.before,
                l.peak,
                if over <= 64.0 { "yes" } else { "**no**" }
            ));
        }
        t
    }
}

pub async fn run(site: &Site, o: &Opts, backend: &str) -> String {
    // The reader's account exists before the case is filed, so the case key is sealed to it.
    let reader = Reader::add(site).await;
    let server = site
        .serve(&["--rate-per-client", "100000", "--rate-global", "100000"])
        .await;
    let client = load::client();
    let report_page = text(&client, &server.url("/report")).await;
    let csrf = hidden(&report_page, "csrf");
    for _ in 0..5 {
        let _ = text(&client, &server.url("/")).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut a = Attacks {
        backend: backend.to_owned(),
        idle: server.rss(),
        lines: Vec::new(),
    };
    println!("[{backend}] attacks: idle RSS {:.1} MiB", a.idle);
    let mib = if o.quick { 32 } else { 256 };
    for kind in [Parts::Unknown, Parts::Envelopes, Parts::SmallKnown] {
        for round in 1..=2 {
            let before = server.rss();
            server.reset_peak();
            let answer = part_flood(&server, &csrf, kind, mib).await;
            a.record(
                format!("sealed intake, {} ({mib} MiB body), #{round}", kind.name()),
                answer,
                before,
                server.peak(),
            );
        }
        let before = server.rss();
        server.reset_peak();
        let three =
            futures_util::future::join_all((0..3).map(|_| part_flood(&server, &csrf, kind, mib)))
                .await;
        a.record(
            format!("sealed intake, {}, 3 at once", kind.name()),
            three.join("; "),
            before,
            server.peak(),
        );
    }
    big_case(&server, o, &mut a).await;
    half_sent(&server, &mut a).await;
    let before = server.rss();
    server.reset_peak();
    let officer = reader.sign_in(&server).await;
    a.record(
        "(not an attack) one officer enrolls and signs in: 2 Argon2id hashes".to_owned(),
        officer
            .as_ref()
            .map_or_else(|e| e.clone(), |_| "signed in".to_owned()),
        before,
        server.peak(),
    );
    // The sign-in's Argon2id memory stays with the allocator: start afresh (the officer's
    // session is in the database) so the case page is measured from a true idle.
    server.stop();
    let server = site
        .serve(&["--rate-per-client", "100000", "--rate-global", "100000"])
        .await;
    for _ in 0..5 {
        let _ = text(&client, &server.url("/")).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    a.idle = server.rss();
    a.note(format!("server restarted; idle RSS {:.1} MiB", a.idle));
    match officer {
        Ok((jar, officer)) => officer_page(&server, o, &mut a, &jar, &officer).await,
        Err(e) => a.note(format!("officer case page: not measured ({e})")),
    }
    login_flood(&server, o, &mut a).await;
    server.stop();
    a.table()
}

async fn text(client: &reqwest::Client, url: &str) -> String {
    match client.get(url).send().await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(e) => panic!("GET {url}: {e}"),
    }
}

#[derive(Clone, Copy)]
enum Parts {
    /// Thousands of parts with names the form does not know.
    Unknown,
    /// `holder` + `envelope` pairs, far more than there are holders.
    Envelopes,
    /// The same small known text control, over and over.
    SmallKnown,
}

impl Parts {
    fn name(self) -> &'static str {
        match self {
            Parts::Unknown => "thousands of unknown parts",
            Parts::Envelopes => "thousands of envelope parts",
            Parts::SmallKnown => "thousands of small known parts",
        }
    }
}

/// One sealed-intake form of `mib` MiB made of repeated parts, streamed; returns what the
/// server answered (or that it closed the connection).
async fn part_flood(server: &Proc, csrf: &str, kind: Parts, mib: usize) -> String {
    let lookup = "ab".repeat(32);
    let recipient = age::x25519::Identity::generate().to_public().to_string();
    let m = Multipart::default()
        .text("csrf", csrf)
        .text("category", "fraud")
        .text("mode", "anonymous")
        .text("lookup", &lookup)
        .text("case_recipient", &recipient)
        .text("reporter_recipient", &recipient);
    let ct = m.content_type();
    let junk = vec![b'j'; 900];
    let mut unit = Vec::new();
    match kind {
        Parts::Unknown => {
            unit.extend(m.part_head("x-unknown", None));
            unit.extend_from_slice(&junk);
            unit.extend_from_slice(b"\r\n");
        }
        Parts::Envelopes => {
            unit.extend(m.part_head("holder", None));
            unit.extend_from_slice(b"officer:0000\r\n");
            unit.extend(m.part_head("envelope", Some("envelope.age")));
            unit.extend_from_slice(b"age-encryption.org/v1\n");
            unit.extend_from_slice(&junk);
            unit.extend_from_slice(b"\r\n");
        }
        Parts::SmallKnown => {
            unit.extend(m.part_head("category", None));
            unit.extend_from_slice(b"fraud\r\n");
        }
    }
    let closing = m.closing();
    let prefix = m.into_prefix();
    let unit = Bytes::from(unit);
    let count = mib * 1024 * 1024 / unit.len();
    let chunks = std::iter::once(Bytes::from(prefix))
        .chain(std::iter::repeat_n(unit, count))
        .chain(std::iter::once(Bytes::from(closing)))
        .map(Ok::<_, std::io::Error>);
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    match load::client()
        .post(server.url("/report/sealed"))
        .header("content-type", ct)
        .body(body)
        .send()
        .await
    {
        Ok(r) => format!("{}", r.status().as_u16()),
        Err(_) => "connection closed before the whole body was sent".to_owned(),
    }
}

/// An officer account with an age key, enrolled over HTTP (password and TOTP) to read the
/// officer case page. Made with `speakup officer add` before the server starts.
struct Reader {
    email: String,
    recipient: String,
    link: String,
}

const PASSWORD: &str = "correct violet tractor harbour";

impl Reader {
    async fn add(site: &Site) -> Reader {
        let email = "reader@example.org".to_owned();
        let recipient = age::x25519::Identity::generate().to_public().to_string();
        let out = site
            .cli(&[
                "officer",
                "add",
                "--email",
                &email,
                "--name",
                "Case Reader",
                "--role",
                "officer",
                "--recipient",
                &recipient,
            ])
            .await;
        let link = out
            .lines()
            .find_map(|l| l.find("/officer/enroll/").map(|i| l[i..].trim().to_owned()))
            .unwrap_or_default();
        Reader {
            email,
            recipient,
            link,
        }
    }

    /// Enrolls, waits for a fresh TOTP time step, signs in; the client holds the session.
    async fn sign_in(
        &self,
        server: &Proc,
    ) -> Result<(Arc<reqwest::cookie::Jar>, reqwest::Client), String> {
        let (jar, client) = jar_client();
        let page = text(&client, &server.url(&self.link)).await;
        let secret: String = page
            .split("id=\"totp-secret\">")
            .nth(1)
            .and_then(|s| s.split('<').next())
            .ok_or("no TOTP secret on the enrollment page")?
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let seed = totp_rs::Secret::try_from_base32(&secret)
            .map_err(|e| format!("{e:?}"))?
            .to_vec();
        let code = |t: i64| speakup::auth::code_at(&seed, t).unwrap_or_default();
        let now = || time::OffsetDateTime::now_utc().unix_timestamp();
        let res = client
            .post(server.url(&self.link))
            .form(&[
                ("csrf", hidden(&page, "csrf").as_str()),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
                ("code", code(now()).as_str()),
                ("recipient", self.recipient.as_str()),
                ("wrapped_identity", ""),
            ])
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if res.status() != 200 {
            return Err(format!("enrollment answered {}", res.status()));
        }
        // A code is accepted once: sign in with the next time step's.
        let next = (now() / 30 + 1) * 30;
        tokio::time::sleep(Duration::from_secs((next - now()).max(0) as u64 + 1)).await;
        let page = text(&client, &server.url("/officer/login")).await;
        let res = client
            .post(server.url("/officer/login"))
            .form(&[
                ("csrf", hidden(&page, "csrf").as_str()),
                ("email", self.email.as_str()),
                ("password", PASSWORD),
                ("code", code(now()).as_str()),
            ])
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let body = res.text().await.unwrap_or_default();
        if !body.contains("id=\"logout\"") {
            return Err("sign-in failed".to_owned());
        }
        Ok((jar, client))
    }
}

/// Files a case, adds as many large reporter messages as the server takes, then holds 8 slow
/// readers on the mailbox and on the officer case page.
async fn big_case(server: &Proc, o: &Opts, a: &mut Attacks) {
    let (jar, client) = jar_client();
    let csrf = hidden(&text(&client, &server.url("/report")).await, "csrf");
    let (ct, body) = Multipart::default()
        .text("csrf", &csrf)
        .text("category", "fraud")
        .text("what", &"𝄞".repeat(20_000))
        .text("when_where", "")
        .text("involved", "")
        .text("mode", "anonymous")
        .text("name", "")
        .text("contact", "")
        .finish();
    let res = client
        .post(server.url("/report"))
        .header("content-type", ct)
        .body(body)
        .send()
        .await;
    let page = match res {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(e) => panic!("file the case: {e}"),
    };
    let receipt = speakup_tests::receipt(&page);
    let follow = text(&client, &server.url("/follow-up")).await;
    let mailbox = client
        .post(server.url("/follow-up"))
        .form(&[
            ("csrf", hidden(&follow, "csrf").as_str()),
            ("receipt", receipt.as_str()),
        ])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    let mut csrf = hidden(&mailbox, "csrf");
    let before = server.rss();
    server.reset_peak();
    let (mut added, mut last) = (0, 0);
    // Each reply: the longest message (20,000 four-byte characters) and the most files, each
    // with the longest name the form takes.
    while added < 10_000 {
        let mut m = Multipart::default()
            .text("csrf", &csrf)
            .text("message", &"𝄞".repeat(20_000));
        for i in 0..10 {
            m = m.file("attachments", &format!("{i}{}", "n".repeat(250)), b"x");
        }
        let (ct, body) = m.finish();
        let res = client
            .post(server.url("/mailbox/reply"))
            .header("content-type", ct)
            .body(body)
            .send()
            .await;
        last = res.as_ref().map_or(0, |r| r.status().as_u16());
        if last != 200 {
            break;
        }
        let page = res
            .unwrap_or_else(|e| panic!("{e}"))
            .text()
            .await
            .unwrap_or_default();
        if !page.contains("name=\"csrf\"") {
            break;
        }
        csrf = hidden(&page, "csrf");
        added += 1;
    }
    let page = client.get(server.url("/mailbox")).send().await;
    let size = match page {
        Ok(r) => r.bytes().await.map_or(0, |b| b.len()),
        Err(_) => 0,
    };
    a.record(
        format!("{added} replies of 20,000 four-byte characters and 10 long-named files each"),
        format!(
            "then {last} (the daily item cap); mailbox page {:.1} MiB",
            size as f64 / 1048576.0
        ),
        before,
        server.peak(),
    );
    let cookie = cookie_header(&jar, server, "/mailbox");
    slow_readers(
        server,
        o,
        a,
        "/mailbox",
        &cookie,
        "8 slow readers of GET /mailbox",
    )
    .await;
}

/// 8 slow readers of the officer's page of the case (the only case in this database).
async fn officer_page(
    server: &Proc,
    o: &Opts,
    a: &mut Attacks,
    jar: &reqwest::cookie::Jar,
    officer: &reqwest::Client,
) {
    let cases = text(officer, &server.url("/officer/cases")).await;
    let reference = cases
        .split("href=\"/officer/cases/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_default()
        .to_owned();
    let path = format!("/officer/cases/{reference}");
    let cookie = cookie_header(jar, server, &path);
    slow_readers(
        server,
        o,
        a,
        &path,
        &cookie,
        "8 slow readers of the officer case page",
    )
    .await;
}

/// The cookies a client's jar holds for the server, as a `Cookie` header value.
fn cookie_header(jar: &reqwest::cookie::Jar, server: &Proc, path: &str) -> String {
    use reqwest::cookie::CookieStore;
    let url: reqwest::Url = server.url(path).parse().unwrap_or_else(|e| panic!("{e}"));
    jar.cookies(&url)
        .and_then(|v| v.to_str().ok().map(str::to_owned))
        .unwrap_or_default()
}

fn jar_client() -> (Arc<reqwest::cookie::Jar>, reqwest::Client) {
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let client = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    (jar, client)
}

/// 8 connections that request `path` and then read its answer 1 KiB every 100 ms.
async fn slow_readers(
    server: &Proc,
    o: &Opts,
    a: &mut Attacks,
    path: &str,
    cookie: &str,
    what: &str,
) {
    let hold = if o.quick {
        Duration::from_secs(3)
    } else {
        Duration::from_secs(10)
    };
    // One ordinary read first: what the readers are served.
    let page = reqwest::Client::new()
        .get(server.url(path))
        .header("cookie", cookie)
        .send()
        .await;
    let (status, size) = match page {
        Ok(r) => (r.status().as_u16(), r.bytes().await.map_or(0, |b| b.len())),
        Err(_) => (0, 0),
    };
    let before = server.rss();
    server.reset_peak();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nCookie: {cookie}\r\n\r\n",
        server.addr
    );
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (addr, request) = (server.addr, request.clone());
            tokio::spawn(async move {
                let Ok(mut s) = TcpStream::connect(addr).await else {
                    return 0;
                };
                if s.write_all(request.as_bytes()).await.is_err() {
                    return 0;
                }
                let started = Instant::now();
                let mut buf = [0u8; 1024];
                let mut got = 0usize;
                while started.elapsed() < hold {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => got += n,
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                got
            })
        })
        .collect();
    let mut read = 0;
    for t in tasks {
        read += t.await.unwrap_or(0);
    }
    a.record(
        what.to_owned(),
        format!(
            "page: {status}, {:.0} KiB; {:.0} KiB read in {} s by the 8",
            size as f64 / 1024.0,
            read as f64 / 1024.0,
            hold.as_secs()
        ),
        before,
        server.peak(),
    );
}

/// 200 connections that send half a request's headers and then nothing.
async fn half_sent(server: &Proc, a: &mut Attacks) {
    let before = server.rss();
    server.reset_peak();
    let started = Instant::now();
    let mut conns = Vec::new();
    for _ in 0..200 {
        if let Ok(mut s) = TcpStream::connect(server.addr).await {
            let _ = s
                .write_all(b"POST /report HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; bound")
                .await;
            conns.push(s);
        }
    }
    let opened = conns.len();
    let mut closed = 0;
    let mut all_closed_after = None;
    while started.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let mut still = Vec::new();
        for mut s in conns {
            let mut b = [0u8; 256];
            match tokio::time::timeout(Duration::from_millis(1), s.read(&mut b)).await {
                Ok(Ok(0)) | Ok(Err(_)) => closed += 1,
                _ => still.push(s),
            }
        }
        conns = still;
        if conns.is_empty() {
            all_closed_after = Some(started.elapsed());
            break;
        }
    }
    let answer = match all_closed_after {
        Some(t) => format!(
            "all {opened} closed by the server after {:.1} s",
            t.as_secs_f64()
        ),
        None => format!("{closed} of {opened} closed within 20 s"),
    };
    a.record(
        "200 half-sent requests".to_owned(),
        answer,
        before,
        server.peak(),
    );
}

/// 64 sign-in attempts in flight with wrong passwords, while a probe times `GET /healthz`.
async fn login_flood(server: &Proc, o: &Opts, a: &mut Attacks) {
    let page = text(&load::client(), &server.url("/officer/login")).await;
    let csrf = hidden(&page, "csrf");
    let body = Bytes::from(format!(
        "csrf={csrf}&email=reader%40example.org&password=wrong-password-{}&code=000000",
        uuid::Uuid::new_v4().simple()
    ));
    let post = Post {
        client: load::client(),
        url: server.url("/officer/login"),
        content_type: "application/x-www-form-urlencoded".to_owned(),
        bodies: Arc::new(vec![body]),
        next: Arc::new(AtomicUsize::new(0)),
        once: false,
        receipts: None,
    };
    let before = server.rss();
    server.reset_peak();
    let secs = o.secs;
    let probe_url = server.url("/healthz");
    let probe = tokio::spawn(async move {
        let c = load::client();
        let started = Instant::now();
        let mut worst = Duration::ZERO;
        while started.elapsed() < secs {
            let t = Instant::now();
            let _ = c.get(&probe_url).send().await;
            worst = worst.max(t.elapsed());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        worst
    });
    let s = drive(post.workers(64), secs).await;
    let worst = probe.await.unwrap_or_default();
    a.record(
        "login flood, 64 in flight".to_owned(),
        format!(
            "{}; slowest /healthz meanwhile {:.0} ms",
            s.statuses_text(),
            worst.as_secs_f64() * 1000.0
        ),
        before,
        server.peak(),
    );
}
