//! The throughput scenario: each figure of issue 14 next to its limit, measured in the same run
//! against `speakup serve` in its own process, with the rate limits lifted (then a short run
//! with the default limits: a flood gets 429, never a 5xx).

use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use age::x25519::{Identity, Recipient};
use bytes::Bytes;
use speakup::domain::receipt::ReceiptToken;
use speakup_tests::hidden;

use crate::Opts;
use crate::child::{self, Proc, Site};
use crate::limits;
use crate::load::{self, Multipart, Post, RawGet, Stats, drive};
use crate::report::{Report, Row};

/// The limits lifted out of the way: the highest rates a setting may ask for (a run of receipt
/// checks alone can pass 100,000 requests in a minute) and room for the 1 GiB attachment.
fn lifted() -> Vec<String> {
    let max = speakup::config::MAX_RATE_PER_MINUTE.to_string();
    ["--rate-per-client", &max, "--rate-global", &max]
        .into_iter()
        .chain(["--max-attachment-mib", "1100"])
        .map(str::to_owned)
        .collect()
}

/// The 2 KiB report text every submission carries.
pub fn what_2k() -> String {
    "Invoices from one supplier are paid twice, approved by the same manager. "
        .repeat(30)
        .chars()
        .take(2048)
        .collect()
}

pub async fn run(site: &Site, o: &Opts, out: &mut Report) {
    let lifted = lifted();
    let server = site
        .serve(&lifted.iter().map(String::as_str).collect::<Vec<_>>())
        .await;
    let client = load::client();
    let csrf = hidden(&get(&client, &server.url("/report")).await, "csrf");
    // Warm-up: pools, catalogs, templates.
    for _ in 0..5 {
        let _ = get(&client, &server.url("/report")).await;
    }
    let (ct, body) = server_path_body(&csrf);
    let _ = client
        .post(server.url("/report"))
        .header("content-type", &ct)
        .body(body.clone())
        .send()
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = server.rss();
    out.idle = idle;
    out.note(format!("idle RSS after warm-up: {idle:.1} MiB"));

    pages(site, &server, o, out).await;
    let holders = intake_keys(&get(&client, &server.url("/report")).await);
    let receipts = submissions(&server, o, out, &ct, &body, &holders).await;
    sealed(site, &server, o, out, &csrf, &holders).await;
    follow_up(&server, o, out, &receipts).await;
    attachment(&server, o, out, &csrf).await;
    server.stop();

    let server = site.serve(&[]).await;
    flood(&server, o, out, &csrf_of(&server).await).await;
    server.stop();
}

