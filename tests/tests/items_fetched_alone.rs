//! Pages list a case's items; the browser fetches each item's ciphertext on its own route
//! (issue 9 §2), on both databases. A "reporter" who fills a case with large replies cannot
//! make the officer's case page or the mailbox page carry the whole case: the pages hold
//! metadata and routes, no ciphertext; the officer's item route checks the session, the
//! permission and the read token of the audited page view, and never serves the identity;
//! the mailbox without JavaScript shows the thread a page at a time, one unreadable item among
//! the rest shown as such.

use age::x25519::Identity;
use speakup::domain::case::ItemKind;
use speakup::domain::holder::{Author, OfficerId};
use speakup::domain::receipt::ReceiptToken;
use speakup::store::{Content, NewItem};
use speakup_tests::officer::*;
use speakup_tests::*;

/// "age-encryption.org/v1" in base64: the start of every age file inlined in a page.
const AGE_B64: &str = "YWdlLWVuY3J5cHRpb24ub3JnL3Yx";
const REPLY_CHARS: usize = 20_000;

/// Every non-empty `data-age-src` of a page, as the browser reads it.
fn sources(html: &str) -> Vec<String> {
    html.split("data-age-src=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .filter(|s| !s.is_empty())
        .map(html_unescape)
        .collect()
}

/// Files a confidential report from `client` and sends `replies` replies of 20,000
/// characters each on the path without JavaScript; returns the receipt.
async fn flood(app: &TestApp, client: &reqwest::Client, replies: usize) -> String {
    let report = Report {
        mode: "confidential",
        name: "Rita Reporter",
        contact: "rita@example.org",
        ..Default::default()
    };
    let (status, page) = file_report(app, client, "en", &report).await;
    assert_eq!(status, 200, "{page}");
    let token = receipt(&page);
    let (status, mailbox) = open_mailbox(app, client, &token).await;
    assert_eq!(status, 200, "{mailbox}");
    let csrf = hidden(&mailbox, "csrf");
    for i in 0..replies {
        let message = format!("REPLY-{i:02} {}", "x".repeat(REPLY_CHARS - 9));
        let res = client
            .post(app.url("/mailbox/reply?lang=en"))
            .multipart(
                reqwest::multipart::Form::new()
                    .text("csrf", csrf.clone())
                    .text("message", message),
            )
            .send()
            .await
            .expect("reply");
        assert_eq!(res.status(), 200, "reply {i}");
    }
    token
}

async fn stored_ciphertext(app: &TestApp) -> i64 {
    app.scalar("SELECT CAST(COALESCE(SUM(LENGTH(data)), 0) AS BIGINT) FROM chunks")
        .await
}

async fn rows(app: &TestApp, action: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM audit_log WHERE action = '{action}'"
    ))
    .await
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

async fn status(client: &reqwest::Client, url: String) -> u16 {
    client.get(url).send().await.expect("get").status().as_u16()
}

