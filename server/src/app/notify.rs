//! Notifications without content (issue 10): the run that mails each officer their daily
//! digest and at most one "new activity" mail an hour, and the escalation address its digest of
//! overdue cases; each officer's choice (all, digest only, off); the admin's test mail. Keeps
//! the rule that no mail carries content, category, mode or anything derived from a report:
//! a mail holds counts and case references only, in a constant shape (see domain::notify),
//! at times set by the schedule rather than by when a report arrived. Exactly one instance
//! sends each mail: the run holds a lease, and each mail is claimed per recipient and period
//! in the database before it is sent.

use time::Duration;

use super::audit::{action, entry};
use super::{App, Error, Result};
use crate::domain::holder::CaseId;
use crate::domain::notify::{
    DIGEST_HOUR, Digest, NotifyMode, day_period, digest_due, fixed_count, hour_period,
    hour_period_floor, hourly_due,
};
use crate::domain::officer::Role;
use crate::domain::permission::Permission;
use crate::i18n::{Lang, Tr};
use crate::mail::Mailer;
use crate::store::{HoldingRow, OfficerRecord, Store};

const LEASE: &str = "notify";
/// A run that dies keeps others out this long at most.
const LEASE_SECS: i64 = 300;
/// The name of the server secret that keys each officer's random moment in the hour.
const SLOT_SECRET: &str = "notify_slot";

/// Which mail: each has its own subject and opening line, and the same body shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Daily,
    Hourly,
    Escalation,
}

impl Kind {
    fn key(self) -> &'static str {
        match self {
            Kind::Daily => "daily",
            Kind::Hourly => "hourly",
            Kind::Escalation => "escalation",
        }
    }
}

/// What one run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RunReport {
    pub sent: usize,
    pub failed: usize,
    /// Another instance held the lease: this one sent nothing.
    pub busy: bool,
}

/// The mail text of a digest: subject and body, the same length for every digest of one
/// kind and language.
pub fn render(t: Tr, kind: Kind, d: &Digest, link: &str) -> (String, String) {
    let k = kind.key();
    let (refs, more) = d.reference_lines();
    let counts = [
        (d.new_cases, "notify.count.new"),
        (d.replies, "notify.count.replies"),
        (d.ack_due_soon, "notify.count.ack_due"),
        (d.feedback_due_soon, "notify.count.feedback_due"),
        (d.overdue, "notify.count.overdue"),
    ];
    let mut body = format!("{}\n\n", t.get(&format!("notify.intro.{k}")));
    for (n, key) in counts {
        body.push_str(&format!("{}  {}\n", fixed_count(n), t.get(key)));
    }
    body.push('\n');
    body.push_str(t.get("notify.references"));
    body.push('\n');
    for r in refs {
        body.push_str(&r);
        body.push('\n');
    }
    body.push_str(&t.fmt("notify.more", &[("count", &fixed_count(more))]));
    body.push_str("\n\n");
    body.push_str(t.get("notify.open"));
    body.push_str(&format!("\n{link}\n\n{}\n", t.get("notify.footer")));
    (t.get(&format!("notify.subject.{k}")).to_owned(), body)
}

/// Sends what is due now (or, `at_once`, everything due today whatever the hour). Returns
/// without sending when mail is off or another instance is sending.
pub async fn run(app: &App, at_once: bool) -> Result<RunReport> {
    let Some(mailer) = app.mailer.as_ref() else {
        return Ok(RunReport::default());
    };
    let store = app.store();
    let now = app.clock.now();
    let me = super::new_id();
    let ts = now.unix_timestamp();
    if !store.take_lease(LEASE, &me, ts, ts + LEASE_SECS).await? {
        return Ok(RunReport {
            busy: true,
            ..Default::default()
        });
    }
    let result = run_held(app, mailer, at_once).await;
    store.drop_lease(LEASE, &me).await?;
    result
}

async fn run_held(app: &App, mailer: &Mailer, at_once: bool) -> Result<RunReport> {
    let store = app.store();
    let now = app.clock.now();
    let today = now.date();
    // Hourly claims say roughly when something arrived: kept only for the day itself.
    let week_ago = today.saturating_sub(Duration::days(7));
    store
        .purge_notices(&hour_period_floor(today), &week_ago.to_string())
        .await?;
    let mut fresh = [0u8; 32];
    getrandom::fill(&mut fresh).map_err(Error::internal)?;
    let key = store.server_secret(SLOT_SECRET, &fresh).await?;
    let mut report = RunReport::default();
    for officer in store.officers().await? {
        let notified = officer.has_role(Role::Officer) || officer.has_role(Role::Investigator);
        if officer.disabled || !notified {
            continue;
        }
        officer_mails(app, mailer, &officer, &key, at_once, &mut report).await?;
    }
    escalation(app, mailer, at_once, &mut report).await?;
    Ok(report)
}

