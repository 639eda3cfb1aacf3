//! `/officer/login` and `/officer/logout`. Every login needs all three of e-mail, password
//! and a TOTP code; the sign-in use case gives one neutral answer to every failure and audits
//! it; this page adds the per-peer throttle (addresses are kept in memory only).

use std::net::SocketAddr;

use axum::Form;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::desk;
use super::pages::LoginPage;
use super::session::{self, Officer};
use crate::app::accounts::{self, SignInAttempt};
use crate::auth;
use crate::domain::officer::OfficerEmail;
use crate::i18n::Lang;
use crate::web::SharedState;
use crate::web::shared::csrf::{self, Purpose};
use crate::web::shared::error::{AppError, ErrorKind};
use crate::web::shared::locale::Locale;

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
    let old = session::cookie_value(&state, &headers);
    let attempt = SignInAttempt {
        email: &email,
        password: &form.password,
        code: &form.code,
        lang,
        peer_blocked: state.login_throttle.blocked(peer.ip(), unix),
        old_session: old.as_deref(),
    };
    let Some(signed_in) = accounts::sign_in(&state, &attempt).await? else {
        state.login_throttle.failed(peer.ip(), unix);
        let mut res = (
            StatusCode::UNAUTHORIZED,
            page(&state, lang, &email, true, false),
        )
            .into_response();
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        return Ok(res);
    };
    // The first sign-in after an admin's reset lands on the notice.
    let to = match signed_in.reset_notice {
        Some(_) => "/officer/account?reset=1",
        None => "/officer",
    };
    let mut res = Redirect::to(to).into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        session::set_cookie(&state, &signed_in.token),
    );
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
    accounts::sign_out(&state, &who.account, &who.session_hash).await?;
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
