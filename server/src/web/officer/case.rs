//! The case page, the "reveal identity" action and attachment downloads. Access is checked
//! on every request: the person needs a case role, must not be excluded, and must hold an
//! envelope of the case key. What is sent is ciphertext; opening, revealing and
//! downloading are audited before anything is sent.

use std::collections::HashMap;

use axum::Form;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

use super::cases::{ack_flag, feedback_flag, may_open};
use super::desk_for;
use super::pages::{AttachmentView, CasePage, Choice, Colleague, EventView, Holder, ItemView};
use super::session::Officer;
use super::when;
use crate::audit::action;
use crate::domain::case::{
    Author, CaseStatus, ItemKind, Outcome, acknowledgement_due, feedback_due,
};
use crate::domain::officer::Role;
use crate::store::workspace::AccessRecord;
use crate::store::{CaseRecord, EnvelopeRecord, ItemRecord, OfficerRecord, read_blob};
use crate::web::SharedState;
use crate::web::error::{AppError, ErrorKind};

pub struct Opened {
    pub case: CaseRecord,
    pub envelope: EnvelopeRecord,
    pub access: Vec<AccessRecord>,
}

/// The case, if this person may work on it now.
pub async fn open(state: &SharedState, who: &Officer, reference: &str) -> Result<Opened, AppError> {
    if !(who.has(Role::Officer) || who.has(Role::Investigator)) {
        return Err(ErrorKind::Forbidden.into());
    }
    let case = state
        .store
        .case_by_reference(reference)
        .await?
        .ok_or(ErrorKind::NotFound)?;
    let access = state.store.case_access(&case.id).await?;
    if !may_open(who, &case.id, &access) {
        return Err(ErrorKind::Forbidden.into());
    }
    let holder = format!("officer:{}", who.account.id);
    let envelope = state
        .store
        .envelopes(&case.id)
        .await?
        .into_iter()
        .find(|e| e.holder == holder && e.recipient == who.account.recipient)
        .ok_or(ErrorKind::Forbidden)?;
    Ok(Opened {
        case,
        envelope,
        access,
    })
}

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

async fn item_view(
    state: &SharedState,
    who: &Officer,
    reference: &str,
    item: &ItemRecord,
    all: &[ItemRecord],
    people: &HashMap<String, String>,
) -> Result<ItemView, AppError> {
    let t = who.lang.tr();
    let author = match Author::from_db(&item.author) {
        Author::Reporter => t.get("case.reporter").to_owned(),
        Author::Officer(id) => people.get(&id).cloned().unwrap_or(id),
    };
    let age = if item.kind == ItemKind::Attachment.as_str() {
        String::new()
    } else {
        b64(&read_blob(state.store.as_ref(), &item.blob_id).await?)
    };
    let mut attachments = Vec::new();
    let children = all.iter().filter(|a| {
        a.kind == ItemKind::Attachment.as_str()
            && (a.parent_id.as_deref() == Some(item.id.as_str())
                || (a.id == item.id && a.parent_id.is_none()))
    });
    for a in children {
        let name = match &a.name_blob_id {
            Some(id) => b64(&read_blob(state.store.as_ref(), id).await?),
            None => String::new(),
        };
        attachments.push(AttachmentView {
            src: format!("/officer/cases/{reference}/items/{}", a.id),
            name_age: name,
            size: human_size(a.size),
        });
    }
    Ok(ItemView {
        id: item.id.clone(),
        from_reporter: matches!(Author::from_db(&item.author), Author::Reporter),
        author,
        day: t.date(item.created_on),
        age,
        attachments,
    })
}

