//! The case page (its history as one chronological timeline beside a panel with the details
//! and the actions), the "reveal identity" action and attachment downloads. Access, the
//! audit row of each view and the history's order come from `app::casework`; what is sent
//! is ciphertext for the browser to decrypt, and metadata.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

use super::desk_for;
use super::pages::{
    AccessView, AttachmentView, CasePage, Choice, Colleague, Entry, EventView, ExclusionView,
    Holder, ItemView, OfficerKeyView, TimelineEntry,
};
use super::session::Officer;
use super::when;
use crate::app::casework::{self, CaseView, Happened, Opened};
use crate::app::entities;
use crate::app::holds;
use crate::clock::OrgTimeZone;
use crate::domain::case::{ItemKind, Outcome};
use crate::domain::holder::{Author, OfficerId};
use crate::domain::officer::Role;
use crate::domain::permission::Permission;
use crate::domain::timeline::Moment;
use crate::i18n::Tr;
use crate::store::{EventRecord, ItemRecord, OfficerRecord, read_blob};
use crate::web::SharedState;
use crate::web::shared::blob_stream::ciphertext_response;
use crate::web::shared::error::AppError;

fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

fn human_size(bytes: i64) -> String {
    match bytes {
        b if b < 1024 => format!("{b} B"),
        b if b < 1024 * 1024 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
    }
}

fn name_of(people: &HashMap<OfficerId, String>, id: &OfficerId) -> String {
    people.get(id).cloned().unwrap_or_else(|| id.to_string())
}

/// Where the browser fetches one item's text (its own route, so no page carries a whole
/// case), with the page's read token.
fn text_src(reference: &str, id: &str, token: &str) -> String {
    format!("/officer/cases/{reference}/items/{id}/text?r={token}")
}

/// An item as the page lists it: metadata and the routes of its texts, no ciphertext.
fn item_view(t: &Tr, reference: &str, token: &str, item: &ItemRecord, v: &CaseView) -> ItemView {
    let author = match &item.author {
        Author::Reporter => t.get("case.reporter").to_owned(),
        Author::Officer(id) => name_of(&v.people, id),
    };
    let src = match item.kind {
        ItemKind::Attachment => String::new(),
        _ => text_src(reference, &item.id, token),
    };
    let attachments = v
        .items
        .iter()
        .filter(|a| {
            a.kind == ItemKind::Attachment
                && (a.parent_id.as_deref() == Some(item.id.as_str())
                    || (a.id == item.id && a.parent_id.is_none()))
        })
        .map(|a| AttachmentView {
            src: format!("/officer/cases/{reference}/items/{}", a.id),
            name_src: a
                .name_blob_id
                .as_ref()
                .map(|_| text_src(reference, &a.id, token))
                .unwrap_or_default(),
            size: human_size(a.size),
        })
        .collect();
    ItemView {
        id: item.id.clone(),
        from_reporter: item.author.is_reporter(),
        author,
        day: t.date(item.created_on),
        src,
        age: String::new(),
        attachments,
        minutes: v
            .minutes
            .get(&item.id)
            .map(|m| super::meetings::minutes_state(t, m)),
        linked: super::meetings::linked(t, &item.id, v),
    }
}

/// One status change as the history shows it.
fn event_view(t: &Tr, zone: &OrgTimeZone, v: &CaseView, e: &EventRecord) -> EventView {
    EventView {
        at: when(t, zone, e.at),
        actor: match &e.actor {
            Author::Officer(id) => name_of(&v.people, id),
            Author::Reporter => e.actor.to_db(),
        },
        status_key: format!("status.{}", e.status),
        outcome_key: e
            .outcome
            .map(|o| format!("outcome.{o}"))
            .unwrap_or_default(),
        reason_age: e.reason.as_ref().map(|r| b64(r)).unwrap_or_default(),
    }
}

/// An item's place in the history: its `data-kind` and its headline's catalog key.
fn item_kind(i: &ItemRecord) -> (&'static str, &'static str) {
    match (i.kind, i.author.is_reporter(), i.reporter_visible) {
        (ItemKind::Report, _, _) => ("report", "timeline.report"),
        (ItemKind::Message, true, _) => ("from-reporter", "timeline.from_reporter"),
        (ItemKind::Message, false, _) => ("to-reporter", "timeline.to_reporter"),
        (ItemKind::Note, _, _) => ("note", "timeline.note"),
        (_, true, _) => ("file", "timeline.file_from_reporter"),
        (_, false, true) => ("file", "timeline.file_to_reporter"),
        (_, false, false) => ("file", "timeline.file_note"),
    }
}

