//! Officers' work on cases: who may open a case, the case list with its deadlines and
//! counters, the case as the page shows it (ciphertext and metadata only, its history in
//! chronological order), and every action (messages and the
//! acknowledgement, notes, status changes, grants, revocations, exclusions, reveals,
//! downloads). Officer-only items go to the case's officer key (`officer_key`), not the
//! case key. Each action is checked against `Permission` and the case's access rows, and
//! commits with its audit row in one transaction; content arrives already encrypted by the
//! officer's browser.

use std::collections::HashMap;

use time::Date;

use super::accounts::{audit_only, require};
use super::audit::{action, entry};
use super::entities;
use super::items::message_with_files;
use super::officer_key;
use super::owners;
use super::uploads::{StoredFile, discard};
use super::{App, Error, Result};
use crate::domain::case::{
    CaseStatus, ItemKind, Outcome, may_acknowledge, status_after_acknowledgement,
};
use crate::domain::deadlines::{Counts, Deadlines, DueSoon};
use crate::domain::holder::{AccessKind, Holder, OfficerId};
use crate::domain::permission::{Permission, may_open_case};
use crate::domain::timeline::{AccessChange, Moment};
use crate::i18n::Lang;
use crate::store::{AccessRecord, CaseUpdate, EventRecord, NewEvent};
use crate::store::{CaseRecord, EnvelopeRecord, ItemRecord, NewEnvelope, OfficerRecord};

/// A case this person may work on now, with their copy of its key.
pub struct Opened {
    pub case: CaseRecord,
    pub envelope: EnvelopeRecord,
    pub access: Vec<AccessRecord>,
}

fn mine(access: &[AccessRecord], who: &OfficerId) -> Option<AccessKind> {
    access.iter().find(|a| &a.officer_id == who).map(|a| a.kind)
}

/// The case and its access rows, if this person has the permission and may open the case
/// (not excluded; granted unless in the triage group).
async fn permitted_case(
    app: &App,
    who: &OfficerRecord,
    reference: &str,
    permission: Permission,
) -> Result<(CaseRecord, Vec<AccessRecord>)> {
    require(who, permission)?;
    let case = app
        .store
        .case_by_reference(reference)
        .await?
        .ok_or(Error::NotFound)?;
    let access = app.store.case_access(&case.id).await?;
    if !may_open_case(&who.roles, mine(&access, &who.id)) {
        return Err(Error::Forbidden);
    }
    // Officers see only their entities' cases (issue 12), unless a colleague granted one.
    let membership = app.store.membership().await?;
    if !entities::visible(&membership, &who.id, &case, &access) {
        return Err(Error::Forbidden);
    }
    Ok((case, access))
}

/// The case, if this person may work on it now: a case role, not excluded, granted unless
/// in the triage group, and an envelope sealed to their current key.
pub async fn open(app: &App, who: &OfficerRecord, reference: &str) -> Result<Opened> {
    let (case, access) = permitted_case(app, who, reference, Permission::WorkOnCases).await?;
    let envelope = app
        .store
        .envelopes(&case.id)
        .await?
        .into_iter()
        .find(|e| e.holder.is_officer(&who.id) && e.recipient == who.recipient)
        .ok_or(Error::Forbidden)?;
    Ok(Opened {
        case,
        envelope,
        access,
    })
}

/// The case list's filters, as given.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub status: String,
    pub category: String,
    pub assignee: String,
    pub overdue_only: bool,
    /// Only cases whose acknowledgement (or feedback) is due soon.
    pub due: Option<DueSoon>,
    /// Only the cases this person owns ("my cases").
    pub mine_only: bool,
    /// `deadline` (default), `received` or `reference`.
    pub sort: String,
}

pub struct Listed {
    pub case: CaseRecord,
    pub deadlines: Deadlines,
    /// Names of the colleagues granted the case.
    pub assignees: Vec<String>,
    /// The owner's name; `None` when the case is unowned (see `owners::owner`).
    pub owner: Option<String>,
    /// When the earliest meeting the reporter asked for and no one has held yet is due.
    pub meeting_due: Option<Date>,
}

