//! Admin pages: accounts (create with a one-time enrollment link, disable, enable, reset,
//! change roles) and the site settings. Admins run the system but read no case: nothing
//! here touches a case key or a case item. The rules and the audit are in `app::accounts`
//! and `app::settings`.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::desk_for;
use super::pages::{
    AccountRow, AccountsPage, Choice, MailPanel, NoticeField, RouteField, SettingsPage,
};
use super::session::Officer;
use crate::app::accounts::{self, AccountChange, Changer, LINK_HOURS, NewAccount, require};
use crate::app::settings::{self, SettingsInput};
use crate::app::{notify, routing};
use crate::domain::case::Outcome;
use crate::domain::holder::OfficerId;
use crate::domain::officer::{OfficerEmail, OfficerName, Role, Roles};
use crate::domain::permission::Permission;
use crate::i18n::Lang;
use crate::web::SharedState;
use crate::web::shared::error::{AppError, ErrorKind};

type Pairs = Vec<(String, String)>;

fn get<'a>(form: &'a Pairs, name: &str) -> &'a str {
    form.iter()
        .find(|(n, _)| n == name)
        .map_or("", |(_, v)| v.as_str())
}

fn roles_in(form: &Pairs) -> Roles {
    let roles: Vec<Role> = form
        .iter()
        .filter(|(n, _)| n == "role")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    Roles::new(&roles)
}

async fn accounts_page(
    state: &SharedState,
    who: &Officer,
    new_link: Option<(String, String)>,
    errors: Vec<&'static str>,
    draft: (&str, &str),
) -> Result<AccountsPage, AppError> {
    let t = who.lang.tr();
    let label = |r: Role| t.get(&format!("role.{}", r.as_str())).to_owned();
    let accounts = state
        .store
        .officers()
        .await?
        .into_iter()
        .map(|a| AccountRow {
            roles: a.roles.iter().map(label).collect::<Vec<_>>().join(", "),
            is_me: a.id == who.account.id,
            has_key: !a.recipient.is_empty(),
            id: a.id.to_string(),
            email: a.email,
            name: a.name,
            enrolled: a.enrolled,
            disabled: a.disabled,
        })
        .collect();
    let roles = [
        Role::Officer,
        Role::Investigator,
        Role::Auditor,
        Role::Admin,
    ]
    .iter()
    .map(|r| Choice {
        value: r.as_str().into(),
        label: label(*r),
        selected: false,
    })
    .collect();
    Ok(AccountsPage {
        d: desk_for(state, who, "admin-accounts", "/officer/admin/accounts"),
        csrf: who.csrf(state),
        accounts,
        roles,
        new_link,
        link_hours: LINK_HOURS,
        errors,
        draft_email: draft.0.to_owned(),
        draft_name: draft.1.to_owned(),
    })
}

pub async fn accounts(
    State(state): State<SharedState>,
    who: Officer,
) -> Result<Response, AppError> {
    require(&who.account, Permission::ManageAccounts)?;
    Ok(accounts_page(&state, &who, None, Vec::new(), ("", ""))
        .await?
        .into_response())
}

