//! Legal entities of one instance (issue 12): the slug that names an entity in its address
//! (`/e/{slug}/`), its name per language, and the two rules of its triage group: who is in it
//! (the officers named members, plus the group-level officers who belong to every entity) and
//! which cases an officer sees (only their entities' cases). A case with no entity is the
//! instance's own; its group is every officer in no entity's group, which is everyone until an
//! admin adds the first member, so an instance without entities works as before.

use std::collections::{BTreeMap, BTreeSet};

use super::holder::OfficerId;

/// The longest slug accepted.
pub const SLUG_MAX: usize = 40;
/// The longest entity name accepted, in any language.
pub const NAME_MAX: usize = 120;
/// The four languages an entity is named in, in the catalogs' order.
pub const LANGS: [&str; 4] = ["en", "nl", "fr", "de"];

/// An entity's slug: 2 to 40 lowercase ASCII letters, digits and inner hyphens, so that it is
/// a path segment as it is and cannot be mistaken for another route.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntitySlug(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an entity slug is 2 to 40 lowercase letters, digits and inner hyphens")]
pub struct BadSlug;

impl EntitySlug {
    pub fn parse(s: &str) -> Result<Self, BadSlug> {
        let ok_chars = s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        let ok_ends = !s.starts_with('-') && !s.ends_with('-') && !s.contains("--");
        if (2..=SLUG_MAX).contains(&s.len()) && ok_chars && ok_ends {
            Ok(Self(s.to_owned()))
        } else {
            Err(BadSlug)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for EntitySlug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An entity's name in each of the four languages (none empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityNames(BTreeMap<String, String>);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an entity name is 1 to 120 characters, without control characters")]
pub struct BadName;

fn clean_name(s: &str) -> Result<String, BadName> {
    let s = s.trim();
    let ok = !s.is_empty() && s.chars().count() <= NAME_MAX && !s.chars().any(char::is_control);
    ok.then(|| s.to_owned()).ok_or(BadName)
}

impl EntityNames {
    /// The same name in every language (`speakup entity add --name`).
    pub fn same(name: &str) -> Result<Self, BadName> {
        let name = clean_name(name)?;
        Ok(Self(
            LANGS
                .iter()
                .map(|l| ((*l).to_owned(), name.clone()))
                .collect(),
        ))
    }

    /// One name per language code of [`LANGS`]; each must be given and well-formed.
    pub fn each(names: &[(&str, &str)]) -> Result<Self, BadName> {
        let mut out = BTreeMap::new();
        for lang in LANGS {
            let (_, n) = names.iter().find(|(l, _)| *l == lang).ok_or(BadName)?;
            out.insert(lang.to_owned(), clean_name(n)?);
        }
        Ok(Self(out))
    }

    /// The name in a language (English when a stored value lacks it).
    pub fn get(&self, lang: &str) -> &str {
        self.0
            .get(lang)
            .or_else(|| self.0.get("en"))
            .map_or("", String::as_str)
    }

    /// The stored form: a JSON object by language code.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_default()
    }

    pub fn from_json(s: &str) -> Option<Self> {
        let map: BTreeMap<String, String> = serde_json::from_str(s).ok()?;
        let pairs: Vec<(&str, &str)> = map.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Self::each(&pairs).ok()
    }
}

/// Who belongs to which entity's triage group: the members of each entity, and the officers
/// at group level who belong to all of them; and who is in which named triage group (the
/// groups categories route to, issue 12).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Membership {
    pub members: BTreeSet<(EntitySlug, OfficerId)>,
    pub group_level: BTreeSet<OfficerId>,
    /// (triage group name, member).
    pub triage: BTreeSet<(String, OfficerId)>,
}

impl Membership {
    /// The entities an officer belongs to by name (group level aside).
    pub fn entities_of(&self, who: &OfficerId) -> Vec<&EntitySlug> {
        self.members
            .iter()
            .filter(|(_, o)| o == who)
            .map(|(e, _)| e)
            .collect()
    }

    /// Whether an officer is in the triage group of `entity` (`None`: the instance's own
    /// cases). Group-level officers are in every group; an officer in no entity's group is in
    /// the instance's own.
    pub fn in_group(&self, who: &OfficerId, entity: Option<&EntitySlug>) -> bool {
        if self.group_level.contains(who) {
            return true;
        }
        match entity {
            Some(e) => self.members.contains(&(e.clone(), who.clone())),
            None => self.entities_of(who).is_empty(),
        }
    }

    /// Whether an officer reads a case of `entity` routed to `routed_to` (`None`: not routed)
    /// without a grant: in the entity's triage group and, for a routed case, in the group it
    /// was routed to. The same rule sealed it (`app::routing`), so an officer outside the route
    /// does not even see that the case exists. Group-level officers follow routes too.
    pub fn reads(
        &self,
        who: &OfficerId,
        entity: Option<&EntitySlug>,
        routed_to: Option<&str>,
    ) -> bool {
        self.in_group(who, entity)
            && routed_to.is_none_or(|g| self.triage.contains(&(g.to_owned(), who.clone())))
    }
}

/// Which cases a figure counts: every case, the instance's own, or one entity's.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Scope {
    #[default]
    All,
    Own,
    Entity(EntitySlug),
}

