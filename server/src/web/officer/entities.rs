//! Admin pages for legal entities (issue 12): the list with the form that adds one and the
//! group-level officers, and each entity's page (names, its own settings, its triage group).
//! The rules and the audit are in `app::entities`; admins read no case here.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::desk_for;
use super::pages::{Desk, NoticeField};
use super::session::Officer;
use crate::app::accounts::require;
use crate::app::entities::{self, By, EntityInput};
use crate::domain::entity::{LANGS, Membership};
use crate::domain::holder::OfficerId;
use crate::domain::permission::Permission;
use crate::i18n::Lang;
use crate::store::OfficerRecord;
use crate::web::SharedState;
use crate::web::shared::error::AppError;

type Pairs = Vec<(String, String)>;

fn get<'a>(form: &'a Pairs, name: &str) -> &'a str {
    form.iter()
        .find(|(n, _)| n == name)
        .map_or("", |(_, v)| v.as_str())
}

fn officers_in(form: &Pairs) -> Vec<OfficerId> {
    form.iter()
        .filter(|(n, _)| n == "officer")
        .map(|(_, v)| OfficerId::from(v.as_str()))
        .collect()
}

/// One entity in the list.
pub struct EntityRow {
    pub slug: String,
    pub name: String,
    pub members: usize,
}

/// An officer with a checkbox (in a triage group, or at group level).
pub struct MemberBox {
    pub id: String,
    pub label: String,
    pub checked: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "officer_entities.html")]
pub struct EntitiesPage {
    pub d: Desk,
    pub csrf: String,
    pub entities: Vec<EntityRow>,
    pub group: Vec<MemberBox>,
    pub errors: Vec<&'static str>,
    pub draft_slug: String,
    pub draft_name: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "officer_entity.html")]
pub struct EntityPage {
    pub d: Desk,
    pub csrf: String,
    pub slug: String,
    pub names: Vec<NoticeField>,
    pub notices: Vec<NoticeField>,
    pub categories: String,
    pub retention_months: String,
    pub escalation_email: String,
    /// The leave-out choice: empty (as the instance), `on` or `off`.
    pub reporter_leave_out: String,
    pub members: Vec<MemberBox>,
    /// Whether it has a logo (shown, with a button to remove it).
    pub has_logo: bool,
    pub saved: bool,
    pub errors: Vec<&'static str>,
}

fn boxes(officers: &[OfficerRecord], checked: impl Fn(&OfficerId) -> bool) -> Vec<MemberBox> {
    officers
        .iter()
        .map(|o| MemberBox {
            id: o.id.to_string(),
            label: format!("{} <{}>", o.name, o.email),
            checked: checked(&o.id),
        })
        .collect()
}

async fn list_page(
    state: &SharedState,
    who: &Officer,
    errors: Vec<&'static str>,
    draft: (&str, &str),
) -> Result<EntitiesPage, AppError> {
    let m: Membership = state.store.membership().await?;
    let officers = state.store.officers().await?;
    let entities = entities::list(state)
        .await?
        .into_iter()
        .map(|e| EntityRow {
            members: m.members.iter().filter(|(s, _)| *s == e.slug).count(),
            name: e.name(who.lang).to_owned(),
            slug: e.slug.to_string(),
        })
        .collect();
    Ok(EntitiesPage {
        d: desk_for(state, who, "admin-entities", "/officer/admin/entities"),
        csrf: who.csrf(state),
        entities,
        group: boxes(&officers, |id| m.group_level.contains(id)),
        errors,
        draft_slug: draft.0.to_owned(),
        draft_name: draft.1.to_owned(),
    })
}

/// `GET /officer/admin/entities`.
pub async fn index(State(state): State<SharedState>, who: Officer) -> Result<Response, AppError> {
    require(&who.account, Permission::ManageAccounts)?;
    Ok(list_page(&state, &who, Vec::new(), ("", ""))
        .await?
        .into_response())
}

