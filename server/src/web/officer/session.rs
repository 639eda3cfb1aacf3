//! Officer sessions (rule `officer-auth-and-audit`): a random id in a `Secure`, `HttpOnly`,
//! `SameSite=Strict` cookie scoped to `/officer`; the store keeps only its hash, the account
//! and two times, so a stolen database opens no session (rule `database-alone-opens-nothing`). Sessions end after 30 idle minutes,
//! after 12 hours in any case, at logout, and at once when the account is disabled or reset.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};

use crate::app::accounts;
use crate::domain::officer::Role;
use crate::i18n::Lang;
use crate::store::OfficerRecord;
use crate::web::SharedState;
use crate::web::shared::cookie::SessionCookie;
use crate::web::shared::csrf::{self, Purpose};
use crate::web::shared::error::{AppError, ErrorKind};

/// `speakup_officer` scoped to `/officer`; `__Host-speakup_officer` (which must be scoped to
/// `/`) when `Secure`.
pub const COOKIE: SessionCookie = SessionCookie {
    base: "speakup_officer",
    plain_path: "/officer",
};

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

    pub fn csrf(&self, state: &SharedState) -> String {
        csrf::issue(
            &state.keys.csrf,
            Purpose::Officer,
            &self.session_hash,
            state.clock.now(),
        )
    }

    /// The case page's read token: every item text the page lists is fetched with it, so
    /// no text is read without the page view that audited the opening (`case_opened`).
    pub fn case_read_token(&self, state: &SharedState, reference: &str) -> String {
        csrf::issue(
            &state.keys.csrf,
            Purpose::CaseRead,
            &read_binding(&self.session_hash, reference),
            state.clock.now(),
        )
    }

    /// Refuses an item fetch without a read token from this session's view of this case.
    pub fn check_case_read(
        &self,
        state: &SharedState,
        reference: &str,
        token: &str,
    ) -> Result<(), AppError> {
        let binding = read_binding(&self.session_hash, reference);
        if csrf::verify(
            &state.keys.csrf,
            Purpose::CaseRead,
            &binding,
            token,
            state.clock.now(),
        ) {
            Ok(())
        } else {
            Err(ErrorKind::Forbidden.into())
        }
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

/// A read token's binding: the session and the case.
fn read_binding(session_hash: &[u8; 32], reference: &str) -> Vec<u8> {
    let mut b = session_hash.to_vec();
    b.extend_from_slice(reference.as_bytes());
    b
}

pub fn cookie_value(state: &SharedState, headers: &HeaderMap) -> Option<String> {
    COOKIE.read(headers, secure(state))
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
    COOKIE.set(token, secure(state))
}

pub fn clear_cookie(state: &SharedState) -> HeaderValue {
    COOKIE.clear(secure(state))
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
        let token = cookie_value(state, &parts.headers).ok_or(Rejection::Login)?;
        let chosen = parts.uri.query().and_then(|q| {
            q.split('&')
                .filter_map(|kv| kv.strip_prefix("lang="))
                .find_map(Lang::from_code)
        });
        let session = accounts::resume(state, &token, chosen)
            .await
            .map_err(|e| Rejection::Failed(e.into()))?
            .ok_or(Rejection::Login)?;
        Ok(Officer {
            account: session.account,
            session_hash: session.hash,
            lang: session.lang,
        })
    }
}
