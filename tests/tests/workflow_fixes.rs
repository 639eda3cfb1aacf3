//! The workflow fixes, over HTTP on both databases: the acknowledgement stays possible after a
//! case moved on, the first message to the reporter counts as the acknowledgement, the
//! reporter's language is kept on both intake roads and picks the templates' language, each
//! case has an owner (claimed by the first officer, handed over with an audit row, shown in
//! the list and filtered by "my cases", unowned when the account is disabled), and
//! officer-side times are shown in the organisation's time zone, a bad zone refused at start.

use speakup::config::{CommonArgs, FileConfig, ServeArgs, Settings};
use speakup::domain::case::CaseStatus;
use speakup::i18n::Lang;
use speakup_tests::officer::*;
use speakup_tests::*;

struct Team {
    admin: Person,
    olga: Person,
    otto: Person,
}

/// An admin, and two compliance officers with keys (both in the triage group).
async fn team(app: &TestApp) -> Team {
    let link = admin_via_cli(app, "admin@example.org").await;
    let admin = enroll(app, &link, "admin@example.org", false).await;
    login(app, &admin).await;
    let olga_link = create_account(app, &admin, "olga@example.org", &["officer"]).await;
    let otto_link = create_account(app, &admin, "otto@example.org", &["officer"]).await;
    let olga = enroll(app, &olga_link, "olga@example.org", true).await;
    let otto = enroll(app, &otto_link, "otto@example.org", true).await;
    login(app, &olga).await;
    login(app, &otto).await;
    Team { admin, olga, otto }
}

async fn file(app: &TestApp, lang: &str) {
    let report = Report {
        what: "Invoices are paid twice.",
        ..Default::default()
    };
    let (status, page) = file_report(app, &app.browser(), lang, &report).await;
    assert_eq!(status, 200, "{page}");
}

async fn officer_id(app: &TestApp, email: &str) -> String {
    let all = app.store.officers().await.unwrap();
    all.into_iter()
        .find(|o| o.email == email)
        .expect("account")
        .id
        .to_string()
}

async fn case(app: &TestApp, reference: &str) -> speakup::store::CaseRecord {
    app.store
        .case_by_reference(reference)
        .await
        .unwrap()
        .expect("case")
}

/// The audit rows of one action, as (actor, detail).
async fn audited(app: &TestApp, action: &str) -> Vec<(String, String)> {
    let rows = app.store.audit_rows(0, 10_000).await.unwrap();
    rows.into_iter()
        .filter(|r| r.entry.action == action)
        .map(|r| (r.entry.actor, r.entry.detail))
        .collect()
}

async fn message(app: &TestApp, p: &Person, reference: &str, kind: &str) -> (u16, String) {
    let c = open_case(app, p, reference).await;
    post_parts(
        app,
        p,
        &format!("/officer/cases/{reference}/messages"),
        &[("csrf", &c.csrf), ("kind", kind)],
        vec![("message", encrypt(&c.to_both, b"Thank you, we are on it."))],
    )
    .await
}

async fn move_to(app: &TestApp, p: &Person, reference: &str, status: &str) {
    let c = open_case(app, p, reference).await;
    let (code, page) = post_parts(
        app,
        p,
        &format!("/officer/cases/{reference}/status"),
        &[("csrf", &c.csrf), ("status", status), ("outcome", "")],
        vec![],
    )
    .await;
    assert_eq!(code, 200, "{page}");
}

/// A case moved to "investigating" before anyone acknowledged it can still be acknowledged;
/// it keeps its status and its acknowledgement date is set (no longer overdue).
async fn acknowledgement_after_investigating(backend: Backend) {
    let Some(app) = spawn_without_officer(backend).await else {
        return;
    };
    let t = team(&app).await;
    file(&app, "en").await;
    let reference = first_reference(&app, &t.olga).await;
    move_to(&app, &t.olga, &reference, "investigating").await;
    let page = open_case(&app, &t.olga, &reference).await.html;
    assert!(page.contains("id=\"ack-form\""), "{page}");

    let (status, page) = message(&app, &t.olga, &reference, "acknowledgement").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("The case keeps its status."), "{page}");
    let c = case(&app, &reference).await;
    assert_eq!(c.status, CaseStatus::Investigating);
    assert_eq!(
        c.acknowledged_on,
        Some(speakup::clock::Clock::today(app.clock.as_ref()))
    );
    assert!(!page.contains("id=\"ack-form\""), "offered twice: {page}");
    let sent = audited(&app, "message_sent").await;
    assert_eq!(sent.len(), 1);
    assert!(sent[0].1.starts_with("acknowledgement; "), "{sent:?}");
    // Only once: a second acknowledgement is refused.
    let (status, _) = message(&app, &t.olga, &reference, "acknowledgement").await;
    assert_eq!(status, 400);
    app.finish().await;
}