fn day_of(d: time::Date) -> String {
    d.format(&time::format_description::well_known::Iso8601::DATE)
        .unwrap_or_default()
}

/// The case's history, oldest first, as the timeline shows it (`CaseView::history`), each
/// item with its text's route and this page view's read token.
fn timeline(
    state: &SharedState,
    who: &Officer,
    t: &Tr,
    reference: &str,
    v: &CaseView,
) -> Vec<TimelineEntry> {
    let zone: &OrgTimeZone = &state.settings.time_zone;
    let token = who.case_read_token(state, reference);
    let token = token.as_str();
    let mut out = Vec::new();
    for h in v.history() {
        out.push(match h {
            Happened::Item(i) => {
                let (kind, key) = item_kind(i);
                let view = item_view(t, reference, token, i, v);
                TimelineEntry {
                    kind,
                    label: t.get(key).to_owned(),
                    day: day_of(i.created_on),
                    entry: match i.kind {
                        ItemKind::Report => Entry::Report(view),
                        _ => Entry::Item(view),
                    },
                }
            }
            Happened::Status(e) => TimelineEntry {
                kind: "status",
                label: t.fmt(
                    "timeline.status",
                    &[("status", t.get(&format!("status.{}", e.status)))],
                ),
                day: day_of(Moment::timed(e.at, e.seq).day),
                entry: Entry::Status(event_view(t, zone, v, e)),
            },
            Happened::Access(a) => TimelineEntry {
                kind: "access",
                label: t.get("timeline.access.title").to_owned(),
                day: day_of(Moment::timed(a.at, a.seq).day),
                entry: Entry::Access(AccessView {
                    text: t.fmt(a.change.key(), &[("by", &a.by), ("whom", &a.whom)]),
                    at: when(t, zone, a.at),
                }),
            },
        });
    }
    out
}

/// The identity item, only in the answer to a reveal (audited with its reason): inline, as
/// it is never served on the item route. `None` without a reveal.
async fn identity(
    state: &SharedState,
    t: &Tr,
    reference: &str,
    v: &CaseView,
    reveal: bool,
) -> Result<Option<ItemView>, AppError> {
    match v.items.iter().find(|i| i.kind == ItemKind::Identity) {
        Some(i) if reveal => {
            let mut view = item_view(t, reference, "", i, v);
            view.src = String::new();
            view.age = b64(&read_blob(state.store(), &i.blob_id).await?);
            Ok(Some(view))
        }
        _ => Ok(None),
    }
}

fn holders(t: &Tr, v: &CaseView) -> Vec<Holder> {
    v.holders
        .iter()
        .map(|h| match h.holder.officer() {
            Some(id) => Holder {
                id: id.to_string(),
                name: h.name.clone(),
                kind: if h.granted { "grant" } else { "triage" },
            },
            None => Holder {
                id: h.holder.to_db(),
                name: t.get("case.escrow").to_owned(),
                kind: "escrow",
            },
        })
        .collect()
}

fn colleagues(list: &[OfficerRecord]) -> Vec<Colleague> {
    list.iter()
        .map(|a| Colleague {
            id: a.id.to_string(),
            label: format!("{} <{}>", a.name, a.email),
            recipient: a.recipient.clone(),
        })
        .collect()
}

fn exclusion_views(t: &Tr, v: &CaseView) -> Vec<ExclusionView> {
    v.pending_exclusions
        .iter()
        .map(|(a, by, may)| ExclusionView {
            id: a.id.to_string(),
            label: format!("{} <{}>", a.name, a.email),
            note: t.fmt("case.access.proposed_by", &[("name", by)]),
            may_act: *may,
        })
        .collect()
}

fn choices<T: Copy + std::fmt::Display>(t: &Tr, prefix: &str, all: &[T]) -> Vec<Choice> {
    all.iter()
        .map(|s| Choice {
            value: s.to_string(),
            label: t.get(&format!("{prefix}.{s}")).into(),
            selected: false,
        })
        .collect()
}

