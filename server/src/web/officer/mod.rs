//! The officer workspace under `/officer`: login with password and TOTP, enrollment, the
//! case list and case pages, admin and audit pages. Keeps rules `no-plaintext-at-rest` and
//! `officer-auth-and-audit`: the server hands the browser ciphertext and stores what the
//! browser encrypted; handlers parse, call one use case in `app` (which checks every role
//! boundary and commits each action with its audit row), and render.

pub mod account;
pub mod actions;
pub mod admin;
pub mod audit_view;
pub mod case;
pub mod case_file;
pub mod case_move;
pub mod cases;
pub mod enroll;
pub mod entities;
pub mod entity_logo;
pub mod hold;
pub mod intake;
pub mod login;
pub mod meetings;
pub mod pages;
pub mod posters;
pub mod routing;
pub mod session;
pub mod stats;
pub mod throttle;

use crate::clock::{OrgTimeZone, offset_label};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use self::pages::{Desk, Me};
use self::session::Officer;
use super::SharedState;
use super::shared::ratelimit;
use super::shared::views::ScriptText;
use crate::domain::officer::Role;
use crate::domain::permission::Permission;
use crate::i18n::{Lang, Tr};

/// Strings the browser script shows, from the `js.*` catalog keys.
const JS_KEYS: &[&str] = &[
    "locked",
    "unlocking",
    "unlock_failed",
    "decrypt_failed",
    "encrypting",
    "send_failed",
    "key_missing",
    "downloading",
    "passphrase_mismatch",
    "key_generated",
    "officer_key.failed",
    "entered.sealing",
    "entered.failed",
    "casefile.preparing",
    "casefile.done",
    "casefile.failed",
];

fn js_text(t: Tr) -> String {
    static TEXT: ScriptText = ScriptText::new(JS_KEYS);
    TEXT.get(t).to_owned()
}

pub fn desk(state: &SharedState, lang: Lang, page: &'static str, path: &str) -> Desk {
    let t = lang.tr();
    Desk {
        t,
        org_name: state.site.get().org_name.clone(),
        page,
        path: path.to_owned(),
        me: None,
        js_text: js_text(t),
    }
}

pub fn desk_for(state: &SharedState, who: &Officer, page: &'static str, path: &str) -> Desk {
    let mut d = desk(state, who.lang, page, path);
    d.me = Some(Me {
        name: who.account.name.clone(),
        email: who.account.email.clone(),
        recipient: who.account.recipient.clone(),
        csrf: who.csrf(state),
        cases: Permission::WorkOnCases.granted_to(&who.account.roles),
        enter_reports: Permission::EnterReports.granted_to(&who.account.roles),
        admin: who.has(Role::Admin),
        auditor: who.has(Role::Auditor),
    });
    d
}

/// Officer-side times are exact, shown in the organisation's time zone with that moment's
/// offset (`UTC+1`); only reporter actions are reduced to days.
pub fn when(t: &Tr, zone: &OrgTimeZone, unix: i64) -> String {
    match zone.local(unix) {
        Some(at) => format!(
            "{} {:02}:{:02} {}",
            t.date(at.date()),
            at.hour(),
            at.minute(),
            offset_label(at.offset())
        ),
        None => String::new(),
    }
}

/// `/officer`: each person's first page, by role.
async fn home(who: Officer) -> Response {
    let to = if Permission::WorkOnCases.granted_to(&who.account.roles) {
        "/officer/cases"
    } else if who.has(Role::Admin) {
        "/officer/admin/accounts"
    } else if who.has(Role::Auditor) {
        "/officer/audit"
    } else {
        "/officer/account"
    };
    Redirect::to(to).into_response()
}

