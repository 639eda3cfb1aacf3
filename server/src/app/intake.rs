//! Filing a report: one intake with two entry points. On the server path (no JavaScript) the
//! report arrives in plaintext and is encrypted here, in memory, before the store sees it; an
//! anonymous reporter's name and contact are dropped unread. On the browser path everything
//! arrives encrypted, and the server checks what it can without keys (metadata values, the age
//! format, one envelope for exactly each current holder) so that a broken or hostile client
//! cannot file a case no officer can read. Both end in the same case shape, stored in one
//! transaction before any receipt is shown, with `report_filed` queued (the day only) in that
//! same transaction. Both keep the language the reporter used the form in (one of four,
//! needed for the templates officers answer with; nothing more about the reporter's browser
//! is kept). An officer may enter a report on a reporter's behalf through the browser path
//! (`file_entered`): the case is marked as officer-entered and audited with the officer's
//! name.

use age::x25519::Recipient;
use time::Date;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::audit::action;
use super::entities::Entity;
use super::items::{attachments, inline};
use super::routing::Plan; // routing before sealing (issue 12)
use super::settings::Site;
use super::uploads::{StoredFile, discard};
use super::{App, Error, Result, new_id};
use crate::crypto::{self, CaseKey};
use crate::domain::case::{Channel, ItemKind, ReportMode};
use crate::domain::content::{IdentityContent, ReportContent, to_json};
use crate::domain::entity::{EntitySlug, Membership};
use crate::domain::holder::{Author, CaseId, Holder};
use crate::domain::officer::{Role, parse_recipient};
use crate::domain::permission::Permission;
use crate::domain::receipt::{ReceiptToken, ReporterKeys};
use crate::domain::reference::CaseReference;
use crate::i18n::Lang;
use crate::store::{
    NewCase, NewEnvelope, NewItem, OfficerRecord, ReporterAction, Store, StoreError, StoreResult,
};

/// Every active officer with the `officer` role and a usable key, whatever their entity:
/// whether the instance can take reports at all (`/readyz`, `speakup serve`).
pub async fn recipients(store: &dyn Store) -> StoreResult<Vec<(Holder, Recipient)>> {
    Ok(recipients_of(&store.officers().await?))
}

/// [`recipients`] of an officer list already read.
pub fn recipients_of(officers: &[OfficerRecord]) -> Vec<(Holder, Recipient)> {
    let mut out = Vec::new();
    for o in officers {
        if o.disabled || o.recipient.is_empty() || !o.roles.has(Role::Officer) {
            continue;
        }
        match parse_recipient(&o.recipient) {
            Ok(r) => out.push((o.holder(), r)),
            Err(_) => tracing::warn!(officer = %o.id, "officer has an unusable age recipient"),
        }
    }
    out
}

/// Who a new case's key is sealed to: the triage group of the entity it is filed under
/// (`None`: the instance's own), as `domain::entity::Membership::in_group` says. Routing
/// happens here, before sealing: an officer outside the group gets no envelope at all.
pub async fn group_recipients(
    store: &dyn Store,
    entity: Option<&EntitySlug>,
) -> StoreResult<Vec<(Holder, Recipient)>> {
    let membership = store.membership().await?;
    Ok(in_group(recipients(store).await?, &membership, entity))
}

/// The holders of `all` who are in an entity's triage group (`None`: the instance's).
pub fn in_group(
    all: Vec<(Holder, Recipient)>,
    membership: &Membership,
    entity: Option<&EntitySlug>,
) -> Vec<(Holder, Recipient)> {
    all.into_iter()
        .filter(|(h, _)| match h {
            Holder::Officer(id) => membership.in_group(id, entity),
            _ => false,
        })
        .collect()
}

/// Whether the intake of an entity (`None`: the instance's) accepts reports: its group has
/// a key.
pub async fn is_open(app: &App, entity: Option<&Entity>) -> Result<bool> {
    let slug = entity.map(|e| &e.slug);
    Ok(!group_recipients(app.store(), slug).await?.is_empty())
}