/// The acknowledgement's suggested text, with the feedback date it would promise, in the
/// reporter's language whatever the officer's own (every template offered to officers for
/// the reporter is built here, from `v.reporter_lang`).
fn ack_template(reference: &str, v: &CaseView, org: &str) -> String {
    let t = v.reporter_lang.tr();
    t.fmt(
        "case.ack_template",
        &[
            ("reference", reference),
            ("feedback_due", t.date(v.feedback_promised).as_str()),
            ("org", org),
        ],
    )
}

/// Confirmed exclusions, each with whether this person may lift it.
fn confirmed_exclusions(t: &Tr, v: &CaseView) -> Vec<ExclusionView> {
    v.exclusions
        .iter()
        .map(|(a, may)| ExclusionView {
            id: a.id.to_string(),
            label: format!("{} <{}>", a.name, a.email),
            // Routing before sealing: a reporter's leave-out, which only an auditor lifts.
            note: if v.left_out.contains(&a.id) {
                t.get("routing.left_out_by_reporter").to_owned()
            } else {
                String::new()
            },
            may_act: *may,
        })
        .collect()
}

/// The officer key's recipient, this officer's copy of it, and (while the case has none)
/// whom the browser must seal a new one to.
fn officer_key_view(o: &Opened, v: &CaseView) -> OfficerKeyView {
    let recipient = o.case.officer_recipient.clone();
    OfficerKeyView {
        holders: match recipient {
            Some(_) => Vec::new(),
            None => v.key_holders.clone(),
        },
        recipient: recipient.unwrap_or_default(),
        envelope: o
            .envelope
            .officer_envelope
            .as_deref()
            .map(b64)
            .unwrap_or_default(),
    }
}

/// A category's name in the reader's language; a code no longer configured as it is.
fn category_label(
    site: &crate::app::settings::Site,
    code: &str,
    lang: crate::i18n::Lang,
) -> String {
    site.category(code)
        .map_or_else(|| code.to_owned(), |k| k.label(lang))
}

pub async fn render(
    state: &SharedState,
    who: &Officer,
    o: &Opened,
    v: &CaseView,
    reveal: bool,
    notice: Option<&'static str>,
) -> Result<Response, AppError> {
    let t = who.lang.tr();
    let c = &o.case;
    let identity = identity(state, &t, &c.reference, v, reveal).await?;
    let site = entities::site_for(state, c.entity.as_ref()).await?;
    let path = format!("/officer/cases/{}", c.reference);
    let page = CasePage {
        d: desk_for(state, who, "case", &path),
        csrf: who.csrf(state),
        reference: c.reference.clone(),
        category: category_label(&site, &c.category, who.lang),
        mode_key: format!("case.mode.{}", c.mode),
        channel_key: format!("channel.{}", c.channel),
        routed_to: c.routed_to.clone().unwrap_or_default(),
        status_key: format!("status.{}", c.status),
        outcome_key: String::new(),
        received: t.date(c.received_on),
        ack_due: t.date(v.deadlines.ack_due),
        ack_flag: v.deadlines.ack,
        acknowledged: c.acknowledged_on.map(|d| t.date(d)).unwrap_or_default(),
        feedback_due: t.date(v.deadlines.feedback_due),
        feedback_flag: v.deadlines.feedback,
        feedback: c.feedback_on.map(|d| t.date(d)).unwrap_or_default(),
        envelope: b64(&o.envelope.envelope),
        confidential: c.mode == crate::domain::case::ReportMode::Confidential,
        identity,
        timeline: timeline(state, who, &t, &c.reference, v),
        to_both: format!("{} {}", c.case_recipient, c.reporter_recipient),
        officer_key: officer_key_view(o, v),
        transitions: choices(&t, "status", c.status.next()),
        outcomes: choices(&t, "outcome", Outcome::ALL),
        can_acknowledge: v.may_acknowledge,
        ack_template: ack_template(&c.reference, v, &site.org_name),
        is_officer: who.has(Role::Officer),
        holders: holders(&t, v),
        grantable: colleagues(&v.grantable),
        excludable: colleagues(&v.excludable),
        pending_exclusions: exclusion_views(&t, v),
        exclusions: confirmed_exclusions(&t, v),
        notice,
        has_wrapped_key: who.account.has_wrapped_identity,
        owner: v.owner.as_ref().map(|a| a.name.clone()).unwrap_or_default(),
        owner_choices: colleagues(&v.owner_choices),
        reporter_lang: v.reporter_lang,
        hold_since: holds::current(state, c).await?.map(|d| t.date(d)),
        may_hold: Permission::ManageCaseAccess.granted_to(&who.account.roles),
        open_too_long: holds::open_too_long(&site.retention(), c, state.clock.today()),
        meetings: super::meetings::views(&t, &state.settings.time_zone, v),
        moves: super::case_move::options(state, who, o).await?,
    };
    Ok(page.into_response())
}