/// The case list, case pages and the actions on a case (uploads apart: they get a larger
/// body limit).
fn case_routes() -> Router<SharedState> {
    Router::new()
        .route("/officer/cases", get(cases::list))
        .route("/officer/cases/{reference}", get(case::show))
        .route("/officer/cases/{reference}/reveal", post(case::reveal))
        .route(
            "/officer/cases/{reference}/case-file",
            get(case_file::download),
        )
        .route(
            "/officer/cases/{reference}/items/{item}",
            get(case::download),
        )
        .route(
            "/officer/cases/{reference}/items/{item}/text",
            get(case::item_text),
        )
        .route("/officer/cases/{reference}/status", post(actions::status))
        .route("/officer/cases/{reference}/grants", post(actions::grant))
        .route(
            "/officer/cases/{reference}/officer-key",
            post(actions::officer_key),
        )
        .route("/officer/cases/{reference}/revoke", post(actions::revoke))
        .route("/officer/cases/{reference}/owner", post(actions::owner))
        .route("/officer/cases/{reference}/hold", post(hold::hold))
        .route(
            "/officer/cases/{reference}/meetings/{id}/done",
            post(meetings::done),
        )
        .route("/officer/cases/{reference}/exclude", post(actions::exclude))
        .route(
            "/officer/cases/{reference}/exclude/confirm",
            post(actions::confirm_exclusion),
        )
        .route(
            "/officer/cases/{reference}/exclude/lift",
            post(actions::lift_exclusion),
        )
}

/// The login form gets a per-client budget of POSTs a minute (the same figure as the
/// reporter forms', with the same trusted-proxy rule, kept in its own limiter, in memory
/// only).
pub fn routes(upload_limit: usize, settings: &crate::config::Settings) -> Router<SharedState> {
    let uploads = Router::new()
        .route(
            "/officer/cases/{reference}/messages",
            post(actions::message),
        )
        .route("/officer/cases/{reference}/notes", post(actions::note))
        .route("/officer/report", get(intake::form).post(intake::submit))
        .layer(DefaultBodyLimit::max(upload_limit));
    Router::new()
        .route("/officer", get(home))
        .route(
            "/officer/login",
            get(login::form)
                .post(login::submit)
                .layer(ratelimit::per_client(
                    settings.rate_per_client,
                    &settings.connections.trusted_proxies,
                )),
        )
        .route("/officer/logout", post(login::logout))
        .route(
            "/officer/enroll/{token}",
            get(enroll::form).post(enroll::submit),
        )
        .route("/officer/account", get(account::show))
        .route("/officer/key/wrapped", get(account::wrapped_key))
        .merge(case_routes())
        .route(
            "/officer/admin/accounts",
            get(admin::accounts).post(admin::create),
        )
        .route(
            "/officer/admin/accounts/{id}/{action}",
            post(admin::account_action),
        )
        .route(
            "/officer/admin/settings",
            get(admin::settings).post(admin::save_settings),
        )
        .route("/officer/audit", get(audit_view::show))
        .route("/officer/stats", get(stats::show))
        .route("/officer/stats.csv", get(stats::csv))
        .merge(uploads.merge(notify_routes()).merge(posters::routes()))
        .merge(routing::routes())
        .merge(entity_routes())
}

/// Legal entities (issue 12): the admin's list, each entity's page and its triage group.
fn entity_routes() -> Router<SharedState> {
    Router::new()
        .route(
            "/officer/admin/entities",
            get(entities::index).post(entities::create),
        )
        .route(
            "/officer/admin/entities/{slug}",
            get(entities::show).post(entities::save),
        )
        .route(
            "/officer/admin/entities/{slug}/members",
            post(entities::members),
        )
        .route(
            "/officer/admin/entities/{slug}/logo",
            post(entity_logo::upload).layer(DefaultBodyLimit::max(entity_logo::BODY_LIMIT)),
        )
        .route(
            "/officer/admin/entities/{slug}/logo/remove",
            post(entity_logo::remove),
        )
        .route("/officer/admin/entity-group", post(entities::group))
        .route(
            "/officer/cases/{reference}/move",
            post(case_move::move_case),
        )
}

/// Notification mails: an officer's choice, an admin's test mail.
fn notify_routes() -> Router<SharedState> {
    Router::new()
        .route(
            "/officer/account/notifications",
            post(account::notifications),
        )
        .route("/officer/admin/settings/test-mail", post(admin::test_mail))
}
