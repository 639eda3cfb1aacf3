//! Meetings and minutes (issue 11, Directive art. 9(2) and 18). A reporter asks for a meeting
//! (in person or by phone) on the intake form or with a reply; it becomes a task on the case,
//! due `SPEAKUP_MEETING_DUE_DAYS` after the day asked, which an officer marks done (audited
//! `meeting_done`, one transaction). An officer's message may be the minutes of a meeting or
//! call; the reporter confirms them, or corrects them with a reply linked to them. What the
//! reporter writes (availability, a correction) is an encrypted item like any reply; the
//! kind of meeting and the days are metadata. Reporter actions are queued by day only, in the
//! transaction of the reporter's write they record.

use std::collections::HashMap;

use time::Date;

use super::audit::{action, entry};
use super::casework::Opened;
use super::items::inline;
use super::{App, Error, Result, new_id};
use crate::domain::case::ItemKind;
use crate::domain::holder::{Author, CaseId, OfficerId};
use crate::domain::meeting::{self, MeetingKind, TaskState};
use crate::domain::permission::Permission;
use crate::store::{CaseRecord, MinutesRecord, NewItem, NewMeeting, OfficerRecord, ReporterAction};

/// A form's meeting choice: empty is none; anything but a known kind is refused.
pub fn parse_kind(value: &str) -> Result<Option<MeetingKind>> {
    match value.trim() {
        "" => Ok(None),
        v => v.parse().map(Some).map_err(|_| Error::Invalid),
    }
}

/// A meeting asked for today, linked to the item holding what the reporter wrote about it.
pub fn asked(kind: MeetingKind, item_id: Option<String>, today: Date) -> NewMeeting {
    NewMeeting {
        id: new_id(),
        kind,
        requested_on: today,
        item_id,
    }
}

/// The intake's meeting: the request and, when the reporter wrote about it, the item holding
/// that text (ciphertext to the case and the reporter). Text without a meeting is refused.
pub fn at_intake(
    kind: Option<MeetingKind>,
    availability: Option<Vec<u8>>,
    today: Date,
) -> Result<(Option<NewItem>, Option<NewMeeting>)> {
    let Some(kind) = kind else {
        return match availability {
            None => Ok((None, None)),
            Some(_) => Err(Error::Invalid),
        };
    };
    let item = availability.map(|ct| {
        inline(
            new_id(),
            ItemKind::Message,
            &Author::Reporter,
            true,
            today,
            ct,
        )
    });
    let request = asked(kind, item.as_ref().map(|i| i.id.clone()), today);
    Ok((item, Some(request)))
}

/// A meeting request as the case page shows it.
pub struct Task {
    pub id: String,
    pub kind: MeetingKind,
    pub requested_on: Date,
    pub due: Date,
    pub state: TaskState,
    /// Who marked it done, and when (Unix seconds).
    pub done: Option<(OfficerId, i64)>,
    /// The reporter's item that asked (its text is what they wrote about it).
    pub item_id: Option<String>,
}

/// The case's meeting requests, with their due dates and states today.
pub async fn tasks(app: &App, case: &CaseRecord) -> Result<Vec<Task>> {
    let days = app.settings.meeting_due_days;
    let today = app.clock.today();
    Ok(app
        .store
        .meetings(&case.id)
        .await?
        .into_iter()
        .map(|m| Task {
            due: meeting::due(m.requested_on, days),
            state: meeting::state(m.requested_on, days, m.done_at.is_some(), today),
            done: m.done_by.zip(m.done_at),
            id: m.id,
            kind: m.kind,
            requested_on: m.requested_on,
            item_id: m.item_id,
        })
        .collect())
}

/// For the case list: each case with a request not yet done, with the earliest due date.
pub async fn open_due(app: &App) -> Result<HashMap<CaseId, Date>> {
    let days = app.settings.meeting_due_days;
    let mut due: HashMap<CaseId, Date> = HashMap::new();
    for (case, day) in app.store.open_meetings().await? {
        let d = meeting::due(day, days);
        due.entry(case)
            .and_modify(|e| *e = (*e).min(d))
            .or_insert(d);
    }
    Ok(due)
}

/// An officer who may work on the case marks a request done, with its audit row in the same
/// transaction. Refused when there is no such open request.
pub async fn mark_done(app: &App, who: &OfficerRecord, o: &Opened, id: &str) -> Result<()> {
    super::accounts::require(who, Permission::WorkOnCases)?;
    let now = app.clock.now();
    let Some(task) = tasks(app, &o.case).await?.into_iter().find(|t| t.id == id) else {
        return Err(Error::NotFound);
    };
    let audit = entry(
        now,
        &who.email,
        action::MEETING_DONE,
        &o.case.reference,
        task.kind.as_str(),
    );
    let done = app
        .store
        .mark_meeting_done(&o.case.id, id, now.unix_timestamp(), &who.id, &audit)
        .await?;
    if done { Ok(()) } else { Err(Error::Invalid) }
}

/// The case's minutes by the item holding them.
pub async fn minutes(app: &App, case: &CaseRecord) -> Result<HashMap<String, MinutesRecord>> {
    Ok(app
        .store
        .minutes(&case.id)
        .await?
        .into_iter()
        .map(|m| (m.item_id.clone(), m))
        .collect())
}

/// The reporter confirms minutes of their case (`minutes_confirmed` queued, the day only, in
/// the same transaction).
/// Refused when the item is not unanswered minutes of this case.
pub async fn confirm(app: &App, case: &CaseRecord, item_id: &str) -> Result<()> {
    let today = app.clock.today();
    let queued = [ReporterAction {
        day: today,
        action: action::MINUTES_CONFIRMED,
    }];
    let answered = app.store.confirm_minutes(&case.id, item_id, today, &queued);
    if !answered.await? {
        return Err(Error::Invalid);
    }
    Ok(())
}

/// What a reporter's reply asks for besides being a reply: a meeting, or to correct minutes.
#[derive(Debug, Clone, Default)]
pub struct Asked {
    pub meeting: Option<MeetingKind>,
    /// The id of the minutes item the reply corrects.
    pub corrects: Option<String>,
}

impl Asked {
    /// From the reply form's `meeting` and `corrects` fields.
    pub fn parse(meeting: &str, corrects: &str) -> Result<Self> {
        let corrects = corrects.trim();
        Ok(Self {
            meeting: parse_kind(meeting)?,
            corrects: (!corrects.is_empty()).then(|| corrects.to_owned()),
        })
    }

    /// The audit actions the reply queues besides `reporter_replied`.
    pub fn actions(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.meeting.is_some() {
            out.push(action::MEETING_REQUESTED);
        }
        if self.corrects.is_some() {
            out.push(action::MINUTES_CORRECTED);
        }
        out
    }
}
