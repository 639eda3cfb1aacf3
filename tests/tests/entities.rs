//! Several legal entities in one instance (issue 12): two entities each receive only their own
//! cases, on the server path and the browser path (every envelope of every case belongs to
//! the case's triage group: its members, the group-level officers, the escrow); the browser
//! path is refused when it seals to someone outside the group; officers see only their
//! entities' cases; an unknown entity is a 404 page in the reporter's language; an instance
//! with one entity is unchanged; the command line adds entities and members; each entity has
//! its own QR code.

#[allow(dead_code)]
mod qr_support;

use std::collections::BTreeSet;

use age::x25519::{Identity, Recipient};
use speakup::app::casework::{self, Filter};
use speakup::domain::holder::Holder;
use speakup::store::{CaseRecord, OfficerRecord};
use speakup_tests::sealed::{SealedReport, intake_holders};
use speakup_tests::*;

/// Adds an officer with a fresh key through the command line; returns their email and key.
async fn officer(app: &TestApp, email: &str, places: &[&str]) -> (String, Identity) {
    let key = Identity::generate();
    let recipient = key.to_public().to_string();
    let mut args = vec![
        "officer",
        "add",
        "--email",
        email,
        "--name",
        email,
        "--recipient",
        &recipient,
    ];
    args.extend_from_slice(places);
    let out = run_cli(app, &args).await;
    assert!(out.contains(&format!("added {email}")), "{out}");
    (email.to_owned(), key)
}

async fn record(app: &TestApp, email: &str) -> OfficerRecord {
    app.store
        .officer_by_email(email)
        .await
        .unwrap()
        .expect("officer")
        .0
}

/// The officers holding an envelope of the case, by e-mail (the escrow as "escrow").
async fn holders(app: &TestApp, case: &CaseRecord) -> BTreeSet<String> {
    let officers = app.store.officers().await.unwrap();
    let mut out = BTreeSet::new();
    for e in app.store.envelopes(&case.id).await.unwrap() {
        match e.holder {
            Holder::Officer(id) => {
                let o = officers
                    .iter()
                    .find(|o| o.id == id)
                    .expect("holder is an officer");
                out.insert(o.email.clone());
            }
            Holder::Escrow => {
                out.insert("escrow".into());
            }
        }
    }
    out
}

/// Files a report on the server path at `base` (`` or `/e/{slug}`); returns the reference.
async fn file_plain(app: &TestApp, client: &reqwest::Client, base: &str, what: &str) -> String {
    let report = Report {
        what,
        ..Report::default()
    };
    file_report(app, client, base, report).await
}

/// Files `report` on the server path at `base`; returns the reference.
async fn file_report(
    app: &TestApp,
    client: &reqwest::Client,
    base: &str,
    report: Report<'_>,
) -> String {
    let page = app.page(client, &format!("{base}/report?lang=en")).await;
    let csrf = hidden(&page, "csrf");
    let res = client
        .post(app.url(&format!("{base}/report?lang=en")))
        .multipart(report.form(&csrf))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    reference(&res.text().await.unwrap())
}

fn reference(page: &str) -> String {
    let at = page.find("SU-").expect("a reference on the receipt page");
    page[at..at + 12].to_owned()
}

/// Files a report on the browser path at `base`, sealed to what its page names (plus
/// `extra`); returns the status and page.
async fn file_sealed(
    app: &TestApp,
    client: &reqwest::Client,
    base: &str,
    extra: Option<(String, Recipient)>,
) -> (u16, String) {
    let page = app.page(client, &format!("{base}/report?lang=en")).await;
    assert!(page.contains(&format!(
        "data-sealed-action=\"{base}/report/sealed?lang=en\""
    )));
    let mut to = intake_holders(&page);
    to.extend(extra);
    let res = client
        .post(app.url(&format!("{base}/report/sealed?lang=en")))
        .multipart(SealedReport::to(to).form(&hidden(&page, "csrf")))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.text().await.unwrap())
}

struct Group {
    alpha: (String, Identity),
    beta: (String, Identity),
    group: (String, Identity),
}

/// Two entities, one officer in each, one at group level; the harness's triage officer is
/// in no entity's group.
async fn two_entities(app: &TestApp) -> Group {
    let out = run_cli(
        app,
        &["entity", "add", "--slug", "alpha", "--name", "Alpha NV"],
    )
    .await;
    assert!(out.contains("/e/alpha/"), "{out}");
    run_cli(
        app,
        &["entity", "add", "--slug", "beta", "--name", "Beta BV"],
    )
    .await;
    Group {
        alpha: officer(app, "alpha@example.org", &["--entity", "alpha"]).await,
        beta: officer(app, "beta@example.org", &["--entity", "beta"]).await,
        group: officer(app, "group@example.org", &["--all-entities"]).await,
    }
}

