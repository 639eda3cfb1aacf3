//! Officer actions on a case: messages to the reporter (and the acknowledgement), internal
//! notes, status changes, grants, revocations and exclusions. Whatever carries content
//! arrives already encrypted by the browser (see `parts`); each action is checked against
//! the person's roles and access, applied in one transaction, and audited.

use axum::Form;
use axum::extract::{Multipart, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::case::{Opened, open};
use super::parts::{self, CipherForm};
use super::session::Officer;
use crate::audit::action;
use crate::domain::case::{Author, CaseStatus, ItemKind, Outcome};
use crate::domain::officer::Role;
use crate::store::NewEnvelope;
use crate::store::workspace::{CaseUpdate, NewEvent};
use crate::web::SharedState;
use crate::web::error::{AppError, ErrorKind};

fn back(reference: &str, done: &str) -> Response {
    Redirect::to(&format!("/officer/cases/{reference}?done={done}")).into_response()
}

async fn apply(
    state: &SharedState,
    form: &CipherForm,
    o: &Opened,
    update: &CaseUpdate,
) -> Result<(), AppError> {
    if let Err(e) = state.store.update_case(&o.case.id, update).await {
        form.discard(state).await;
        return Err(e.into());
    }
    Ok(())
}

/// A message the reporter reads in the mailbox: encrypted to the case and the reporter.
/// `kind=acknowledgement` also acknowledges the case; `feedback=1` marks the Directive's
/// feedback as given.
pub async fn message(
    State(state): State<SharedState>,
    who: Officer,
    Path(reference): Path<String>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let o = open(&state, &who, &reference).await?;
    let form = parts::read(&state, &who, &headers, multipart, 2).await?;
    let ack = form.field("kind") == "acknowledgement";
    let status_now = o
        .case
        .status
        .parse::<CaseStatus>()
        .unwrap_or(CaseStatus::Received);
    if (form.message.is_none() && form.files.is_empty())
        || (ack && (form.message.is_none() || status_now != CaseStatus::Received))
    {
        form.discard(&state).await;
        return Err(ErrorKind::BadRequest.into());
    }
    let now = state.clock.now();
    let today = state.clock.today();
    let feedback = form.field("feedback") == "1";
    let update = CaseUpdate {
        items: form.items(
            &Author::Officer(who.account.id.clone()),
            ItemKind::Message,
            true,
            today,
        ),
        event: ack.then(|| NewEvent {
            at: now.unix_timestamp(),
            actor: Author::Officer(who.account.id.clone()).to_db(),
            status: CaseStatus::Acknowledged.as_str().into(),
            outcome: None,
            reason: None,
        }),
        acknowledged_on: ack.then_some(today),
        feedback_on: feedback.then_some(today),
        closed_on: None,
    };
    apply(&state, &form, &o, &update).await?;
    let detail = format!(
        "{}{}{} attachment(s)",
        if ack { "acknowledgement; " } else { "" },
        if feedback { "feedback; " } else { "" },
        form.files.len()
    );
    who.audit(&state, action::MESSAGE_SENT, &o.case.reference, &detail)
        .await?;
    if ack {
        who.audit(
            &state,
            action::STATUS_CHANGED,
            &o.case.reference,
            "acknowledged",
        )
        .await?;
    }
    Ok(back(
        &o.case.reference,
        if ack { "acknowledged" } else { "message" },
    ))
}

/// An internal note: encrypted to the case only, never shown to the reporter.
pub async fn note(
    State(state): State<SharedState>,
    who: Officer,
    Path(reference): Path<String>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let o = open(&state, &who, &reference).await?;
    let form = parts::read(&state, &who, &headers, multipart, 1).await?;
    if form.message.is_none() && form.files.is_empty() {
        form.discard(&state).await;
        return Err(ErrorKind::BadRequest.into());
    }
    let update = CaseUpdate {
        items: form.items(
            &Author::Officer(who.account.id.clone()),
            ItemKind::Note,
            false,
            state.clock.today(),
        ),
        ..Default::default()
    };
    apply(&state, &form, &o, &update).await?;
    let detail = format!("{} attachment(s)", form.files.len());
    who.audit(&state, action::NOTE_ADDED, &o.case.reference, &detail)
        .await?;
    Ok(back(&o.case.reference, "note"))
}

pub async fn status(
    State(state): State<SharedState>,
    who: Officer,
    Path(reference): Path<String>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let o = open(&state, &who, &reference).await?;
    let form = parts::read(&state, &who, &headers, multipart, 1).await?;
    if !form.files.is_empty() || form.message.is_some() {
        form.discard(&state).await;
        return Err(ErrorKind::BadRequest.into());
    }
    let current = o
        .case
        .status
        .parse::<CaseStatus>()
        .unwrap_or(CaseStatus::Received);
    let next = form
        .field("status")
        .parse::<CaseStatus>()
        .ok()
        .filter(|s| current.next().contains(s))
        .ok_or(ErrorKind::BadRequest)?;
    let outcome = match next {
        CaseStatus::Concluded => Some(
            form.field("outcome")
                .parse::<Outcome>()
                .map_err(|_| ErrorKind::BadRequest)?,
        ),
        _ => None,
    };
    let now = state.clock.now();
    let update = CaseUpdate {
        event: Some(NewEvent {
            at: now.unix_timestamp(),
            actor: Author::Officer(who.account.id.clone()).to_db(),
            status: next.as_str().into(),
            outcome: outcome.map(|o| o.as_str().to_owned()),
            reason: form.reason.clone(),
        }),
        closed_on: (next == CaseStatus::Closed).then(|| state.clock.today()),
        ..Default::default()
    };
    apply(&state, &form, &o, &update).await?;
    let detail = match outcome {
        Some(out) => format!("{next} ({out})"),
        None => next.to_string(),
    };
    who.audit(&state, action::STATUS_CHANGED, &o.case.reference, &detail)
        .await?;
    Ok(back(&o.case.reference, "status"))
}

/// Seals the case key (already re-encrypted in the browser) to a colleague.
pub async fn grant(
    State(state): State<SharedState>,
    who: Officer,
    Path(reference): Path<String>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, AppError> {
    who.require(Role::Officer)?;
    let o = open(&state, &who, &reference).await?;
    let form = parts::read(&state, &who, &headers, multipart, 1).await?;
    if !form.files.is_empty() {
        form.discard(&state).await;
        return Err(ErrorKind::BadRequest.into());
    }
    let envelope = match form.envelopes.as_slice() {
        [(_, e)] => e.clone(),
        _ => return Err(ErrorKind::BadRequest.into()),
    };
    let target = state
        .store
        .officer(form.field("account"))
        .await?
        .filter(|a| !a.disabled && a.enrolled && !a.recipient.is_empty())
        .filter(|a| a.has_role(Role::Officer) || a.has_role(Role::Investigator))
        .ok_or(ErrorKind::BadRequest)?;
    let now = state.clock.now();
    let granted = state
        .store
        .grant_access(
            &o.case.id,
            &target.id,
            &who.account.id,
            now.unix_timestamp(),
            &NewEnvelope {
                holder: format!("officer:{}", target.id),
                recipient: target.recipient.clone(),
                envelope,
            },
        )
        .await?;
    if !granted {
        return Err(ErrorKind::Forbidden.into());
    }
    who.audit(
        &state,
        action::ACCESS_GRANTED,
        &o.case.reference,
        &target.email,
    )
    .await?;
    Ok(back(&o.case.reference, "grant"))
}

#[derive(Deserialize)]
pub struct AccountForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    account: String,
}

pub async fn revoke(
    State(state): State<SharedState>,
    who: Officer,
    Path(reference): Path<String>,
    headers: HeaderMap,
    Form(form): Form<AccountForm>,
) -> Result<Response, AppError> {
    who.check_csrf(&state, &headers, &form.csrf)?;
    who.require(Role::Officer)?;
    let o = open(&state, &who, &reference).await?;
    let grant = o
        .access
        .iter()
        .find(|a| a.officer_id == form.account && a.kind == "grant")
        .ok_or(ErrorKind::BadRequest)?;
    state
        .store
        .revoke_access(&o.case.id, &grant.officer_id)
        .await?;
    let email = state
        .store
        .officer(&grant.officer_id)
        .await?
        .map_or_else(|| grant.officer_id.clone(), |a| a.email);
    who.audit(&state, action::ACCESS_REVOKED, &o.case.reference, &email)
        .await?;
    Ok(back(&o.case.reference, "revoke"))
}

/// A colleague with a conflict of interest loses their copy of the case key and can never
/// be granted this case again.
pub async fn exclude(
    State(state): State<SharedState>,
    who: Officer,
    Path(reference): Path<String>,
    headers: HeaderMap,
    Form(form): Form<AccountForm>,
) -> Result<Response, AppError> {
    who.check_csrf(&state, &headers, &form.csrf)?;
    who.require(Role::Officer)?;
    let o = open(&state, &who, &reference).await?;
    if form.account == who.account.id {
        return Err(ErrorKind::BadRequest.into());
    }
    let target = state
        .store
        .officer(&form.account)
        .await?
        .ok_or(ErrorKind::BadRequest)?;
    let now = state.clock.now();
    state
        .store
        .exclude(
            &o.case.id,
            &target.id,
            &who.account.id,
            now.unix_timestamp(),
        )
        .await?;
    who.audit(&state, action::EXCLUDED, &o.case.reference, &target.email)
        .await?;
    Ok(back(&o.case.reference, "exclude"))
}