async fn get(client: &reqwest::Client, url: &str) -> String {
    client
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        .text()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

async fn csrf_of(server: &Proc) -> String {
    hidden(&get(&load::client(), &server.url("/report")).await, "csrf")
}

fn server_path_body(csrf: &str) -> (String, Bytes) {
    Multipart::default()
        .text("csrf", csrf)
        .text("category", "fraud")
        .text("what", &what_2k())
        .text("when_where", "Since March, Antwerp office")
        .text("involved", "Purchasing department")
        .text("mode", "anonymous")
        .text("name", "")
        .text("contact", "")
        .finish()
}

fn raw_gets(p: &Proc, path: &str, n: usize) -> Vec<RawGet> {
    (0..n).map(|_| RawGet::new(p.addr, path)).collect()
}

async fn pages(site: &Site, server: &Proc, o: &Opts, out: &mut Report) {
    let client = load::client();
    let report = get(&client, &server.url("/report")).await;
    let landing = get(&client, &server.url("/")).await;
    let bare = child::bare(site.dir.path(), report.as_bytes(), landing.as_bytes()).await;
    for (path, name) in [("/report", "GET /report"), ("/", "GET /")] {
        server.reset_peak();
        let s = drive(raw_gets(server, path, 32), o.secs).await;
        let peak = server.peak();
        out.peak_32(peak);
        let b = drive(raw_gets(&bare, path, 32), o.secs).await;
        let bytes = if path == "/" {
            landing.len()
        } else {
            report.len()
        };
        out.row(Row::ratio(
            &format!("{name} ({bytes} B), 32 in flight"),
            &s,
            Some(peak),
            "bare axum handler, same bytes",
            b.rate(),
            "req/s",
            0.5,
        ));
    }
    bare.stop();
}

/// Server-path submissions at 1, 4 and 32 in flight; returns receipts for the follow-up run.
async fn submissions(
    server: &Proc,
    o: &Opts,
    out: &mut Report,
    ct: &str,
    body: &Bytes,
    holders: &Holders,
) -> Vec<String> {
    let what = what_2k();
    let mut to: Vec<Recipient> = holders.officers.iter().map(|(_, r)| r.clone()).collect();
    to.extend(holders.escrow.clone());
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let limit = limits::crypto_limit(&what, &to, cores, o.secs.min(Duration::from_secs(5)));
    let one_core = limits::crypto_limit(&what, &to, 1, Duration::from_secs(2));
    out.note(format!(
        "crypto limit (receipt, keys, report encrypted to 2, case key sealed to {} holders): \
         {limit:.0}/s on {cores} cores, {one_core:.0}/s on one",
        to.len()
    ));
    let receipts = Arc::new(Mutex::new(Vec::new()));
    let post = Post {
        client: load::client(),
        url: server.url("/report"),
        content_type: ct.to_owned(),
        bodies: Arc::new(vec![body.clone()]),
        next: Arc::new(AtomicUsize::new(0)),
        once: false,
        receipts: Some(receipts.clone()),
    };
    for n in [1, 4, 32] {
        server.reset_peak();
        let s = drive(post.workers(n), o.secs).await;
        let peak = server.peak();
        if n == 32 {
            out.peak_32(peak);
        }
        let mut row = Row::ratio(
            &format!("server-path submissions, {n} in flight"),
            &s,
            Some(peak),
            "crypto limit, all cores",
            limit,
            "/s",
            0.5,
        );
        if n == 32 {
            row.p99_target_ms = Some(50.0);
        }
        out.row(row);
    }
    receipts.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

pub struct Holders {
    pub officers: Vec<(String, Recipient)>,
    pub escrow: Option<Recipient>,
}

/// `script#intake-keys` of the intake page: who a browser seals the case key to.
pub fn intake_keys(page: &str) -> Holders {
    let json = page
        .split("id=\"intake-keys\">")
        .nth(1)
        .and_then(|s| s.split("</script>").next())
        .unwrap_or_else(|| panic!("no intake keys in the page"));
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}"));
    let parse = |s: &str| s.parse::<Recipient>().unwrap_or_else(|e| panic!("{e}"));
    Holders {
        officers: v["holders"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|h| {
                        let holder = h["holder"].as_str().unwrap_or_default().to_owned();
                        (holder, parse(h["recipient"].as_str().unwrap_or_default()))
                    })
                    .collect()
            })
            .unwrap_or_default(),
        escrow: v["escrow"].as_str().map(parse),
    }
}

const SEALED_BOUNDARY: &str = "speakupbenchsealed7d1c4f0a9b2e";

/// One browser-path submission, sealed as the reporter's script seals it.
pub fn sealed_body(csrf: &str, holders: &Holders, what: &str) -> Bytes {
    let token = ReceiptToken::generate().unwrap_or_else(|e| panic!("{e}"));
    let keys = token.derive();
    let lookup: String = keys.lookup.0.iter().map(|b| format!("{b:02x}")).collect();
    let case_key = Identity::generate();
    let both = [case_key.to_public(), keys.recipient()];
    let report = serde_json::json!({"type": "report", "version": 1, "category": "fraud",
        "what": what, "when_where": "Antwerp", "involved": "Purchasing"});
    let key_file = format!(
        "# Speak Up case key\n{}\n",
        age::secrecy::ExposeSecret::expose_secret(&case_key.to_string())
    );
    let mut m = Multipart::with_boundary(SEALED_BOUNDARY)
        .text("csrf", csrf)
        .text("category", "fraud")
        .text("mode", "anonymous")
        .text("lookup", &lookup)
        .text("case_recipient", &both[0].to_string())
        .text("reporter_recipient", &both[1].to_string())
        .file(
            "report",
            "report.age",
            &encrypt(&both, report.to_string().as_bytes()),
        );
    let escrow = holders
        .escrow
        .iter()
        .map(|r| ("escrow".to_owned(), r.clone()));
    for (holder, r) in holders.officers.iter().cloned().chain(escrow) {
        m = m.text("holder", &holder).file(
            "envelope",
            "envelope.age",
            &encrypt(&[r], key_file.as_bytes()),
        );
    }
    m.finish().1
}