/// What the reporter typed on the form, wiped when dropped.
#[derive(Default, Zeroize, ZeroizeOnDrop)]
pub struct Draft {
    pub category: String,
    pub what: String,
    pub when_where: String,
    pub involved: String,
    /// "anonymous" or "confidential".
    pub mode: String,
    pub name: String,
    pub contact: String,
    /// A meeting asked for: "", "in_person" or "phone"; and what the reporter wrote about it.
    pub meeting: String,
    pub availability: String,
    /// Routing before sealing (issue 12): the officers (account ids) the reporter leaves out.
    pub leave_out: Vec<String>,
}

/// The problems with a draft, as catalog keys; empty when it can be filed.
pub fn check(site: &Site, d: &Draft) -> Vec<&'static str> {
    let mut errors = Vec::new();
    if site.category(&d.category).is_none() {
        errors.push("report.error.category");
    }
    if d.what.trim().is_empty() {
        errors.push("report.error.what_required");
    }
    match d.mode.parse::<ReportMode>() {
        Ok(ReportMode::Confidential) if d.name.trim().is_empty() => {
            errors.push("report.error.identity_required")
        }
        Ok(_) => {}
        Err(_) => errors.push("report.error.mode"),
    }
    match super::meetings::parse_kind(&d.meeting) {
        Err(_) => errors.push("meetings.error.kind"),
        Ok(None) if !d.availability.trim().is_empty() => errors.push("meetings.error.no_kind"),
        Ok(_) => {}
    }
    errors
}

/// The server path, begun before the form is read: the receipt token, the reporter's keys
/// and the case key exist first, so each file can be encrypted to the case and the reporter
/// as it arrives.
pub struct PlainIntake {
    pub holders: Vec<(Holder, Recipient)>,
    /// Routing before sealing (issue 12): who of `holders` the key goes to, once the
    /// category and the leave-outs are read.
    pub plan: Plan,
    entity: Option<EntitySlug>,
    token: ReceiptToken,
    reporter: ReporterKeys,
    case_key: CaseKey,
    to: [Recipient; 2],
}

impl PlainIntake {
    pub async fn begin(app: &App, entity: Option<&Entity>) -> Result<Self> {
        // Routing before sealing (issue 12): the candidates are the entity's triage group
        // (`group_recipients`), narrowed by the plan once the category and leave-outs are read.
        let plan = Plan::load(app, entity).await?;
        let holders = plan.candidates().to_vec();
        let entity = entity.map(|e| e.slug.clone());
        if holders.is_empty() {
            return Err(Error::NotConfigured);
        }
        let token = ReceiptToken::generate().map_err(Error::internal)?;
        let reporter = token.derive();
        let case_key = CaseKey::generate();
        let to = [case_key.recipient(), reporter.recipient()];
        Ok(Self {
            holders,
            plan,
            entity,
            token,
            reporter,
            case_key,
            to,
        })
    }

    /// What the report's items and files are encrypted to: the case and the reporter.
    pub fn recipients(&self) -> [&Recipient; 2] {
        [&self.to[0], &self.to[1]]
    }

    /// Encrypts and stores the case with the language the reporter filed in; returns the
    /// receipt token (shown once) and the reference. On failure the files are discarded.
    pub async fn file(
        self,
        app: &App,
        draft: &Draft,
        lang: Lang,
        files: Vec<StoredFile>,
    ) -> Result<(ReceiptToken, CaseReference)> {
        let filed = self.seal(app, draft, lang, &files).await;
        match filed {
            Ok(case) => finish(app, case, &files).await.map(|r| (self.token, r)),
            Err(e) => {
                discard(app.store(), &files).await;
                Err(e)
            }
        }
    }

