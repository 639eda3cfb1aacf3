//! The auditor's page reads the log a page at a time, filtered in the database, and checks
//! the chain from the last checked row on (issue: "page it, and verify incrementally from a
//! stored checkpoint"), without ever calling an edited row intact.

use speakup::clock::Clock;
use speakup::domain::audit::AuditEntry;
use speakup_tests::officer::{admin_via_cli, attr, create_account, enroll, login};
use speakup_tests::*;

/// The row numbers in the page's table, in page order.
fn shown(page: &str) -> Vec<i64> {
    let body = &page[page.find("<tbody>").expect("table body")..];
    let body = &body[..body.find("</tbody>").expect("table end")];
    body.split("<tr><td>")
        .skip(1)
        .map(|r| r[..r.find('<').unwrap()].parse().expect("a row number"))
        .collect()
}

fn verdict(page: &str) -> String {
    let at = page.find("id=\"chain-verdict\"").expect("a chain verdict");
    let start = page[..at].rfind('<').unwrap();
    page[start..at + page[at..].find("</div>").unwrap()].to_owned()
}

fn older(page: &str) -> Option<String> {
    page.contains("id=\"audit-older\"").then(|| {
        attr(page, "id=\"audit-older\"", "href")
            .replace("&amp;", "&")
            .replace("&#38;", "&")
    })
}

async fn audit_is_paged_filtered_and_checked(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let link = admin_via_cli(&app, "admin@example.org").await;
    let admin = enroll(&app, &link, "admin@example.org", false).await;
    login(&app, &admin).await;
    let auditor_link = create_account(&app, &admin, "audrey@example.org", &["auditor"]).await;
    let auditor = enroll(&app, &auditor_link, "audrey@example.org", false).await;
    login(&app, &auditor).await;
    // 230 more rows: a few with LIKE's special characters in their case reference.
    let now = app.clock.now().unix_timestamp();
    for i in 0..230 {
        let case_ref = match i {
            7 => "SU-A_B".to_owned(),
            8 => "SU-AXB".to_owned(),
            9 => "SU-100%".to_owned(),
            _ => format!("SU-{i:04}"),
        };
        let e = AuditEntry::new(now, "cli", "case_opened", &case_ref, "");
        app.store.append_audit(&e).await.unwrap();
    }
    let total = app.store.audit_head().await.unwrap().0;

    // Page by page, newest first, 100 at a time, without gaps or overlaps.
    let mut seen = Vec::new();
    let mut path = "/officer/audit".to_owned();
    let mut pages = 0;
    loop {
        let page = app.page(&auditor.client, &path).await;
        let rows = shown(&page);
        assert!(rows.len() <= 100, "{} rows on one page", rows.len());
        assert!(rows.windows(2).all(|w| w[0] > w[1]), "not newest first");
        assert!(
            verdict(&page).contains("class=\"box ok\""),
            "{}",
            verdict(&page)
        );
        if pages > 0 {
            assert!(
                page.contains("id=\"audit-newest\""),
                "no way back from {path}: {}",
                &page[page.find("</table>").unwrap()..]
            );
        }
        seen.extend(rows);
        pages += 1;
        match older(&page) {
            Some(next) => path = next,
            None => break,
        }
    }
    assert_eq!(pages, (total as usize).div_ceil(100));
    assert_eq!(seen, (1..=total).rev().collect::<Vec<_>>());

    // Filters run in the database and take `%` and `_` literally.
    let only = |case: &str| {
        let url = format!("/officer/audit?case={}", urlencode(case));
        let client = auditor.client.clone();
        let app = &app;
        async move { shown(&app.page(&client, &url).await).len() }
    };
    assert_eq!(only("A_B").await, 1);
    assert_eq!(only("100%").await, 1);
    assert_eq!(only("%").await, 1);
    assert_eq!(only("SU-0").await, 100, "a full page of the 227 matches");
    assert_eq!(only("su-02").await, 30);
    let page = app
        .page(&auditor.client, "/officer/audit?actor=AUDREY&action=login")
        .await;
    assert_eq!(shown(&page).len(), 1, "the auditor's own login, any case");

    // An old row is edited. The newest page (checked from the checkpoint on) cannot see it,
    // but the page that shows the row calls the chain broken there, and so does every
    // later view, since a broken chain forgets the checkpoint.
    let old = 20;
    app.execute(&format!(
        "UPDATE audit_log SET detail = 'nothing happened' WHERE seq = {old}"
    ))
    .await;
    let page = app
        .page(
            &auditor.client,
            &format!("/officer/audit?before={}", old + 5),
        )
        .await;
    let v = verdict(&page);
    assert!(v.contains("class=\"box alert\""), "{v}");
    assert!(v.contains(&format!("BROKEN at row {old}")), "{v}");
    let v = verdict(&app.page(&auditor.client, "/officer/audit").await);
    assert!(v.contains(&format!("BROKEN at row {old}")), "{v}");
    // Put back, the chain is intact again (checked in full, as no checkpoint is left).
    app.execute(&format!(
        "UPDATE audit_log SET detail = '' WHERE seq = {old}"
    ))
    .await;
    let v = verdict(&app.page(&auditor.client, "/officer/audit").await);
    assert!(v.contains("class=\"box ok\""), "{v}");

    // Someone rewrites history and recomputes every hash after it, so that the chain alone
    // looks intact: the row this process already checked no longer carries its hash.
    rewrite_from(&app, 30).await;
    let rewritten = app.store.audit_rows(0, 10_000).await.unwrap();
    assert_eq!(rewritten[29].entry.detail, "rewritten");
    let v = verdict(&app.page(&auditor.client, "/officer/audit").await);
    assert!(
        v.contains(&format!("BROKEN at row {total}")) && v.contains("already checked has changed"),
        "{v}"
    );
    // Junk in `before` shows the newest page, never an error.
    let res = auditor
        .client
        .get(app.url("/officer/audit?before=x%00"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    app.finish().await;
}

/// Changes row `from`'s detail and recomputes the hash of it and of every later row, and
/// the head: a forger who knows the (public) hash rule.
async fn rewrite_from(app: &TestApp, from: i64) {
    use speakup::domain::audit::chain_hash;
    let bytes = |b: &[u8]| {
        let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
        match app.backend {
            Backend::Sqlite => format!("X'{hex}'"),
            Backend::Postgres => format!("decode('{hex}', 'hex')"),
        }
    };
    let rows = app.store.audit_rows(from - 1, 10_000).await.unwrap();
    let mut prev = rows[0].prev_hash.clone();
    for mut r in rows {
        if r.seq == from {
            r.entry.detail = "rewritten".into();
        }
        let hash = chain_hash(&prev, r.seq, &r.entry);
        app.execute(&format!(
            "UPDATE audit_log SET detail = '{}', prev_hash = {}, hash = {} WHERE seq = {}",
            r.entry.detail,
            bytes(&prev),
            bytes(&hash),
            r.seq
        ))
        .await;
        prev = hash.to_vec();
    }
    app.execute(&format!(
        "UPDATE audit_head SET hash = {} WHERE id = 1",
        bytes(&prev)
    ))
    .await;
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

on_both_databases!(audit_is_paged_filtered_and_checked);