impl Scope {
    /// The form's value: empty for every case, `-` for the instance's own, else a slug.
    pub fn parse(s: &str) -> Result<Self, BadSlug> {
        match s.trim() {
            "" => Ok(Scope::All),
            "-" => Ok(Scope::Own),
            slug => EntitySlug::parse(slug).map(Scope::Entity),
        }
    }

    pub fn word(&self) -> &str {
        match self {
            Scope::All => "",
            Scope::Own => "-",
            Scope::Entity(e) => e.as_str(),
        }
    }

    /// Whether a case of `entity` (`None`: the instance's own) counts.
    pub fn matches(&self, entity: Option<&EntitySlug>) -> bool {
        match self {
            Scope::All => true,
            Scope::Own => entity.is_none(),
            Scope::Entity(e) => entity == Some(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slug(s: &str) -> EntitySlug {
        EntitySlug::parse(s).unwrap()
    }

    #[test]
    fn slugs_are_path_segments() {
        for good in ["be", "post-nl", "a1", "x".repeat(40).as_str()] {
            assert!(EntitySlug::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "a",
            "A-b",
            "-ab",
            "ab-",
            "a--b",
            "a b",
            "a/b",
            "é1",
            &"x".repeat(41),
        ] {
            assert_eq!(EntitySlug::parse(bad), Err(BadSlug), "{bad}");
        }
    }

    #[test]
    fn names_are_kept_per_language() {
        let n = EntityNames::same("  Post BE ").unwrap();
        assert_eq!(n.get("fr"), "Post BE");
        let each = EntityNames::each(&[("en", "E"), ("nl", "N"), ("fr", "F"), ("de", "D")]);
        let each = each.unwrap();
        assert_eq!(each.get("nl"), "N");
        assert_eq!(EntityNames::from_json(&each.to_json()), Some(each));
        assert_eq!(EntityNames::each(&[("en", "E")]), Err(BadName));
        assert_eq!(EntityNames::same(" "), Err(BadName));
        assert_eq!(EntityNames::same("a\nb"), Err(BadName));
    }

    #[test]
    fn scopes_count_their_cases() {
        let a = slug("aa");
        assert!(Scope::parse("").unwrap().matches(Some(&a)) && Scope::All.matches(None));
        assert!(Scope::parse("-").unwrap().matches(None));
        assert!(!Scope::Own.matches(Some(&a)));
        assert!(Scope::parse("aa").unwrap().matches(Some(&a)));
        assert!(!Scope::Entity(a.clone()).matches(None));
        assert!(Scope::parse("A!").is_err());
        assert_eq!(Scope::Entity(a).word(), "aa");
    }

    #[test]
    fn groups_hold_members_and_group_level_officers() {
        let (a, b) = (slug("aa"), slug("bb"));
        let (m, g, free) = (
            OfficerId::from("m"),
            OfficerId::from("g"),
            OfficerId::from("f"),
        );
        let mut ms = Membership::default();
        ms.members.insert((a.clone(), m.clone()));
        ms.group_level.insert(g.clone());
        assert!(ms.in_group(&m, Some(&a)));
        assert!(!ms.in_group(&m, Some(&b)));
        assert!(!ms.in_group(&m, None));
        assert!(ms.in_group(&g, Some(&a)) && ms.in_group(&g, Some(&b)) && ms.in_group(&g, None));
        assert!(ms.in_group(&free, None));
        assert!(!ms.in_group(&free, Some(&a)));
    }

    #[test]
    fn a_routed_case_is_read_by_its_group_only() {
        let a = slug("aa");
        let (hr, other, g) = (
            OfficerId::from("hr"),
            OfficerId::from("o"),
            OfficerId::from("g"),
        );
        let mut ms = Membership::default();
        ms.members.insert((a.clone(), hr.clone()));
        ms.members.insert((a.clone(), other.clone()));
        ms.group_level.insert(g.clone());
        ms.triage.insert(("HR".to_owned(), hr.clone()));
        assert!(ms.reads(&hr, Some(&a), None) && ms.reads(&other, Some(&a), None));
        assert!(ms.reads(&hr, Some(&a), Some("HR")));
        assert!(!ms.reads(&other, Some(&a), Some("HR")));
        // Group level reaches every entity, not past a route.
        assert!(ms.reads(&g, Some(&a), None) && !ms.reads(&g, Some(&a), Some("HR")));
        // A route never reaches past the entity: HR membership alone opens nothing elsewhere.
        assert!(!ms.reads(&hr, Some(&slug("bb")), Some("HR")));
        assert!(!ms.reads(&hr, Some(&a), Some("Gone")));
    }
}