    async fn seal(
        &self,
        app: &App,
        d: &Draft,
        lang: Lang,
        files: &[StoredFile],
    ) -> Result<NewCase> {
        let today = app.clock.today();
        let both: Vec<&Recipient> = self.recipients().to_vec();
        let report = ReportContent::new(&d.category, &d.what, &d.when_where, &d.involved);
        let mode = d.mode.parse::<ReportMode>().map_err(|_| Error::Invalid)?;
        let identity = (mode == ReportMode::Confidential)
            .then(|| crypto::encrypt(&both, &to_json(&IdentityContent::new(&d.name, &d.contact))))
            .transpose()?;
        let report = crypto::encrypt(&both, &to_json(&report))?;
        let kind = super::meetings::parse_kind(&d.meeting)?;
        let availability = d.availability.trim();
        let availability = (!availability.is_empty())
            .then(|| crypto::encrypt(&both, availability.as_bytes()))
            .transpose()?;
        let (said, meeting) = super::meetings::at_intake(kind, availability, today)?;
        // Routing before sealing (issue 12): only the category's readers, less the leave-outs.
        let sealing = (self.plan)
            .seal_to(&d.category, &d.leave_out)
            .map_err(|_| Error::Invalid)?;
        let mut envelopes = Vec::with_capacity(sealing.holders.len() + 1);
        let escrow = app.site.get().escrow.clone().map(|r| (Holder::Escrow, r));
        for (holder, r) in sealing.holders.into_iter().chain(escrow) {
            let envelope = self.case_key.seal_to(&r)?;
            envelopes.push(NewEnvelope {
                holder,
                recipient: r.to_string(),
                envelope,
            });
        }
        Ok(NewCase {
            id: CaseId::generate(),
            reference: String::new(),
            lookup: self.reporter.lookup.0.to_vec(),
            case_recipient: self.to[0].to_string(),
            reporter_recipient: self.to[1].to_string(),
            category: d.category.clone(),
            mode,
            received_on: today,
            reporter_lang: lang,
            entity: self.entity.clone(),
            routed_to: sealing.routed_to,
            envelopes,
            items: report_items(report, identity, files, today)
                .into_iter()
                .chain(said)
                .collect(),
            meeting,
            channel: Channel::Web,
            audit: None,
            reporter_audit: Vec::new(),
            left_out: sealing.left_out,
        })
    }
}

/// The report, the identity (confidential reports only) and the files attached to the report.
fn report_items(
    report: Vec<u8>,
    identity: Option<Vec<u8>>,
    files: &[StoredFile],
    today: Date,
) -> Vec<NewItem> {
    let report_id = new_id();
    let r = Author::Reporter;
    let mut items = vec![inline(
        report_id.clone(),
        ItemKind::Report,
        &r,
        true,
        today,
        report,
    )];
    if let Some(identity) = identity {
        items.push(inline(
            new_id(),
            ItemKind::Identity,
            &r,
            true,
            today,
            identity,
        ));
    }
    items.extend(attachments(files, Some(&report_id), &r, true, today));
    items
}

/// Stores the case with its queued `report_filed` (and `meeting_requested` when the form
/// asked for a meeting, `officers_left_out` when the reporter left officers out), all in the
/// case's own transaction: no receipt without its audit row, no row without its case. On
/// failure the files are discarded.
async fn finish(app: &App, mut case: NewCase, files: &[StoredFile]) -> Result<CaseReference> {
    case.reporter_audit = reporter_actions(&case, app.clock.today());
    let reference = match store_new_case(app.store(), case).await {
        Ok(r) => r,
        Err(e) => {
            discard(app.store(), files).await;
            return Err(e);
        }
    };
    app.metrics.report_received();
    Ok(reference)
}

/// The reporter actions a new case queues for the audit log, with the day only.
fn reporter_actions(case: &NewCase, today: Date) -> Vec<ReporterAction> {
    let meeting = case.meeting.is_some();
    let left_out = !case.left_out.is_empty(); // routing before sealing (issue 12)
    [
        Some(action::REPORT_FILED),
        meeting.then_some(action::MEETING_REQUESTED),
        left_out.then_some(action::OFFICERS_LEFT_OUT),
    ]
    .into_iter()
    .flatten()
    .map(|action| ReporterAction { day: today, action })
    .collect()
}