/// The first message to a reporter of a case not yet acknowledged is its acknowledgement:
/// the date is set, the case moves to `acknowledged`, both audited with the message.
async fn first_message_counts_as_acknowledgement(backend: Backend) {
    let Some(app) = spawn_without_officer(backend).await else {
        return;
    };
    let t = team(&app).await;
    file(&app, "en").await;
    let reference = first_reference(&app, &t.olga).await;
    let (status, page) = message(&app, &t.olga, &reference, "message").await;
    assert_eq!(status, 200, "{page}");
    let c = case(&app, &reference).await;
    assert_eq!(
        c.acknowledged_on,
        Some(speakup::clock::Clock::today(app.clock.as_ref()))
    );
    assert_eq!(c.status, CaseStatus::Acknowledged);
    assert!(page.contains("id=\"case-status\">Acknowledged<"), "{page}");
    let changed = audited(&app, "status_changed").await;
    assert_eq!(
        changed,
        vec![("olga@example.org".into(), "acknowledged".into())]
    );
    // The second message is only a message.
    message(&app, &t.otto, &reference, "message").await;
    let sent = audited(&app, "message_sent").await;
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(
        sent[0].1.starts_with("acknowledgement (first message); "),
        "{sent:?}"
    );
    assert!(!sent[1].1.contains("acknowledgement"), "{sent:?}");
    assert_eq!(audited(&app, "status_changed").await.len(), 1);
    app.finish().await;
}