async fn case(app: &TestApp, reference: &str) -> CaseRecord {
    app.store
        .case_by_reference(reference)
        .await
        .unwrap()
        .expect("case")
}

fn set(emails: &[&str]) -> BTreeSet<String> {
    emails.iter().map(|s| (*s).to_owned()).collect()
}

async fn each_entity_receives_only_its_own_cases(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let g = two_entities(&app).await;
    let client = app.browser();
    let a1 = file_plain(&app, &client, "/e/alpha", "for alpha").await;
    let b1 = file_plain(&app, &client, "/e/beta", "for beta").await;
    let own = file_plain(&app, &client, "", "for the instance").await;
    let (status, page) = file_sealed(&app, &client, "/e/alpha", None).await;
    assert_eq!(status, 200, "{page}");
    let a2 = reference(&page);
    let (status, page) = file_sealed(&app, &client, "/e/beta", None).await;
    assert_eq!(status, 200, "{page}");
    let b2 = reference(&page);
    let alpha = set(&[&g.alpha.0, &g.group.0]);
    let beta = set(&[&g.beta.0, &g.group.0]);
    for (r, slug, group) in [
        (&a1, "alpha", &alpha),
        (&a2, "alpha", &alpha),
        (&b1, "beta", &beta),
        (&b2, "beta", &beta),
    ] {
        let c = case(&app, r).await;
        assert_eq!(c.entity.as_ref().map(|e| e.as_str()), Some(slug));
        assert_eq!(
            &holders(&app, &c).await,
            group,
            "{r} sealed outside {slug}'s group"
        );
    }
    let c = case(&app, &own).await;
    assert_eq!(c.entity, None);
    assert_eq!(
        holders(&app, &c).await,
        set(&[&app.officer_email, &g.group.0])
    );
    // Every case: no officer outside its group holds an envelope.
    let membership = app.store.membership().await.unwrap();
    for c in app.store.cases().await.unwrap() {
        for e in app.store.envelopes(&c.id).await.unwrap() {
            if let Holder::Officer(id) = &e.holder {
                assert!(
                    membership.in_group(id, c.entity.as_ref()),
                    "{}",
                    c.reference
                );
            }
        }
    }
    assert_eq!(app.store.cases().await.unwrap().len(), 5);
    app.finish().await;
}

