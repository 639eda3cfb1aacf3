//! `/officer/login` and `/officer/logout`. Every login needs all three of e-mail, password
//! and a TOTP code; each failure gets the same neutral answer and costs the same time, is
//! counted against the account and the peer, and is audited.

use std::net::SocketAddr;

use axum::Form;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::desk;
use super::pages::LoginPage;
use super::session::{self, Officer};
use super::throttle::{ACCOUNT_FAILURES, ACCOUNT_LOCK_SECS};
use crate::audit::{self, action};
use crate::auth;
use crate::domain::officer::OfficerEmail;
use crate::i18n::Lang;
use crate::web::SharedState;
use crate::web::csrf::{self, Purpose};
use crate::web::error::{AppError, ErrorKind};
use crate::web::locale::Locale;

fn page(state: &SharedState, lang: Lang, email: &str, failed: bool, expired: bool) -> LoginPage {
    LoginPage {
        d: desk(state, lang, "login", "/officer/login"),
        csrf: csrf::issue(&state.keys.csrf, Purpose::Login, b"", state.clock.now()),
        email: email.to_owned(),
        failed,
        expired,
    }
}

pub async fn form(State(state): State<SharedState>, Locale(lang): Locale) -> Response {
    page(&state, lang, "", false, false).into_response()
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: auth::FormSecret,
    #[serde(default)]
    code: String,
}

pub async fn submit(
    State(state): State<SharedState>,
    Locale(lang): Locale,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    let now = state.clock.now();
    if !csrf::same_origin(&headers)
        || !csrf::verify(&state.keys.csrf, Purpose::Login, b"", &form.csrf, now)
    {
        return Err(ErrorKind::Csrf.into());
    }
    let unix = now.unix_timestamp();
    let email = OfficerEmail::parse(&form.email)
        .map(|e| e.as_str().to_owned())
        .unwrap_or_else(|_| form.email.trim().chars().take(254).collect());
    let failed = |state: &SharedState| {
        state.login_throttle.failed(peer.ip(), unix);
        let mut res = (
            StatusCode::UNAUTHORIZED,
            page(state, lang, &email, true, false),
        )
            .into_response();
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        res
    };

    if state.login_throttle.blocked(peer.ip(), unix) {
        auth::burn_password_check(&form.password);
        audit::record(
            &state.store,
            now,
            &email,
            action::LOGIN_FAILED,
            "",
            "too many attempts from this address",
        )
        .await?;
        return Ok(failed(&state));
    }
    let Some((account, secrets)) = state.store.officer_by_email(&email).await? else {
        auth::burn_password_check(&form.password);
        audit::record(
            &state.store,
            now,
            &email,
            action::LOGIN_FAILED,
            "",
            "unknown account",
        )
        .await?;
        return Ok(failed(&state));
    };
    let reason = if account.disabled {
        Some("account disabled")
    } else if secrets.locked_until > unix {
        Some("account locked after repeated failures")
    } else {
        None
    };
    let (Some(hash), Some(seed)) = (
        secrets.password_hash.as_deref(),
        secrets.totp_secret.as_deref(),
    ) else {
        auth::burn_password_check(&form.password);
        audit::record(
            &state.store,
            now,
            &email,
            action::LOGIN_FAILED,
            "",
            "enrollment not finished",
        )
        .await?;
        return Ok(failed(&state));
    };
    let password_ok = auth::verify_password(hash, &form.password);
    if let Some(reason) = reason {
        audit::record(&state.store, now, &email, action::LOGIN_FAILED, "", reason).await?;
        return Ok(failed(&state));
    }
    let step = auth::check_code(seed, &form.code, unix);
    let accepted = match (password_ok, step) {
        (true, Some(step)) => state.store.accept_totp_step(&account.id, step).await?,
        _ => false,
    };
    if !accepted {
        let lock =
            (secrets.failed_logins + 1 >= ACCOUNT_FAILURES).then_some(unix + ACCOUNT_LOCK_SECS);
        state.store.note_login_failure(&account.id, lock).await?;
        let why = match (password_ok, step) {
            (false, _) => "wrong password",
            (true, None) => "wrong code",
            (true, Some(_)) => "code already used",
        };
        audit::record(&state.store, now, &email, action::LOGIN_FAILED, "", why).await?;
        return Ok(failed(&state));
    }

    // A new id on every login, and any session this browser had is ended first.
    if let Some(old) = session::cookie_value(&headers) {
        state.store.delete_session(&auth::hash_token(&old)).await?;
    }
    let (token, hash) =
        auth::new_token().map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))?;
    state
        .store
        .create_session(&hash, &account.id, unix, lang.code())
        .await?;
    audit::record(&state.store, now, &email, action::LOGIN, "", "").await?;
    let mut res = Redirect::to("/officer").into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, session::set_cookie(&state, &token));
    Ok(res)
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

pub async fn logout(
    State(state): State<SharedState>,
    who: Officer,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    who.check_csrf(&state, &headers, &form.csrf)?;
    state.store.delete_session(&who.session_hash).await?;
    who.audit(&state, action::LOGOUT, "", "").await?;
    let mut res = Redirect::to("/officer/login").into_response();
    let h = res.headers_mut();
    h.insert(header::SET_COOKIE, session::clear_cookie(&state));
    // Also removes the unlocked key from IndexedDB if the script could not.
    h.insert(
        "clear-site-data",
        HeaderValue::from_static("\"cookies\", \"storage\""),
    );
    Ok(res)
}