/// Stores a case under a fresh reference. References are random (about 39 bits), so a
/// clash is rare but possible; the failed transaction left nothing behind, so trying again
/// with a new reference is safe.
pub async fn store_new_case(store: &dyn Store, mut case: NewCase) -> Result<CaseReference> {
    let mut attempts = 0;
    loop {
        let reference = CaseReference::generate().map_err(Error::internal)?;
        case.reference = reference.as_str().into();
        if let Some(audit) = case.audit.as_mut() {
            audit.case_ref = reference.as_str().into();
        }
        match store.create_case(&case).await {
            Ok(()) => return Ok(reference),
            Err(StoreError::DuplicateReference) if attempts < 5 => attempts += 1,
            Err(e) => return Err(e.into()),
        }
    }
}

/// A report encrypted in the browser, as the form carried it.
#[derive(Default)]
pub struct SealedReport {
    pub category: String,
    pub mode: String,
    /// The lookup value the browser derived from the receipt, 64 hex characters.
    pub lookup: String,
    pub case_recipient: String,
    pub reporter_recipient: String,
    pub report: Option<Vec<u8>>,
    pub identity: Option<Vec<u8>>,
    /// Sealed copies of the case key, each with the holder it names.
    pub envelopes: Vec<(String, Vec<u8>)>,
    pub files: Vec<StoredFile>,
    /// The language the reporter used the form in.
    pub lang: Lang,
    /// A meeting asked for ("", "in_person" or "phone"), and what the reporter wrote about it
    /// (ciphertext to the case and the reporter).
    pub meeting: String,
    pub availability: Option<Vec<u8>>,
    /// Routing before sealing (issue 12): the officers left out, account ids separated by
    /// spaces (the form's `leave_out`; empty for none).
    pub leave_out: String,
    /// The entity the report is filed under (`None`: the instance's own intake).
    pub entity: Option<Entity>,
}

/// How many sealed case keys a browser-path report carries: one per current holder, plus the
/// escrow's when one is set. The form reader accepts no more.
pub async fn envelope_count(app: &App, entity: Option<&Entity>) -> Result<usize> {
    let d = app.intake_holders.current(app.store()).await?;
    let slug = entity.map(|e| &e.slug);
    let holders = in_group(d.holders.clone(), &d.membership, slug).len();
    Ok(holders + usize::from(app.site.get().escrow.is_some()))
}

/// The browser path. Anything that does not check out is refused (`Invalid`) and the files
/// are discarded.
pub async fn file_sealed(app: &App, form: SealedReport) -> Result<CaseReference> {
    // Routing before sealing (issue 12): the holders expected are the entity's group, then
    // the category's readers less the leave-outs.
    let plan = Plan::load(app, form.entity.as_ref()).await?;
    if plan.candidates().is_empty() {
        discard(app.store(), &form.files).await;
        return Err(Error::NotConfigured);
    }
    let chosen: Vec<String> = form
        .leave_out
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let sealing = match plan.seal_to(&form.category, &chosen) {
        Ok(s) => s,
        Err(_) => {
            discard(app.store(), &form.files).await;
            return Err(Error::Invalid);
        }
    };
    let case = match sealed_case(app, &form, sealing) {
        Some(c) => c,
        None => {
            discard(app.store(), &form.files).await;
            return Err(Error::Invalid);
        }
    };
    finish(app, case, &form.files).await
}