/// The officer's choice and mail language: as saved, else all mails in the language of
/// their latest session, else English.
pub async fn preference(store: &dyn Store, officer: &OfficerRecord) -> Result<(NotifyMode, Lang)> {
    if let Some((mode, lang)) = store.notify_prefs(&officer.id).await? {
        return Ok((mode, Lang::from_code(&lang).unwrap_or_default()));
    }
    let lang = store.latest_session_lang(&officer.id).await?;
    Ok((
        NotifyMode::All,
        lang.and_then(|l| Lang::from_code(&l)).unwrap_or_default(),
    ))
}

async fn officer_mails(
    app: &App,
    mailer: &Mailer,
    officer: &OfficerRecord,
    key: &[u8],
    at_once: bool,
    report: &mut RunReport,
) -> Result<()> {
    let store = app.store();
    let (mode, lang) = preference(store, officer).await?;
    if mode == NotifyMode::Off {
        return Ok(());
    }
    let now = app.clock.now();
    // The digest goes out at its hour in the organisation's time zone, for that local day.
    let local = app
        .settings
        .time_zone
        .local(now.unix_timestamp())
        .unwrap_or(now);
    if digest_due(local, DIGEST_HOUR, at_once) {
        let period = day_period("day", local.date());
        officer_mail(app, mailer, officer, lang, Kind::Daily, &period, report).await?;
    }
    let id = officer.id.as_str();
    if mode == NotifyMode::All && hourly_due(key, id, now, at_once) {
        let period = hour_period(now);
        officer_mail(app, mailer, officer, lang, Kind::Hourly, &period, report).await?;
    }
    Ok(())
}

/// One digest to one officer, unless it was claimed before (or, hourly, there is no news).
/// Once delivered, the officer counts as told of everything it listed.
async fn officer_mail(
    app: &App,
    mailer: &Mailer,
    officer: &OfficerRecord,
    lang: Lang,
    kind: Kind,
    period: &str,
    report: &mut RunReport,
) -> Result<()> {
    let store = app.store();
    let holdings: Vec<HoldingRow> = store.holdings(&officer.id).await?;
    let list: Vec<_> = holdings.iter().map(|(_, h)| h.clone()).collect();
    let digest = Digest::of(&list, app.clock.today());
    if kind == Kind::Hourly && !digest.has_news() {
        return Ok(());
    }
    let (subject, body) = render(lang.tr(), kind, &digest, &workspace_link(app));
    if deliver(app, mailer, &officer.email, period, &subject, body, report).await? {
        let marks: Vec<(CaseId, i64)> = holdings
            .into_iter()
            .filter(|(_, h)| h.told_seq != Some(h.reporter_seq))
            .map(|(id, h)| (id, h.reporter_seq))
            .collect();
        store.mark_told(&officer.id, &marks).await?;
    }
    Ok(())
}

fn workspace_link(app: &App) -> String {
    format!("{}/officer/cases", app.settings.public_url)
}

/// The escalation address's daily digest of overdue cases, in `SPEAKUP_ESCALATION_LANG` (the
/// address is no officer's account, so no interface language is known). A legal entity that
/// set its own escalation address gets its cases' digest there instead (issue 12).
async fn escalation(
    app: &App,
    mailer: &Mailer,
    at_once: bool,
    report: &mut RunReport,
) -> Result<()> {
    let instance = app
        .settings
        .mail
        .as_ref()
        .and_then(|m| m.escalation.clone());
    let entities = super::entities::list(app).await?;
    let own = |e: &super::entities::Entity| e.overrides.escalation_email.is_some();
    if instance.is_none() && !entities.iter().any(own) {
        return Ok(());
    }
    let now = app.clock.now();
    let local = app
        .settings
        .time_zone
        .local(now.unix_timestamp())
        .unwrap_or(now);
    if !digest_due(local, DIGEST_HOUR, at_once) {
        return Ok(());
    }
    let lang = app
        .settings
        .mail
        .as_ref()
        .map_or(Lang::En, |m| m.escalation_lang);
    let period = day_period("esc", local.date());
    for (to, cases) in escalation_lists(app, instance, &entities).await? {
        let Some(digest) = Digest::escalation(&cases, now.date()) else {
            continue;
        };
        let (subject, body) = render(lang.tr(), Kind::Escalation, &digest, &workspace_link(app));
        deliver(app, mailer, &to, &period, &subject, body, report).await?;
    }
    Ok(())
}