/// `POST /officer/admin/entities`: adds an entity (`slug`, `name`).
pub async fn create(
    State(state): State<SharedState>,
    who: Officer,
    headers: HeaderMap,
    Form(form): Form<Pairs>,
) -> Result<Response, AppError> {
    who.check_csrf(&state, &headers, get(&form, "csrf"))?;
    let (slug, name) = (get(&form, "slug").trim(), get(&form, "name"));
    let error = match entities::create(&state, By::Admin(&who.account), slug, name).await {
        Ok(true) => {
            return Ok(Redirect::to(&format!("/officer/admin/entities/{slug}")).into_response());
        }
        Ok(false) => "entities.error.duplicate",
        Err(crate::app::Error::Invalid) => "entities.error.invalid",
        Err(e) => return Err(e.into()),
    };
    let page = list_page(&state, &who, vec![error], (slug, name)).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

/// `POST /officer/admin/entity-group`: the officers who belong to every entity.
pub async fn group(
    State(state): State<SharedState>,
    who: Officer,
    headers: HeaderMap,
    Form(form): Form<Pairs>,
) -> Result<Response, AppError> {
    who.check_csrf(&state, &headers, get(&form, "csrf"))?;
    entities::set_group(&state, &who.account, &officers_in(&form)).await?;
    Ok(Redirect::to("/officer/admin/entities").into_response())
}

fn fields(values: &std::collections::HashMap<String, String>) -> Vec<NoticeField> {
    Lang::ALL
        .iter()
        .map(|l| NoticeField {
            code: l.code(),
            native: l.native_name(),
            text: values.get(l.code()).cloned().unwrap_or_default(),
        })
        .collect()
}

pub(super) async fn entity_page(
    state: &SharedState,
    who: &Officer,
    slug: &str,
    input: &EntityInput,
    (saved, errors): (bool, Vec<&'static str>),
) -> Result<EntityPage, AppError> {
    let e = entities::find(state, slug).await?;
    let m = state.store.membership().await?;
    let officers = state.store.officers().await?;
    let path = format!("/officer/admin/entities/{}", e.slug);
    Ok(EntityPage {
        d: desk_for(state, who, "admin-entity", &path),
        csrf: who.csrf(state),
        slug: e.slug.to_string(),
        names: fields(&input.names),
        notices: fields(&input.notices),
        categories: input.categories.clone(),
        retention_months: input.retention_months.clone(),
        escalation_email: input.escalation_email.clone(),
        reporter_leave_out: input.reporter_leave_out.clone(),
        members: boxes(&officers, |id| {
            m.members.contains(&(e.slug.clone(), id.clone()))
        }),
        has_logo: e.has_logo,
        saved,
        errors,
    })
}

/// `GET /officer/admin/entities/{slug}`.
pub async fn show(
    State(state): State<SharedState>,
    who: Officer,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    require(&who.account, Permission::ManageAccounts)?;
    let input = EntityInput::from_entity(&entities::find(&state, &slug).await?);
    let page = entity_page(&state, &who, &slug, &input, (false, Vec::new())).await?;
    Ok(page.into_response())
}

/// `POST /officer/admin/entities/{slug}`: its names and its own settings.
pub async fn save(
    State(state): State<SharedState>,
    who: Officer,
    Path(slug): Path<String>,
    headers: HeaderMap,
    Form(form): Form<Pairs>,
) -> Result<Response, AppError> {
    who.check_csrf(&state, &headers, get(&form, "csrf"))?;
    let per_lang = |prefix: &str| {
        LANGS
            .iter()
            .map(|l| {
                (
                    (*l).to_owned(),
                    get(&form, &format!("{prefix}_{l}")).to_owned(),
                )
            })
            .collect()
    };
    let input = EntityInput {
        names: per_lang("name"),
        notices: per_lang("notice"),
        categories: get(&form, "categories").to_owned(),
        retention_months: get(&form, "retention_months").to_owned(),
        escalation_email: get(&form, "escalation_email").to_owned(),
        reporter_leave_out: get(&form, "reporter_leave_out").to_owned(),
    };
    let outcome = entities::save(&state, &who.account, &slug, &input).await?;
    let (status, shown) = match outcome {
        Ok(()) => (StatusCode::OK, (true, Vec::new())),
        Err(errors) => (StatusCode::UNPROCESSABLE_ENTITY, (false, errors)),
    };
    let page = entity_page(&state, &who, &slug, &input, shown).await?;
    Ok((status, page).into_response())
}

/// `POST /officer/admin/entities/{slug}/members`: its triage group, as checked.
pub async fn members(
    State(state): State<SharedState>,
    who: Officer,
    Path(slug): Path<String>,
    headers: HeaderMap,
    Form(form): Form<Pairs>,
) -> Result<Response, AppError> {
    who.check_csrf(&state, &headers, get(&form, "csrf"))?;
    entities::set_members(&state, &who.account, &slug, &officers_in(&form)).await?;
    let e = entities::find(&state, &slug).await?;
    Ok(Redirect::to(&format!("/officer/admin/entities/{}", e.slug)).into_response())
}
