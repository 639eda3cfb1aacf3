//! One error type for handlers and one place that turns any error status into a clear page
//! in the reporter's language. Keeps rules `no-plaintext-at-rest` and `clear-errors`: the cause of an internal error
//! is logged (it never contains reporter input: handlers only wrap store, crypto and I/O
//! errors), the page shows a generic localized message, and never a stack of details.

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::locale;
use super::views::{Chrome, ErrorPage};
use crate::app;
use crate::web::SharedState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    BadRequest,
    Csrf,
    NotFound,
    Method,
    TooLarge,
    RateLimited,
    DailyLimit,
    Session,
    Forbidden,
    LinkExpired,
    NotConfigured,
    Unsupported,
    Internal,
    Unavailable,
    /// A no-JavaScript mailbox action (server-side reply or download) in a mailbox opened on
    /// the browser path, where the server holds no reporter key.
    BrowserMailbox,
    /// An entity address (`/e/{slug}/…`) that names no entity of this instance.
    NoEntity,
}

impl ErrorKind {
    pub fn key(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "bad_request",
            ErrorKind::Csrf => "csrf",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Method => "method",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::DailyLimit => "daily_limit",
            ErrorKind::Session => "session",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::LinkExpired => "link_expired",
            ErrorKind::NotConfigured => "not_configured",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Internal => "internal",
            ErrorKind::BrowserMailbox => "browser_mailbox",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::NoEntity => "no_entity",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
            ErrorKind::Csrf => StatusCode::FORBIDDEN,
            ErrorKind::NotFound | ErrorKind::NoEntity => StatusCode::NOT_FOUND,
            ErrorKind::Method => StatusCode::METHOD_NOT_ALLOWED,
            ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::RateLimited | ErrorKind::DailyLimit => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::Session => StatusCode::UNAUTHORIZED,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::LinkExpired => StatusCode::GONE,
            ErrorKind::NotConfigured => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Unsupported => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::BrowserMailbox => StatusCode::CONFLICT,
        }
    }

    fn from_status(status: StatusCode) -> Self {
        match status {
            StatusCode::FORBIDDEN => ErrorKind::Csrf,
            StatusCode::NOT_FOUND => ErrorKind::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => ErrorKind::Method,
            StatusCode::PAYLOAD_TOO_LARGE => ErrorKind::TooLarge,
            StatusCode::TOO_MANY_REQUESTS => ErrorKind::RateLimited,
            StatusCode::UNAUTHORIZED => ErrorKind::Session,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorKind::Unsupported,
            StatusCode::SERVICE_UNAVAILABLE => ErrorKind::Unavailable,
            s if s.is_server_error() => ErrorKind::Internal,
            _ => ErrorKind::BadRequest,
        }
    }

    /// Where the error page's "back" link leads.
    fn back(self) -> &'static str {
        match self {
            ErrorKind::Session | ErrorKind::BrowserMailbox => "/follow-up",
            ErrorKind::DailyLimit => "/mailbox",
            ErrorKind::Forbidden => "/officer",
            ErrorKind::LinkExpired => "/officer/login",
            _ => "/",
        }
    }
}

/// A handler's failure. `Internal` carries the cause for the log only.
#[derive(Debug)]
pub enum AppError {
    Page(ErrorKind),
    Internal(anyhow::Error),
}

impl AppError {
    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        AppError::Internal(e.into())
    }
}

impl From<ErrorKind> for AppError {
    fn from(k: ErrorKind) -> Self {
        AppError::Page(k)
    }
}

impl From<crate::store::StoreError> for AppError {
    fn from(e: crate::store::StoreError) -> Self {
        AppError::internal(e)
    }
}

impl From<crate::crypto::CryptoError> for AppError {
    fn from(e: crate::crypto::CryptoError) -> Self {
        AppError::internal(e)
    }
}

/// A use case's refusal becomes its page; a failure is logged and shown generically.
impl From<app::Error> for AppError {
    fn from(e: app::Error) -> Self {
        match e {
            app::Error::Forbidden => ErrorKind::Forbidden.into(),
            app::Error::NotFound => ErrorKind::NotFound.into(),
            app::Error::Invalid => ErrorKind::BadRequest.into(),
            app::Error::NotConfigured => ErrorKind::NotConfigured.into(),
            app::Error::LinkExpired => ErrorKind::LinkExpired.into(),
            app::Error::DailyLimit => ErrorKind::DailyLimit.into(),
            e => AppError::internal(e),
        }
    }
}

/// A handler panicked: the panic message goes to the log (it never holds reporter input:
/// nothing formats plaintext into a panic), the client gets a 500 that the error-page layer
/// turns into the localized page.
pub fn panic_response(err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = err
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| err.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    tracing::error!(panic = %what, "a request handler panicked");
    AppError::Page(ErrorKind::Internal).into_response()
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let kind = match self {
            AppError::Page(k) => k,
            AppError::Internal(e) => {
                tracing::error!(error = format!("{e:#}"), "request failed");
                ErrorKind::Internal
            }
        };
        let mut res = kind.status().into_response();
        res.extensions_mut().insert(kind);
        res
    }
}

/// Marks a response whose plain-text body is meant for a machine (the `/readyz` probe): the
/// error-page layer passes it through unchanged.
#[derive(Debug, Clone, Copy)]
pub struct PlainAnswer;

/// Turns every error response that is not already one of our pages (our own errors, the
/// rate limiter's 429, body-limit 413s, extractor rejections, 404/405) into a localized page.
pub async fn render_error_pages(
    State(state): State<SharedState>,
    req: Request,
    next: Next,
) -> Response {
    let lang = locale::from_request(req.uri(), req.headers());
    let officer_side = req.uri().path().starts_with("/officer");
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error())
        || res.extensions().get::<PlainAnswer>().is_some()
    {
        return res;
    }
    let is_html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let kind = res.extensions().get::<ErrorKind>().copied();
    if is_html && kind.is_none() {
        return res;
    }
    let kind = kind.unwrap_or_else(|| ErrorKind::from_status(status));
    let retry_after = res.headers().get(header::RETRY_AFTER).cloned();
    let page = ErrorPage {
        c: Chrome {
            t: lang.tr(),
            org_name: state.site.get().org_name.clone(),
            path: "/".into(),
            base: String::new(),
            logo: String::new(),
        },
        status: status.as_u16(),
        title_key: format!("error.{}.title", kind.key()),
        body_key: format!("error.{}.body", kind.key()),
        // Officers go back to their workspace, reporters to the public pages.
        back: match kind {
            ErrorKind::LinkExpired => kind.back(),
            _ if officer_side => "/officer",
            _ => kind.back(),
        },
    };
    let mut out = (status, page).into_response();
    if let Some(v) = retry_after {
        out.headers_mut().insert(header::RETRY_AFTER, v);
    }
    out
}