pub async fn render(
    state: &SharedState,
    who: &Officer,
    o: &Opened,
    reveal: bool,
    notice: Option<&'static str>,
) -> Result<Response, AppError> {
    let t = who.lang.tr();
    let c = &o.case;
    let today = state.clock.today();
    let officers = state.store.officers().await?;
    let people: HashMap<String, String> = officers
        .iter()
        .map(|o| (o.id.clone(), o.name.clone()))
        .collect();
    let items = state.store.items(&c.id).await?;
    let mut report = None;
    let mut identity = None;
    let mut thread = Vec::new();
    let mut notes = Vec::new();
    for i in &items {
        let kind = i.kind.parse::<ItemKind>().ok();
        let top_level_file = kind == Some(ItemKind::Attachment) && i.parent_id.is_none();
        match kind {
            Some(ItemKind::Report) => {
                report = Some(item_view(state, who, &c.reference, i, &items, &people).await?)
            }
            Some(ItemKind::Identity) if reveal => {
                identity = Some(item_view(state, who, &c.reference, i, &items, &people).await?)
            }
            Some(ItemKind::Message) => {
                thread.push(item_view(state, who, &c.reference, i, &items, &people).await?)
            }
            Some(ItemKind::Note) => {
                notes.push(item_view(state, who, &c.reference, i, &items, &people).await?)
            }
            _ if top_level_file && i.reporter_visible => {
                thread.push(item_view(state, who, &c.reference, i, &items, &people).await?)
            }
            _ if top_level_file => {
                notes.push(item_view(state, who, &c.reference, i, &items, &people).await?)
            }
            _ => {}
        }
    }
    let events = state
        .store
        .events(&c.id)
        .await?
        .into_iter()
        .map(|e| EventView {
            at: when(&t, e.at),
            actor: people
                .iter()
                .find(|(id, _)| e.actor == format!("officer:{id}"))
                .map_or(e.actor.clone(), |(_, n)| n.clone()),
            status_key: format!("status.{}", e.status),
            outcome_key: e
                .outcome
                .map(|o| format!("outcome.{o}"))
                .unwrap_or_default(),
            reason_age: e.reason.map(|r| b64(&r)).unwrap_or_default(),
        })
        .collect();
    let status = c
        .status
        .parse::<CaseStatus>()
        .unwrap_or(CaseStatus::Received);
    let transitions = status
        .next()
        .iter()
        .map(|s| Choice {
            value: s.as_str().into(),
            label: t.get(&format!("status.{}", s.as_str())).into(),
            selected: false,
        })
        .collect();
    let outcomes = Outcome::ALL
        .iter()
        .map(|s| Choice {
            value: s.as_str().into(),
            label: t.get(&format!("outcome.{}", s.as_str())).into(),
            selected: false,
        })
        .collect();
    let envelopes = state.store.envelopes(&c.id).await?;
    let holders: Vec<Holder> = envelopes
        .iter()
        .map(|e| match e.holder.strip_prefix("officer:") {
            Some(id) => Holder {
                id: id.to_owned(),
                name: people.get(id).cloned().unwrap_or_else(|| id.to_owned()),
                kind: if o
                    .access
                    .iter()
                    .any(|a| a.officer_id == id && a.kind == "grant")
                {
                    "grant"
                } else {
                    "triage"
                },
            },
            None => Holder {
                id: e.holder.clone(),
                name: t.get("case.escrow").to_owned(),
                kind: "escrow",
            },
        })
        .collect();
    let holds = |a: &OfficerRecord| holders.iter().any(|h| h.id == a.id);
    // A colleague whose copy is sealed to a key they no longer have (they replaced it after a
    // reset) can be given a fresh copy: only a copy to their current key counts as holding.
    let holds_current = |a: &OfficerRecord| {
        envelopes
            .iter()
            .any(|e| e.holder == format!("officer:{}", a.id) && e.recipient == a.recipient)
    };
    let excluded = |a: &OfficerRecord| {
        o.access
            .iter()
            .any(|x| x.officer_id == a.id && x.kind == "exclusion")
    };
    let colleague = |a: &OfficerRecord| Colleague {
        id: a.id.clone(),
        label: format!("{} <{}>", a.name, a.email),
        recipient: a.recipient.clone(),
    };
    let grantable = officers
        .iter()
        .filter(|a| !a.disabled && !a.recipient.is_empty() && a.enrolled)
        .filter(|a| a.has_role(Role::Officer) || a.has_role(Role::Investigator))
        .filter(|a| !holds_current(a) && !excluded(a))
        .map(colleague)
        .collect();
    let excludable = officers
        .iter()
        .filter(|a| a.id != who.account.id && !excluded(a))
        .filter(|a| a.has_role(Role::Officer) || holds(a))
        .map(colleague)
        .collect();
    let ack_due = acknowledgement_due(c.received_on);
    let fb_due = feedback_due(c.received_on, c.acknowledged_on.or(Some(today)));
    let site = state.site.get();
    let page = CasePage {
        d: desk_for(
            state,
            who,
            "case",
            &format!("/officer/cases/{}", c.reference),
        ),
        csrf: who.csrf(state),
        reference: c.reference.clone(),
        category: site
            .category(&c.category)
            .map_or_else(|| c.category.clone(), |k| k.label(who.lang)),
        mode_key: format!("case.mode.{}", c.mode),
        status_key: format!("status.{}", c.status),
        outcome_key: String::new(),
        received: t.date(c.received_on),
        ack_due: t.date(ack_due),
        ack_flag: ack_flag(c, today),
        acknowledged: c.acknowledged_on.map(|d| t.date(d)).unwrap_or_default(),
        feedback_due: t.date(feedback_due(c.received_on, c.acknowledged_on)),
        feedback_flag: feedback_flag(c, today),
        feedback: c.feedback_on.map(|d| t.date(d)).unwrap_or_default(),
        envelope: b64(&o.envelope.envelope),
        report,
        confidential: c.mode == "confidential",
        identity,
        thread,
        notes,
        events,
        to_both: format!("{} {}", c.case_recipient, c.reporter_recipient),
        to_case: c.case_recipient.clone(),
        transitions,
        outcomes,
        can_acknowledge: status == CaseStatus::Received,
        ack_template: t.fmt(
            "case.ack_template",
            &[
                ("reference", c.reference.as_str()),
                ("feedback_due", t.date(fb_due).as_str()),
                ("org", site.org_name.as_str()),
            ],
        ),
        is_officer: who.has(Role::Officer),
        holders,
        grantable,
        excludable,
        notice,
        has_wrapped_key: who.account.has_wrapped_identity,
    };
    Ok(page.into_response())
}

