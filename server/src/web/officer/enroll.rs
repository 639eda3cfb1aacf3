//! `/officer/enroll/{token}`: the one-time link an admin (or `speakup admin create`) made.
//! The person sets a password, confirms a TOTP seed with a first code, and registers the
//! public half of an age key (made in the browser or with age-keygen). Only a hash of the
//! link's token is stored; the link dies when used or after its lifetime.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::desk;
use super::pages::{EnrollPage, NoticePage};
use crate::audit::{self, action};
use crate::auth;
use crate::domain::officer::{Role, parse_recipient};
use crate::i18n::Lang;
use crate::store::OfficerRecord;
use crate::store::workspace::{CompletedEnrollment, EnrollmentRecord};
use crate::web::SharedState;
use crate::web::csrf::{self, Purpose};
use crate::web::error::{AppError, ErrorKind};
use crate::web::locale::Locale;

/// Default lifetime of an enrollment link.
pub const LINK_HOURS: i64 = 72;
/// An armored age passphrase file holding one identity is far below this.
const MAX_WRAPPED_BYTES: usize = 8 * 1024;

async fn lookup(
    state: &SharedState,
    token: &str,
) -> Result<(EnrollmentRecord, OfficerRecord), AppError> {
    let hash = auth::hash_token(token);
    let now = state.clock.now().unix_timestamp();
    let enrollment = state
        .store
        .enrollment(&hash)
        .await?
        .filter(|e| e.expires_at > now)
        .ok_or(ErrorKind::LinkExpired)?;
    let account = state
        .store
        .officer(&enrollment.officer_id)
        .await?
        .filter(|a| !a.disabled)
        .ok_or(ErrorKind::LinkExpired)?;
    Ok((enrollment, account))
}

fn needs_key(a: &OfficerRecord) -> bool {
    a.has_role(Role::Officer) || a.has_role(Role::Investigator)
}

fn page(
    state: &SharedState,
    lang: Lang,
    token: &str,
    e: &EnrollmentRecord,
    a: &OfficerRecord,
    recipient: &str,
    errors: Vec<&'static str>,
) -> EnrollPage {
    let issuer = format!("{} Speak Up", state.site.get().org_name);
    let uri = auth::otpauth_uri(&e.totp_secret, &issuer, &a.email);
    let secret = auth::seed_base32(&e.totp_secret)
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    EnrollPage {
        d: desk(state, lang, "enroll", &format!("/officer/enroll/{token}")),
        csrf: csrf::issue(
            &state.keys.csrf,
            Purpose::Enroll,
            &auth::hash_token(token),
            state.clock.now(),
        ),
        token: token.to_owned(),
        email: a.email.clone(),
        name: a.name.clone(),
        needs_key: needs_key(a),
        current_recipient: a.recipient.clone(),
        qr_svg: auth::qr_svg(&uri).unwrap_or_default(),
        secret,
        recipient: recipient.to_owned(),
        errors,
    }
}

pub async fn form(
    State(state): State<SharedState>,
    Locale(lang): Locale,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let (e, a) = lookup(&state, &token).await?;
    Ok(page(&state, lang, &token, &e, &a, "", Vec::new()).into_response())
}

#[derive(Deserialize)]
pub struct EnrollForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: auth::FormSecret,
    #[serde(default)]
    password_confirm: auth::FormSecret,
    #[serde(default)]
    code: String,
    #[serde(default)]
    recipient: String,
    #[serde(default)]
    wrapped_identity: String,
}

pub async fn submit(
    State(state): State<SharedState>,
    Locale(lang): Locale,
    Path(token): Path<String>,
    headers: HeaderMap,
    Form(form): Form<EnrollForm>,
) -> Result<Response, AppError> {
    let now = state.clock.now();
    let token_hash = auth::hash_token(&token);
    if !csrf::same_origin(&headers)
        || !csrf::verify(
            &state.keys.csrf,
            Purpose::Enroll,
            &token_hash,
            &form.csrf,
            now,
        )
    {
        return Err(ErrorKind::Csrf.into());
    }
    let (e, a) = lookup(&state, &token).await?;
    let mut errors = Vec::new();
    if let Err(p) = auth::check_password(&form.password, &a.email) {
        errors.push(p.key());
    } else if *form.password != *form.password_confirm {
        errors.push("enroll.error.password_mismatch");
    }
    let step = auth::check_code(&e.totp_secret, &form.code, now.unix_timestamp());
    if step.is_none() {
        errors.push("enroll.error.code");
    }
    let recipient = form.recipient.trim();
    let new_recipient = if recipient.is_empty() {
        if needs_key(&a) && a.recipient.is_empty() {
            errors.push("enroll.error.key_required");
        }
        None
    } else {
        match parse_recipient(recipient) {
            Ok(r) => Some(r.to_string()),
            Err(_) => {
                errors.push("enroll.error.recipient");
                None
            }
        }
    };
    let wrapped = form.wrapped_identity.trim();
    let wrapped = if wrapped.is_empty() {
        None
    } else if wrapped.len() <= MAX_WRAPPED_BYTES
        && wrapped.starts_with("-----BEGIN AGE ENCRYPTED FILE-----")
        && wrapped.ends_with("-----END AGE ENCRYPTED FILE-----")
        && new_recipient.is_some()
    {
        Some(wrapped.to_owned())
    } else {
        errors.push("enroll.error.wrapped");
        None
    };
    let Some(step) = step.filter(|_| errors.is_empty()) else {
        let p = page(&state, lang, &token, &e, &a, recipient, errors);
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response());
    };
    let done = CompletedEnrollment {
        password_hash: auth::hash_password(&form.password).map_err(AppError::internal)?,
        totp_step: step,
        recipient: new_recipient,
        wrapped_identity: wrapped,
    };
    if !state
        .store
        .complete_enrollment(&token_hash, now.unix_timestamp(), &done)
        .await?
    {
        return Err(ErrorKind::LinkExpired.into());
    }
    let detail = if done.recipient.is_some() {
        "password, TOTP and age key set"
    } else {
        "password and TOTP set"
    };
    audit::record(&state.store, now, &a.email, action::ENROLLED, "", detail).await?;
    Ok(NoticePage {
        d: desk(&state, lang, "enroll", "/officer/login"),
        title_key: "enroll.done.title",
        body_key: "enroll.done.body",
        link: "/officer/login".into(),
        link_key: "enroll.done.link",
    }
    .into_response())
}
