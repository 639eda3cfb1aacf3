//! Bounded resources on the reporter's unauthenticated ciphertext forms: unknown parts,
//! envelopes beyond the holders, oversized or padded small parts and floods of text parts are
//! refused with nothing stored; a reporter's items per case per day are capped with a
//! localized refusal (finding 2, memory).

use age::x25519::{Identity, Recipient};
use speakup::domain::receipt::ReceiptToken;
use speakup_tests::officer::encrypt;
use speakup_tests::*;

struct Sealed {
    case_key: Identity,
    reporter: Recipient,
    lookup_hex: String,
}

fn keys() -> Sealed {
    let derived = ReceiptToken::generate().unwrap().derive();
    Sealed {
        lookup_hex: derived
            .lookup
            .0
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
        reporter: derived.recipient(),
        case_key: Identity::generate(),
    }
}

fn holders(page: &str) -> Vec<(String, Recipient)> {
    let json = page
        .split("id=\"intake-keys\">")
        .nth(1)
        .and_then(|s| s.split("</script>").next())
        .expect("intake keys");
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    v["holders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["holder"].as_str().unwrap().to_owned(),
                h["recipient"].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect()
}

#[derive(Clone)]
enum Part {
    Text(&'static str, String),
    Bytes(&'static str, Vec<u8>),
}

fn form(parts: &[Part]) -> reqwest::multipart::Form {
    let mut f = reqwest::multipart::Form::new();
    for p in parts {
        f = match p {
            Part::Text(n, v) => f.text(*n, v.clone()),
            Part::Bytes(n, b) => f.part(
                *n,
                reqwest::multipart::Part::bytes(b.clone())
                    .file_name(format!("{n}.age"))
                    .mime_str("application/octet-stream")
                    .unwrap(),
            ),
        };
    }
    f
}

/// A complete, valid sealed report; `name` is the attachment's name part.
fn parts(page: &str, k: &Sealed, name: Vec<u8>) -> Vec<Part> {
    let both = [k.case_key.to_public(), k.reporter.clone()];
    let report = serde_json::json!({"type": "report", "version": 1, "category": "fraud",
        "what": "limits", "when_where": "", "involved": ""});
    let key = format!(
        "# Speak Up case key\n{}\n",
        age::secrecy::ExposeSecret::expose_secret(&k.case_key.to_string())
    );
    let mut out = vec![
        Part::Text("csrf", hidden(page, "csrf")),
        Part::Text("category", "fraud".into()),
        Part::Text("mode", "anonymous".into()),
        Part::Text("lookup", k.lookup_hex.clone()),
        Part::Text("case_recipient", k.case_key.to_public().to_string()),
        Part::Text("reporter_recipient", k.reporter.to_string()),
        Part::Bytes("report", encrypt(&both, report.to_string().as_bytes())),
    ];
    for (holder, r) in holders(page) {
        out.push(Part::Text("holder", holder));
        out.push(Part::Bytes("envelope", encrypt(&[r], key.as_bytes())));
    }
    out.push(Part::Bytes("attachment", encrypt(&both, b"file")));
    out.push(Part::Bytes("attachment_name", name));
    out
}

/// Status and page; a connection the server closed while the client was still sending (it
/// refused early) reads as 413 with the error.
async fn post(app: &TestApp, client: &reqwest::Client, parts: &[Part]) -> (u16, String) {
    match client
        .post(app.url("/report/sealed?lang=en"))
        .multipart(form(parts))
        .send()
        .await
    {
        Ok(res) => (res.status().as_u16(), res.text().await.unwrap_or_default()),
        Err(e) if e.is_request() || e.is_body() => (413, e.to_string()),
        Err(e) => panic!("post: {e}"),
    }
}

async fn sealed_intake_refuses_what_it_cannot_bound(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = app.browser();
    let page = app.page(&client, "/report").await;
    let k = keys();
    let both = [k.case_key.to_public(), k.reporter.clone()];
    let good_name = encrypt(&both, b"photo.jpg");
    let before = app.stored().await;

    let mut padded = good_name.clone();
    padded.extend(vec![b'A'; 200 * 1024]);
    let (_, key_recipient) = holders(&page)[0].clone();
    let mut cases: Vec<(&str, Vec<Part>)> = Vec::new();
    // A text part no route reads.
    let mut unknown = parts(&page, &k, good_name.clone());
    unknown.insert(1, Part::Text("junk", "x".repeat(4000)));
    cases.push(("unknown part name", unknown));
    // One envelope more than the holders.
    let mut extra = parts(&page, &k, good_name.clone());
    extra.insert(
        7,
        Part::Bytes(
            "envelope",
            encrypt(&[key_recipient], b"# Speak Up case key\nX\n"),
        ),
    );
    extra.insert(7, Part::Text("holder", "escrow".into()));
    cases.push(("an envelope beyond the holders", extra));
    // A "file name" of 4 KiB plaintext, and a valid name with junk after it.
    cases.push((
        "a 4 KiB file name",
        parts(&page, &k, encrypt(&both, &[b'n'; 4096])),
    ));
    cases.push(("junk after a valid age file", parts(&page, &k, padded)));
    // Small enough to be read whole, too long a plaintext for a name: the length check.
    cases.push((
        "an 1100-byte file name",
        parts(&page, &k, encrypt(&both, &[b'n'; 1100])),
    ));
    // A flood of small text parts.
    let mut flood = parts(&page, &k, good_name.clone());
    for _ in 0..2000 {
        flood.insert(1, Part::Text("holder", "officer:x".into()));
    }
    cases.push(("2000 small text parts", flood));
    // A second report part.
    let mut twice = parts(&page, &k, good_name.clone());
    twice.insert(7, Part::Bytes("report", encrypt(&both, b"{}")));
    cases.push(("a second report part", twice));

    for (what, attempt) in &cases {
        let (mut status, mut body) = post(&app, &client, attempt).await;
        // An unknown name is refused as such (400), not by the count of text parts (413).
        if what.starts_with("unknown") {
            // The refusal comes before the client has sent the whole body, so on a busy
            // machine the connection may close under the client before it reads the answer
            // (reported as a send error); only an answer tells which refusal it was.
            for _ in 0..5 {
                if !body.starts_with("error sending request") {
                    break;
                }
                (status, body) = post(&app, &client, attempt).await;
            }
            assert_eq!(status, 400, "{what}: {body}");
        }
        assert!(
            (400..500).contains(&status),
            "{what}: expected a refusal, got {status}: {body}"
        );
        assert_eq!(app.stored().await, before, "{what}: something was stored");
    }
    // The same form without the abuse is accepted: the refusals were the limits.
    let (status, body) = post(&app, &client, &parts(&page, &k, good_name)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.stored().await.cases, before.cases + 1);
    app.finish().await;
}

/// The no-JavaScript mailbox's reply: status and page.
async fn reply(
    app: &TestApp,
    client: &reqwest::Client,
    mailbox: &str,
    text: &str,
) -> (u16, String) {
    let res = client
        .post(app.url("/mailbox/reply?lang=nl"))
        .multipart(
            reqwest::multipart::Form::new()
                .text("csrf", hidden(mailbox, "csrf"))
                .text("message", text.to_owned()),
        )
        .send()
        .await
        .expect("reply");
    (res.status().as_u16(), res.text().await.unwrap_or_default())
}

async fn reporter_items_per_day_are_capped(backend: Backend) {
    let mut opts = Options::default();
    opts.serve.max_reporter_items_per_day = Some(3);
    let Some(app) = spawn_with(backend, opts).await else {
        return;
    };
    let client = app.browser();
    let (status, page) = file_report(&app, &client, "en", &Report::default()).await;
    assert_eq!(status, 200);
    let receipt = receipt(&page);
    let (status, mailbox) = open_mailbox(&app, &client, &receipt).await;
    assert_eq!(status, 200);
    // The report is one item today; two replies reach the cap of three.
    for i in 0..2 {
        let (status, body) = reply(&app, &client, &mailbox, &format!("reply {i}")).await;
        assert_eq!(status, 200, "reply {i}: {body}");
    }
    let count = "SELECT COUNT(*) FROM items";
    let items = app.scalar(count).await;
    let blobs = app.stored().await;
    let (status, body) = reply(&app, &client, &mailbox, "one too many").await;
    assert_eq!(status, 429, "{body}");
    assert!(
        body.contains("Daglimiet bereikt"),
        "not the localized page: {body}"
    );
    assert_eq!(
        app.scalar(count).await,
        items,
        "the refused reply was stored"
    );
    assert_eq!(app.stored().await, blobs);
    // The next day the reporter may write again.
    app.clock.advance(24 * 3600);
    let client = app.browser();
    let (_, mailbox) = open_mailbox(&app, &client, &receipt).await;
    let (status, body) = reply(&app, &client, &mailbox, "next day").await;
    assert_eq!(status, 200, "{body}");
    app.finish().await;
}

on_both_databases!(
    sealed_intake_refuses_what_it_cannot_bound,
    reporter_items_per_day_are_capped,
);