async fn the_case_page_lists_items_and_each_comes_alone(backend: Backend) {
    let Some(app) = spawn_without_officer(backend).await else {
        return;
    };
    let link = admin_via_cli(&app, "admin@example.org").await;
    let admin = enroll(&app, &link, "admin@example.org", false).await;
    login(&app, &admin).await;
    let olga_link = create_account(&app, &admin, "olga@example.org", &["officer"]).await;
    let olga = enroll(&app, &olga_link, "olga@example.org", true).await;
    login(&app, &olga).await;
    let reporter = app.browser();
    flood(&app, &reporter, 30).await;
    let reference = first_reference(&app, &olga).await;

    let case = open_case(&app, &olga, &reference).await;
    let ciphertext = stored_ciphertext(&app).await;
    assert!(ciphertext > 600_000, "the case holds {ciphertext} bytes");
    assert!(
        case.html.len() < 64 * 1024,
        "the case page is {} bytes for a case of {ciphertext}",
        case.html.len()
    );
    assert_eq!(
        case.html.matches(AGE_B64).count(),
        2,
        "only the officer's sealed copies of the case key and of the officer key are inline"
    );
    let srcs = sources(&case.html);
    assert_eq!(srcs.len(), 31, "the report and 30 replies: {srcs:?}");

    // Each text comes from its own route; reading them is covered by the page view's row.
    let opened = rows(&app, "case_opened").await;
    let mut replies = 0;
    for src in &srcs {
        let res = olga.client.get(app.url(src)).send().await.expect("item");
        assert_eq!(res.status(), 200, "GET {src}");
        let text = String::from_utf8(decrypt(&case.case_key, &res.bytes().await.unwrap())).unwrap();
        replies += usize::from(text.starts_with("REPLY-") && text.len() == REPLY_CHARS);
    }
    assert_eq!(replies, 30);
    assert_eq!(rows(&app, "case_opened").await, opened);
    assert_eq!(rows(&app, "item_downloaded").await, 0);

    // Without the page's read token, with a forged one, or in another session: refused.
    let (path, token) = srcs[1].split_once("?r=").expect("a read token");
    assert_eq!(status(&olga.client, app.url(path)).await, 403);
    assert_eq!(
        status(&olga.client, app.url(&format!("{path}?r=AAAA"))).await,
        403
    );
    let mut forged = token.to_owned().into_bytes();
    forged[20] = if forged[20] == b'A' { b'B' } else { b'A' };
    let forged = format!("{path}?r={}", String::from_utf8(forged).unwrap());
    assert_eq!(status(&olga.client, app.url(&forged)).await, 403);
    assert_eq!(status(&admin.client, app.url(&srcs[1])).await, 403);
    let anonymous = status(&no_redirects(), app.url(&srcs[1])).await;
    assert!(
        (300..400).contains(&anonymous) || anonymous == 401,
        "no session: {anonymous}"
    );

    // The identity is never served on the item route: only a reveal (audited) shows it.
    let stored = app
        .store
        .case_by_reference(&reference)
        .await
        .unwrap()
        .unwrap();
    let items = app.store.items(&stored.id).await.unwrap();
    let identity = items
        .iter()
        .find(|i| i.kind == ItemKind::Identity)
        .expect("an identity item");
    let url = app.url(&format!(
        "/officer/cases/{reference}/items/{}/text?r={token}",
        identity.id
    ));
    assert_eq!(status(&olga.client, url).await, 404);
    app.finish().await;
}

/// A message from the team that only a stranger's key opens: it stays unreadable.
fn unreadable_message(id: &str) -> NewItem {
    NewItem {
        id: id.to_owned(),
        kind: ItemKind::Message,
        author: Author::Officer(OfficerId::generate()),
        created_on: time::OffsetDateTime::now_utc().date(),
        reporter_visible: true,
        parent_id: None,
        content: Content::Inline(encrypt(
            &[Identity::generate().to_public()],
            b"nobody here can read this",
        )),
        encrypted_name: None,
    }
}