async fn sealing_to_an_outsider_is_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let g = two_entities(&app).await;
    let client = app.browser();
    let beta = record(&app, &g.beta.0).await;
    let outsider = (Holder::Officer(beta.id).to_db(), g.beta.1.to_public());
    let (status, _) = file_sealed(&app, &client, "/e/alpha", Some(outsider)).await;
    assert_eq!(status, 400);
    assert_eq!(app.stored().await.cases, 0);
    // Sealed to alpha's group at beta's address: also refused.
    let page = app.page(&client, "/e/alpha/report?lang=en").await;
    let res = client
        .post(app.url("/e/beta/report/sealed?lang=en"))
        .multipart(SealedReport::to(intake_holders(&page)).form(&hidden(&page, "csrf")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(app.stored().await.cases, 0);
    app.finish().await;
}

async fn officers_see_only_their_entities(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let g = two_entities(&app).await;
    let client = app.browser();
    let a = file_plain(&app, &client, "/e/alpha", "for alpha").await;
    let b = file_plain(&app, &client, "/e/beta", "for beta").await;
    let own = file_plain(&app, &client, "", "for the instance").await;
    let seen = |who: OfficerRecord| {
        let state = app.state.clone();
        async move {
            let list = casework::list(&state, &who, &Filter::default())
                .await
                .unwrap();
            list.cases
                .iter()
                .map(|l| l.case.reference.clone())
                .collect::<BTreeSet<_>>()
        }
    };
    let (alpha, beta) = (
        record(&app, &g.alpha.0).await,
        record(&app, &g.beta.0).await,
    );
    let triage = record(&app, &app.officer_email).await;
    assert_eq!(seen(alpha.clone()).await, set(&[&a]));
    assert_eq!(seen(beta.clone()).await, set(&[&b]));
    assert_eq!(seen(triage.clone()).await, set(&[&own]));
    assert_eq!(
        seen(record(&app, &g.group.0).await).await,
        set(&[&a, &b, &own])
    );
    let refused = casework::open(&app.state, &alpha, &b).await;
    assert!(matches!(refused, Err(speakup::app::Error::Forbidden)));
    assert!(casework::open(&app.state, &alpha, &a).await.is_ok());
    assert!(matches!(
        casework::open(&app.state, &triage, &a).await,
        Err(speakup::app::Error::Forbidden)
    ));
    app.finish().await;
}

async fn unknown_entity_is_a_localized_404(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    run_cli(
        &app,
        &["entity", "add", "--slug", "alpha", "--name", "Alpha NV"],
    )
    .await;
    let client = app.browser();
    for path in [
        "/e/nope/?lang=nl",
        "/e/nope/report?lang=nl",
        "/e/NOPE!/follow-up?lang=nl",
    ] {
        let res = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 404, "{path}");
        let body = res.text().await.unwrap();
        assert!(
            body.contains("Geen meldkanaal op dit adres"),
            "{path}: {body}"
        );
    }
    let res = client
        .post(app.url("/e/nope/report?lang=fr"))
        .multipart(Report::default().form("x"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Aucun canal de signalement")
    );
    // The entity that exists serves its pages under its name.
    for path in ["/e/alpha/", "/e/alpha/report", "/e/alpha/follow-up"] {
        let page = app.page(&client, path).await;
        assert!(page.contains("Alpha NV"), "{path}");
    }
    assert_eq!(app.stored().await.cases, 0);
    app.finish().await;
}

async fn one_entity_changes_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = app.browser();
    let before = app.page(&client, "/?lang=en").await;
    run_cli(
        &app,
        &["entity", "add", "--slug", "alpha", "--name", "Alpha NV"],
    )
    .await;
    let landing = app.page(&client, "/?lang=en").await;
    assert_eq!(
        landing, before,
        "one entity changed the instance's landing page"
    );
    assert!(!landing.contains("id=\"entities\""));
    let r = file_plain(&app, &client, "", "as before").await;
    let c = case(&app, &r).await;
    assert_eq!(c.entity, None);
    assert_eq!(holders(&app, &c).await, set(&[&app.officer_email]));
    let (status, _) = open_mailbox(&app, &client, "not a receipt").await;
    assert_eq!(status, 401);
    // A second entity: the landing lists both, each with its own address.
    run_cli(
        &app,
        &["entity", "add", "--slug", "beta", "--name", "Beta BV"],
    )
    .await;
    let landing = app.page(&client, "/?lang=en").await;
    assert!(landing.contains("id=\"entities\""));
    assert!(landing.contains("href=\"/e/alpha/?lang=en\"") && landing.contains("Beta BV"));
    app.finish().await;
}

async fn command_line_manages_entities(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    for bad in ["A", "has space", "-x", ""] {
        let slug = format!("--slug={bad}");
        let e = try_cli(&app, &["entity", "add", &slug, "--name", "N"]).await;
        assert!(e.is_err_and(|e| e.contains("invalid entity")), "{bad}");
    }
    run_cli(
        &app,
        &["entity", "add", "--slug", "alpha", "--name", "Alpha NV"],
    )
    .await;
    let again = try_cli(
        &app,
        &["entity", "add", "--slug", "alpha", "--name", "Other"],
    )
    .await;
    assert!(again.is_err_and(|e| e.contains("already exists")));
    let key = Identity::generate().to_public().to_string();
    let args = [
        "officer",
        "add",
        "--email",
        "x@example.org",
        "--name",
        "X",
        "--recipient",
        &key,
    ];
    let unknown = [&args[..], &["--entity", "nope"]].concat();
    let e = try_cli(&app, &unknown).await;
    assert!(e.is_err_and(|e| e.contains("no entity")));
    assert!(
        app.store
            .officer_by_email("x@example.org")
            .await
            .unwrap()
            .is_none()
    );
    let twice = [&args[..], &["--entity", "alpha", "--entity", "alpha"]].concat();
    run_cli(&app, &twice).await;
    let list = run_cli(&app, &["entity", "list"]).await;
    assert!(list.contains("alpha\tAlpha NV\tx@example.org"), "{list}");
    let actions = app
        .scalar("SELECT COUNT(*) FROM audit_log WHERE action IN ('entity_created', 'entity_member_added')")
        .await;
    assert_eq!(actions, 2);
    app.finish().await;
}

