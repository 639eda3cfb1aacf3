//! `/officer/account` (who am I, is my key working) and `/officer/key/wrapped`, which hands
//! the signed-in person their own passphrase-wrapped key; it is unwrapped only in their
//! browser, so the server never holds a usable officer key.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::desk_for;
use super::pages::{AccountPage, Choice};
use super::session::Officer;
use crate::app::{accounts, notify};
use crate::domain::notify::NotifyMode;
use crate::web::SharedState;
use crate::web::shared::error::{AppError, ErrorKind};

#[derive(serde::Deserialize)]
pub struct AccountQuery {
    /// Set by the first sign-in after an admin's reset; the date shown is the stored one.
    #[serde(default)]
    reset: Option<String>,
    /// Set after the notification choice was saved.
    #[serde(default)]
    notify: Option<String>,
}

pub async fn show(
    State(state): State<SharedState>,
    who: Officer,
    Query(q): Query<AccountQuery>,
) -> Result<Response, AppError> {
    let t = who.lang.tr();
    let reset_notice = q
        .reset
        .and(who.account.reset_at)
        .and_then(|at| time::OffsetDateTime::from_unix_timestamp(at).ok())
        .map(|at| t.fmt("account.reset_notice", &[("date", &t.date(at.date()))]));
    let (mode, _) = notify::preference(state.store(), &who.account).await?;
    let notify_modes = NotifyMode::ALL
        .iter()
        .map(|m| Choice {
            value: m.as_str().to_owned(),
            label: t.get(&format!("notify.mode.{}", m.as_str())).to_owned(),
            selected: *m == mode,
        })
        .collect();
    Ok(AccountPage {
        csrf: who.csrf(&state),
        notify_modes,
        notify_saved: q.notify.is_some(),
        mail_on: state.mailer.is_some(),
        d: desk_for(&state, &who, "account", "/officer/account"),
        roles: who
            .account
            .roles
            .iter()
            .map(|r| t.get(&format!("role.{}", r.as_str())).to_owned())
            .collect::<Vec<_>>()
            .join(", "),
        has_wrapped_key: who.account.has_wrapped_identity,
        reset_notice,
    }
    .into_response())
}

/// `POST /officer/account/notifications`: the officer's choice of mails (`mode` = `all`,
/// `digest` or `off`), saved with its audit row; mails then come in this session's language.
pub async fn notifications(
    State(state): State<SharedState>,
    who: Officer,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let field = |name: &str| {
        form.iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    };
    who.check_csrf(&state, &headers, field("csrf"))?;
    let mode: NotifyMode = field("mode")
        .parse()
        .map_err(|_| AppError::from(ErrorKind::BadRequest))?;
    notify::choose(&state, &who.account, mode, who.lang).await?;
    Ok(Redirect::to("/officer/account?notify=saved").into_response())
}

pub async fn wrapped_key(
    State(state): State<SharedState>,
    who: Officer,
) -> Result<Response, AppError> {
    let wrapped = accounts::wrapped_key(&state, &who.account).await?;
    let mut res = wrapped.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Ok(res)
}