pub async fn create(
    State(state): State<SharedState>,
    who: Officer,
    headers: HeaderMap,
    Form(form): Form<Pairs>,
) -> Result<Response, AppError> {
    who.check_csrf(&state, &headers, get(&form, "csrf"))?;
    require(&who.account, Permission::ManageAccounts)?;
    let (email, name, roles) = (
        OfficerEmail::parse(get(&form, "email")),
        OfficerName::parse(get(&form, "name")),
        roles_in(&form),
    );
    let mut errors = Vec::new();
    let checks = [
        (email.is_err(), "admin.error.email"),
        (name.is_err(), "admin.error.name"),
        (roles.is_empty(), "admin.error.roles"),
    ];
    errors.extend(checks.iter().filter(|(bad, _)| *bad).map(|(_, k)| *k));
    let draft = (get(&form, "email"), get(&form, "name"));
    let (Ok(email), Ok(name), true) = (email, name, errors.is_empty()) else {
        let page = accounts_page(&state, &who, None, errors, draft).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let account = NewAccount {
        email,
        name,
        roles,
        recipient: None,
    };
    let Some((_, link)) = accounts::create(&state, Changer::Admin(&who.account), &account).await?
    else {
        let errors = vec!["admin.error.duplicate"];
        let page = accounts_page(&state, &who, None, errors, draft).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let shown = Some((account.email.as_str().to_owned(), link));
    Ok(accounts_page(&state, &who, shown, Vec::new(), ("", ""))
        .await?
        .into_response())
}

pub async fn account_action(
    State(state): State<SharedState>,
    who: Officer,
    Path((id, what)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<Pairs>,
) -> Result<Response, AppError> {
    who.check_csrf(&state, &headers, get(&form, "csrf"))?;
    require(&who.account, Permission::ManageAccounts)?;
    let by = Changer::Admin(&who.account);
    let target = OfficerId::from(id);
    let change = match what.as_str() {
        "disable" => AccountChange::Disable,
        "enable" => AccountChange::Enable,
        "roles" => AccountChange::Roles(roles_in(&form)),
        "reset" => {
            let (account, link) = accounts::reset(&state, by, &target).await?;
            let shown = Some((account.email, link));
            return Ok(accounts_page(&state, &who, shown, Vec::new(), ("", ""))
                .await?
                .into_response());
        }
        _ => return Err(ErrorKind::NotFound.into()),
    };
    accounts::change(&state, by, &target, change).await?;
    Ok(Redirect::to("/officer/admin/accounts").into_response())
}

fn notice_fields(input: &SettingsInput) -> Vec<NoticeField> {
    Lang::ALL
        .iter()
        .map(|l| NoticeField {
            code: l.code(),
            native: l.native_name(),
            text: input.notices.get(l.code()).cloned().unwrap_or_default(),
        })
        .collect()
}

/// The mail panel of the settings page, with a test mail's outcome if one was just sent.
async fn mail_panel(
    state: &SharedState,
    test_result: Option<&'static str>,
) -> Result<MailPanel, AppError> {
    let status = notify::status(state).await?;
    Ok(MailPanel {
        configured: status.configured,
        last_ok: status.last_ok,
        last_error: status.last_error,
        test_result,
    })
}

/// Routing before sealing: a choice of triage group per category (those typed on the page
/// when they read, the saved ones otherwise).
async fn route_fields(
    state: &SharedState,
    who: &Officer,
    input: &SettingsInput,
) -> Result<Vec<RouteField>, AppError> {
    let groups = routing::groups(state).await?;
    let categories = settings::parse_categories(&input.categories)
        .unwrap_or_else(|| state.site.get().categories.clone());
    let t = who.lang.tr();
    Ok(categories
        .iter()
        .map(|c| {
            let chosen = input.routes.get(&c.code).map_or("", String::as_str);
            let mut options = vec![Choice {
                value: String::new(),
                label: t.get("routing.route_default").to_owned(),
                selected: chosen.is_empty(),
            }];
            options.extend(groups.iter().map(|g| Choice {
                value: g.name.clone(),
                label: g.name.clone(),
                selected: g.name == chosen,
            }));
            RouteField {
                code: c.code.clone(),
                label: c.label(who.lang),
                options,
            }
        })
        .collect())
}

fn settings_page(
    state: &SharedState,
    who: &Officer,
    input: &SettingsInput,
    (saved, mail, routes): (bool, MailPanel, Vec<RouteField>),
    errors: Vec<&'static str>,
) -> SettingsPage {
    SettingsPage {
        routes,
        reporter_leave_out: input.reporter_leave_out,
        mail,
        d: desk_for(state, who, "admin-settings", "/officer/admin/settings"),
        csrf: who.csrf(state),
        org_name: input.org_name.clone(),
        notices: notice_fields(input),
        categories: input.categories.clone(),
        escrow: input.escrow.clone(),
        retention_months: input.retention_months.trim().parse().unwrap_or(0),
        retention_outcomes: Outcome::ALL
            .iter()
            .map(|o| {
                let typed = input.retention_by_outcome.get(o.as_str());
                (
                    o.as_str(),
                    format!("outcome.{o}"),
                    typed.cloned().unwrap_or_default(),
                )
            })
            .collect(),
        saved,
        errors,
    }
}

pub async fn settings(
    State(state): State<SharedState>,
    who: Officer,
) -> Result<Response, AppError> {
    require(&who.account, Permission::ChangeSettings)?;
    let input = SettingsInput::from_site(&state.site.get());
    let mail = mail_panel(&state, None).await?;
    let routes = route_fields(&state, &who, &input).await?;
    Ok(settings_page(&state, &who, &input, (false, mail, routes), Vec::new()).into_response())
}

/// `POST /officer/admin/settings/test-mail`: a test mail to the admin's own address; the page
/// then shows whether it was delivered, and the error if not (audited either way).
pub async fn test_mail(
    State(state): State<SharedState>,
    who: Officer,
    headers: HeaderMap,
    Form(form): Form<Pairs>,
) -> Result<Response, AppError> {
    who.check_csrf(&state, &headers, get(&form, "csrf"))?;
    require(&who.account, Permission::ChangeSettings)?;
    let result = if state.mailer.is_none() {
        "settings.mail.off"
    } else if notify::send_test(&state, &who.account, who.lang).await? {
        "settings.mail.test_sent"
    } else {
        "settings.mail.test_failed"
    };
    let input = SettingsInput::from_site(&state.site.get());
    let mail = mail_panel(&state, Some(result)).await?;
    let routes = route_fields(&state, &who, &input).await?;
    Ok(settings_page(&state, &who, &input, (false, mail, routes), Vec::new()).into_response())
}

pub async fn save_settings(
    State(state): State<SharedState>,
    who: Officer,
    headers: HeaderMap,
    Form(form): Form<Pairs>,
) -> Result<Response, AppError> {
    who.check_csrf(&state, &headers, get(&form, "csrf"))?;
    let input = SettingsInput {
        org_name: get(&form, "org_name").to_owned(),
        notices: Lang::ALL
            .iter()
            .map(|l| {
                (
                    l.code().to_owned(),
                    get(&form, &format!("notice_{}", l.code())).to_owned(),
                )
            })
            .collect(),
        categories: get(&form, "categories").to_owned(),
        escrow: get(&form, "escrow").trim().to_owned(),
        retention_months: get(&form, "retention_months").to_owned(),
        retention_by_outcome: Outcome::ALL
            .iter()
            .map(|o| {
                let field = format!("retention_{o}");
                (o.as_str().to_owned(), get(&form, &field).to_owned())
            })
            .collect(),
        // Routing before sealing: `route_<category>` per category, and the leave-out box.
        routes: form
            .iter()
            .filter_map(|(n, v)| Some((n.strip_prefix("route_")?.to_owned(), v.clone())))
            .collect(),
        reporter_leave_out: get(&form, "reporter_leave_out") == "on",
    };
    if let Err(errors) = settings::save(&state, &who.account, &input).await? {
        let mail = mail_panel(&state, None).await?;
        let routes = route_fields(&state, &who, &input).await?;
        let page = settings_page(&state, &who, &input, (false, mail, routes), errors);
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let mut saved = SettingsInput::from_site(&state.site.get());
    // The escrow field shows what was typed (a saved empty value falls back to the default).
    saved.escrow = input.escrow;
    let mail = mail_panel(&state, None).await?;
    let routes = route_fields(&state, &who, &saved).await?;
    Ok(settings_page(&state, &who, &saved, (true, mail, routes), Vec::new()).into_response())
}
