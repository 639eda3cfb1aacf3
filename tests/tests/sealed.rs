//! The reporter's browser path over HTTP, with this test doing what the browser script does
//! (token, keys, age encryption): the server stores only what arrives sealed, refuses a
//! sealed report that no officer could open, and both mailbox paths read the result.

use age::x25519::{Identity, Recipient};
use speakup_tests::officer::{attr, decrypt, encrypt, fetch_item};
use speakup_tests::sealed::{Part, SealedReport, intake_holders, multipart};
use speakup_tests::*;

/// A confidential report with a file, sealed to the holders the intake page names.
fn sealed(page: &str, what: &str, file: &[u8]) -> SealedReport {
    SealedReport {
        mode: "confidential",
        what: what.to_owned(),
        identity: Some(("Nora".into(), String::new())),
        attachment: Some((file.to_vec(), "photo.jpg".into())),
        ..SealedReport::to(intake_holders(page))
    }
}

/// What became of a post: the server's page, or a connection closed under the client.
enum Reply {
    Page(u16, String),
    Dropped(String),
}

async fn send(app: &TestApp, client: &reqwest::Client, parts: &[Part]) -> Reply {
    match client
        .post(app.url("/report/sealed?lang=en"))
        .multipart(multipart(parts))
        .send()
        .await
    {
        Ok(res) => {
            let status = res.status().as_u16();
            Reply::Page(status, res.text().await.expect("response body"))
        }
        Err(e) if !e.is_timeout() && (e.is_request() || e.is_body()) => {
            Reply::Dropped(e.to_string())
        }
        Err(e) => panic!("post failed: {e}"),
    }
}

/// Status and page; a dropped connection fails the test.
async fn post(app: &TestApp, client: &reqwest::Client, parts: &[Part]) -> (u16, String) {
    match send(app, client, parts).await {
        Reply::Page(status, body) => (status, body),
        Reply::Dropped(e) => panic!("the server closed the connection: {e}"),
    }
}