/// The sealed (browser) road, as the script sends it, in the given language.
async fn file_sealed(app: &TestApp, lang: &str) {
    let client = app.browser();
    let page = app.page(&client, &format!("/report?lang={lang}")).await;
    let token = speakup::domain::receipt::ReceiptToken::generate().unwrap();
    let derived = token.derive();
    let case_key = age::x25519::Identity::generate();
    let both = [case_key.to_public(), derived.recipient()];
    let report = serde_json::json!({"type": "report", "version": 1, "category": "fraud",
        "what": "Sealed.", "when_where": "", "involved": ""});
    let lookup: String = derived
        .lookup
        .0
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut form = reqwest::multipart::Form::new()
        .text("csrf", hidden(&page, "csrf"))
        .text("category", "fraud")
        .text("mode", "anonymous")
        .text("lookup", lookup)
        .text("case_recipient", case_key.to_public().to_string())
        .text("reporter_recipient", derived.recipient().to_string());
    let bytes = |b: Vec<u8>, n: &str| {
        reqwest::multipart::Part::bytes(b)
            .file_name(format!("{n}.age"))
            .mime_str("application/octet-stream")
            .unwrap()
    };
    form = form.part(
        "report",
        bytes(encrypt(&both, report.to_string().as_bytes()), "report"),
    );
    let keys = speakup_tests::sealed::intake_keys(&page);
    let key_file = format!(
        "# Speak Up case key\n{}\n",
        age::secrecy::ExposeSecret::expose_secret(&case_key.to_string())
    );
    for h in keys["holders"].as_array().unwrap() {
        let r: age::x25519::Recipient = h["recipient"].as_str().unwrap().parse().unwrap();
        form = form.text("holder", h["holder"].as_str().unwrap().to_owned());
        form = form.part(
            "envelope",
            bytes(encrypt(&[r], key_file.as_bytes()), "envelope"),
        );
    }
    let res = client
        .post(app.url(&format!("/report/sealed?lang={lang}")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200, "{}", res.text().await.unwrap());
}

/// The case filed on each road keeps the reporter's language; an officer working in English
/// is offered the acknowledgement in the reporter's language; a case from before the column
/// existed falls back to the instance default (English).
async fn reporter_language_picks_the_templates(backend: Backend) {
    let Some(app) = spawn_without_officer(backend).await else {
        return;
    };
    let t = team(&app).await;
    file(&app, "nl").await;
    file_sealed(&app, "de").await;
    let cases = app.store.cases().await.unwrap();
    let langs: Vec<Option<Lang>> = cases.iter().map(|c| c.reporter_lang).collect();
    assert!(
        langs.contains(&Some(Lang::Nl)) && langs.contains(&Some(Lang::De)),
        "{langs:?}"
    );
    for c in &cases {
        let page = open_case(&app, &t.olga, &c.reference).await.html;
        assert!(
            page.contains("<html lang=\"en\""),
            "the officer works in English"
        );
        let ack = attr(&page, "id=\"ack-text\"", "lang");
        let (greeting, name) = match c.reporter_lang {
            Some(Lang::Nl) => ("Dank u voor uw melding.", "Nederlands"),
            _ => ("Vielen Dank für Ihre Meldung.", "Deutsch"),
        };
        assert_eq!(ack, c.reporter_lang.unwrap().code());
        assert!(page.contains(greeting), "{page}");
        assert!(!page.contains("Thank you for your report."), "{page}");
        assert!(page.contains(&format!(">{name}</dd>")), "{page}");
    }
    // An older case, without a stored language: the instance default.
    let old = &cases[0].reference;
    app.scalar(&format!(
        "UPDATE cases SET reporter_lang = NULL WHERE reference = '{old}' RETURNING CAST(1 AS BIGINT)"
    ))
    .await;
    let page = open_case(&app, &t.olga, old).await.html;
    assert!(page.contains("Thank you for your report."), "{page}");
    app.finish().await;
}

fn owner_cell(page: &str) -> String {
    let at = page.find("id=\"case-owner\">").expect("owner shown") + 16;
    page[at..].split("</dd>").next().unwrap().to_owned()
}

/// The first officer to open a case owns it; the owner shows on the case page and in the
/// list, "my cases" lists it for them only; an officer hands it over (audited); a colleague
/// without the case cannot become owner; a disabled owner's case shows as unowned and the
/// next officer to open it takes it.
async fn case_owner(backend: Backend) {
    let Some(app) = spawn_without_officer(backend).await else {
        return;
    };
    let t = team(&app).await;
    file(&app, "en").await;
    let reference = first_reference(&app, &t.olga).await;
    let list = app.page(&t.olga.client, "/officer/cases").await;
    assert!(list.contains("unowned"), "{list}");
    let page = open_case(&app, &t.olga, &reference).await.html;
    assert_eq!(owner_cell(&page), "Name of olga@example.org");
    open_case(&app, &t.otto, &reference).await;
    assert_eq!(
        audited(&app, "owner_changed").await,
        vec![(
            "olga@example.org".into(),
            "olga@example.org (first to work on the case)".into()
        )]
    );
    let mine = app.page(&t.olga.client, "/officer/cases?mine=1").await;
    assert!(
        mine.contains(&reference) && mine.contains("Name of olga@example.org"),
        "{mine}"
    );
    let not_mine = app.page(&t.otto.client, "/officer/cases?mine=1").await;
    assert!(!not_mine.contains(&reference), "{not_mine}");

    // Handed to Otto, who holds the case.
    let otto = officer_id(&app, "otto@example.org").await;
    let c = open_case(&app, &t.olga, &reference).await;
    assert!(c.html.contains("id=\"owner-form\""));
    let res = t
        .olga
        .client
        .post(app.url(&format!("/officer/cases/{reference}/owner")))
        .form(&[("csrf", c.csrf.as_str()), ("account", otto.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.url().query(), Some("done=owner"));
    assert_eq!(
        owner_cell(&res.text().await.unwrap()),
        "Name of otto@example.org"
    );
    let changed = audited(&app, "owner_changed").await;
    assert_eq!(
        changed.last().unwrap(),
        &(
            "olga@example.org".into(),
            "olga@example.org -> otto@example.org".into()
        )
    );
    let mine = app.page(&t.otto.client, "/officer/cases?mine=1").await;
    assert!(mine.contains(&reference), "{mine}");

    // An investigator who holds no copy of the case cannot become its owner.
    let link = create_account(&app, &t.admin, "ivan@example.org", &["investigator"]).await;
    enroll(&app, &link, "ivan@example.org", true).await;
    let ivan = officer_id(&app, "ivan@example.org").await;
    let res = t
        .olga
        .client
        .post(app.url(&format!("/officer/cases/{reference}/owner")))
        .form(&[("csrf", c.csrf.as_str()), ("account", ivan.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400);
    assert_eq!(
        case(&app, &reference).await.owner.unwrap().to_string(),
        otto
    );

    // Otto leaves: his account is disabled, the case shows as unowned, Olga takes it back.
    let accounts = app.page(&t.admin.client, "/officer/admin/accounts").await;
    let res = t
        .admin
        .client
        .post(app.url(&format!("/officer/admin/accounts/{otto}/disable")))
        .form(&[("csrf", hidden(&accounts, "csrf"))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let list = app.page(&t.olga.client, "/officer/cases").await;
    assert!(!list.contains("Name of otto@example.org"), "{list}");
    let page = open_case(&app, &t.olga, &reference).await.html;
    assert_eq!(owner_cell(&page), "Name of olga@example.org");
    assert_eq!(audited(&app, "owner_changed").await.len(), 3);
    app.finish().await;
}

/// Officer-side times are shown in the organisation's zone: a status change made now shows
/// the Tokyo wall-clock time with its offset.
async fn times_in_the_organisations_zone(backend: Backend) {
    let mut opts = Options {
        with_officer: false,
        ..Default::default()
    };
    opts.serve.time_zone = Some("Asia/Tokyo".into());
    let Some(app) = spawn_with(backend, opts).await else {
        return;
    };
    let t = team(&app).await;
    file(&app, "en").await;
    let reference = first_reference(&app, &t.olga).await;
    let before = speakup::clock::Clock::now(app.clock.as_ref());
    move_to(&app, &t.olga, &reference, "investigating").await;
    let after = speakup::clock::Clock::now(app.clock.as_ref());
    let page = open_case(&app, &t.olga, &reference).await.html;
    let tokyo = time::UtcOffset::from_hms(9, 0, 0).unwrap();
    let shown = |at: time::OffsetDateTime| {
        let at = at.to_offset(tokyo);
        format!("{:02}:{:02} UTC+9", at.hour(), at.minute())
    };
    assert!(
        page.contains(&shown(before)) || page.contains(&shown(after)),
        "{page}"
    );
    assert!(!page.contains(" UTC<"), "{page}");
    app.finish().await;
}

fn settings_with(serve: ServeArgs, file: FileConfig) -> Result<Settings, String> {
    let common = CommonArgs {
        config: None,
        database_url: Some("sqlite::memory:".into()),
    };
    Settings::from_parts(&common, &serve, file).map_err(|e| e.to_string())
}

#[test]
fn the_time_zone_defaults_to_brussels_and_a_bad_one_is_refused() {
    let default = settings_with(ServeArgs::default(), FileConfig::default()).unwrap();
    assert_eq!(default.time_zone.name(), "Europe/Brussels");
    let from_file = FileConfig {
        time_zone: Some("America/New_York".into()),
        ..Default::default()
    };
    let s = settings_with(ServeArgs::default(), from_file).unwrap();
    assert_eq!(s.time_zone.name(), "America/New_York");
    for bad in ["Mars/Olympus_Mons", "CET+1", ""] {
        let serve = ServeArgs {
            time_zone: Some(bad.into()),
            ..Default::default()
        };
        let e = settings_with(serve, FileConfig::default()).unwrap_err();
        assert!(e.contains("SPEAKUP_TIME_ZONE"), "{e}");
    }
}

/// `speakup serve` with a zone that does not exist stops at start with the setting's name.
async fn a_bad_zone_stops_the_start(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let start = try_cli(
        &app,
        &[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--time-zone",
            "Europe/Atlantis",
        ],
    );
    let refused = tokio::time::timeout(std::time::Duration::from_secs(20), start)
        .await
        .expect("the server started with a bad time zone")
        .unwrap_err();
    assert!(refused.contains("SPEAKUP_TIME_ZONE"), "{refused}");
    assert!(refused.contains("Europe/Atlantis"), "{refused}");
    app.finish().await;
}

on_both_databases!(
    acknowledgement_after_investigating,
    first_message_counts_as_acknowledgement,
    reporter_language_picks_the_templates,
    case_owner,
    times_in_the_organisations_zone,
    a_bad_zone_stops_the_start,
);