type CaseDatesList = Vec<(String, crate::domain::deadlines::CaseDates)>;

/// Each escalation address with the cases it is told about: an entity's own address for its
/// cases, the instance's for the rest.
async fn escalation_lists(
    app: &App,
    instance: Option<String>,
    entities: &[super::entities::Entity],
) -> Result<std::collections::BTreeMap<String, CaseDatesList>> {
    let mut out: std::collections::BTreeMap<String, CaseDatesList> = Default::default();
    for c in app.store().cases().await? {
        let own = c.entity.as_ref().and_then(|slug| {
            let e = entities.iter().find(|e| &e.slug == slug)?;
            e.overrides.escalation_email.clone()
        });
        if let Some(to) = own.or_else(|| instance.clone()) {
            out.entry(to)
                .or_default()
                .push((c.reference.clone(), c.dates()));
        }
    }
    Ok(out)
}

/// Claims (recipient, period), sends, and records the outcome; a failed delivery gives the
/// claim back so a later run tries again. True when the mail went out.
async fn deliver(
    app: &App,
    mailer: &Mailer,
    to: &str,
    period: &str,
    subject: &str,
    body: String,
    report: &mut RunReport,
) -> Result<bool> {
    let store = app.store();
    if !store.claim_notice(to, period).await? {
        return Ok(false);
    }
    let now = app.clock.now();
    match mailer.send(to, subject, body).await {
        Ok(()) => {
            report.sent += 1;
            store
                .set_notify_status(&[("last_ok", stamp(now))], None)
                .await?;
            Ok(true)
        }
        Err(e) => {
            report.failed += 1;
            tracing::warn!(error = %e, "a notification mail could not be delivered");
            store.release_notice(to, period).await?;
            let line = format!("{} {e}", stamp(now));
            store
                .set_notify_status(&[("last_error", line)], None)
                .await?;
            Ok(false)
        }
    }
}

fn stamp(at: time::OffsetDateTime) -> String {
    format!("{} {:02}:{:02} UTC", at.date(), at.hour(), at.minute())
}

/// What the admin settings page shows: whether mail is configured, the last delivery and the
/// last delivery error (never a mail's contents).
#[derive(Debug, Clone, Default)]
pub struct MailStatus {
    pub configured: bool,
    pub last_ok: Option<String>,
    pub last_error: Option<String>,
}

pub async fn status(app: &App) -> Result<MailStatus> {
    let rows = app.store().notify_status().await?;
    let get = |n: &str| rows.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    Ok(MailStatus {
        configured: app.mailer.is_some(),
        last_ok: get("last_ok"),
        last_error: get("last_error"),
    })
}

/// An admin's test mail to their own address; the attempt and its outcome are audited with
/// the status row in one transaction. `Ok(false)`: delivery failed (the status says why).
pub async fn send_test(app: &App, admin: &OfficerRecord, lang: Lang) -> Result<bool> {
    super::accounts::require(admin, Permission::ChangeSettings)?;
    let Some(mailer) = app.mailer.as_ref() else {
        return Err(Error::NotConfigured);
    };
    let t = lang.tr();
    let now = app.clock.now();
    let outcome = mailer
        .send(
            &admin.email,
            t.get("notify.test.subject"),
            t.get("notify.test.body").to_owned(),
        )
        .await;
    let (row, detail) = match &outcome {
        Ok(()) => (("last_ok", stamp(now)), "delivered".to_owned()),
        Err(e) => (
            ("last_error", format!("{} {e}", stamp(now))),
            "failed".to_owned(),
        ),
    };
    let audit = entry(now, &admin.email, action::TEST_MAIL, "", &detail);
    app.store().set_notify_status(&[row], Some(&audit)).await?;
    Ok(outcome.is_ok())
}

/// An officer's choice of mails, saved with its audit row.
pub async fn choose(
    app: &App,
    officer: &OfficerRecord,
    mode: NotifyMode,
    lang: Lang,
) -> Result<()> {
    let audit = entry(
        app.clock.now(),
        &officer.email,
        action::NOTIFY_CHANGED,
        "",
        mode.as_str(),
    );
    app.store()
        .set_notify_prefs(&officer.id, mode, lang.code(), &audit)
        .await?;
    Ok(())
}
