//! Driving the officer workspace over HTTP the way its browser script does: enrollment with
//! TOTP codes computed like an authenticator app, login, and forms whose content is
//! encrypted here (with the `age` crate, standing in for typage) before it is sent.

use age::x25519::{Identity, Recipient};
use speakup::clock::Clock;

use crate::{TestApp, hidden};

pub const PASSWORD: &str = "correct violet tractor harbour";

/// A person with an account, their secrets and a browser that holds their session.
pub struct Person {
    pub email: String,
    pub password: String,
    pub seed: Vec<u8>,
    pub identity: Option<Identity>,
    pub client: reqwest::Client,
}

/// The value of `attr` on the first element whose opening tag contains `marker`.
pub fn attr(html: &str, marker: &str, attr: &str) -> String {
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} in page"));
    let tag_start = html[..at].rfind('<').unwrap_or(0);
    let tag = &html[tag_start..tag_start + html[tag_start..].find('>').unwrap_or(0)];
    let pat = format!("{attr}=\"");
    let start = tag
        .find(&pat)
        .unwrap_or_else(|| panic!("no {attr} on {marker}"))
        + pat.len();
    tag[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// The path part of a link printed by the CLI or shown to an admin.
pub fn path_of(link: &str) -> String {
    let start = link.find("/officer/").expect("officer link");
    link[start..].trim().to_owned()
}

/// `speakup admin create`, exactly as an operator runs it; returns the enrollment link.
pub async fn admin_via_cli(app: &TestApp, email: &str) -> String {
    let out = crate::run_cli(app, &["admin", "create", "--email", email]).await;
    out.lines()
        .find(|l| l.contains("/officer/enroll/"))
        .expect("link printed")
        .to_owned()
}

pub fn b64(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .expect("base64")
}

fn totp_now(app: &TestApp, seed: &[u8]) -> String {
    // Each login uses a new time step: a code is accepted only once.
    app.clock.advance(31);
    speakup::auth::code_at(seed, app.clock.now().unix_timestamp()).expect("code")
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client")
}

/// Opens an enrollment link and finishes it; with `with_key` a fresh age key is made (as the
/// browser would) and its public half registered.
pub async fn enroll(app: &TestApp, link: &str, email: &str, with_key: bool) -> Person {
    let client = browser();
    let path = path_of(link);
    let page = app.page(&client, &path).await;
    assert!(page.contains("id=\"totp-secret\""), "{page}");
    let secret: String = page
        .split("id=\"totp-secret\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .expect("secret")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let seed = totp_rs::Secret::try_from_base32(&secret)
        .expect("base32 secret")
        .to_vec();
    let identity = with_key.then(Identity::generate);
    let recipient = identity
        .as_ref()
        .map(|i| i.to_public().to_string())
        .unwrap_or_default();
    let code = totp_now(app, &seed);
    let res = client
        .post(app.url(&path))
        .form(&[
            ("csrf", hidden(&page, "csrf").as_str()),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
            ("code", code.as_str()),
            ("recipient", recipient.as_str()),
            ("wrapped_identity", ""),
        ])
        .send()
        .await
        .expect("enroll");
    let status = res.status();
    let body = res.text().await.expect("body");
    assert_eq!(status, 200, "enrollment refused: {body}");
    Person {
        email: email.to_owned(),
        password: PASSWORD.to_owned(),
        seed,
        identity,
        client,
    }
}

/// Signs in (a fresh code each time); returns the final status and page.
pub async fn login_with(app: &TestApp, p: &Person, password: &str, code: &str) -> (u16, String) {
    let page = app.page(&p.client, "/officer/login").await;
    let res = p
        .client
        .post(app.url("/officer/login"))
        .form(&[
            ("csrf", hidden(&page, "csrf").as_str()),
            ("email", p.email.as_str()),
            ("password", password),
            ("code", code),
        ])
        .send()
        .await
        .expect("login");
    (res.status().as_u16(), res.text().await.expect("body"))
}

pub async fn login(app: &TestApp, p: &Person) -> String {
    let code = totp_now(app, &p.seed);
    let (status, page) = login_with(app, p, &p.password, &code).await;
    assert_eq!(status, 200, "login failed: {page}");
    assert!(page.contains("id=\"logout\""), "not signed in: {page}");
    page
}

/// An admin's web form creating an account; returns the enrollment link shown once.
pub async fn create_account(app: &TestApp, admin: &Person, email: &str, roles: &[&str]) -> String {
    let page = app.page(&admin.client, "/officer/admin/accounts").await;
    let mut form = vec![
        ("csrf".to_owned(), hidden(&page, "csrf")),
        ("email".to_owned(), email.to_owned()),
        ("name".to_owned(), format!("Name of {email}")),
    ];
    for r in roles {
        form.push(("role".to_owned(), (*r).to_owned()));
    }
    let res = admin
        .client
        .post(app.url("/officer/admin/accounts"))
        .form(&form)
        .send()
        .await
        .expect("create account");
    let body = res.text().await.expect("body");
    body.split("id=\"enrollment-link\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap_or_else(|| panic!("no link shown: {body}"))
        .to_owned()
}

/// What the case page hands the browser: the sealed case key, the sealed officer key and the
/// recipients.
pub struct CaseView {
    pub html: String,
    pub csrf: String,
    pub case_key: Identity,
    /// The case's officer key (made by `open_case` if the case had none, as the page's
    /// script does).
    pub officer_key: Identity,
    pub to_both: Vec<Recipient>,
    /// Where officer-only items (notes, status reasons) go: the officer key's recipient.
    pub to_officers: Recipient,
}

/// Whom the case page asks a new officer key to be sealed to (`#officer-key-holders`), as
/// (holder, recipient); empty when the case has one.
pub fn officer_key_holders(html: &str) -> Vec<(String, String)> {
    let Some(list) = html
        .split("id=\"officer-key-holders\"")
        .nth(1)
        .and_then(|s| s.split("</ul>").next())
    else {
        return Vec::new();
    };
    list.split("<li ")
        .skip(1)
        .map(|li| {
            let get = |name: &str| {
                li.split(&format!("{name}=\""))
                    .nth(1)
                    .and_then(|s| s.split('"').next())
                    .unwrap_or_default()
                    .to_owned()
            };
            (get("data-holder"), get("data-recipient"))
        })
        .collect()
}

/// The officer-key identity file sealed to each holder, as the script seals it.
pub fn seal_officer_key(key: &Identity, holders: &[(String, String)]) -> Vec<(String, Vec<u8>)> {
    let file = format!(
        "# Speak Up officer key\n{}\n",
        age::secrecy::ExposeSecret::expose_secret(&key.to_string())
    );
    holders
        .iter()
        .map(|(h, r)| {
            let to: Recipient = r.parse().expect("holder recipient");
            (h.clone(), encrypt(&[to], file.as_bytes()))
        })
        .collect()
}

/// `POST …/officer-key`: the recipient, then a `holder` field and an `officer_envelope` part
/// per holder. Returns the status.
pub async fn post_officer_key(
    app: &TestApp,
    p: &Person,
    reference: &str,
    csrf: &str,
    recipient: &str,
    envelopes: Vec<(String, Vec<u8>)>,
) -> u16 {
    let mut form = reqwest::multipart::Form::new()
        .text("csrf", csrf.to_owned())
        .text("recipient", recipient.to_owned());
    for (holder, bytes) in envelopes {
        form = form.text("holder", holder).part(
            "officer_envelope",
            reqwest::multipart::Part::bytes(bytes)
                .file_name("officer_envelope.age")
                .mime_str("application/octet-stream")
                .expect("mime"),
        );
    }
    let res = p
        .client
        .post(app.url(&format!("/officer/cases/{reference}/officer-key")))
        .multipart(form)
        .send()
        .await
        .expect("post");
    res.status().as_u16()
}

/// Makes the case's officer key as the case page's script does, if the page asks for one.
async fn ensure_officer_key(app: &TestApp, p: &Person, reference: &str, html: &str) -> bool {
    let holders = officer_key_holders(html);
    if holders.is_empty() {
        return false;
    }
    let key = Identity::generate();
    let envelopes = seal_officer_key(&key, &holders);
    let recipient = key.to_public().to_string();
    let csrf = hidden(html, "csrf");
    let status = post_officer_key(app, p, reference, &csrf, &recipient, envelopes).await;
    assert_eq!(status, 204, "officer key for {reference}");
    true
}

/// Opens a sealed identity file (`# Speak Up … key` and one identity) with `holder`.
pub fn open_sealed_key(holder: &Identity, sealed: &[u8]) -> Identity {
    let key_file = String::from_utf8(decrypt(holder, sealed)).expect("utf8");
    key_file
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .expect("identity line")
        .parse()
        .expect("identity")
}

pub fn decrypt(identity: &Identity, bytes: &[u8]) -> Vec<u8> {
    let d = age::Decryptor::new(bytes).expect("age file");
    let mut r = d
        .decrypt(std::iter::once(identity as &dyn age::Identity))
        .expect("decrypt");
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut r, &mut out).expect("read");
    out
}

pub fn encrypt(to: &[Recipient], plaintext: &[u8]) -> Vec<u8> {
    let e = age::Encryptor::with_recipients(to.iter().map(|r| r as &dyn age::Recipient))
        .expect("recipients");
    let mut out = Vec::new();
    let mut w = e.wrap_output(&mut out).expect("wrap");
    std::io::Write::write_all(&mut w, plaintext).expect("write");
    w.finish().expect("finish");
    out
}

pub async fn open_case(app: &TestApp, p: &Person, reference: &str) -> CaseView {
    let path = format!("/officer/cases/{reference}");
    let mut html = app.page(&p.client, &path).await;
    assert!(
        html.contains("id=\"case-envelope\""),
        "case page {reference}: {}",
        String::from_utf8_lossy(&crate::captured_logs())
            .lines()
            .filter(|l| l.contains("request") || l.contains("ERROR"))
            .rev()
            .take(8)
            .collect::<Vec<_>>()
            .join("\n")
    );
    if ensure_officer_key(app, p, reference, &html).await {
        html = app.page(&p.client, &path).await;
    }
    let officer = p.identity.as_ref().expect("an officer key");
    let case_key = open_sealed_key(
        officer,
        &b64(&attr(&html, "id=\"case-envelope\"", "data-age")),
    );
    let officer_key = open_sealed_key(
        officer,
        &b64(&attr(&html, "id=\"officer-key\"", "data-age")),
    );
    let to_both = attr(&html, "id=\"message-form\"", "data-recipients")
        .split(' ')
        .map(|r| r.parse().expect("recipient"))
        .collect();
    let to_officers = attr(&html, "id=\"note-form\"", "data-recipients")
        .parse()
        .expect("recipient");
    CaseView {
        csrf: hidden(&html, "csrf"),
        html,
        case_key,
        officer_key,
        to_both,
        to_officers,
    }
}

/// An item's age file as the case page's script fetches it: from the `data-age-src` route of
/// the first element whose tag contains `marker` (pages list items; none carries ciphertext).
pub async fn fetch_item(
    app: &TestApp,
    client: &reqwest::Client,
    html: &str,
    marker: &str,
) -> Vec<u8> {
    let src = html_unescape(&attr(html, marker, "data-age-src"));
    let res = client.get(app.url(&src)).send().await.expect("item");
    assert_eq!(res.status(), 200, "GET {src}");
    res.bytes().await.expect("item body").to_vec()
}

/// An attribute value as the browser reads it (the template escapes `&`).
pub fn html_unescape(s: &str) -> String {
    s.replace("&amp;", "&")
        .replace("&#x2f;", "/")
        .replace("&#47;", "/")
}

/// Posts a `data-encrypt` form: named fields, then binary age parts, like the script does.
pub async fn post_parts(
    app: &TestApp,
    p: &Person,
    path: &str,
    fields: &[(&str, &str)],
    parts: Vec<(&str, Vec<u8>)>,
) -> (u16, String) {
    let mut form = reqwest::multipart::Form::new();
    for (k, v) in fields {
        form = form.text((*k).to_owned(), (*v).to_owned());
    }
    for (name, bytes) in parts {
        form = form.part(
            name.to_owned(),
            reqwest::multipart::Part::bytes(bytes)
                .file_name(format!("{name}.age"))
                .mime_str("application/octet-stream")
                .expect("mime"),
        );
    }
    // A connection of its own: after refusing a body early the server closes the connection,
    // and a pooled connection reused in that instant fails with "incomplete message" (seen
    // under load), which is the client's race, not the server's answer.
    let res = p
        .client
        .post(app.url(path))
        .header(reqwest::header::CONNECTION, "close")
        .multipart(form)
        .send()
        .await
        .expect("post");
    (res.status().as_u16(), res.text().await.expect("body"))
}

/// The newest case's reference, from the case list.
pub async fn first_reference(app: &TestApp, p: &Person) -> String {
    let html = app.page(&p.client, "/officer/cases").await;
    let pat = "href=\"/officer/cases/";
    let start = html.find(&format!("{pat}SU-")).expect("a case in the list") + pat.len();
    html[start..]
        .split('"')
        .next()
        .expect("reference")
        .to_owned()
}

/// Failed sign-ins as the audit log states them, by reason: each `login_failed` row is one
/// failure, and each `login_failures_repeated` row (a closed window) adds the counts it lists
/// after "by reason:".
pub async fn failed_sign_ins(app: &TestApp) -> std::collections::BTreeMap<String, i64> {
    let rows = app.store.audit_rows(0, 100_000).await.expect("audit rows");
    let mut out = std::collections::BTreeMap::new();
    for r in rows {
        match r.entry.action.as_str() {
            "login_failed" => *out.entry(r.entry.detail.clone()).or_default() += 1,
            "login_failures_repeated" => {
                let (_, list) = r
                    .entry
                    .detail
                    .split_once("by reason: ")
                    .unwrap_or_else(|| panic!("no reasons in {}", r.entry.detail));
                for pair in list.split("; ") {
                    let (reason, n) = pair.rsplit_once(' ').expect("reason and count");
                    *out.entry(reason.to_owned()).or_default() += n.parse::<i64>().expect("count");
                }
            }
            _ => {}
        }
    }
    out
}

/// A grant's parts, as the script builds them: the case key and the officer key, each sealed
/// to the colleague's recipient.
pub fn grant_parts(case: &CaseView, to: &Recipient) -> Vec<(&'static str, Vec<u8>)> {
    let file = |header: &str, key: &Identity| {
        format!(
            "# Speak Up {header} key\n{}\n",
            age::secrecy::ExposeSecret::expose_secret(&key.to_string())
        )
    };
    let to = std::slice::from_ref(to);
    vec![
        (
            "envelope",
            encrypt(to, file("case", &case.case_key).as_bytes()),
        ),
        (
            "officer_envelope",
            encrypt(to, file("officer", &case.officer_key).as_bytes()),
        ),
    ]
}

/// Adds the entity `slug` (through the command line) named per language, as `(en, nl, fr,
/// de)`, through its admin page.
pub async fn entity_named(app: &TestApp, admin: &Person, slug: &str, names: [&str; 4]) {
    let out = crate::run_cli(app, &["entity", "add", "--slug", slug, "--name", names[0]]).await;
    assert!(out.contains(&format!("added entity {slug}")), "{out}");
    let path = format!("/officer/admin/entities/{slug}");
    let page = app.page(&admin.client, &path).await;
    let mut form = vec![("csrf", hidden(&page, "csrf"))];
    for (field, name) in ["name_en", "name_nl", "name_fr", "name_de"]
        .iter()
        .zip(names)
    {
        form.push((field, name.to_owned()));
    }
    let res = admin
        .client
        .post(app.url(&path))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

/// Uploads `png` as the logo of the entity `slug`; the response's status.
pub async fn upload_logo(app: &TestApp, admin: &Person, slug: &str, png: Vec<u8>) -> u16 {
    let path = format!("/officer/admin/entities/{slug}");
    let page = app.page(&admin.client, &path).await;
    let form = reqwest::multipart::Form::new()
        .text("csrf", hidden(&page, "csrf"))
        .part(
            "logo",
            reqwest::multipart::Part::bytes(png).file_name("logo.png"),
        );
    let res = admin
        .client
        .post(app.url(&format!("{path}/logo")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    res.status().as_u16()
}
