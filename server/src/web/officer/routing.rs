//! Routing before sealing (issue 12) on the officer side: the admins' triage groups page
//! (add a group, put an officer in or take them out) and the auditors' page of reporters'
//! leave-outs, where only an auditor lifts one. Rules and audit rows are in `app::routing`.

use axum::Form;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::desk_for;
use super::pages::{GroupRow, GroupsPage, LeaveOutRow, LeaveOutsPage};
use super::session::Officer;
use crate::app::accounts::require;
use crate::app::{self, routing};
use crate::domain::officer::Role;
use crate::domain::permission::Permission;
use crate::web::SharedState;
use crate::web::shared::error::AppError;

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/officer/admin/groups", get(groups).post(add_group))
        .route("/officer/admin/groups/members", post(member))
        .route("/officer/admin/groups/rename", post(rename))
        .route("/officer/admin/groups/delete", post(delete))
        .route("/officer/audit/leave-outs", get(leave_outs))
        .route("/officer/audit/leave-outs/lift", post(lift))
}

#[derive(Deserialize, Default)]
pub struct Done {
    #[serde(default)]
    done: String,
}

#[derive(Deserialize)]
pub struct GroupForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    email: String,
    /// `add` or `remove` (members).
    #[serde(default)]
    member: String,
}

async fn groups_page(
    state: &SharedState,
    who: &Officer,
    notice: Option<&'static str>,
    error: Option<&'static str>,
) -> Result<GroupsPage, AppError> {
    let officers = state.store.officers().await?;
    let name_of = |id: &crate::domain::holder::OfficerId| {
        officers
            .iter()
            .find(|o| &o.id == id)
            .map(|o| (o.name.clone(), o.email.clone()))
    };
    let site = state.site.get();
    let groups = routing::groups(state)
        .await?
        .into_iter()
        .map(|g| GroupRow {
            members: g.members.iter().filter_map(&name_of).collect(),
            routed: (site.routes.iter())
                .filter(|(_, to)| to == &g.name)
                .map(|(c, _)| site.category(c).map_or(c.clone(), |c| c.label(who.lang)))
                .collect(),
            name: g.name,
        })
        .collect();
    let candidates = officers
        .iter()
        .filter(|o| !o.disabled && o.roles.has(Role::Officer))
        .map(|o| (o.name.clone(), o.email.clone()))
        .collect();
    Ok(GroupsPage {
        d: desk_for(state, who, "admin-groups", "/officer/admin/groups"),
        csrf: who.csrf(state),
        groups,
        candidates,
        notice,
        error,
    })
}

/// `GET /officer/admin/groups`.
pub async fn groups(
    State(state): State<SharedState>,
    who: Officer,
    Query(q): Query<Done>,
) -> Result<Response, AppError> {
    require(&who.account, Permission::ChangeSettings)?;
    let notice = match q.done.as_str() {
        "group" => Some("routing.done_group"),
        "member" => Some("routing.done_member"),
        "renamed" => Some("group_edit.done_renamed"),
        "deleted" => Some("group_edit.done_deleted"),
        _ => None,
    };
    Ok(groups_page(&state, &who, notice, None)
        .await?
        .into_response())
}

