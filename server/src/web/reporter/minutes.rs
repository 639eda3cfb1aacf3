//! Minutes in the reporter's mailbox (issue 11): how the thread shows an officer's minutes
//! and the reporter's answer, the reply form that corrects them, and `POST
//! /mailbox/minutes/{id}/confirm`, a plain form (no content to encrypt), so confirming works
//! the same with and without JavaScript. A correction is a reply (`mailbox::reply`, either
//! road) naming the minutes it corrects.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::pages::{CorrectView, MinutesView, ThreadEntry};
use crate::app::meetings;
use crate::domain::meeting::MinutesAnswer;
use crate::i18n::Tr;
use crate::store::MinutesRecord;
use crate::web::SharedState;
use crate::web::shared::csrf::{self, Purpose};
use crate::web::shared::error::{AppError, ErrorKind};
use crate::web::shared::locale::Locale;

/// How a message that holds minutes shows: open, or the reporter's answer in a sentence.
pub fn entry_state(t: &Tr, minutes: Option<&MinutesRecord>) -> Option<MinutesView> {
    let m = minutes?;
    let day = m.answered_on.map(|d| t.date(d)).unwrap_or_default();
    let answer = match m.answer {
        None => String::new(),
        Some(MinutesAnswer::Confirmed) => {
            t.fmt("meetings.mailbox_confirmed", &[("date", day.as_str())])
        }
        Some(MinutesAnswer::Corrected) => {
            t.fmt("meetings.mailbox_corrected", &[("date", day.as_str())])
        }
    };
    Some(MinutesView {
        open: m.answer.is_none(),
        answer,
    })
}

/// The minutes the reply form corrects: only open minutes shown on this page.
pub fn correcting(entries: &[ThreadEntry], wanted: Option<String>) -> Option<CorrectView> {
    let wanted = wanted?;
    entries
        .iter()
        .find(|e| e.id == wanted && e.minutes.as_ref().is_some_and(|m| m.open))
        .map(|e| CorrectView {
            id: e.id.clone(),
            day: e.day.clone(),
        })
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    csrf: String,
}

/// The reporter confirms minutes as written (queued `minutes_confirmed`, the day only).
pub async fn confirm(
    State(state): State<SharedState>,
    Locale(lang): Locale,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, AppError> {
    let (session, case) = super::mailbox::current(&state, &headers).await?;
    let now = state.clock.now();
    if !csrf::same_origin(&headers)
        || !csrf::verify(
            &state.keys.csrf,
            Purpose::Mailbox,
            &session.nonce,
            &form.csrf,
            now,
        )
    {
        return Err(ErrorKind::Csrf.into());
    }
    meetings::confirm(&state, &case, &id).await?;
    let to = format!("/mailbox?lang={}&confirmed=1#thread", lang.code());
    Ok(Redirect::to(&to).into_response())
}