#[derive(Deserialize, Default)]
pub struct ShowQuery {
    #[serde(default)]
    done: String,
}

pub async fn show(
    State(state): State<SharedState>,
    who: Officer,
    Path(reference): Path<String>,
    axum::extract::Query(q): axum::extract::Query<ShowQuery>,
) -> Result<Response, AppError> {
    let o = open(&state, &who, &reference).await?;
    who.audit(&state, action::CASE_OPENED, &o.case.reference, "")
        .await?;
    let notice = match q.done.as_str() {
        "message" => Some("case.done.message"),
        "note" => Some("case.done.note"),
        "status" => Some("case.done.status"),
        "grant" => Some("case.done.grant"),
        "revoke" => Some("case.done.revoke"),
        "exclude" => Some("case.done.exclude"),
        "acknowledged" => Some("case.done.acknowledged"),
        _ => None,
    };
    render(&state, &who, &o, false, notice).await
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
    let o = open(&state, &who, &reference).await?;
    let reason = form.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return render(&state, &who, &o, false, Some("case.reveal.reason_required")).await;
    }
    who.audit(&state, action::IDENTITY_REVEALED, &o.case.reference, reason)
        .await?;
    render(&state, &who, &o, true, None).await
}

/// The attachment's age file, streamed chunk by chunk; the browser decrypts it.
pub async fn download(
    State(state): State<SharedState>,
    who: Officer,
    Path((reference, item)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let o = open(&state, &who, &reference).await?;
    let found = state
        .store
        .items(&o.case.id)
        .await?
        .into_iter()
        .find(|i| i.id == item && i.kind == ItemKind::Attachment.as_str())
        .ok_or(ErrorKind::NotFound)?;
    who.audit(
        &state,
        action::ITEM_DOWNLOADED,
        &o.case.reference,
        &found.id,
    )
    .await?;
    Ok(ciphertext_response(state.store.clone(), found.blob_id))
}

/// Streams a blob's age file chunk by chunk, as stored.
pub fn ciphertext_response(store: crate::store::SharedStore, blob: String) -> Response {
    let stream = futures_util::stream::unfold(Some(0i64), move |next| {
        let store = store.clone();
        let blob = blob.clone();
        async move {
            let idx = next?;
            match store.chunk(&blob, idx).await {
                Ok(Some(bytes)) => Some((Ok::<_, std::io::Error>(bytes), Some(idx + 1))),
                Ok(None) => None,
                Err(e) => Some((Err(std::io::Error::other(e.to_string())), None)),
            }
        }
    });
    let mut res = Body::from_stream(stream).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"attachment.age\""),
    );
    res
}