async fn the_mailbox_lists_items_and_pages_the_thread(backend: Backend) {
    let opts = Options {
        serve: speakup::config::ServeArgs {
            max_reporter_items_per_day: Some(100),
            rate_per_client: Some(1000),
            rate_global: Some(10_000),
            ..Default::default()
        },
        ..Default::default()
    };
    let Some(mut app) = spawn_with(backend, opts).await else {
        return;
    };
    app.expect_warnings(&["a mailbox item did not decrypt"]);
    let reporter = app.browser();
    let receipt = flood(&app, &reporter, 60).await;
    let token = ReceiptToken::parse(&receipt).expect("receipt");
    let keys = token.derive();
    let case = app
        .store
        .case_by_lookup(&keys.lookup.0)
        .await
        .unwrap()
        .unwrap();
    app.store
        .add_items(&case.id, &[unreadable_message("m-unreadable")])
        .await
        .unwrap();

    // Without JavaScript: the newest 25 entries, decrypted one at a time, the report on
    // every page, the unreadable one said to be so; earlier ones a page further.
    let (code, page) = open_mailbox(&app, &reporter, &receipt).await;
    assert_eq!(code, 200);
    assert!(
        page.contains("REPLY-59") && page.contains("REPLY-36"),
        "newest page"
    );
    assert!(!page.contains("REPLY-35"), "more than one page of entries");
    assert!(page.contains(Report::default().what), "the report");
    assert_eq!(
        page.matches("could not be decrypted, so it cannot be shown")
            .count(),
        1
    );
    assert!(
        page.contains("id=\"thread-earlier\""),
        "a link to earlier entries"
    );
    assert!(!page.contains("id=\"thread-later\""));
    assert!(
        page.len() < 26 * (REPLY_CHARS + 2048) + 64 * 1024,
        "{}",
        page.len()
    );
    let middle = app.page(&reporter, "/mailbox?page=1").await;
    assert!(middle.contains("REPLY-35") && middle.contains("REPLY-11"));
    assert!(!middle.contains("REPLY-10") && !middle.contains("REPLY-36"));
    assert!(middle.contains("id=\"thread-later\"") && middle.contains("id=\"thread-earlier\""));
    let last = app.page(&reporter, "/mailbox?page=2").await;
    assert!(last.contains("REPLY-00") && last.contains("REPLY-10"));
    assert!(!last.contains("id=\"thread-earlier\""));
    assert!(
        last.contains(Report::default().what),
        "the report on every page"
    );
    let beyond = app.page(&reporter, "/mailbox?page=99").await;
    assert!(
        beyond.contains("REPLY-00"),
        "a page beyond the last shows the last"
    );
    let junk = app.page(&reporter, "/mailbox?page=-1").await;
    assert!(
        junk.contains("REPLY-59"),
        "a page that is no number shows the newest"
    );

    // The browser path: the page lists items and holds no ciphertext; each item's age file
    // comes from its own route.
    let sealed = app.browser();
    let form = app.page(&sealed, "/follow-up").await;
    let lookup: String = keys.lookup.0.iter().map(|b| format!("{b:02x}")).collect();
    let res = sealed
        .post(app.url("/follow-up"))
        .form(&[("csrf", hidden(&form, "csrf")), ("lookup", lookup)])
        .send()
        .await
        .unwrap();
    let mailbox = res.text().await.unwrap();
    assert!(mailbox.contains("data-sealed"), "{mailbox}");
    assert_eq!(
        mailbox.matches(AGE_B64).count(),
        0,
        "ciphertext in the page"
    );
    let srcs = sources(&mailbox);
    assert_eq!(srcs.len(), 27, "report, identity, 25 entries: {srcs:?}");
    let me = keys.secret.identity();
    let mut opened = 0;
    for src in &srcs {
        let res = sealed.get(app.url(src)).send().await.unwrap();
        assert_eq!(res.status(), 200, "GET {src}");
        let ct = res.bytes().await.unwrap();
        let d = age::Decryptor::new(&ct[..]).expect("an age file");
        opened += usize::from(
            d.decrypt(std::iter::once(&me as &dyn age::Identity))
                .is_ok(),
        );
    }
    assert_eq!(opened, 26, "every item but the unreadable one opens");

    // Only this case's items the reporter may see, and only in a mailbox session.
    let note = NewItem {
        reporter_visible: false,
        kind: ItemKind::Note,
        ..unreadable_message("n-officers-only")
    };
    app.store.add_items(&case.id, &[note]).await.unwrap();
    assert_eq!(
        status(&sealed, app.url("/mailbox/items/n-officers-only")).await,
        404
    );
    assert_eq!(
        status(&sealed, app.url("/mailbox/items/nonsense")).await,
        404
    );
    assert_eq!(status(&no_redirects(), app.url(&srcs[0])).await, 401);
    app.finish().await;
}

on_both_databases!(
    the_case_page_lists_items_and_each_comes_alone,
    the_mailbox_lists_items_and_pages_the_thread,
);