pub struct CaseList {
    pub cases: Vec<Listed>,
    /// The counters over every case this person may see, whatever the filters.
    pub counts: Counts,
    /// Everyone granted some case, as (id, name), for the assignee filter.
    pub assignees: Vec<(OfficerId, String)>,
}

/// The cases this person may see, filtered and sorted. Metadata only.
pub async fn list(app: &App, who: &OfficerRecord, f: &Filter) -> Result<CaseList> {
    require(who, Permission::WorkOnCases)?;
    let today = app.clock.today();
    let access = app.store.all_case_access().await?;
    let officers = app.store.officers().await?;
    let people: HashMap<OfficerId, String> = officers
        .iter()
        .map(|o| (o.id.clone(), o.name.clone()))
        .collect();
    let mut granted: HashMap<&str, Vec<&OfficerId>> = HashMap::new();
    for a in access.iter().filter(|a| a.kind == AccessKind::Grant) {
        granted
            .entry(a.case_id.as_str())
            .or_default()
            .push(&a.officer_id);
    }
    let membership = app.store.membership().await?;
    let visible = |c: &CaseRecord| {
        let mine = access
            .iter()
            .find(|a| a.case_id == c.id && a.officer_id == who.id)
            .map(|a| a.kind);
        may_open_case(&who.roles, mine) && entities::visible(&membership, &who.id, c, &access)
    };
    let assigned = |c: &CaseRecord| granted.get(c.id.as_str()).cloned().unwrap_or_default();
    let all: Vec<CaseRecord> = app
        .store
        .cases()
        .await?
        .into_iter()
        .filter(visible)
        .collect();
    let meetings = super::meetings::open_due(app).await?;
    let mut counts = Counts::default();
    for c in &all {
        counts.add(c.status, &c.deadlines(today));
    }
    let mut cases: Vec<Listed> = all
        .into_iter()
        .filter(|c| f.status.is_empty() || c.status.as_str() == f.status)
        .filter(|c| f.category.is_empty() || c.category == f.category)
        .filter(|c| f.assignee.is_empty() || assigned(c).iter().any(|id| id.as_str() == f.assignee))
        .filter(|c| !f.mine_only || owners::owner(c, &officers).is_some_and(|o| o.id == who.id))
        .map(|c| Listed {
            deadlines: c.deadlines(today),
            assignees: assigned(&c).iter().map(|id| name_of(&people, id)).collect(),
            owner: owners::owner(&c, &officers).map(|o| o.name.clone()),
            meeting_due: meetings.get(&c.id).copied(),
            case: c,
        })
        .filter(|l| !f.overdue_only || l.deadlines.overdue())
        .filter(|l| f.due.is_none_or(|d| l.deadlines.due_soon(d)))
        .collect();
    match f.sort.as_str() {
        "received" => cases.sort_by_key(|l| std::cmp::Reverse(l.case.received_on)),
        "reference" => cases.sort_by(|a, b| a.case.reference.cmp(&b.case.reference)),
        _ => cases.sort_by_key(|l| Deadlines::next(&l.case.dates())),
    }
    let mut assignees: Vec<(OfficerId, String)> = granted
        .values()
        .flatten()
        .map(|id| ((*id).clone(), name_of(&people, id)))
        .collect();
    assignees.sort();
    assignees.dedup();
    Ok(CaseList {
        cases,
        counts,
        assignees,
    })
}

fn name_of(people: &HashMap<OfficerId, String>, id: &OfficerId) -> String {
    people.get(id).cloned().unwrap_or_else(|| id.to_string())
}

/// One holder of the case key, as the access panel shows it.
pub struct HolderView {
    pub holder: Holder,
    pub name: String,
    pub granted: bool,
}