fn sealed_case(
    app: &App,
    form: &SealedReport,
    sealing: super::routing::Sealing,
) -> Option<NewCase> {
    let holders = sealing.holders;
    let instance = app.site.get();
    let site = match &form.entity {
        Some(e) => std::sync::Arc::new(e.site(&instance)),
        None => instance,
    };
    site.category(&form.category)?;
    let mode = form.mode.parse::<ReportMode>().ok()?;
    let lookup = parse_hex32(&form.lookup)?;
    let case_recipient = parse_recipient(&form.case_recipient).ok()?;
    let reporter_recipient = parse_recipient(&form.reporter_recipient).ok()?;
    let report = form.report.clone()?;
    if (mode == ReportMode::Confidential) != form.identity.is_some() {
        return None;
    }
    // Exactly one envelope per holder the server would have sealed to itself.
    let escrow = site.escrow.clone().map(|r| (Holder::Escrow, r));
    let expected: Vec<(Holder, Recipient)> = holders.into_iter().chain(escrow).collect();
    if form.envelopes.len() != expected.len() {
        return None;
    }
    let mut envelopes = Vec::new();
    for (holder, recipient) in expected {
        let name = holder.to_db();
        let (_, sealed) = form.envelopes.iter().find(|(h, _)| *h == name)?;
        envelopes.push(NewEnvelope {
            holder,
            recipient: recipient.to_string(),
            envelope: sealed.clone(),
        });
    }
    let today = app.clock.today();
    let kind = super::meetings::parse_kind(&form.meeting).ok()?;
    let (said, meeting) =
        super::meetings::at_intake(kind, form.availability.clone(), today).ok()?;
    Some(NewCase {
        id: CaseId::generate(),
        reference: String::new(),
        lookup: lookup.to_vec(),
        case_recipient: case_recipient.to_string(),
        reporter_recipient: reporter_recipient.to_string(),
        category: form.category.clone(),
        mode,
        received_on: today,
        reporter_lang: form.lang,
        entity: form.entity.as_ref().map(|e| e.slug.clone()),
        routed_to: sealing.routed_to,
        envelopes,
        items: report_items(report, form.identity.clone(), &form.files, today)
            .into_iter()
            .chain(said)
            .collect(),
        meeting,
        channel: Channel::Web,
        audit: None,
        reporter_audit: Vec::new(),
        left_out: sealing.left_out,
    })
}

/// A report an officer entered on a reporter's behalf (a call, a meeting, a letter), sealed in
/// the officer's browser exactly as on the reporter's browser path and checked the same way.
/// The case is marked `officer_entered` and stored with its `report_entered` row naming the
/// officer, in one transaction. The receipt was made in the officer's browser; the server
/// never sees it.
pub async fn file_entered(
    app: &App,
    who: &OfficerRecord,
    form: SealedReport,
) -> Result<CaseReference> {
    if let Err(e) = super::accounts::require(who, Permission::EnterReports) {
        discard(app.store(), &form.files).await;
        return Err(e);
    }
    // Into the instance's own intake, or an entity whose triage group the officer is in.
    if let Some(e) = &form.entity {
        let membership = app.store.membership().await?;
        if !membership.in_group(&who.id, Some(&e.slug)) {
            discard(app.store(), &form.files).await;
            return Err(Error::Forbidden);
        }
    }
    // Routed like a reporter's report (issue 12); the officer leaves nobody out.
    let plan = Plan::load(app, form.entity.as_ref()).await?;
    if plan.candidates().is_empty() {
        discard(app.store(), &form.files).await;
        return Err(Error::NotConfigured);
    }
    let Ok(sealing) = plan.seal_to(&form.category, &[]) else {
        discard(app.store(), &form.files).await;
        return Err(Error::Invalid);
    };
    let case = match sealed_case(app, &form, sealing) {
        Some(c) => NewCase {
            channel: Channel::OfficerEntered,
            audit: Some(super::audit::entry(
                app.clock.now(),
                &who.email,
                action::REPORT_ENTERED,
                "",
                "",
            )),
            ..c
        },
        None => {
            discard(app.store(), &form.files).await;
            return Err(Error::Invalid);
        }
    };
    match store_new_case(app.store(), case).await {
        Ok(reference) => {
            app.metrics.report_received();
            Ok(reference)
        }
        Err(e) => {
            discard(app.store(), &form.files).await;
            Err(e)
        }
    }
}

/// 64 hex characters as 32 bytes (the lookup value the browser sends).
pub fn parse_hex32(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}