async fn browser_path_round_trip(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = app.browser();
    let page = app.page(&client, "/report").await;
    assert!(page.contains("src=\"/static/reporter.js\""));
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let what = format!("CANARY-what-{tag}");
    let file = format!("CANARY-file-{tag}").into_bytes();
    let report = sealed(&page, &what, &file);
    let k = &report.keys;
    let (status, receipt_page) = post(&app, &client, &report.parts(&hidden(&page, "csrf"))).await;
    assert_eq!(status, 200, "{receipt_page}");
    // The receipt is the browser's to show: the server never had it.
    assert!(receipt_page.contains("<code id=\"receipt\" data-sealed></code>"));
    assert!(receipt_page.contains("encrypted in your own browser"));

    // The officer opens it with their own key, as with a server-side intake.
    let case = app.store.cases().await.unwrap().pop().unwrap();
    assert_eq!(case.mode.as_str(), "confidential");
    let env = app.store.envelopes(&case.id).await.unwrap();
    let opened = String::from_utf8(decrypt(&app.officer, &env[0].envelope)).unwrap();
    let case_key: Identity = opened
        .lines()
        .find(|l| l.starts_with("AGE-SECRET"))
        .unwrap()
        .parse()
        .unwrap();
    let items = app.store.items(&case.id).await.unwrap();
    let report = speakup::store::read_blob(app.store.as_ref(), &items[0].blob_id)
        .await
        .unwrap();
    assert!(
        String::from_utf8(decrypt(&case_key, &report))
            .unwrap()
            .contains(&what)
    );

    // Browser mailbox: opened with the lookup value only; the page carries ciphertext.
    let sealed_client = app.browser();
    let f = app.page(&sealed_client, "/follow-up").await;
    let res = sealed_client
        .post(app.url("/follow-up"))
        .form(&[
            ("csrf", hidden(&f, "csrf")),
            ("lookup", k.lookup_hex.clone()),
        ])
        .send()
        .await
        .unwrap();
    let mailbox = res.text().await.unwrap();
    assert!(
        mailbox.contains("data-page=\"mailbox\" data-sealed"),
        "{mailbox}"
    );
    assert!(
        !mailbox.contains(&what),
        "the server decrypted a sealed mailbox"
    );
    let reporter_id = k.token.derive().secret.identity();
    // The page lists items; each one's ciphertext comes from its own route.
    assert!(
        !mailbox.contains("YWdlLWVuY3J5cHRpb24"),
        "ciphertext inlined in the page"
    );
    let report_age = fetch_item(&app, &sealed_client, &mailbox, "data-format=\"report\"").await;
    assert!(
        String::from_utf8(decrypt(&reporter_id, &report_age))
            .unwrap()
            .contains(&what)
    );
    // A sealed reply, and the attachment's ciphertext for the browser to open.
    let reply = format!("CANARY-reply-{tag}");
    let to_both: Vec<Recipient> = attr(&mailbox, "id=\"reply-form\"", "data-recipients")
        .split(' ')
        .map(|r| r.parse().unwrap())
        .collect();
    let res = sealed_client
        .post(app.url("/mailbox/reply/sealed"))
        .multipart(multipart(&[
            Part::Text("csrf", hidden(&mailbox, "csrf")),
            Part::Bytes("message", encrypt(&to_both, reply.as_bytes())),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let src = attr(&mailbox, "class=\"btn alt decrypt-download\"", "data-src");
    let ct = sealed_client
        .get(app.url(&src))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(decrypt(&reporter_id, &ct), file);

    // The no-JavaScript mailbox reads the same case with the receipt: the server derives
    // the key and decrypts what the browser encrypted.
    let plain_client = app.browser();
    let (_, plain) = open_mailbox(&app, &plain_client, &k.token.grouped()).await;
    assert!(plain.contains(&what) && plain.contains(&reply) && plain.contains("photo.jpg"));
    assert!(!plain.contains("data-sealed"));

    let db = app.database_bytes().await;
    for c in [&what, &reply, &format!("CANARY-file-{tag}")] {
        assert!(!contains(&db, c), "{c} stored in the clear");
        assert!(!contains(&captured_logs(), c), "{c} logged");
    }
    app.finish().await;
}

async fn unreadable_sealed_reports_are_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = app.browser();
    let page = app.page(&client, "/report").await;
    let report = sealed(&page, "x", b"file");
    let k = &report.keys;
    let good = report.parts(&hidden(&page, "csrf"));
    let without =
        |name: &str| -> Vec<Part> { good.iter().filter(|p| p.name() != name).cloned().collect() };
    let replace = |name: &str, with: Part| -> Vec<Part> {
        good.iter()
            .map(|p| {
                if p.name() == name {
                    with.clone()
                } else {
                    p.clone()
                }
            })
            .collect()
    };
    let stranger = Identity::generate().to_public();
    let one = |pt: &[u8]| encrypt(std::slice::from_ref(&stranger), pt);
    // Each refusal, and whether the server may refuse it before it has read the whole body
    // (a bad part before the last one): only then may the connection close under the
    // client instead of the error page arriving. The rest are decided once everything is in.
    let mut extra = good.clone();
    extra.push(Part::Text("holder", "officer:someone-else".into()));
    extra.push(Part::Bytes("envelope", one(b"k")));
    let cases: Vec<(&str, Vec<Part>, bool)> = vec![
        ("no envelope for the officer", without("envelope"), false),
        (
            "envelope to two recipients",
            replace(
                "envelope",
                Part::Bytes(
                    "envelope",
                    encrypt(&[stranger.clone(), k.reporter.clone()], b"k"),
                ),
            ),
            true,
        ),
        (
            "report readable by one key only",
            replace("report", Part::Bytes("report", one(b"r"))),
            true,
        ),
        (
            "plaintext report",
            replace(
                "report",
                Part::Bytes("report", b"{\"what\":\"x\"}".to_vec()),
            ),
            true,
        ),
        ("confidential without identity", without("identity"), false),
        (
            "bad lookup",
            replace("lookup", Part::Text("lookup", "zz".into())),
            false,
        ),
        (
            "unknown category",
            replace("category", Part::Text("category", "nope".into())),
            false,
        ),
        (
            "not a recipient",
            replace(
                "case_recipient",
                Part::Text("case_recipient", "age1nope".into()),
            ),
            false,
        ),
        (
            "attachment to one key",
            replace("attachment", Part::Bytes("attachment", one(b"f"))),
            true,
        ),
        (
            "forged csrf",
            replace("csrf", Part::Text("csrf", "forged".into())),
            true,
        ),
        ("an envelope for an unknown holder", extra, false),
    ];
    let nothing = Stored {
        cases: 0,
        blobs: 0,
        incomplete_blobs: 0,
    };
    for (what, parts, early) in cases {
        match send(&app, &client, &parts).await {
            Reply::Page(status, body) => {
                assert!((400..500).contains(&status), "{what}: {status}");
                assert!(body.contains("<h1>"), "{what}: not an error page");
                if what == "an envelope for an unknown holder" {
                    assert_eq!(status, 400, "{what}");
                }
            }
            Reply::Dropped(e) => assert!(early, "{what}: connection dropped: {e}"),
        }
        // Nothing of the refused attempt stayed: no case and no blob, finished or not.
        assert_eq!(app.stored().await, nothing, "{what}: stored something");
    }
    assert!(app.store.cases().await.unwrap().is_empty());
    let tomorrow = speakup::clock::Clock::today(app.clock.as_ref()) + time::Duration::days(1);
    assert_eq!(app.store.purge_incomplete_blobs(tomorrow).await.unwrap(), 0);
    // And the good one still goes through.
    let (status, _) = post(&app, &client, &good).await;
    assert_eq!(status, 200);
    app.finish().await;
}

on_both_databases!(
    browser_path_round_trip,
    unreadable_sealed_reports_are_refused
);