async fn each_entity_has_its_own_qr_code(backend: Backend) {
    let mut opts = Options::default();
    opts.serve.public_url = Some("https://meldpunt.example.org".into());
    let Some(app) = spawn_with(backend, opts).await else {
        return;
    };
    run_cli(
        &app,
        &["entity", "add", "--slug", "alpha", "--name", "Alpha NV"],
    )
    .await;
    let client = app.browser();
    let res = client
        .get(app.url("/e/alpha/poster/qr.svg"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let svg = res.text().await.unwrap();
    let decoded = qr_support::decode_svg(&svg, 1.0);
    assert_eq!(decoded[0].0, "https://meldpunt.example.org/e/alpha/");
    let res = client
        .get(app.url("/e/alpha/poster/qr.png"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let png = res.bytes().await.unwrap();
    assert_eq!(
        qr_support::decode_png(&png)[0].0,
        "https://meldpunt.example.org/e/alpha/"
    );
    let res = client
        .get(app.url("/e/nope/poster/qr.png"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    app.finish().await;
}

/// A key file as the browser seals it (`# Speak Up case key`, `# Speak Up officer key`).
fn key_file(kind: &str, key: &Identity) -> Vec<u8> {
    let secret = age::secrecy::ExposeSecret::expose_secret(&key.to_string()).to_owned();
    format!("# Speak Up {kind} key\n{secret}\n").into_bytes()
}

async fn a_case_moves_to_another_entity(backend: Backend) {
    use speakup_tests::officer::*;
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let link = admin_via_cli(&app, "admin@example.org").await;
    let admin = enroll(&app, &link, "admin@example.org", false).await;
    login(&app, &admin).await;
    let mut people = Vec::new();
    for email in ["anna@example.org", "bert@example.org"] {
        let link = create_account(&app, &admin, email, &["officer"]).await;
        let p = enroll(&app, &link, email, true).await;
        login(&app, &p).await;
        people.push(p);
    }
    let (anna, bert) = (&people[0], &people[1]);
    alpha_and_beta(&app).await;
    let (anna_id, bert_id) = (
        record(&app, &anna.email).await.id,
        record(&app, &bert.email).await.id,
    );
    for (slug, id) in [("alpha", &anna_id), ("beta", &bert_id)] {
        let page = app
            .page(&admin.client, &format!("/officer/admin/entities/{slug}"))
            .await;
        let res = admin
            .client
            .post(app.url(&format!("/officer/admin/entities/{slug}/members")))
            .form(&[("csrf", hidden(&page, "csrf")), ("officer", id.to_string())])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    let reference = file_plain(&app, &app.browser(), "/e/alpha", "to move").await;
    assert_eq!(
        holders(&app, &case(&app, &reference).await).await,
        set(&[&anna.email])
    );
    let view = open_case(&app, anna, &reference).await;
    assert!(view.html.contains("id=\"move-form\""));
    assert!(
        view.html.contains(bert_id.as_str()),
        "beta's option names bert"
    );
    let path = format!("/officer/cases/{reference}/move");
    let bert_key = bert.identity.as_ref().unwrap().to_public();
    let holder = Holder::Officer(bert_id.clone()).to_db();
    let fields = [
        ("csrf", view.csrf.as_str()),
        ("entity", "beta"),
        ("holder", holder.as_str()),
    ];
    // Sealed to nobody, or without the officer key's copy: refused, nothing changes.
    let (status, _) = post_parts(&app, anna, &path, &fields[..2], Vec::new()).await;
    assert_eq!(status, 400);
    let envelope = encrypt(
        std::slice::from_ref(&bert_key),
        &key_file("case", &view.case_key),
    );
    let (status, _) = post_parts(
        &app,
        anna,
        &path,
        &fields,
        vec![("envelope", envelope.clone())],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        case(&app, &reference).await.entity.unwrap().as_str(),
        "alpha"
    );
    let officer = encrypt(&[bert_key], &key_file("officer", &view.officer_key));
    let parts = vec![("envelope", envelope), ("officer_envelope", officer)];
    let (status, _) = post_parts(&app, anna, &path, &fields, parts).await;
    assert_eq!(status, 200);
    let moved = case(&app, &reference).await;
    assert_eq!(moved.entity.as_ref().unwrap().as_str(), "beta");
    assert_eq!(holders(&app, &moved).await, set(&[&bert.email]));
    let res = anna
        .client
        .get(app.url(&format!("/officer/cases/{reference}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // The case list names the entity of each case.
    let list = app.page(&bert.client, "/officer/cases").await;
    assert!(
        list.contains(&reference) && list.contains(">beta</td>"),
        "{list}"
    );
    let bert_view = open_case(&app, bert, &reference).await;
    assert_eq!(bert_view.case_key.to_public(), view.case_key.to_public());
    let rows = app
        .scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'case_moved'")
        .await;
    assert_eq!(rows, 1);
    app.finish().await;
}

async fn admins_set_an_entitys_own_settings(backend: Backend) {
    use speakup_tests::officer::*;
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let link = admin_via_cli(&app, "admin@example.org").await;
    let admin = enroll(&app, &link, "admin@example.org", false).await;
    login(&app, &admin).await;
    // Added on the admin page.
    let page = app.page(&admin.client, "/officer/admin/entities").await;
    assert!(page.contains("id=\"no-entities\""));
    let csrf = hidden(&page, "csrf");
    let add = |slug: &'static str| {
        let form = [
            ("csrf", csrf.clone()),
            ("slug", slug.into()),
            ("name", "Alpha NV".into()),
        ];
        admin
            .client
            .post(app.url("/officer/admin/entities"))
            .form(&form)
            .send()
    };
    assert_eq!(add("Bad Slug").await.unwrap().status(), 422);
    assert_eq!(add("alpha").await.unwrap().status(), 200);
    assert_eq!(add("alpha").await.unwrap().status(), 422);
    let page = app
        .page(&admin.client, "/officer/admin/entities/alpha")
        .await;
    let mut form = vec![
        ("csrf", hidden(&page, "csrf")),
        ("name_en", "Alpha NV".into()),
        ("name_nl", "Alfa NV".into()),
        ("name_fr", "Alpha SA".into()),
        ("name_de", "Alpha AG".into()),
        ("notice_en", "Alpha's own notice".into()),
        ("categories", "rail-safety | Rail safety".into()),
        ("retention_months", "200".into()),
    ];
    let save = |form: Vec<(&'static str, String)>| {
        let url = app.url("/officer/admin/entities/alpha");
        admin.client.post(url).form(&form).send()
    };
    // A period out of range is refused, nothing saved.
    let res = save(form.clone()).await.unwrap();
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("0 to 120"));
    form.retain(|(k, _)| *k != "retention_months");
    form.push(("retention_months", "1".into()));
    assert_eq!(save(form).await.unwrap().status(), 200);
    officer(&app, "alpha@example.org", &["--entity", "alpha"]).await;
    let client = app.browser();
    assert!(
        app.page(&client, "/e/alpha/?lang=nl")
            .await
            .contains("Alfa NV")
    );
    assert!(
        app.page(&client, "/e/alpha/?lang=en")
            .await
            .contains("Alpha&#39;s own notice")
    );
    let report = app.page(&client, "/e/alpha/report?lang=en").await;
    assert!(report.contains("Rail safety") && !report.contains("value=\"fraud\""));
    // The instance keeps its own categories and notice.
    let own = app.page(&client, "/report?lang=en").await;
    assert!(own.contains("value=\"fraud\"") && !own.contains("Rail safety"));
    // The officer pages read an entity's case with the entity's settings (its categories'
    // labels, its retention), the instance's cases with the instance's.
    let alpha = speakup::domain::entity::EntitySlug::parse("alpha").unwrap();
    let site = speakup::app::entities::site_for(&app.state, Some(&alpha))
        .await
        .unwrap();
    let label = site
        .category("rail-safety")
        .map(|c| c.label(speakup::i18n::Lang::En));
    assert_eq!(label.as_deref(), Some("Rail safety"));
    assert_eq!(site.retention_months, 1);
    let sites = speakup::app::entities::Sites::load(&app.state)
        .await
        .unwrap();
    assert!(sites.of(Some(&alpha)).category("rail-safety").is_some());
    assert!(sites.of(None).category("rail-safety").is_none());
    let changed =
        "SELECT COUNT(*) FROM audit_log WHERE action IN ('entity_created', 'entity_changed')";
    assert_eq!(app.scalar(changed).await, 2);
    app.finish().await;
}

/// Retention deletes an entity's closed cases after its own period, the instance's after
/// the instance's (here: never).
async fn retention_follows_each_entitys_period(backend: Backend) {
    use speakup::app::retention::{Policies, apply_per_entity};
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    two_entities(&app).await;
    let client = app.browser();
    let a = file_plain(&app, &client, "/e/alpha", "alpha").await;
    let b = file_plain(&app, &client, "/e/beta", "beta").await;
    let own = file_plain(&app, &client, "", "instance").await;
    app.execute("UPDATE cases SET status = 'closed', closed_on = '2020-01-01'")
        .await;
    let mut alpha = speakup::app::entities::find(&app.state, "alpha")
        .await
        .unwrap();
    alpha.overrides.retention_months = Some(1);
    let beta = speakup::app::entities::find(&app.state, "beta")
        .await
        .unwrap();
    let policies = Policies::of(&app.state.site.get(), &[alpha, beta]);
    let now = app.state.clock.now();
    let deleted = apply_per_entity(app.store.as_ref(), &policies, now.date(), now)
        .await
        .unwrap();
    assert_eq!(deleted, 1);
    let left: BTreeSet<String> = app
        .store
        .cases()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.reference)
        .collect();
    assert_eq!(left, set(&[&b, &own]));
    assert!(!left.contains(&a));
    app.finish().await;
}

/// The yearly figures per entity, a deleted case still counted under its entity.
async fn statistics_per_entity(backend: Backend) {
    use speakup::app::retention::{Policies, apply_per_entity};
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    two_entities(&app).await;
    let client = app.browser();
    let mut alpha = Vec::new();
    for n in 0..5 {
        alpha.push(file_plain(&app, &client, "/e/alpha", &format!("alpha {n}")).await);
    }
    file_plain(&app, &client, "/e/beta", "beta").await;
    file_plain(&app, &client, "", "instance").await;
    // One of alpha's cases is deleted by retention: its row for the figures keeps the entity.
    let closed = format!(
        "UPDATE cases SET status = 'closed', closed_on = '2020-01-01' WHERE reference = '{}'",
        alpha[0]
    );
    app.execute(&closed).await;
    let mut e = speakup::app::entities::find(&app.state, "alpha")
        .await
        .unwrap();
    e.overrides.retention_months = Some(1);
    let policies = Policies::of(&app.state.site.get(), &[e]);
    let now = app.state.clock.now();
    let deleted = apply_per_entity(app.store.as_ref(), &policies, now.date(), now).await;
    assert_eq!(deleted.unwrap(), 1);
    let total = |csv: &str| {
        let line = csv
            .lines()
            .find(|l| l.starts_with("month,total,"))
            .expect("total");
        line.trim_start_matches("month,total,").to_owned()
    };
    let stats = |scope: &'static str| {
        let arg = format!("--entity={scope}");
        let app = &app;
        async move { total(&run_cli(app, &["stats", &arg]).await) }
    };
    assert_eq!(stats("").await, "7");
    assert_eq!(stats("alpha").await, "5");
    assert_eq!(stats("beta").await, "<5");
    assert_eq!(stats("-").await, "<5");
    let bad = try_cli(&app, &["stats", "--entity=Not A Slug"]).await;
    assert!(bad.is_err_and(|e| e.contains("--entity")));
    let rows = "SELECT COUNT(*) FROM audit_log WHERE action = 'stats_exported' AND detail LIKE '%entity alpha'";
    assert_eq!(app.scalar(rows).await, 1);
    app.finish().await;
}

/// The admin's Posters page has each entity's posters: its own address and name.
async fn admins_print_each_entitys_posters(backend: Backend) {
    use speakup_tests::officer::*;
    let mut opts = Options::default();
    opts.serve.public_url = Some("https://meldpunt.example.org".into());
    let Some(app) = spawn_with(backend, opts).await else {
        return;
    };
    run_cli(
        &app,
        &["entity", "add", "--slug", "alpha", "--name", "Alpha NV"],
    )
    .await;
    let link = admin_via_cli(&app, "admin@example.org").await;
    let admin = enroll(&app, &link, "admin@example.org", false).await;
    login(&app, &admin).await;
    let index = app.page(&admin.client, "/officer/admin/posters").await;
    assert!(
        index.contains("href=\"/officer/admin/posters?entity=alpha\""),
        "{index}"
    );
    let page = app
        .page(&admin.client, "/officer/admin/posters?entity=alpha")
        .await;
    assert!(
        page.contains("<code id=\"poster-address\">https://meldpunt.example.org/e/alpha/</code>")
    );
    assert!(page.contains("href=\"/officer/admin/posters/a4/en?entity=alpha\""));
    assert!(page.contains("href=\"/e/alpha/poster/qr.svg\""));
    let poster = app
        .page(&admin.client, "/officer/admin/posters/a4/en?entity=alpha")
        .await;
    assert!(
        poster.contains("Alpha NV") && poster.contains("/e/alpha/"),
        "{poster}"
    );
    let res = admin
        .client
        .get(app.url("/officer/admin/posters/screen/en.png?entity=alpha"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = admin
        .client
        .get(app.url("/officer/admin/posters/a4/en?entity=nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    app.finish().await;
}

/// Sets the instance's category routes directly (the Settings page's own test is in
/// `routing.rs`), and reloads them.
async fn set_routes(app: &TestApp, routes: &[(&str, &str)]) {
    let map: std::collections::BTreeMap<&str, &str> = routes.iter().copied().collect();
    let audit = speakup::store::AuditEntry::new(0, "test", "settings_changed", "", "routes");
    let json = serde_json::to_string(&map).unwrap();
    let rows = [("category_routes", json)];
    app.store.set_site_settings(&rows, &audit).await.unwrap();
    let state = &app.state;
    state
        .site
        .refresh(state.store(), &state.settings)
        .await
        .unwrap();
}

/// The references in this officer's case list, and its "new" counter (every case here is new).
async fn listed(app: &TestApp, who: &OfficerRecord) -> (BTreeSet<String>, usize) {
    let list = casework::list(&app.state, who, &Filter::default())
        .await
        .unwrap();
    let refs = list
        .cases
        .iter()
        .map(|l| l.case.reference.clone())
        .collect();
    (refs, list.counts.new)
}

/// A category route inside an entity (issue 12): sealed only to the members of the group
/// who are in the entity's triage group, on both paths; officers of the entity outside the
/// route do not see the case at all (list, counters, its address); a rename carries the
/// route and the routed cases along; a group cases were routed to cannot be deleted.
async fn a_route_inside_an_entity(backend: Backend) {
    use speakup_tests::officer::*;
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let g = two_entities(&app).await;
    let hr = officer(&app, "hr@example.org", &["--entity", "alpha"]).await;
    run_cli(&app, &["group", "add", "--name", "HR"]).await;
    for who in [&hr.0, &g.beta.0] {
        run_cli(
            &app,
            &["group", "member", "--group", "HR", "--officer", who],
        )
        .await;
    }
    set_routes(&app, &[("harassment", "HR")]).await;
    let client = app.browser();
    let harassment = |base: &'static str| {
        let report = Report {
            category: "harassment",
            ..Report::default()
        };
        file_report(&app, &client, base, report)
    };
    // Server path: alpha's harassment reaches HR's alpha member only (not beta's member,
    // not the group-level officer); beta's reaches beta's member; fraud the whole group.
    let a_h = harassment("/e/alpha").await;
    let b_h = harassment("/e/beta").await;
    let a_f = file_plain(&app, &client, "/e/alpha", "fraud at alpha").await;
    assert_eq!(holders(&app, &case(&app, &a_h).await).await, set(&[&hr.0]));
    assert_eq!(
        holders(&app, &case(&app, &b_h).await).await,
        set(&[&g.beta.0])
    );
    let alpha_group = set(&[&g.alpha.0, &hr.0, &g.group.0]);
    assert_eq!(holders(&app, &case(&app, &a_f).await).await, alpha_group);
    // Browser path: the page routes harassment to HR's alpha member; sealing to anyone more
    // is refused, sealing to exactly them is stored.
    let page = app.page(&client, "/e/alpha/report?lang=en").await;
    let everyone = intake_holders(&page);
    let hr_id = record(&app, &hr.0).await.id;
    let only: Vec<_> = everyone
        .iter()
        .filter(|(h, _)| *h == Holder::Officer(hr_id.clone()).to_db())
        .cloned()
        .collect();
    assert_eq!(only.len(), 1);
    for (to, want) in [(&everyone, 400), (&only, 200)] {
        let res = client
            .post(app.url("/e/alpha/report/sealed?lang=en"))
            .multipart(
                SealedReport {
                    category: "harassment".into(),
                    ..SealedReport::to(to.clone())
                }
                .form(&hidden(&page, "csrf")),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), want);
    }
    let routed: Vec<CaseRecord> = (app.store.cases().await.unwrap().into_iter())
        .filter(|c| c.category == "harassment")
        .collect();
    assert_eq!(routed.len(), 3);
    for c in &routed {
        assert_eq!(c.routed_to.as_deref(), Some("HR"), "{}", c.reference);
        let want = if c.reference == b_h { &g.beta.0 } else { &hr.0 };
        assert_eq!(holders(&app, c).await, set(&[want]), "{}", c.reference);
    }
    assert_eq!(case(&app, &a_f).await.routed_to, None);
    // Who sees what: the routed cases only by HR's members in their entity.
    let a_sealed = routed
        .iter()
        .find(|c| ![&a_h, &b_h].contains(&&c.reference));
    let a_sealed = a_sealed.unwrap().reference.clone();
    let (alpha, group) = (
        record(&app, &g.alpha.0).await,
        record(&app, &g.group.0).await,
    );
    let hr_rec = record(&app, &hr.0).await;
    assert_eq!(listed(&app, &alpha).await, (set(&[&a_f]), 1));
    assert_eq!(listed(&app, &group).await, (set(&[&a_f]), 1));
    assert_eq!(
        listed(&app, &hr_rec).await,
        (set(&[&a_f, &a_h, &a_sealed]), 3)
    );
    assert_eq!(
        listed(&app, &record(&app, &g.beta.0).await).await,
        (set(&[&b_h]), 1)
    );
    for who in [&alpha, &group] {
        let refused = casework::open(&app.state, who, &a_h).await;
        assert!(matches!(refused, Err(speakup::app::Error::Forbidden)));
    }
    assert!(casework::open(&app.state, &hr_rec, &a_h).await.is_ok());

    // Renamed on the admin page: routes and routed cases follow, in one audited change.
    let link = admin_via_cli(&app, "admin@example.org").await;
    let admin = enroll(&app, &link, "admin@example.org", false).await;
    login(&app, &admin).await;
    let page = app.page(&admin.client, "/officer/admin/groups").await;
    assert!(page.contains("Categories routed to this group:"), "{page}");
    let csrf = hidden(&page, "csrf");
    let post = |path: &'static str, form: Vec<(&'static str, String)>| {
        admin.client.post(app.url(path)).form(&form).send()
    };
    let rename = |to: &str| {
        let form = vec![
            ("csrf", csrf.clone()),
            ("group", "HR".into()),
            ("name", to.into()),
        ];
        post("/officer/admin/groups/rename", form)
    };
    assert_eq!(rename("Empty\nname").await.unwrap().status(), 422);
    assert_eq!(rename("HR & ethics").await.unwrap().status(), 200);
    assert_eq!(
        case(&app, &a_h).await.routed_to.as_deref(),
        Some("HR & ethics")
    );
    assert_eq!(
        app.state.site.get().route("harassment"),
        Some("HR & ethics")
    );
    let sql = "SELECT COUNT(*) FROM audit_log WHERE action = 'triage_group_renamed' \
               AND actor = 'admin@example.org' AND detail = 'HR to HR & ethics'";
    assert_eq!(app.scalar(sql).await, 1);
    assert_eq!(listed(&app, &alpha).await, (set(&[&a_f]), 1));
    assert_eq!(listed(&app, &hr_rec).await.1, 3);
    let again = harassment("/e/alpha").await;
    assert_eq!(
        holders(&app, &case(&app, &again).await).await,
        set(&[&hr.0])
    );

    // Deleted: refused while routed, and while cases were routed to it even with no route.
    let delete = |name: &str| {
        let form = vec![("csrf", csrf.clone()), ("group", name.to_owned())];
        post("/officer/admin/groups/delete", form)
    };
    let res = delete("HR & ethics").await.unwrap();
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("id=\"groups-error\""));
    set_routes(&app, &[]).await;
    assert!(
        try_cli(&app, &["group", "delete", "--name", "HR & ethics"])
            .await
            .is_err()
    );
    // Taking the route off changes future cases only: the routed ones stay with the group.
    assert_eq!(listed(&app, &alpha).await, (set(&[&a_f]), 1));
    run_cli(&app, &["group", "add", "--name", "Unused"]).await;
    assert_eq!(delete("Unused").await.unwrap().status(), 200);
    let out = run_cli(&app, &["group", "list"]).await;
    assert!(
        out.contains("HR & ethics") && !out.contains("Unused"),
        "{out}"
    );
    let sql = "SELECT COUNT(*) FROM audit_log WHERE action = 'triage_group_deleted' \
               AND detail = 'Unused'";
    assert_eq!(app.scalar(sql).await, 1);
    app.finish().await;
}

on_both_databases!(
    a_route_inside_an_entity,
    admins_print_each_entitys_posters,
    statistics_per_entity,
    admins_set_an_entitys_own_settings,
    retention_follows_each_entitys_period,
    a_case_moves_to_another_entity,
    each_entity_receives_only_its_own_cases,
    sealing_to_an_outsider_is_refused,
    officers_see_only_their_entities,
    unknown_entity_is_a_localized_404,
    one_entity_changes_nothing,
    command_line_manages_entities,
    each_entity_has_its_own_qr_code,
);
