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
use crate::app::accounts::{self, EnrollInput};
use crate::auth;
use crate::i18n::Lang;
use crate::store::EnrollmentRecord;
use crate::store::OfficerRecord;
use crate::web::SharedState;
use crate::web::shared::csrf::{self, Purpose};
use crate::web::shared::error::{AppError, ErrorKind};
use crate::web::shared::locale::Locale;

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
        needs_key: accounts::needs_key(a),
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
    let (e, a) = accounts::enrollment(&state, &token).await?;
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
    let input = EnrollInput {
        password: &form.password,
        password_confirm: &form.password_confirm,
        code: &form.code,
        recipient: &form.recipient,
        wrapped_identity: &form.wrapped_identity,
    };
    let errors = accounts::enroll(&state, &token, &input).await?;
    if !errors.is_empty() {
        let (e, a) = accounts::enrollment(&state, &token).await?;
        let p = page(&state, lang, &token, &e, &a, form.recipient.trim(), errors);
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response());
    }
    Ok(NoticePage {
        d: desk(&state, lang, "enroll", "/officer/login"),
        title_key: "enroll.done.title",
        body_key: "enroll.done.body",
        link: "/officer/login".into(),
        link_key: "enroll.done.link",
    }
    .into_response())
}
