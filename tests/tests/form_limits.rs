//! Bounded resources on the reporter's unauthenticated ciphertext forms: unknown parts,
//! envelopes beyond the holders, oversized or padded small parts and floods of text parts are
//! refused with nothing stored; a reporter's items per case per day are capped with a
//! localized refusal (finding 2, memory).

use speakup_tests::officer::encrypt;
use speakup_tests::sealed::{Part, SealedReport, intake_holders, multipart};
use speakup_tests::*;

/// A complete, valid sealed report; `name` is the attachment's name part.
fn parts(page: &str, r: &SealedReport, name: Vec<u8>) -> Vec<Part> {
    let mut out = r.parts(&hidden(page, "csrf"));
    out.push(Part::Bytes("attachment", encrypt(&r.keys.both(), b"file")));
    out.push(Part::Bytes("attachment_name", name));
    out
}

/// Status and page; a connection the server closed while the client was still sending (it
/// refused early) reads as 413 with the error.
async fn post(app: &TestApp, client: &reqwest::Client, parts: &[Part]) -> (u16, String) {
    match client
        .post(app.url("/report/sealed?lang=en"))
        .multipart(multipart(parts))
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
    let report = SealedReport {
        what: "limits".into(),
        ..SealedReport::to(intake_holders(&page))
    };
    let both = report.keys.both();
    let good_name = encrypt(&both, b"photo.jpg");
    let before = app.stored().await;

    let mut padded = good_name.clone();
    padded.extend(vec![b'A'; 200 * 1024]);
    let (_, key_recipient) = intake_holders(&page)[0].clone();
    let mut cases: Vec<(&str, Vec<Part>)> = Vec::new();
    // A text part no route reads.
    let mut unknown = parts(&page, &report, good_name.clone());
    unknown.insert(1, Part::Text("junk", "x".repeat(4000)));
    cases.push(("unknown part name", unknown));
    // One envelope more than the holders.
    let mut extra = parts(&page, &report, good_name.clone());
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
        parts(&page, &report, encrypt(&both, &[b'n'; 4096])),
    ));
    cases.push(("junk after a valid age file", parts(&page, &report, padded)));
    // Small enough to be read whole, too long a plaintext for a name: the length check.
    cases.push((
        "an 1100-byte file name",
        parts(&page, &report, encrypt(&both, &[b'n'; 1100])),
    ));
    // A flood of small text parts.
    let mut flood = parts(&page, &report, good_name.clone());
    for _ in 0..2000 {
        flood.insert(1, Part::Text("holder", "officer:x".into()));
    }
    cases.push(("2000 small text parts", flood));
    // A second report part.
    let mut twice = parts(&page, &report, good_name.clone());
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
    let (status, body) = post(&app, &client, &parts(&page, &report, good_name)).await;
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
