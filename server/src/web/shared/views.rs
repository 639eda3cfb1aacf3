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
    pub path: String,
    /// Where the reporter pages of this intake live: empty for the instance's own, or
    /// `/e/{slug}` for an entity's (its landing is `{base}/`, its form `{base}/report`).
    pub base: String,
    /// The entity's logo address (`{base}/logo.png`), or empty when it has none.
    pub logo: String,
}

impl Chrome {
    pub fn langs(&self) -> [Lang; 4] {
        Lang::ALL
    }

    pub fn lang(&self) -> &'static str {
        self.t.lang().code()
    }
}

/// The strings a browser script shows, from the `js.*` catalog keys, as JSON for a
/// `<script type="application/json">` data block (with `<` escaped, the only character that
/// could end the block early).
pub fn script_text(t: Tr, keys: &[&str]) -> String {
    let map: serde_json::Map<String, serde_json::Value> = keys
        .iter()
        .map(|k| match k.contains('.') {
            // A feature's own catalog block: `block.key` is sent as `block_key`.
            true => (k.replace('.', "_"), t.get(k).to_owned().into()),
            false => ((*k).to_owned(), t.get(&format!("js.{k}")).to_owned().into()),
        })
        .collect();
    serde_json::Value::Object(map)
        .to_string()
        .replace('<', "\\u003c")
}

/// `script_text` of a fixed list of keys, made once per language: the same JSON went into
/// every view of a page, and building it was a tenth of the intake page's cost.
pub struct ScriptText {
    keys: &'static [&'static str],
    made: [std::sync::OnceLock<String>; 4],
}

impl ScriptText {
    pub const fn new(keys: &'static [&'static str]) -> Self {
        Self {
            keys,
            made: [const { std::sync::OnceLock::new() }; 4],
        }
    }

    pub fn get(&self, t: Tr) -> &str {
        self.made[t.lang() as usize].get_or_init(|| script_text(t, self.keys))
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