/// The case as the page shows it: metadata, ciphertext, history, and who may be granted or
/// excluded.
pub struct CaseView {
    pub items: Vec<ItemRecord>,
    pub events: Vec<EventRecord>,
    pub people: HashMap<OfficerId, String>,
    pub holders: Vec<HolderView>,
    pub grantable: Vec<OfficerRecord>,
    pub excludable: Vec<OfficerRecord>,
    /// Proposed exclusions: (colleague, proposer's name, whether this person may confirm).
    pub pending_exclusions: Vec<(OfficerRecord, String, bool)>,
    /// Exclusions in force: (colleague, whether this person may lift it).
    pub exclusions: Vec<(OfficerRecord, bool)>,
    /// Routing before sealing: the colleagues the reporter left out (among `exclusions`).
    pub left_out: Vec<OfficerId>,
    pub deadlines: Deadlines,
    /// The feedback date an acknowledgement sent today would promise.
    pub feedback_promised: Date,
    /// Who gave or denied whom access, from the audit log (names where known).
    pub access_changes: Vec<AccessEntry>,
    /// The case's owner (`None`: unowned), and who it could be handed to (empty unless this
    /// person may manage case access).
    pub owner: Option<OfficerRecord>,
    pub owner_choices: Vec<OfficerRecord>,
    /// Whether an acknowledgement may still be sent (any open status, none sent yet).
    pub may_acknowledge: bool,
    /// The language the reporter filed in: every template offered to officers is in it.
    pub reporter_lang: Lang,
    /// Every holder of the case key (`officer:<id>` or `escrow`) with the recipient their copy
    /// is sealed to: whom a new officer key is sealed to (`officer_key::create`).
    pub key_holders: Vec<(String, String)>,
    /// The reporter's meeting requests, as tasks with due dates.
    pub meetings: Vec<super::meetings::Task>,
    /// The case's minutes by the message item that holds them, with the reporter's answer.
    pub minutes: HashMap<String, crate::store::MinutesRecord>,
}

/// One access change of the case's history.
pub struct AccessEntry {
    pub at: i64,
    pub seq: i64,
    pub change: AccessChange,
    pub by: String,
    pub whom: String,
}

