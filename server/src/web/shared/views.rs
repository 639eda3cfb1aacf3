//! The page chrome every public page and error page shares (translator, organisation name,
//! the page's own path for the language switch), and the error page's model.

use askama::Template;
use askama_web::WebTemplate;

use crate::i18n::{Lang, Tr};

/// What every page needs: the translator, the organisation's name and the page's own path
/// (the language switch links to `{path}?lang=xx`; there is no language cookie).
pub struct Chrome {
    pub t: Tr,
    pub org_name: String,
    pub path: &'static str,
}

impl Chrome {
    pub fn langs(&self) -> [Lang; 4] {
        Lang::ALL
    }

    pub fn lang(&self) -> &'static str {
        self.t.lang().code()
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub c: Chrome,
    pub status: u16,
    /// Catalog keys: "error.<kind>.title" and "error.<kind>.body".
    pub title_key: String,
    pub body_key: String,
    /// Where to go next ("/", "/report", "/follow-up", "/mailbox").
    pub back: &'static str,
}
