//! Officer actions on a case: messages to the reporter (and the acknowledgement), internal
//! notes, status changes, grants, revocations, exclusions, handing the case to another
//! owner, and recording the case's officer key. Whatever carries content arrives already encrypted by the browser (see
//! `shared::cipher_form`); each handler reads the form and calls one use case in `app`
//! (`casework`, `owners`), which checks roles and access and commits the action with its
//! audit row.

use axum::Form;
use axum::extract::{Multipart, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::session::Officer;
use crate::app::casework::{self, ExclusionStep, MessageKind, Sent};
use crate::app::{officer_key, owners};
use crate::domain::case::CaseStatus;
use crate::web::SharedState;
use crate::web::shared::cipher_form::{CipherForm, FormShape, read_checked};
use crate::web::shared::error::{AppError, ErrorKind};

/// The shapes of the officers' ciphertext forms (fields as in `officer_case.html`).
const MESSAGE: FormShape = FormShape {
    recipients: 2,
    envelopes: 0,
    officer_envelopes: 0,
    fields: &["kind", "feedback", "minutes"],
};
/// Officer-only forms name the recipient they encrypted to (the officer key).
const NOTE: FormShape = FormShape {
    recipients: 1,
    envelopes: 0,
    officer_envelopes: 0,
    fields: &["recipient"],
};
const STATUS: FormShape = FormShape {
    recipients: 1,
    envelopes: 0,
    officer_envelopes: 0,
    fields: &["status", "outcome", "recipient"],
};
const GRANT: FormShape = FormShape {
    recipients: 1,
    envelopes: 1,
    officer_envelopes: 1,
    fields: &["account"],
};

fn back(reference: &str, done: &str) -> Response {
    Redirect::to(&format!("/officer/cases/{reference}?done={done}")).into_response()
}

/// Reads an officer's ciphertext form, its CSRF token bound to their session.
async fn read(
    state: &SharedState,
    who: &Officer,
    headers: &HeaderMap,
    multipart: Multipart,
    shape: FormShape,
) -> Result<CipherForm, AppError> {
    read_checked(state, headers, multipart, shape, |token| {
        who.check_csrf(state, headers, token).is_ok()
    })
    .await
}

/// A form that must carry no message and no file (status changes, grants).
async fn without_content(
    state: &SharedState,
    form: &CipherForm,
    allow_message: bool,
) -> Result<(), AppError> {
    if !form.files.is_empty() || (!allow_message && form.message.is_some()) {
        form.discard(state).await;
        return Err(ErrorKind::BadRequest.into());
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
    let o = casework::open(&state, &who.account, &reference).await?;
    let form = read(&state, &who, &headers, multipart, MESSAGE).await?;
    let kind = MessageKind {
        acknowledgement: form.field("kind") == "acknowledgement",
        feedback: form.field("feedback") == "1",
        minutes: form.field("minutes") == "1",
    };
    // An acknowledgement moves only a `received` case (to `acknowledged`); a case further
    // along keeps its status, and the notice says so.
    let done = match (kind.acknowledgement, o.case.status) {
        (false, _) if kind.minutes => "minutes",
        (false, _) => "message",
        (true, CaseStatus::Received) => "acknowledged",
        (true, _) => "acknowledged_kept",
    };
    let sent = Sent {
        message: form.message,
        files: form.files,
    };
    casework::message(&state, &who.account, &o, sent, kind).await?;
    Ok(back(&o.case.reference, done))
}

/// An internal note: encrypted to the case only, never shown to the reporter.
pub async fn note(
    State(state): State<SharedState>,
    who: Officer,
    Path(reference): Path<String>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let o = casework::open(&state, &who.account, &reference).await?;
    let form = read(&state, &who, &headers, multipart, NOTE).await?;
    let to = form.field("recipient").to_owned();
    let sent = Sent {
        message: form.message,
        files: form.files,
    };
    casework::note(&state, &who.account, &o, sent, &to).await?;
    Ok(back(&o.case.reference, "note"))
}

pub async fn status(
    State(state): State<SharedState>,
    who: Officer,
    Path(reference): Path<String>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let o = casework::open(&state, &who.account, &reference).await?;
    let form = read(&state, &who, &headers, multipart, STATUS).await?;
    without_content(&state, &form, false).await?;
    let (next, outcome) = (form.field("status"), form.field("outcome"));
    let to = form.field("recipient");
    casework::change_status(
        &state,
        &who.account,
        &o,
        next,
        outcome,
        form.reason.clone(),
        to,
    )
    .await?;
    Ok(back(&o.case.reference, "status"))
}

/// Seals the case key and the officer key (already re-encrypted in the browser) to a
/// colleague.
pub async fn grant(
    State(state): State<SharedState>,
    who: Officer,
    Path(reference): Path<String>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let o = casework::open(&state, &who.account, &reference).await?;
    let form = read(&state, &who, &headers, multipart, GRANT).await?;
    without_content(&state, &form, true).await?;
    let envelope = match form.envelopes.as_slice() {
        [(_, e)] => e.clone(),
        _ => return Err(ErrorKind::BadRequest.into()),
    };
    let officer_envelope = form.officer_envelopes.first().map(|(_, e)| e.clone());
    let account = form.field("account");
    casework::grant(
        &state,
        &who.account,
        &o,
        account,
        envelope,
        officer_envelope,
    )
    .await?;
    Ok(back(&o.case.reference, "grant"))
}

/// `POST /officer/cases/{reference}/officer-key`: the officer key the browser made for a case
/// that has none: its `recipient`, and per holder of the case key a `holder` field followed
/// by an `officer_envelope` part. Answers 204; refused when one exists (first creation wins).
pub async fn officer_key(
    State(state): State<SharedState>,
    who: Officer,
    Path(reference): Path<String>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let o = casework::open(&state, &who.account, &reference).await?;
    let shape = FormShape {
        recipients: 1,
        envelopes: 0,
        officer_envelopes: officer_key::holder_count(&state, &o).await?,
        fields: &["recipient"],
    };
    let form = read(&state, &who, &headers, multipart, shape).await?;
    without_content(&state, &form, false).await?;
    if form.reason.is_some() {
        return Err(ErrorKind::BadRequest.into());
    }
    let recipient = form.field("recipient");
    officer_key::create(&state, &who.account, &o, recipient, &form.officer_envelopes).await?;
    Ok(axum::http::StatusCode::NO_CONTENT.into_response())
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
    let o = casework::open(&state, &who.account, &reference).await?;
    casework::revoke(&state, &who.account, &o, &form.account).await?;
    Ok(back(&o.case.reference, "revoke"))
}

/// Proposes excluding a colleague with a conflict of interest; a second officer confirms.
pub async fn exclude(
    State(state): State<SharedState>,
    who: Officer,
    Path(reference): Path<String>,
    headers: HeaderMap,
    Form(form): Form<AccountForm>,
) -> Result<Response, AppError> {
    who.check_csrf(&state, &headers, &form.csrf)?;
    let o = casework::open(&state, &who.account, &reference).await?;
    casework::exclude(&state, &who.account, &o, &form.account).await?;
    Ok(back(&o.case.reference, "exclude"))
}

/// A second officer confirms a proposed exclusion (it takes effect now).
pub async fn confirm_exclusion(
    state: State<SharedState>,
    who: Officer,
    reference: Path<String>,
    headers: HeaderMap,
    form: Form<AccountForm>,
) -> Result<Response, AppError> {
    review_exclusion(state, who, reference, headers, form, ExclusionStep::Confirm).await
}

/// An officer other than the proposer lifts an exclusion in force.
pub async fn lift_exclusion(
    state: State<SharedState>,
    who: Officer,
    reference: Path<String>,
    headers: HeaderMap,
    form: Form<AccountForm>,
) -> Result<Response, AppError> {
    review_exclusion(state, who, reference, headers, form, ExclusionStep::Lift).await
}

async fn review_exclusion(
    State(state): State<SharedState>,
    who: Officer,
    Path(reference): Path<String>,
    headers: HeaderMap,
    Form(form): Form<AccountForm>,
    step: ExclusionStep,
) -> Result<Response, AppError> {
    who.check_csrf(&state, &headers, &form.csrf)?;
    let case = casework::for_access_review(&state, &who.account, &reference).await?;
    casework::review_exclusion(&state, &who.account, &case, &form.account, step).await?;
    let done = match step {
        ExclusionStep::Confirm => "exclude_confirm",
        ExclusionStep::Lift => "exclude_lift",
    };
    Ok(back(&case.reference, done))
}

/// `POST /officer/cases/{reference}/owner`: hands the case to a colleague who holds it
/// (audited as `owner_changed`). Needs no content, so no copy of the key either.
pub async fn owner(
    State(state): State<SharedState>,
    who: Officer,
    Path(reference): Path<String>,
    headers: HeaderMap,
    Form(form): Form<AccountForm>,
) -> Result<Response, AppError> {
    who.check_csrf(&state, &headers, &form.csrf)?;
    let case = casework::for_access_review(&state, &who.account, &reference).await?;
    owners::reassign(&state, &who.account, &case, &form.account).await?;
    Ok(back(&case.reference, "owner"))
}