/// One entry of the case's history.
pub enum Happened<'a> {
    /// The report, a message either way, a note, or a file sent on its own. The identity
    /// and the files of a message are not entries of their own.
    Item(&'a ItemRecord),
    /// A status change (with its encrypted reason, if any).
    Status(&'a EventRecord),
    Access(&'a AccessEntry),
}

impl CaseView {
    /// The case's whole history in chronological order (`domain::timeline::Moment`).
    pub fn history(&self) -> Vec<Happened<'_>> {
        let shown = |i: &&ItemRecord| match i.kind {
            ItemKind::Identity => false,
            ItemKind::Attachment => i.parent_id.is_none(),
            _ => true,
        };
        let mut all: Vec<(Moment, Happened<'_>)> = self
            .items
            .iter()
            .filter(shown)
            .map(|i| (Moment::dated(i.created_on, i.seq), Happened::Item(i)))
            .collect();
        all.extend(
            self.events
                .iter()
                .map(|e| (Moment::timed(e.at, e.seq), Happened::Status(e))),
        );
        all.extend(
            self.access_changes
                .iter()
                .map(|a| (Moment::timed(a.at, a.seq), Happened::Access(a))),
        );
        // Stable: entries at the same moment keep the order they were added in.
        all.sort_by_key(|(m, _)| *m);
        all.into_iter().map(|(_, h)| h).collect()
    }
}

/// The access changes of a case, from its audit rows, with names for the e-mail addresses.
async fn access_changes(
    app: &App,
    case_ref: &str,
    officers: &[OfficerRecord],
) -> Result<Vec<AccessEntry>> {
    let names: Vec<&str> = AccessChange::ALL.iter().map(|c| c.as_str()).collect();
    let name = |email: &str| {
        officers
            .iter()
            .find(|o| o.email == email)
            .map_or_else(|| email.to_owned(), |o| o.name.clone())
    };
    Ok(app
        .store
        .case_audit(case_ref, &names)
        .await?
        .into_iter()
        .filter_map(|r| {
            Some(AccessEntry {
                change: r.entry.action.parse().ok()?,
                at: r.entry.at,
                seq: r.seq,
                by: name(&r.entry.actor),
                whom: name(&r.entry.detail),
            })
        })
        .collect())
}

/// The reporter's language, or for cases filed before it was kept, the instance's default
/// language (the one every page falls back to).
pub fn reporter_lang(case: &CaseRecord) -> Lang {
    case.reporter_lang.unwrap_or_default()
}

/// Opens the case page (audited as `case_opened`), or with a reason, reveals the identity
/// too (audited as `identity_revealed`, the reason in the clear so auditors can judge it).
pub async fn view(
    app: &App,
    who: &OfficerRecord,
    o: &Opened,
    reveal_reason: Option<&str>,
) -> Result<CaseView> {
    let (name, detail) = match reveal_reason {
        None => (action::CASE_OPENED, ""),
        Some(reason) => (action::IDENTITY_REVEALED, reason),
    };
    let now = app.clock.now();
    // The first officer to open an unowned case becomes its owner, in the same transaction
    // as the opening's audit row.
    match owners::claim(app, who, &o.case, now).await? {
        None => audit_only(app, who, name, &o.case.reference, detail).await?,
        Some(claim) => {
            let update = CaseUpdate {
                claim: Some(claim),
                ..Default::default()
            };
            let opened = entry(now, &who.email, name, &o.case.reference, detail);
            app.store
                .update_case(&o.case.id, &update, &[opened])
                .await?;
        }
    }
    case_view(app, who, o).await
}

/// A reveal needs a reason of 1 to 500 characters.
pub fn reveal_reason_ok(reason: &str) -> bool {
    !reason.trim().is_empty() && reason.trim().chars().count() <= 500
}

/// Who holds a copy of the case key, as the access panel lists them.
fn holder_views(
    envelopes: &[EnvelopeRecord],
    people: &HashMap<OfficerId, String>,
    access: &[AccessRecord],
) -> Vec<HolderView> {
    let granted = |id: &OfficerId| {
        access
            .iter()
            .any(|a| a.kind == AccessKind::Grant && &a.officer_id == id)
    };
    envelopes
        .iter()
        .map(|e| HolderView {
            name: e
                .holder
                .officer()
                .map(|id| name_of(people, id))
                .unwrap_or_default(),
            granted: e.holder.officer().is_some_and(granted),
            holder: e.holder.clone(),
        })
        .collect()
}

/// The case's owner and, for someone who may manage case access, who it could go to.
fn ownership(
    who: &OfficerRecord,
    c: &CaseRecord,
    officers: &[OfficerRecord],
    envelopes: &[EnvelopeRecord],
    access: &[AccessRecord],
) -> (Option<OfficerRecord>, Vec<OfficerRecord>) {
    let choices = if Permission::ManageCaseAccess.granted_to(&who.roles) {
        owners::choices(c, officers, envelopes, access)
    } else {
        Vec::new()
    };
    (owners::owner(c, officers).cloned(), choices)
}

/// Exclusions in force, each with whether this person may lift it, and (routing before
/// sealing) those the reporter made, which only an auditor lifts.
fn exclusions_in_force(
    who: &OfficerRecord,
    access: &[AccessRecord],
    officers: &[OfficerRecord],
) -> (Vec<(OfficerRecord, bool)>, Vec<OfficerId>) {
    let by_reporter =
        |a: &AccessRecord| a.by_officer.as_str() == crate::domain::routing::BY_REPORTER;
    let excluded = access.iter().filter(|a| a.kind == AccessKind::Exclusion);
    let in_force = excluded
        .clone()
        .filter_map(|a| {
            let colleague = officers.iter().find(|o| o.id == a.officer_id)?.clone();
            Some((colleague, a.by_officer != who.id && !by_reporter(a)))
        })
        .collect();
    let left_out = excluded
        .filter(|a| by_reporter(a))
        .map(|a| a.officer_id.clone())
        .collect();
    (in_force, left_out)
}

/// The case view without an audit row (a form shown again after a refused reveal).
pub async fn case_view(app: &App, who: &OfficerRecord, o: &Opened) -> Result<CaseView> {
    // Read again: opening the page may just have made this person the owner.
    let fresh = app.store.case_by_reference(&o.case.reference).await?;
    let c = fresh.as_ref().unwrap_or(&o.case);
    let today = app.clock.today();
    let officers = app.store.officers().await?;
    let people: HashMap<OfficerId, String> = officers
        .iter()
        .map(|o| (o.id.clone(), o.name.clone()))
        .collect();
    let envelopes = app.store.envelopes(&c.id).await?;
    let has = |kind: AccessKind, id: &OfficerId| {
        o.access
            .iter()
            .any(|a| a.kind == kind && &a.officer_id == id)
    };
    // A colleague whose copy is sealed to a key they no longer have (they replaced it after a
    // reset) can be given a fresh copy: only a copy to their current key counts as holding.
    let holds_current = |a: &OfficerRecord| {
        envelopes
            .iter()
            .any(|e| e.holder.is_officer(&a.id) && e.recipient == a.recipient)
    };
    let holds = |a: &OfficerRecord| envelopes.iter().any(|e| e.holder.is_officer(&a.id));
    let case_role = |a: &OfficerRecord| Permission::WorkOnCases.granted_to(&a.roles);
    let grantable = officers
        .iter()
        .filter(|a| !a.disabled && !a.recipient.is_empty() && a.enrolled && case_role(a))
        .filter(|a| !holds_current(a) && !has(AccessKind::Exclusion, &a.id))
        .cloned()
        .collect();
    let (owner, owner_choices) = ownership(who, c, &officers, &envelopes, &o.access);
    let pending = app.store.pending_exclusions(&c.id).await?;
    let by_id = |id: &OfficerId| officers.iter().find(|a| &a.id == id).cloned();
    let pending_exclusions = pending
        .iter()
        .filter_map(|(t, by, _)| Some((by_id(t)?, name_of(&people, by), by != &who.id)))
        .collect();
    let (exclusions, left_out) = exclusions_in_force(who, &o.access, &officers);
    let excludable = officers
        .iter()
        .filter(|a| a.id != who.id && !has(AccessKind::Exclusion, &a.id))
        .filter(|a| !pending.iter().any(|(t, _, _)| t == &a.id))
        .filter(|a| a.roles.has(crate::domain::officer::Role::Officer) || holds(a))
        .cloned()
        .collect();
    Ok(CaseView {
        items: app.store.items(&c.id).await?,
        events: app.store.events(&c.id).await?,
        holders: holder_views(&envelopes, &people, &o.access),
        people,
        grantable,
        excludable,
        pending_exclusions,
        exclusions,
        left_out,
        deadlines: c.deadlines(today),
        feedback_promised: Deadlines::feedback_promised(&c.dates(), today),
        access_changes: access_changes(app, &c.reference, &officers).await?,
        owner,
        owner_choices,
        may_acknowledge: may_acknowledge(c.status, c.acknowledged_on),
        reporter_lang: reporter_lang(c),
        key_holders: envelopes
            .iter()
            .map(|e| (e.holder.to_db(), e.recipient.clone()))
            .collect(),
        meetings: super::meetings::tasks(app, c).await?,
        minutes: super::meetings::minutes(app, c).await?,
    })
}

/// The blob holding one item's text as the case page's browser fetches it: a message's,
/// note's or the report's age file, or an attachment's encrypted name. Not audited on its
/// own: the page view that lists the item was (`case_opened`), and the web layer serves it
/// only with that view's read token. The identity item is never served here: it is read
/// only through a reveal, which is audited with its reason.
pub async fn item_text(app: &App, o: &Opened, item: &str) -> Result<String> {
    let found = app
        .store
        .item(&o.case.id, item)
        .await?
        .ok_or(Error::NotFound)?;
    match found.kind {
        ItemKind::Attachment => found.name_blob_id.ok_or(Error::NotFound),
        ItemKind::Identity => Err(Error::NotFound),
        _ => Ok(found.blob_id),
    }
}

/// The attachment's stored ciphertext, for the browser to decrypt; audited.
pub async fn download(
    app: &App,
    who: &OfficerRecord,
    o: &Opened,
    item: &str,
) -> Result<ItemRecord> {
    let found = app
        .store
        .item(&o.case.id, item)
        .await?
        .filter(|i| i.kind == ItemKind::Attachment)
        .ok_or(Error::NotFound)?;
    audit_only(
        app,
        who,
        action::ITEM_DOWNLOADED,
        &o.case.reference,
        &found.id,
    )
    .await?;
    Ok(found)
}

/// Ciphertext an officer's browser sent for one action.
pub struct Sent {
    pub message: Option<Vec<u8>>,
    pub files: Vec<StoredFile>,
}

impl Sent {
    async fn refuse(self, app: &App, e: Error) -> Result<()> {
        discard(app.store(), &self.files).await;
        Err(e)
    }
}

/// What kind of message: an ordinary one, or the acknowledgement. Either may mark the
/// Directive's feedback as given.
pub struct MessageKind {
    pub acknowledgement: bool,
    pub feedback: bool,
    /// The message is the minutes of a meeting or call, for the reporter to confirm or
    /// correct (`app::meetings`); it needs text, and is not an acknowledgement.
    pub minutes: bool,
}

/// A message the reporter reads in the mailbox (encrypted to the case and the reporter).
/// The acknowledgement may be sent from any open status while none was sent; the first
/// message to the reporter of a case not yet acknowledged counts as its acknowledgement.
/// Either sets the acknowledgement date (moving a `received` case to `acknowledged`) and makes
/// the sender the owner of an unowned case, with their audit rows, in one transaction.
pub async fn message(
    app: &App,
    who: &OfficerRecord,
    o: &Opened,
    sent: Sent,
    kind: MessageKind,
) -> Result<()> {
    let c = &o.case;
    let ack = may_acknowledge(c.status, c.acknowledged_on);
    if (sent.message.is_none() && sent.files.is_empty())
        || (kind.acknowledgement && (sent.message.is_none() || !ack))
        || (kind.minutes && (sent.message.is_none() || kind.acknowledgement))
    {
        return sent.refuse(app, Error::Invalid).await;
    }
    let now = app.clock.now();
    let today = app.clock.today();
    let moved = if ack {
        status_after_acknowledgement(c.status)
    } else {
        None
    };
    let audit = message_audit(who, c, &kind, ack, moved, sent.files.len(), now);
    let claim = if ack {
        owners::claim(app, who, c, now).await?
    } else {
        None
    };
    let author = crate::domain::holder::Author::Officer(who.id.clone());
    let items = message_with_files(
        sent.message.clone(),
        &sent.files,
        ItemKind::Message,
        &author,
        true,
        today,
    );
    // The message comes first (`message_with_files`); minutes always have one.
    let minutes = kind.minutes.then(|| items[0].id.clone());
    let update = CaseUpdate {
        items,
        event: moved.map(|status| NewEvent {
            at: now.unix_timestamp(),
            actor: who.id.clone(),
            status,
            outcome: None,
            reason: None,
        }),
        acknowledged_on: ack.then_some(today),
        feedback_on: kind.feedback.then_some(today),
        closed_on: None,
        claim,
        minutes,
    };
    apply(app, o, sent, &update, &audit).await
}

/// The audit rows of a message: `message_sent` (saying whether it acknowledged the case, and
/// how), and `status_changed` when the acknowledgement moved the case.
fn message_audit(
    who: &OfficerRecord,
    c: &CaseRecord,
    kind: &MessageKind,
    ack: bool,
    moved: Option<CaseStatus>,
    files: usize,
    now: time::OffsetDateTime,
) -> Vec<crate::store::AuditEntry> {
    let how = match (ack, kind.acknowledgement) {
        (true, true) => "acknowledgement; ",
        (true, false) => "acknowledgement (first message); ",
        _ => "",
    };
    let feedback = if kind.feedback { "feedback; " } else { "" };
    let detail = format!("{how}{feedback}{files} attachment(s)");
    let mut audit = vec![entry(
        now,
        &who.email,
        action::MESSAGE_SENT,
        &c.reference,
        &detail,
    )];
    if let Some(status) = moved {
        audit.push(entry(
            now,
            &who.email,
            action::STATUS_CHANGED,
            &c.reference,
            status.as_str(),
        ));
    }
    if kind.minutes {
        audit.push(entry(
            now,
            &who.email,
            action::MINUTES_POSTED,
            &c.reference,
            "",
        ));
    }
    audit
}

async fn apply(
    app: &App,
    o: &Opened,
    sent: Sent,
    update: &CaseUpdate,
    audit: &[crate::store::AuditEntry],
) -> Result<()> {
    match app.store.update_case(&o.case.id, update, audit).await {
        Ok(()) => Ok(()),
        Err(e) => sent.refuse(app, e.into()).await,
    }
}

/// An internal note: encrypted to the case's officer key only (`to`, the recipient the form
/// says it encrypted to, must be that key: `officer_key::check_officer_only`), never shown
/// to the reporter.
pub async fn note(app: &App, who: &OfficerRecord, o: &Opened, sent: Sent, to: &str) -> Result<()> {
    if sent.message.is_none() && sent.files.is_empty() {
        return sent.refuse(app, Error::Invalid).await;
    }
    if let Err(e) = officer_key::check_officer_only(&o.case, to) {
        return sent.refuse(app, e).await;
    }
    let author = crate::domain::holder::Author::Officer(who.id.clone());
    let detail = format!("{} attachment(s)", sent.files.len());
    let audit = [entry(
        app.clock.now(),
        &who.email,
        action::NOTE_ADDED,
        &o.case.reference,
        &detail,
    )];
    let update = CaseUpdate {
        items: message_with_files(
            sent.message.clone(),
            &sent.files,
            ItemKind::Note,
            &author,
            false,
            app.clock.today(),
        ),
        ..Default::default()
    };
    apply(app, o, sent, &update, &audit).await
}

/// A status change along the allowed transitions; concluding needs an outcome. The reason,
/// if any, is ciphertext to the case's officer key (`to` must name it, as for a note).
pub async fn change_status(
    app: &App,
    who: &OfficerRecord,
    o: &Opened,
    next: &str,
    outcome: &str,
    reason: Option<Vec<u8>>,
    to: &str,
) -> Result<()> {
    if reason.is_some() {
        officer_key::check_officer_only(&o.case, to)?;
    }
    let next = next
        .parse::<CaseStatus>()
        .ok()
        .filter(|s| o.case.status.next().contains(s))
        .ok_or(Error::Invalid)?;
    let outcome = match next {
        CaseStatus::Concluded => Some(outcome.parse::<Outcome>().map_err(|_| Error::Invalid)?),
        _ => None,
    };
    let now = app.clock.now();
    let detail = match outcome {
        Some(out) => format!("{next} ({out})"),
        None => next.to_string(),
    };
    let audit = [entry(
        now,
        &who.email,
        action::STATUS_CHANGED,
        &o.case.reference,
        &detail,
    )];
    let update = CaseUpdate {
        event: Some(NewEvent {
            at: now.unix_timestamp(),
            actor: who.id.clone(),
            status: next,
            outcome,
            reason,
        }),
        closed_on: (next == CaseStatus::Closed).then(|| app.clock.today()),
        ..Default::default()
    };
    app.store.update_case(&o.case.id, &update, &audit).await?;
    Ok(())
}

/// Seals the case key, and the officer key if the case has one (both already re-encrypted in
/// the browser), to a colleague with a case role, in one transaction.
pub async fn grant(
    app: &App,
    who: &OfficerRecord,
    o: &Opened,
    account: &str,
    envelope: Vec<u8>,
    officer_envelope: Option<Vec<u8>>,
) -> Result<()> {
    require(who, Permission::ManageCaseAccess)?;
    officer_key::check_grant(&o.case, officer_envelope.as_deref())?;
    let target = app
        .store
        .officer(&OfficerId::from(account))
        .await?
        .filter(|a| !a.disabled && a.enrolled && !a.recipient.is_empty())
        .filter(|a| Permission::WorkOnCases.granted_to(&a.roles))
        .ok_or(Error::Invalid)?;
    // A working copy (sealed to the colleague's current key) is never replaced: a "grant"
    // could otherwise swap it for garbage and cut them off the case. The store refuses too.
    let working = app
        .store
        .envelopes(&o.case.id)
        .await?
        .iter()
        .any(|e| e.holder.is_officer(&target.id) && e.recipient == target.recipient);
    if working {
        return Err(Error::Forbidden);
    }
    let now = app.clock.now();
    let audit = entry(
        now,
        &who.email,
        action::ACCESS_GRANTED,
        &o.case.reference,
        &target.email,
    );
    let envelope = NewEnvelope {
        holder: target.holder(),
        recipient: target.recipient.clone(),
        envelope,
    };
    let granted = app
        .store
        .grant_access(
            &o.case.id,
            &target.id,
            &who.id,
            now.unix_timestamp(),
            &envelope,
            officer_envelope.as_deref(),
            &audit,
        )
        .await?;
    if granted {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

pub async fn revoke(app: &App, who: &OfficerRecord, o: &Opened, account: &str) -> Result<()> {
    require(who, Permission::ManageCaseAccess)?;
    let grant = o
        .access
        .iter()
        .find(|a| a.officer_id.as_str() == account && a.kind == AccessKind::Grant)
        .ok_or(Error::Invalid)?;
    let email = app
        .store
        .officer(&grant.officer_id)
        .await?
        .map_or_else(|| grant.officer_id.to_string(), |a| a.email);
    let audit = entry(
        app.clock.now(),
        &who.email,
        action::ACCESS_REVOKED,
        &o.case.reference,
        &email,
    );
    app.store
        .revoke_access(&o.case.id, &grant.officer_id, &audit)
        .await?;
    Ok(())
}

/// Proposes excluding a colleague with a conflict of interest. Nothing changes for them until
/// a different officer confirms ([`confirm_exclusion`]); audited as `exclusion_proposed`.
pub async fn exclude(app: &App, who: &OfficerRecord, o: &Opened, account: &str) -> Result<()> {
    require(who, Permission::ManageCaseAccess)?;
    if account == who.id.as_str() {
        return Err(Error::Invalid);
    }
    let target = app
        .store
        .officer(&OfficerId::from(account))
        .await?
        .ok_or(Error::Invalid)?;
    let now = app.clock.now();
    let audit = entry(
        now,
        &who.email,
        action::EXCLUSION_PROPOSED,
        &o.case.reference,
        &target.email,
    );
    let store = &app.store;
    let at = now.unix_timestamp();
    if store
        .propose_exclusion(&o.case.id, &target.id, &who.id, at, &audit)
        .await?
    {
        Ok(())
    } else {
        Err(Error::Invalid)
    }
}

/// The case, for an officer who may manage its access and is not excluded from it, whether
/// or not they hold a copy of its key (confirming or lifting an exclusion needs no content).
pub async fn for_access_review(
    app: &App,
    who: &OfficerRecord,
    reference: &str,
) -> Result<CaseRecord> {
    let (case, _) = permitted_case(app, who, reference, Permission::ManageCaseAccess).await?;
    Ok(case)
}

/// Which second-officer step on an exclusion.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ExclusionStep {
    /// A different officer than the proposer confirms: the copy is deleted now.
    Confirm,
    /// A different officer than the proposer lifts an exclusion in force.
    Lift,
}

pub async fn review_exclusion(
    app: &App,
    who: &OfficerRecord,
    case: &CaseRecord,
    account: &str,
    step: ExclusionStep,
) -> Result<()> {
    let target = app
        .store
        .officer(&OfficerId::from(account))
        .await?
        .ok_or(Error::Invalid)?;
    if target.id == who.id {
        return Err(Error::Invalid);
    }
    let name = match step {
        ExclusionStep::Confirm => action::EXCLUSION_CONFIRMED,
        ExclusionStep::Lift => action::EXCLUSION_LIFTED,
    };
    let audit = entry(
        app.clock.now(),
        &who.email,
        name,
        &case.reference,
        &target.email,
    );
    let store = &app.store;
    let done = match step {
        ExclusionStep::Confirm => {
            store
                .confirm_exclusion(&case.id, &target.id, &who.id, &audit)
                .await?
        }
        ExclusionStep::Lift => {
            store
                .lift_exclusion(&case.id, &target.id, &who.id, &audit)
                .await?
        }
    };
    if done { Ok(()) } else { Err(Error::Forbidden) }
}
