//! `/officer/account` (who am I, is my key working) and `/officer/key/wrapped`, which hands
//! the signed-in person their own passphrase-wrapped key; it is unwrapped only in their
//! browser, so the server never holds a usable officer key.

use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::desk_for;
use super::pages::AccountPage;
use super::session::Officer;
use crate::app::accounts;
use crate::web::SharedState;
use crate::web::shared::error::AppError;

#[derive(serde::Deserialize)]
pub struct AccountQuery {
    /// Set by the first sign-in after an admin's reset; the date shown is the stored one.
    #[serde(default)]
    reset: Option<String>,
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
    Ok(AccountPage {
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
