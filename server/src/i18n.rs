//! Interface languages (English, Dutch, French, German) and their message catalogs in
//! `frontend/i18n/*.toml`, compiled into the binary. Keeps rule `four-languages`: a unit test fails
//! when any language lacks a key another has, or a template uses a key no catalog defines.

use std::collections::HashMap;
use std::sync::LazyLock;

use time::Date;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    #[default]
    En,
    Nl,
    Fr,
    De,
}

impl Lang {
    pub const ALL: [Lang; 4] = [Lang::En, Lang::Nl, Lang::Fr, Lang::De];

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Nl => "nl",
            Lang::Fr => "fr",
            Lang::De => "de",
        }
    }

    /// The language's own name, for the switch (always shown in that language).
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Nl => "Nederlands",
            Lang::Fr => "Français",
            Lang::De => "Deutsch",
        }
    }

    pub fn from_code(code: &str) -> Option<Lang> {
        let primary = code.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        Lang::ALL.into_iter().find(|l| l.code() == primary)
    }

    /// Picks the best supported language from an `Accept-Language` header, by q-value.
    pub fn negotiate(accept_language: &str) -> Lang {
        let mut best: Option<(f32, Lang)> = None;
        for part in accept_language.split(',') {
            let mut it = part.split(';');
            let tag = it.next().unwrap_or("");
            let q = it
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if let Some(lang) = Lang::from_code(tag)
                && q > 0.0
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l).unwrap_or_default()
    }

    pub fn tr(self) -> Tr {
        Tr(self)
    }

    fn catalog_source(self) -> &'static str {
        match self {
            Lang::En => include_str!("../../frontend/i18n/en.toml"),
            Lang::Nl => include_str!("../../frontend/i18n/nl.toml"),
            Lang::Fr => include_str!("../../frontend/i18n/fr.toml"),
            Lang::De => include_str!("../../frontend/i18n/de.toml"),
        }
    }
}

type Catalog = HashMap<String, String>;

/// Flattens nested TOML tables into dotted keys ("report.title").
fn flatten(prefix: &str, value: &toml::Value, out: &mut Catalog) {
    match value {
        toml::Value::Table(t) => {
            for (k, v) in t {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        toml::Value::String(s) => {
            out.insert(prefix.to_owned(), s.clone());
        }
        other => {
            out.insert(prefix.to_owned(), other.to_string());
        }
    }
}

fn parse_catalog(lang: Lang) -> Catalog {
    let mut out = Catalog::new();
    // A catalog that does not parse is caught by the unit tests below; at run time the
    // keys simply show, which is better than refusing to serve the intake.
    if let Ok(v) = lang.catalog_source().parse::<toml::Table>() {
        flatten("", &toml::Value::Table(v), &mut out);
    }
    out
}

/// The four catalogs in `Lang::ALL` order: a page makes a hundred lookups, so the language
/// picks its catalog by position rather than by a second hash.
static CATALOGS: LazyLock<[Catalog; 4]> = LazyLock::new(|| Lang::ALL.map(parse_catalog));

fn catalog(lang: Lang) -> &'static Catalog {
    &CATALOGS[lang as usize]
}

/// A translator bound to one language; templates call `t.get("key")`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tr(pub Lang);

impl Tr {
    pub fn lang(&self) -> Lang {
        self.0
    }

    pub fn get<'a>(&self, key: &'a str) -> &'a str
    where
        'static: 'a,
    {
        catalog(self.0).get(key).map(String::as_str).unwrap_or(key)
    }

    /// `get` with `{name}` placeholders replaced.
    pub fn fmt(&self, key: &str, args: &[(&str, &str)]) -> String {
        let mut s = self.get(key).to_owned();
        for (name, value) in args {
            s = s.replace(&format!("{{{name}}}"), value);
        }
        s
    }

    /// A day written the way the language writes it ("23 November 2026", "23 novembre 2026").
    pub fn date(&self, d: Date) -> String {
        let month = self.get(MONTH_KEYS[usize::from(u8::from(d.month())) - 1]);
        match self.0 {
            Lang::En | Lang::Fr | Lang::Nl => format!("{} {} {}", d.day(), month, d.year()),
            Lang::De => format!("{}. {} {}", d.day(), month, d.year()),
        }
    }
}

const MONTH_KEYS: [&str; 12] = [
    "month.1", "month.2", "month.3", "month.4", "month.5", "month.6", "month.7", "month.8",
    "month.9", "month.10", "month.11", "month.12",
];

/// Every key a catalog defines, for completeness checks.
pub fn keys(lang: Lang) -> Vec<String> {
    let mut k: Vec<String> = catalog(lang).keys().cloned().collect();
    k.sort();
    k
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn each_language_finds_its_own_catalog() {
        for (i, lang) in Lang::ALL.into_iter().enumerate() {
            assert_eq!(lang as usize, i);
        }
        let january = Lang::ALL.map(|l| Tr(l).get("month.1"));
        assert_eq!(january, ["January", "januari", "janvier", "Januar"]);
    }

    #[test]
    fn every_catalog_parses() {
        for l in Lang::ALL {
            assert!(
                l.catalog_source().parse::<toml::Table>().is_ok(),
                "{} catalog does not parse",
                l.code()
            );
        }
    }

    #[test]
    fn every_language_has_every_key() {
        let all: BTreeSet<String> = Lang::ALL.into_iter().flat_map(keys).collect();
        for l in Lang::ALL {
            let have: BTreeSet<String> = keys(l).into_iter().collect();
            let missing: Vec<_> = all.difference(&have).collect();
            assert!(missing.is_empty(), "{} lacks {missing:?}", l.code());
            for k in &have {
                assert!(
                    !Tr(l).get(k).trim().is_empty(),
                    "{} has an empty {k}",
                    l.code()
                );
            }
        }
    }

    #[test]
    fn every_key_used_in_templates_exists() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../frontend/templates");
        let en: BTreeSet<String> = keys(Lang::En).into_iter().collect();
        let mut used = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            for pat in ["t.get(\"", "t.fmt(\""] {
                for piece in text.split(pat).skip(1) {
                    let key = piece.split('"').next().unwrap();
                    used += 1;
                    assert!(
                        en.contains(key),
                        "{} uses unknown key {key}",
                        path.display()
                    );
                }
            }
        }
        assert!(used > 50, "templates use only {used} keys");
    }

    #[test]
    fn negotiation_prefers_highest_quality() {
        assert_eq!(Lang::negotiate("nl-BE,nl;q=0.9,en;q=0.8"), Lang::Nl);
        assert_eq!(Lang::negotiate("es, fr;q=0.5, de;q=0.7"), Lang::De);
        assert_eq!(Lang::negotiate("zz"), Lang::En);
        assert_eq!(Lang::negotiate(""), Lang::En);
    }
}