/// A refused change shows the page again with its error; anything else is the error page.
async fn refused(
    state: &SharedState,
    who: &Officer,
    e: app::Error,
    key: &'static str,
) -> Result<Response, AppError> {
    match e {
        app::Error::Invalid | app::Error::NotFound => {
            let page = groups_page(state, who, None, Some(key)).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        e => Err(e.into()),
    }
}

/// A change's answer: back to the groups page saying `done`, or the page again with `key`.
async fn answer<T>(
    state: &SharedState,
    who: &Officer,
    done: app::Result<T>,
    notice: &str,
    key: &'static str,
) -> Result<Response, AppError> {
    match done {
        Ok(_) => Ok(Redirect::to(&format!("/officer/admin/groups?done={notice}")).into_response()),
        Err(e) => refused(state, who, e, key).await,
    }
}

/// `POST /officer/admin/groups`: a new triage group (`name`).
pub async fn add_group(
    State(state): State<SharedState>,
    who: Officer,
    headers: HeaderMap,
    Form(form): Form<GroupForm>,
) -> Result<Response, AppError> {
    who.check_csrf(&state, &headers, &form.csrf)?;
    let done = routing::add_group(&state, Some(&who.account), &form.name).await;
    answer(&state, &who, done, "group", "routing.error.group_name").await
}

/// `POST /officer/admin/groups/members`: `member=add` or `remove` the officer `email` from
/// `group`.
pub async fn member(
    State(state): State<SharedState>,
    who: Officer,
    headers: HeaderMap,
    Form(form): Form<GroupForm>,
) -> Result<Response, AppError> {
    who.check_csrf(&state, &headers, &form.csrf)?;
    let add = match form.member.as_str() {
        "add" => true,
        "remove" => false,
        _ => return Err(crate::web::shared::error::ErrorKind::BadRequest.into()),
    };
    let done = routing::set_member(&state, Some(&who.account), &form.group, &form.email, add);
    answer(&state, &who, done.await, "member", "routing.error.member").await
}

/// `POST /officer/admin/groups/rename`: `group` gets the new `name`; its routes and routed
/// cases follow.
pub async fn rename(
    State(state): State<SharedState>,
    who: Officer,
    headers: HeaderMap,
    Form(form): Form<GroupForm>,
) -> Result<Response, AppError> {
    who.check_csrf(&state, &headers, &form.csrf)?;
    let done = routing::rename_group(&state, Some(&who.account), &form.group, &form.name).await;
    answer(&state, &who, done, "renamed", "group_edit.error_rename").await
}

/// `POST /officer/admin/groups/delete`: deletes `group`, unless a category routes to it or
/// cases were routed to it.
pub async fn delete(
    State(state): State<SharedState>,
    who: Officer,
    headers: HeaderMap,
    Form(form): Form<GroupForm>,
) -> Result<Response, AppError> {
    who.check_csrf(&state, &headers, &form.csrf)?;
    let done = routing::delete_group(&state, Some(&who.account), &form.group).await;
    answer(&state, &who, done, "deleted", "group_edit.error_delete").await
}

/// `GET /officer/audit/leave-outs`: the reporters' leave-outs in force (auditors).
pub async fn leave_outs(
    State(state): State<SharedState>,
    who: Officer,
    Query(q): Query<Done>,
) -> Result<Response, AppError> {
    let t = who.lang.tr();
    let rows = routing::leave_outs(&state, &who.account)
        .await?
        .into_iter()
        .map(|l| LeaveOutRow {
            received: t.date(l.received_on),
            reference: l.reference,
            account: l.officer.id.to_string(),
            officer: format!("{} <{}>", l.officer.name, l.officer.email),
        })
        .collect();
    Ok(LeaveOutsPage {
        d: desk_for(&state, &who, "leave-outs", "/officer/audit/leave-outs"),
        csrf: who.csrf(&state),
        rows,
        lifted: q.done == "lifted",
    }
    .into_response())
}

#[derive(Deserialize)]
pub struct LiftForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    case: String,
    #[serde(default)]
    account: String,
}

/// `POST /officer/audit/leave-outs/lift`: an auditor lifts a reporter's leave-out (`case`,
/// `account`); audited as `leave_out_lifted`.
pub async fn lift(
    State(state): State<SharedState>,
    who: Officer,
    headers: HeaderMap,
    Form(form): Form<LiftForm>,
) -> Result<Response, AppError> {
    who.check_csrf(&state, &headers, &form.csrf)?;
    routing::lift_leave_out(&state, &who.account, &form.case, &form.account).await?;
    Ok(Redirect::to("/officer/audit/leave-outs?done=lifted").into_response())
}
