//! Admin pages: accounts (create with a one-time enrollment link, disable, enable, reset,
//! change roles) and the site settings. Admins run the system but read no case: nothing
//! here touches a case key or a case item, and every change is audited.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::desk_for;
use super::enroll::LINK_HOURS;
use super::pages::{AccountRow, AccountsPage, Choice, NoticeField, SettingsPage};
use super::session::Officer;
use crate::audit::action;
use crate::auth;
use crate::config::Category;
use crate::domain::officer::{OfficerEmail, OfficerName, Role, parse_recipient, roles_to_db};
use crate::i18n::Lang;
use crate::site;
use crate::store::{NewOfficer, SharedStore, StoreError};
use crate::web::SharedState;
use crate::web::error::{AppError, ErrorKind};

type Pairs = Vec<(String, String)>;

fn get<'a>(form: &'a Pairs, name: &str) -> &'a str {
    form.iter()
        .find(|(n, _)| n == name)
        .map_or("", |(_, v)| v.as_str())
}

fn roles_in(form: &Pairs) -> Vec<Role> {
    form.iter()
        .filter(|(n, _)| n == "role")
        .filter_map(|(_, v)| v.parse().ok())
        .collect()
}

/// Makes a fresh one-time link for the account (replacing any earlier one) and returns it.
pub async fn enrollment_link(
    store: &SharedStore,
    public_url: &str,
    account_id: &str,
    now: i64,
    reset: bool,
) -> anyhow::Result<String> {
    let (token, hash) = auth::new_token().map_err(|e| anyhow::anyhow!("{e}"))?;
    let seed = auth::new_totp_seed().map_err(|e| anyhow::anyhow!("{e}"))?;
    store
        .create_enrollment(&hash, account_id, &seed, now + LINK_HOURS * 3600, reset)
        .await?;
    Ok(format!(
        "{}/officer/enroll/{token}",
        public_url.trim_end_matches('/')
    ))
}

