//! Officer sessions (non-negotiable 6): a random id in a `Secure`, `HttpOnly`,
//! `SameSite=Strict` cookie scoped to `/officer`; the store keeps only its hash, the account
//! and two times, so a stolen database opens no session. Sessions end after 30 idle minutes,
//! after 12 hours in any case, at logout, and at once when the account is disabled or reset.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::auth;
use crate::domain::officer::Role;
use crate::i18n::Lang;
use crate::store::OfficerRecord;
use crate::web::SharedState;
use crate::web::csrf::{self, Purpose};
use crate::web::error::{AppError, ErrorKind};

pub const COOKIE: &str = "speakup_officer";
pub const IDLE_SECS: i64 = 30 * 60;
pub const ABSOLUTE_SECS: i64 = 12 * 60 * 60;

/// The signed-in account of a request. Extracting it checks the session, the account's
/// state and the timeouts on every request.
pub struct Officer {
    pub account: OfficerRecord,
    pub session_hash: [u8; 32],
    pub lang: Lang,
}

impl Officer {
    pub fn has(&self, role: Role) -> bool {
        self.account.has_role(role)
    }

    pub fn require(&self, role: Role) -> Result<(), AppError> {
        if self.has(role) {
            Ok(())
        } else {
            Err(ErrorKind::Forbidden.into())
        }
    }

    /// The audit log names people by e-mail: stable and readable without a lookup.
    pub fn actor(&self) -> &str {
        &self.account.email
    }

    /// Records an action of this person, now.
    pub async fn audit(
        &self,
        state: &SharedState,
        action: &str,
        case_ref: &str,
        detail: &str,
    ) -> crate::store::StoreResult<()> {
        crate::audit::record(
            &state.store,
            state.clock.now(),
            self.actor(),
            action,
            case_ref,
            detail,
        )
        .await
    }

    pub fn csrf(&self, state: &SharedState) -> String {
        csrf::issue(
            &state.keys.csrf,
            Purpose::Officer,
            &self.session_hash,
            state.clock.now(),
        )
    }

    pub fn check_csrf(
        &self,
        state: &SharedState,
        headers: &HeaderMap,
        token: &str,
    ) -> Result<(), AppError> {
        if csrf::same_origin(headers)
            && csrf::verify(
                &state.keys.csrf,
                Purpose::Officer,
                &self.session_hash,
                token,
                state.clock.now(),
            )
        {
            Ok(())
        } else {
            Err(ErrorKind::Csrf.into())
        }
    }
}

pub fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(COOKIE)?.strip_prefix('='))
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// `Secure` everywhere except plain-HTTP development on the loopback interface, where
/// browsers would otherwise drop the cookie.
fn secure(state: &SharedState) -> bool {
    let url = &state.settings.public_url;
    let local = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|p| url.starts_with(p));
    !local
}

pub fn set_cookie(state: &SharedState, token: &str) -> HeaderValue {
    let s = format!(
        "{COOKIE}={token}; Path=/officer; HttpOnly; SameSite=Strict{}",
        if secure(state) { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&s).unwrap_or_else(|_| HeaderValue::from_static("speakup_officer="))
}

pub fn clear_cookie(state: &SharedState) -> HeaderValue {
    let s = format!(
        "{COOKIE}=; Path=/officer; HttpOnly; SameSite=Strict; Max-Age=0{}",
        if secure(state) { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&s)
        .unwrap_or_else(|_| HeaderValue::from_static("speakup_officer=; Max-Age=0"))
}

/// Not signed in (or no longer): every officer URL sends the browser to the login page.
pub struct LoginRequired;

impl IntoResponse for LoginRequired {
    fn into_response(self) -> Response {
        Redirect::to("/officer/login").into_response()
    }
}

pub enum Rejection {
    Login,
    Failed(AppError),
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        match self {
            Rejection::Login => LoginRequired.into_response(),
            Rejection::Failed(e) => e.into_response(),
        }
    }
}

impl FromRequestParts<SharedState> for Officer {
    type Rejection = Rejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<Self, Self::Rejection> {
        let token = cookie_value(&parts.headers).ok_or(Rejection::Login)?;
        let hash = auth::hash_token(&token);
        let store = &state.store;
        let fail = |e: crate::store::StoreError| Rejection::Failed(AppError::from(e));
        let session = store
            .session(&hash)
            .await
            .map_err(fail)?
            .ok_or(Rejection::Login)?;
        let now = state.clock.now().unix_timestamp();
        if now - session.last_seen > IDLE_SECS || now - session.created_at > ABSOLUTE_SECS {
            store.delete_session(&hash).await.map_err(fail)?;
            return Err(Rejection::Login);
        }
        let account = store
            .officer(&session.officer_id)
            .await
            .map_err(fail)?
            .filter(|a| !a.disabled && a.enrolled)
            .ok_or(Rejection::Login)?;
        let chosen = parts.uri.query().and_then(|q| {
            q.split('&')
                .filter_map(|kv| kv.strip_prefix("lang="))
                .find_map(Lang::from_code)
        });
        let lang = chosen
            .or_else(|| Lang::from_code(&session.lang))
            .unwrap_or_default();
        store
            .touch_session(&hash, now, lang.code())
            .await
            .map_err(fail)?;
        Ok(Officer {
            account,
            session_hash: hash,
            lang,
        })
    }
}
