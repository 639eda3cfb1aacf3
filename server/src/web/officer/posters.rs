//! `/officer/admin/posters`: printable posters of the intake address (A4, A3, a card) in each
//! language and the combined versions, and a 1920×1080 image for video walls. Admins only;
//! nothing here touches a case. Keeps rule `reporter-anonymity`: posters print the configured
//! address exactly, tell people to use their own phone on mobile data, and show the onion
//! address when there is one. An entity's posters carry its logo when it has one (the
//! sanitised PNG only, loaded from this origin or embedded).

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::desk_for;
use super::pages::Desk;
use super::session::Officer;
use crate::app::accounts::require;
use crate::app::entities::{self, Entity};
use crate::app::logos;
use crate::app::posters::{self, Poster};
use crate::domain::permission::Permission;
use crate::domain::poster::{PosterFormat, PosterSet};
use crate::i18n::Lang;
use crate::web::SharedState;
use crate::web::shared::error::{AppError, ErrorKind};

/// The Posters page, one printable poster, the video-wall image.
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/officer/admin/posters", get(index))
        .route("/officer/admin/posters/screen/{file}", get(screen))
        .route("/officer/admin/posters/{format}/{set}", get(print))
}

pub struct SetRow {
    pub code: &'static str,
    pub label: String,
}

pub struct FormatRow {
    pub code: &'static str,
    pub key: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "officer_posters.html")]
pub struct PostersPage {
    pub d: Desk,
    /// `None` when SPEAKUP_PUBLIC_URL is not set: the page says so and offers no poster.
    pub address: Option<String>,
    pub onion: Option<String>,
    pub sets: Vec<SetRow>,
    pub formats: Vec<FormatRow>,
    /// `?entity=<slug>` on every link when the page is an entity's (issue 12), else empty.
    pub entity_query: String,
    /// Where the bare QR codes are: `` for the instance's, `/e/<slug>` for an entity's.
    pub qr_base: String,
    /// The entities' poster pages as (slug, name, shown now); empty without entities.
    pub entities: Vec<(String, String, bool)>,
}

/// Whose posters: `entity=<slug>` for a legal entity's (its own address and name).
#[derive(serde::Deserialize, Default)]
pub struct EntityQuery {
    #[serde(default)]
    entity: String,
}

/// The entity a poster link names; none for the instance's own posters.
async fn entity_of(state: &SharedState, q: &EntityQuery) -> Result<Option<Entity>, AppError> {
    match q.entity.as_str() {
        "" => Ok(None),
        slug => Ok(Some(entities::find(state, slug).await?)),
    }
}

/// One poster, alone on its page, for printing.
#[derive(Template, WebTemplate)]
#[template(path = "poster.html")]
pub struct PrintPage {
    pub lang: &'static str,
    pub format: &'static str,
    pub p: Poster,
}

impl PrintPage {
    pub fn count(&self) -> usize {
        self.p.texts.len()
    }
}

fn set_label(set: PosterSet) -> String {
    set.codes()
        .iter()
        .filter_map(|c| Lang::from_code(c))
        .map(Lang::native_name)
        .collect::<Vec<_>>()
        .join(" / ")
}

pub async fn index(
    State(state): State<SharedState>,
    who: Officer,
    Query(q): Query<EntityQuery>,
) -> Result<Response, AppError> {
    require(&who.account, Permission::ChangeSettings)?;
    let entity = entity_of(&state, &q).await?;
    let address = state.settings.intake_address().map(|base| match &entity {
        Some(e) => posters::entity_address(base, &e.slug),
        None => base.to_owned(),
    });
    let slug = entity.as_ref().map(|e| e.slug.to_string());
    Ok(PostersPage {
        d: desk_for(&state, &who, "admin-posters", "/officer/admin/posters"),
        address,
        onion: state.settings.onion_url.clone(),
        sets: PosterSet::ALL
            .iter()
            .map(|s| SetRow {
                code: s.as_str(),
                label: set_label(*s),
            })
            .collect(),
        formats: PosterFormat::ALL
            .iter()
            .map(|f| FormatRow {
                code: f.as_str(),
                key: format!("posters.{}", f.as_str()),
            })
            .collect(),
        entity_query: slug
            .as_ref()
            .map_or_else(String::new, |s| format!("?entity={s}")),
        qr_base: slug
            .as_ref()
            .map_or_else(String::new, |s| format!("/e/{s}")),
        entities: entities::list(&state)
            .await?
            .into_iter()
            .map(|e| {
                let current = slug.as_deref() == Some(e.slug.as_str());
                (e.slug.to_string(), e.name(who.lang).to_owned(), current)
            })
            .collect(),
    }
    .into_response())
}

/// The poster in `set` of the instance's address, or of an entity's (under its name in the
/// set's first language, with its logo if it has one); a 404 without a configured address.
async fn poster_of(
    state: &SharedState,
    set: PosterSet,
    entity: Option<&Entity>,
) -> Result<Poster, AppError> {
    let base = state
        .settings
        .intake_address()
        .ok_or(AppError::Page(ErrorKind::NotFound))?;
    let lang = Lang::from_code(set.codes()[0]).unwrap_or_default();
    let (org, address) = match entity {
        Some(e) => (
            e.name(lang).to_owned(),
            posters::entity_address(base, &e.slug),
        ),
        None => (state.site.get().org_name.clone(), base.to_owned()),
    };
    let logo = match entity {
        Some(e) => logos::on_poster(state, e, lang).await?,
        None => None,
    };
    let onion = state.settings.onion_url.as_deref();
    Ok(posters::poster(&org, &address, onion, set)?.with_logo(logo))
}

pub async fn print(
    State(state): State<SharedState>,
    who: Officer,
    Path((format, set)): Path<(String, String)>,
    Query(q): Query<EntityQuery>,
) -> Result<Response, AppError> {
    require(&who.account, Permission::ChangeSettings)?;
    let (Ok(format), Ok(set)) = (format.parse::<PosterFormat>(), set.parse::<PosterSet>()) else {
        return Err(ErrorKind::NotFound.into());
    };
    Ok(PrintPage {
        lang: set.codes()[0],
        format: format.as_str(),
        p: poster_of(&state, set, entity_of(&state, &q).await?.as_ref()).await?,
    }
    .into_response())
}

/// `screen/{set}.png` (1920×1080) or `screen/{set}.svg`.
pub async fn screen(
    State(state): State<SharedState>,
    who: Officer,
    Path(file): Path<String>,
    Query(q): Query<EntityQuery>,
) -> Result<Response, AppError> {
    require(&who.account, Permission::ChangeSettings)?;
    let (name, ext) = file.rsplit_once('.').ok_or(ErrorKind::NotFound)?;
    let set: PosterSet = name.parse().map_err(|_| ErrorKind::NotFound)?;
    let poster = poster_of(&state, set, entity_of(&state, &q).await?.as_ref()).await?;
    let (body, content_type) = match ext {
        "png" => (posters::screen_png(&poster)?, "image/png"),
        "svg" => (posters::screen_svg(&poster)?.into_bytes(), "image/svg+xml"),
        _ => return Err(ErrorKind::NotFound.into()),
    };
    let mut res = body.into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    Ok(res)
}