pub fn encrypt(to: &[Recipient], plaintext: &[u8]) -> Vec<u8> {
    let e = age::Encryptor::with_recipients(to.iter().map(|r| r as &dyn age::Recipient))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut out = Vec::new();
    let mut w = e.wrap_output(&mut out).unwrap_or_else(|e| panic!("{e}"));
    std::io::Write::write_all(&mut w, plaintext).unwrap_or_else(|e| panic!("{e}"));
    w.finish().unwrap_or_else(|e| panic!("{e}"));
    out
}

/// `n` sealed submissions, prepared on all cores before the clock starts.
fn prepare_sealed(csrf: &str, holders: &Holders, n: usize) -> Vec<Bytes> {
    let what = what_2k();
    let cores = std::thread::available_parallelism().map_or(2, |c| c.get());
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..cores)
            .map(|_| {
                s.spawn(|| {
                    (0..n.div_ceil(cores))
                        .map(|_| sealed_body(csrf, holders, &what))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

async fn sealed(
    site: &Site,
    server: &Proc,
    o: &Opts,
    out: &mut Report,
    csrf: &str,
    holders: &Holders,
) {
    let fsync = limits::fsync_limit(site.dir.path(), o.secs.min(Duration::from_secs(5)));
    out.note(format!(
        "durability limit: {fsync:.0} fsync-ed 4 KiB writes/s in the run's folder"
    ));
    for n in [4, 32] {
        // About twice what this machine kind takes in a run; a run that uses them up ends early.
        let per_run = (o.secs.as_secs_f64() * 800.0) as usize;
        let started = Instant::now();
        let pool = prepare_sealed(csrf, holders, per_run);
        out.note(format!(
            "prepared {} sealed submissions in {:.1} s",
            pool.len(),
            started.elapsed().as_secs_f64()
        ));
        let post = Post {
            client: load::client(),
            url: server.url("/report/sealed"),
            content_type: format!("multipart/form-data; boundary={SEALED_BOUNDARY}"),
            bodies: Arc::new(pool),
            next: Arc::new(AtomicUsize::new(0)),
            once: true,
            receipts: None,
        };
        server.reset_peak();
        let s = drive(post.workers(n), o.secs).await;
        let peak = server.peak();
        if n == 32 {
            out.peak_32(peak);
        }
        out.row(Row::ratio(
            &format!("sealed (browser-path) submissions, {n} in flight"),
            &s,
            Some(peak),
            "fsync-ed 4 KiB writes/s, same disk",
            fsync,
            "/s",
            0.5,
        ));
    }
}

async fn follow_up(server: &Proc, o: &Opts, out: &mut Report, receipts: &[String]) {
    if receipts.is_empty() {
        out.note("follow-up: no receipts were collected; skipped".to_owned());
        return;
    }
    let page = get(&load::client(), &server.url("/follow-up")).await;
    let csrf = hidden(&page, "csrf");
    let bodies: Vec<Bytes> = receipts
        .iter()
        .map(|r| Bytes::from(format!("csrf={csrf}&receipt={r}")))
        .collect();
    let post = Post {
        client: load::client(),
        url: server.url("/follow-up"),
        content_type: "application/x-www-form-urlencoded".to_owned(),
        bodies: Arc::new(bodies),
        next: Arc::new(AtomicUsize::new(0)),
        once: false,
        receipts: None,
    };
    server.reset_peak();
    let s = drive(post.workers(32), o.secs).await;
    let peak = server.peak();
    out.peak_32(peak);
    let opened = s.statuses.get(&303).copied().unwrap_or(0);
    let mut row = Row::plain(
        "receipt checks (POST /follow-up → 303), 32 in flight",
        &s,
        Some(peak),
    );
    row.extra = format!("{opened} mailboxes opened");
    out.row(row);
}

async fn attachment(server: &Proc, o: &Opts, out: &mut Report, csrf: &str) {
    let mib = o.attach_mib;
    let (enc, dec) = tokio::task::spawn_blocking(move || limits::age_speed(mib))
        .await
        .unwrap_or((0.0, 0.0));
    let before = server.rss();
    server.reset_peak();
    let started = Instant::now();
    let receipt = upload(server, csrf, mib).await;
    let up = mib as f64 / started.elapsed().as_secs_f64();
    let up_peak = server.peak();
    out.row(Row::speed(
        &format!("{mib} MiB attachment in (POST /report)"),
        up,
        enc,
        before,
        up_peak,
    ));

    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let page = get(&client, &server.url("/follow-up")).await;
    let mailbox = client
        .post(server.url("/follow-up"))
        .form(&[
            ("csrf", hidden(&page, "csrf").as_str()),
            ("receipt", receipt.as_str()),
        ])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    let link = mailbox
        .split("href=\"/mailbox/attachments/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("no attachment link in the mailbox"));
    let before = server.rss();
    server.reset_peak();
    let started = Instant::now();
    let mut res = client
        .get(server.url(&format!("/mailbox/attachments/{link}")))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut got = 0usize;
    while let Some(chunk) = res.chunk().await.unwrap_or_else(|e| panic!("{e}")) {
        got += chunk.len();
    }
    assert_eq!(got, mib * 1024 * 1024, "downloaded length");
    let down = mib as f64 / started.elapsed().as_secs_f64();
    out.row(Row::speed(
        &format!("{mib} MiB attachment out (mailbox download)"),
        down,
        dec,
        before,
        server.peak(),
    ));
}

/// Files a report with one `mib` MiB attachment streamed from a generator; returns its receipt.
async fn upload(server: &Proc, csrf: &str, mib: usize) -> String {
    const MIB: usize = 1024 * 1024;
    let chunk = Bytes::from(vec![0x5au8; MIB]);
    let stream =
        futures_util::stream::iter((0..mib).map(move |_| Ok::<_, std::io::Error>(chunk.clone())));
    let part = reqwest::multipart::Part::stream_with_length(
        reqwest::Body::wrap_stream(stream),
        (mib * MIB) as u64,
    )
    .file_name("big.bin");
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.to_owned())
        .text("category", "fraud")
        .text("what", "One large file.")
        .text("when_where", "")
        .text("involved", "")
        .text("mode", "anonymous")
        .text("name", "")
        .text("contact", "")
        .part("attachments", part);
    let res = load::client()
        .post(server.url("/report"))
        .multipart(form)
        .send()
        .await
        .unwrap_or_else(|e| panic!("upload: {e}"));
    let status = res.status();
    let page = res.text().await.unwrap_or_default();
    assert_eq!(
        status,
        200,
        "upload refused: {}",
        page.chars().take(300).collect::<String>()
    );
    speakup_tests::receipt(&page)
}

/// Default limits: 32 clients in flight from one address posting reports.
async fn flood(server: &Proc, o: &Opts, out: &mut Report, csrf: &str) {
    let (ct, body) = server_path_body(csrf);
    let post = Post {
        client: load::client(),
        url: server.url("/report"),
        content_type: ct,
        bodies: Arc::new(vec![body]),
        next: Arc::new(AtomicUsize::new(0)),
        once: false,
        receipts: None,
    };
    let s: Stats = drive(post.workers(32), o.secs.min(Duration::from_secs(3))).await;
    let limited = s.statuses.get(&429).copied().unwrap_or(0);
    out.flood = Some((s.statuses_text(), limited, s.server_errors()));
    out.note(format!(
        "flood with default limits (POST /report, 32 in flight, one address): {}; \
         429: {limited}, 5xx or failed: {}",
        s.statuses_text(),
        s.server_errors()
    ));
}