async fn accounts_page(
    state: &SharedState,
    who: &Officer,
    new_link: Option<(String, String)>,
    errors: Vec<&'static str>,
    draft: (&str, &str),
) -> Result<AccountsPage, AppError> {
    let t = who.lang.tr();
    let accounts = state
        .store
        .officers()
        .await?
        .into_iter()
        .map(|a| AccountRow {
            roles: a
                .roles()
                .iter()
                .map(|r| t.get(&format!("role.{}", r.as_str())).to_owned())
                .collect::<Vec<_>>()
                .join(", "),
            is_me: a.id == who.account.id,
            has_key: !a.recipient.is_empty(),
            id: a.id,
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
        label: t.get(&format!("role.{}", r.as_str())).into(),
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
    who.require(Role::Admin)?;
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
    who.require(Role::Admin)?;
    let mut errors = Vec::new();
    let email = OfficerEmail::parse(get(&form, "email"));
    let name = OfficerName::parse(get(&form, "name"));
    let roles = roles_in(&form);
    if email.is_err() {
        errors.push("admin.error.email");
    }
    if name.is_err() {
        errors.push("admin.error.name");
    }
    if roles.is_empty() {
        errors.push("admin.error.roles");
    }
    let (Ok(email), Ok(name), true) = (email, name, errors.is_empty()) else {
        let page = accounts_page(
            &state,
            &who,
            None,
            errors,
            (get(&form, "email"), get(&form, "name")),
        )
        .await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let now = state.clock.now();
    let id = uuid::Uuid::new_v4().to_string();
    let added = state
        .store
        .add_officer(&NewOfficer {
            id: id.clone(),
            email: email.as_str().into(),
            name: name.as_str().into(),
            roles: roles_to_db(&roles),
            recipient: String::new(),
            created_at: now.unix_timestamp(),
        })
        .await;
    match added {
        Ok(()) => {}
        Err(StoreError::DuplicateOfficer) => {
            let page = accounts_page(
                &state,
                &who,
                None,
                vec!["admin.error.duplicate"],
                (email.as_str(), name.as_str()),
            )
            .await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
        Err(e) => return Err(e.into()),
    }
    let link = enrollment_link(
        &state.store,
        &state.settings.public_url,
        &id,
        now.unix_timestamp(),
        false,
    )
    .await
    .map_err(AppError::internal)?;
    let detail = format!("{} ({})", email.as_str(), roles_to_db(&roles));
    who.audit(&state, action::ACCOUNT_CREATED, "", &detail)
        .await?;
    let page = accounts_page(
        &state,
        &who,
        Some((email.as_str().to_owned(), link)),
        Vec::new(),
        ("", ""),
    )
    .await?;
    Ok(page.into_response())
}

pub async fn account_action(
    State(state): State<SharedState>,
    who: Officer,
    Path((id, what)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<Pairs>,
) -> Result<Response, AppError> {
    who.check_csrf(&state, &headers, get(&form, "csrf"))?;
    who.require(Role::Admin)?;
    // Nobody locks themselves out: another admin must do it.
    if id == who.account.id {
        return Err(ErrorKind::BadRequest.into());
    }
    let target = state.store.officer(&id).await?.ok_or(ErrorKind::NotFound)?;
    let now = state.clock.now();
    let (audited, detail) = match what.as_str() {
        "disable" => {
            state.store.set_disabled(&id, true).await?;
            (action::ACCOUNT_DISABLED, target.email.clone())
        }
        "enable" => {
            state.store.set_disabled(&id, false).await?;
            (action::ACCOUNT_ENABLED, target.email.clone())
        }
        "reset" => {
            let link = enrollment_link(
                &state.store,
                &state.settings.public_url,
                &id,
                now.unix_timestamp(),
                true,
            )
            .await
            .map_err(AppError::internal)?;
            who.audit(&state, action::ENROLLMENT_RESET, "", &target.email)
                .await?;
            let page = accounts_page(
                &state,
                &who,
                Some((target.email, link)),
                Vec::new(),
                ("", ""),
            )
            .await?;
            return Ok(page.into_response());
        }
        "roles" => {
            let roles = roles_in(&form);
            if roles.is_empty() {
                return Err(ErrorKind::BadRequest.into());
            }
            state.store.set_roles(&id, &roles_to_db(&roles)).await?;
            (
                action::ROLES_CHANGED,
                format!(
                    "{}: {} -> {}",
                    target.email,
                    target.roles,
                    roles_to_db(&roles)
                ),
            )
        }
        _ => return Err(ErrorKind::NotFound.into()),
    };
    who.audit(&state, audited, "", &detail).await?;
    Ok(Redirect::to("/officer/admin/accounts").into_response())
}

fn categories_text(categories: &[Category]) -> String {
    categories
        .iter()
        .map(|c| {
            let mut line = c.code.clone();
            for l in [&c.en, &c.nl, &c.fr, &c.de] {
                line.push_str(" | ");
                line.push_str(l.as_deref().unwrap_or(""));
            }
            line.trim_end_matches([' ', '|']).to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// One category per line: `code | English | Nederlands | Français | Deutsch`; built-in
/// codes may leave the labels out.
fn parse_categories(text: &str) -> Option<Vec<Category>> {
    let mut out: Vec<Category> = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let mut parts = line.split('|').map(str::trim);
        let code = parts.next()?.to_owned();
        let mut label = || parts.next().filter(|s| !s.is_empty()).map(str::to_owned);
        let c = Category {
            code,
            en: label(),
            nl: label(),
            fr: label(),
            de: label(),
        };
        if !c.is_valid() || out.iter().any(|o| o.code == c.code) {
            return None;
        }
        out.push(c);
    }
    (!out.is_empty()).then_some(out)
}

fn settings_page(
    state: &SharedState,
    who: &Officer,
    values: (String, Vec<NoticeField>, String, String, u8),
    saved: bool,
    errors: Vec<&'static str>,
) -> SettingsPage {
    SettingsPage {
        d: desk_for(state, who, "admin-settings", "/officer/admin/settings"),
        csrf: who.csrf(state),
        org_name: values.0,
        notices: values.1,
        categories: values.2,
        escrow: values.3,
        retention_months: values.4,
        saved,
        errors,
    }
}

pub async fn settings(
    State(state): State<SharedState>,
    who: Officer,
) -> Result<Response, AppError> {
    who.require(Role::Admin)?;
    let site = state.site.get();
    let notices = Lang::ALL
        .iter()
        .map(|l| NoticeField {
            code: l.code(),
            native: l.native_name(),
            text: site.notice(*l).to_owned(),
        })
        .collect();
    let values = (
        site.org_name.clone(),
        notices,
        categories_text(&site.categories),
        site.escrow
            .as_ref()
            .map(|r| r.to_string())
            .unwrap_or_default(),
        site.retention_months,
    );
    Ok(settings_page(&state, &who, values, false, Vec::new()).into_response())
}

pub async fn save_settings(
    State(state): State<SharedState>,
    who: Officer,
    headers: HeaderMap,
    Form(form): Form<Pairs>,
) -> Result<Response, AppError> {
    who.check_csrf(&state, &headers, get(&form, "csrf"))?;
    who.require(Role::Admin)?;
    let mut errors = Vec::new();
    let org = get(&form, "org_name").trim().to_owned();
    if org.is_empty() || org.chars().count() > 200 {
        errors.push("settings.error.org_name");
    }
    let mut notice = std::collections::HashMap::new();
    for l in Lang::ALL {
        let text = get(&form, &format!("notice_{}", l.code()))
            .trim()
            .to_owned();
        if text.chars().count() > 2000 {
            errors.push("settings.error.notice");
        }
        if !text.is_empty() {
            notice.insert(l.code().to_owned(), text);
        }
    }
    let cats_text = get(&form, "categories");
    let categories = parse_categories(cats_text);
    if categories.is_none() {
        errors.push("settings.error.categories");
    }
    let retention = get(&form, "retention_months").trim();
    let retention = if retention.is_empty() {
        Some(0)
    } else {
        retention
            .parse::<u8>()
            .ok()
            .filter(|m| *m <= crate::retention::MAX_MONTHS)
    };
    if retention.is_none() {
        errors.push("settings.error.retention");
    }
    let retention_months = retention.unwrap_or(0);
    let escrow = get(&form, "escrow").trim().to_owned();
    if !escrow.is_empty() && parse_recipient(&escrow).is_err() {
        errors.push("settings.error.escrow");
    }
    let notices = Lang::ALL
        .iter()
        .map(|l| NoticeField {
            code: l.code(),
            native: l.native_name(),
            text: notice.get(l.code()).cloned().unwrap_or_default(),
        })
        .collect();
    let Some(categories) = categories.filter(|_| errors.is_empty()) else {
        errors.dedup();
        let values = (org, notices, cats_text.to_owned(), escrow, retention_months);
        let page = settings_page(&state, &who, values, false, errors);
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let rows = [
        (site::ORG_NAME, json(&org)),
        (site::NOTICE, json(&notice)),
        (site::CATEGORIES, site::categories_json(&categories)),
        (site::ESCROW, json(&escrow)),
        (site::RETENTION, json(&retention_months)),
    ];
    for (name, value) in &rows {
        state.store.set_site_setting(name, value).await?;
    }
    state
        .site
        .refresh(state.store.as_ref(), &state.settings)
        .await?;
    let detail = format!(
        "organisation name, landing notices, {} categories, escrow {}",
        categories.len(),
        if escrow.is_empty() {
            "none"
        } else {
            escrow.as_str()
        }
    );
    who.audit(&state, action::SETTINGS_CHANGED, "", &detail)
        .await?;
    let site = state.site.get();
    let values = (
        site.org_name.clone(),
        Lang::ALL
            .iter()
            .map(|l| NoticeField {
                code: l.code(),
                native: l.native_name(),
                text: site.notice(*l).to_owned(),
            })
            .collect(),
        categories_text(&site.categories),
        escrow,
        site.retention_months,
    );
    Ok(settings_page(&state, &who, values, true, Vec::new()).into_response())
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_round_trip_through_text() {
        let cats =
            parse_categories("fraud\nsafety-rail | Rail safety | Spoorveiligheid\n").unwrap();
        assert_eq!(cats.len(), 2);
        assert_eq!(cats[1].nl.as_deref(), Some("Spoorveiligheid"));
        assert_eq!(parse_categories(&categories_text(&cats)).unwrap(), cats);
        assert!(parse_categories("custom-without-label").is_none());
        assert!(parse_categories("fraud\nfraud").is_none());
        assert!(parse_categories("Bad Code | x").is_none());
        assert!(parse_categories("").is_none());
    }
}
