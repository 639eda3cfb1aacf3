//! Meetings and minutes on the case page (issue 11): the reporter's meeting requests as tasks
//! with their due dates, `POST /officer/cases/{reference}/meetings/{id}/done` (audited
//! `meeting_done` by `app::meetings`, in the same transaction), and the reporter's answer
//! shown on each message sent as minutes.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::pages::MeetingView;
use super::session::Officer;
use super::when;
use crate::app::casework::{self, CaseView};
use crate::app::meetings;
use crate::clock::OrgTimeZone;
use crate::domain::meeting::{MinutesAnswer, TaskState};
use crate::i18n::Tr;
use crate::store::MinutesRecord;
use crate::web::SharedState;
use crate::web::shared::error::AppError;

/// The case's meeting requests as the page lists them.
pub fn views(t: &Tr, zone: &OrgTimeZone, v: &CaseView) -> Vec<MeetingView> {
    v.meetings
        .iter()
        .map(|m| MeetingView {
            id: m.id.clone(),
            kind_key: match m.kind {
                crate::domain::meeting::MeetingKind::InPerson => "meetings.kind.in_person",
                crate::domain::meeting::MeetingKind::Phone => "meetings.kind.phone",
            },
            requested: t.date(m.requested_on),
            due: t.date(m.due),
            state: match m.state {
                TaskState::Open => "open",
                TaskState::Overdue => "overdue",
                TaskState::Done => "done",
            },
            done: m
                .done
                .as_ref()
                .map(|(by, at)| {
                    let name = v.people.get(by).cloned().unwrap_or_else(|| by.to_string());
                    t.fmt(
                        "meetings.done_by",
                        &[("name", &name), ("at", &when(t, zone, *at))],
                    )
                })
                .unwrap_or_default(),
        })
        .collect()
}

/// The reporter's answer to minutes, in a sentence.
pub fn minutes_state(t: &Tr, m: &MinutesRecord) -> String {
    let day = m.answered_on.map(|d| t.date(d)).unwrap_or_default();
    match m.answer {
        None => t.get("meetings.minutes_waiting").to_owned(),
        Some(MinutesAnswer::Confirmed) => t.fmt("meetings.minutes_confirmed", &[("date", &day)]),
        Some(MinutesAnswer::Corrected) => t.fmt("meetings.minutes_corrected", &[("date", &day)]),
    }
}

/// What a reporter's message is besides a message: a meeting request (its text is what they
/// wrote about it), or a correction of minutes. Empty for anything else.
pub fn linked(t: &Tr, item_id: &str, v: &CaseView) -> String {
    if let Some(m) = v
        .meetings
        .iter()
        .find(|m| m.item_id.as_deref() == Some(item_id))
    {
        let kind = t.get(match m.kind {
            crate::domain::meeting::MeetingKind::InPerson => "meetings.kind.in_person",
            crate::domain::meeting::MeetingKind::Phone => "meetings.kind.phone",
        });
        return t.fmt("meetings.item_asks", &[("kind", kind)]);
    }
    let corrects = v
        .minutes
        .values()
        .any(|m| m.correction_id.as_deref() == Some(item_id));
    if corrects {
        t.get("meetings.item_corrects").to_owned()
    } else {
        String::new()
    }
}

#[derive(Deserialize)]
pub struct DoneForm {
    #[serde(default)]
    csrf: String,
}

/// Marks a meeting request done.
pub async fn done(
    State(state): State<SharedState>,
    who: Officer,
    Path((reference, id)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<DoneForm>,
) -> Result<Response, AppError> {
    who.check_csrf(&state, &headers, &form.csrf)?;
    let o = casework::open(&state, &who.account, &reference).await?;
    meetings::mark_done(&state, &who.account, &o, &id).await?;
    let to = format!("/officer/cases/{}?done=meeting_done", o.case.reference);
    Ok(Redirect::to(&to).into_response())
}
