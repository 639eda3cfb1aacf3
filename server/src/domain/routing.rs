//! Routing before sealing (issue 12), the pure rules: who receives a new report (the triage
//! officers, narrowed to the category's group when the category routes), what a triage group
//! may be called, and when a reporter's leave-outs are acceptable (at most
//! [`MAX_LEAVE_OUT`], only officers the form offered, never everyone). Everything here is
//! decided before the case key is sealed, so an officer routed away or left out never holds it.

use super::holder::OfficerId;

/// How many officers a reporter may leave out of one report.
pub const MAX_LEAVE_OUT: usize = 2;

/// The `by_officer` of a reporter's leave-out in `case_access`: a word, never a person. Only
/// an auditor lifts such an exclusion.
pub const BY_REPORTER: &str = "reporter";

/// A triage group's name as an admin typed it: trimmed, 1 to 80 characters, no control
/// characters; `None` otherwise.
pub fn group_name(typed: &str) -> Option<String> {
    let name = typed.trim();
    let ok = !name.is_empty() && name.chars().count() <= 80 && !name.chars().any(char::is_control);
    ok.then(|| name.to_owned())
}

/// Why a report cannot go to the officers chosen; each maps to a catalog key the reporter
/// reads in their language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteError {
    /// The category routes to a group none of whose members can receive reports now.
    NoReader,
    /// Leave-outs sent while the organisation does not offer them.
    NotOffered,
    /// More than [`MAX_LEAVE_OUT`] officers left out.
    TooMany,
    /// An officer the form did not offer (a forged form, or one changed since).
    Unknown,
    /// Nobody would be left to read the report.
    Everyone,
}

impl RouteError {
    pub fn key(self) -> &'static str {
        match self {
            RouteError::NoReader => "routing.error.no_reader",
            RouteError::NotOffered => "routing.error.not_offered",
            RouteError::TooMany => "routing.error.too_many",
            RouteError::Unknown => "routing.error.unknown",
            RouteError::Everyone => "routing.error.everyone",
        }
    }
}

/// Who reads a report: the triage officers (`candidates`, those whose keys work), or, when
/// the category routes to a group, only those of them in the group. In `candidates` order.
pub fn readers(candidates: &[OfficerId], group: Option<&[OfficerId]>) -> Vec<OfficerId> {
    candidates
        .iter()
        .filter(|c| group.is_none_or(|g| g.contains(c)))
        .cloned()
        .collect()
}

/// The officers the reporter leaves out, checked: only when `offered`, at most
/// [`MAX_LEAVE_OUT`], each one of the officers the form listed (`listed`), and at least one
/// reader must remain. Duplicates count once. Every officer left out is returned, also one
/// who would not have read this category: the reporter named them, so they stay excluded
/// from this case whatever happens to the routes later.
pub fn leave_out(
    readers: &[OfficerId],
    listed: &[OfficerId],
    chosen: &[OfficerId],
    offered: bool,
) -> Result<Vec<OfficerId>, RouteError> {
    if readers.is_empty() {
        return Err(RouteError::NoReader);
    }
    let mut out: Vec<OfficerId> = Vec::new();
    for c in chosen {
        if !out.contains(c) {
            out.push(c.clone());
        }
    }
    if out.is_empty() {
        return Ok(out);
    }
    if !offered {
        return Err(RouteError::NotOffered);
    }
    if out.len() > MAX_LEAVE_OUT {
        return Err(RouteError::TooMany);
    }
    if out.iter().any(|o| !listed.contains(o)) {
        return Err(RouteError::Unknown);
    }
    if readers.iter().all(|r| out.contains(r)) {
        return Err(RouteError::Everyone);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(s: &[&str]) -> Vec<OfficerId> {
        s.iter().map(|s| OfficerId::from(*s)).collect()
    }

    #[test]
    fn a_routed_category_reaches_only_its_group() {
        let all = ids(&["a", "b", "c"]);
        assert_eq!(readers(&all, None), all);
        assert_eq!(readers(&all, Some(&ids(&["c", "x"]))), ids(&["c"]));
        // A group whose members cannot receive reports leaves nobody: refused, not widened.
        assert!(readers(&all, Some(&ids(&["x"]))).is_empty());
        assert_eq!(leave_out(&[], &all, &[], true), Err(RouteError::NoReader));
    }

    #[test]
    fn leave_outs_are_bounded_and_never_everyone() {
        let all = ids(&["a", "b", "c"]);
        assert_eq!(leave_out(&all, &all, &[], false), Ok(vec![]));
        assert_eq!(
            leave_out(&all, &all, &ids(&["a", "a"]), true),
            Ok(ids(&["a"]))
        );
        assert_eq!(
            leave_out(&all, &all, &ids(&["a"]), false),
            Err(RouteError::NotOffered)
        );
        assert_eq!(
            leave_out(&all, &all, &ids(&["a", "b", "c"]), true),
            Err(RouteError::TooMany)
        );
        assert_eq!(
            leave_out(&all, &all, &ids(&["z"]), true),
            Err(RouteError::Unknown)
        );
        let two = ids(&["a", "b"]);
        assert_eq!(leave_out(&two, &all, &two, true), Err(RouteError::Everyone));
        // Someone outside the routed group may be named too: recorded, and a reader remains.
        assert_eq!(
            leave_out(&ids(&["c"]), &all, &ids(&["a"]), true),
            Ok(ids(&["a"]))
        );
        assert_eq!(group_name("  HR compliance "), Some("HR compliance".into()));
        assert_eq!(group_name(" "), None);
        assert_eq!(group_name("a\nb"), None);
        assert_eq!(group_name(&"x".repeat(81)), None);
    }
}