#[derive(Deserialize, Default)]
pub struct ShowQuery {
    #[serde(default)]
    done: String,
}

fn done_notice(done: &str) -> Option<&'static str> {
    Some(match done {
        "message" => "case.done.message",
        "note" => "case.done.note",
        "status" => "case.done.status",
        "grant" => "case.done.grant",
        "revoke" => "case.done.revoke",
        "exclude" => "case.done.exclude",
        "exclude_confirm" => "case.done.exclude_confirm",
        "exclude_lift" => "case.done.exclude_lift",
        "acknowledged" => "case.done.acknowledged",
        "owner" => "workflow.done_owner",
        "hold_set" => "retention.done_set",
        "hold_lifted" => "retention.done_lifted",
        "acknowledged_kept" => "workflow.done_acknowledged_kept",
        "minutes" => "meetings.done_minutes",
        "meeting_done" => "meetings.done_meeting",
        _ => return None,
    })
}

pub async fn show(
    State(state): State<SharedState>,
    who: Officer,
    Path(reference): Path<String>,
    axum::extract::Query(q): axum::extract::Query<ShowQuery>,
) -> Result<Response, AppError> {
    let o = casework::open(&state, &who.account, &reference).await?;
    let v = casework::view(&state, &who.account, &o, None).await?;
    render(&state, &who, &o, &v, false, done_notice(&q.done)).await
}

#[derive(Deserialize)]
pub struct RevealForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

/// The reason is written to the audit log in the clear: auditors must be able to judge it
/// without a case key. The form tells the officer so.
pub async fn reveal(
    State(state): State<SharedState>,
    who: Officer,
    Path(reference): Path<String>,
    headers: HeaderMap,
    Form(form): Form<RevealForm>,
) -> Result<Response, AppError> {
    who.check_csrf(&state, &headers, &form.csrf)?;
    let o = casework::open(&state, &who.account, &reference).await?;
    let reason = form.reason.trim();
    if !casework::reveal_reason_ok(reason) {
        // Only the form came back: nothing was revealed, so nothing is audited.
        let v = casework::case_view(&state, &who.account, &o).await?;
        return render(
            &state,
            &who,
            &o,
            &v,
            false,
            Some("case.reveal.reason_required"),
        )
        .await;
    }
    let v = casework::view(&state, &who.account, &o, Some(reason)).await?;
    render(&state, &who, &o, &v, true, None).await
}

#[derive(Deserialize, Default)]
pub struct ReadQuery {
    #[serde(default)]
    r: String,
}

/// One item's text as stored (a message, a note, the report, an attachment's name), streamed
/// for the browser to decrypt. The same session and permission checks as the page, and the
/// page's read token, so every text read follows an audited opening of the case.
pub async fn item_text(
    State(state): State<SharedState>,
    who: Officer,
    Path((reference, item)): Path<(String, String)>,
    axum::extract::Query(q): axum::extract::Query<ReadQuery>,
) -> Result<Response, AppError> {
    who.check_case_read(&state, &reference, &q.r)?;
    let o = casework::open(&state, &who.account, &reference).await?;
    let blob = casework::item_text(&state, &o, &item).await?;
    Ok(ciphertext_response(state.store.clone(), blob))
}

/// The attachment's age file, streamed chunk by chunk; the browser decrypts it.
pub async fn download(
    State(state): State<SharedState>,
    who: Officer,
    Path((reference, item)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let o = casework::open(&state, &who.account, &reference).await?;
    let found = casework::download(&state, &who.account, &o, &item).await?;
    Ok(ciphertext_response(state.store.clone(), found.blob_id))
}
