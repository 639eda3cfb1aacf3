//! Which intake a reporter page serves: the instance's own (`/`, `/report`) or an entity's
//! (`/e/{slug}/`, `/e/{slug}/report`, issue 12). One lookup of the slug (an unknown or
//! malformed one is a 404 page in the reporter's language), and the chrome and settings of
//! that intake: the entity's name as the organisation, its own notice and categories.

use std::sync::Arc;

use crate::app::entities::{self, Entity};
use crate::app::settings::Site;
use crate::app::{self, intake};
use crate::i18n::Lang;
use crate::web::SharedState;
use crate::web::shared::error::{AppError, ErrorKind};
use crate::web::shared::views::Chrome;

/// The entity an address names; a slug that names none is the `no_entity` 404 page.
pub async fn find(state: &SharedState, slug: &str) -> Result<Entity, AppError> {
    match entities::find(state, slug).await {
        Ok(e) => Ok(e),
        Err(app::Error::NotFound) => Err(ErrorKind::NoEntity.into()),
        Err(e) => Err(e.into()),
    }
}

/// Where this intake's pages live: `` or `/e/{slug}`.
pub fn base(entity: Option<&Entity>) -> String {
    entity.map_or_else(String::new, |e| format!("/e/{}", e.slug))
}

/// The page chrome of this intake; `page` is the page's path below its base (`/report`).
pub fn chrome(state: &SharedState, lang: Lang, entity: Option<&Entity>, page: &str) -> Chrome {
    let base = base(entity);
    Chrome {
        t: lang.tr(),
        org_name: match entity {
            Some(e) => e.name(lang).to_owned(),
            None => state.site.get().org_name.clone(),
        },
        path: format!("{base}{page}"),
        logo: match entity {
            Some(e) if e.has_logo => format!("{base}/logo.png"),
            _ => String::new(),
        },
        base,
    }
}

/// The settings this intake runs on: the instance's, with the entity's own in their place.
pub fn site(state: &SharedState, entity: Option<&Entity>) -> Arc<Site> {
    let site = state.site.get();
    match entity {
        Some(e) => Arc::new(e.site(&site)),
        None => site,
    }
}

/// Whether this intake takes reports (its triage group has a key).
pub async fn is_open(state: &SharedState, entity: Option<&Entity>) -> Result<bool, AppError> {
    Ok(intake::is_open(state, entity).await?)
}
