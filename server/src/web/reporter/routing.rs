//! What the reporter pages say about routing before sealing (issue 12): who reads a report
//! (the landing page and the form), and the officers the reporter may leave out (checkboxes
//! that work without JavaScript). The rules are in `app::routing`.

use super::pages::ReaderOption;
use crate::app::intake::Draft;
use crate::app::routing::{Plan, Reader};
use crate::i18n::Lang;

/// "Name (Compliance officer, HR compliance)": a reader's name and role as the reporter sees
/// them.
fn label(lang: Lang, r: &Reader) -> String {
    let t = lang.tr();
    let mut role = t.get("role.officer").to_owned();
    for g in &r.groups {
        role.push_str(", ");
        role.push_str(g);
    }
    format!("{} ({role})", r.name)
}

/// The leave-out checkboxes: every officer who may read a report, when the organisation
/// lets reporters leave some out; none otherwise.
pub fn leave_out_choices(lang: Lang, plan: &Plan, draft: &Draft) -> Vec<ReaderOption> {
    if !plan.offered() {
        return Vec::new();
    }
    plan.listed()
        .iter()
        .map(|r| ReaderOption {
            id: r.id.to_string(),
            label: label(lang, r),
            checked: draft.leave_out.iter().any(|c| c == r.id.as_str()),
        })
        .collect()
}

/// The sentences that say who reads a report: the compliance officers (with their names
/// where the organisation shows them) for categories that do not route, then each category
/// that routes to a triage group.
pub fn who_reads(lang: Lang, plan: &Plan, site: &crate::app::settings::Site) -> Vec<String> {
    let t = lang.tr();
    let names = plan.offered();
    let mut out = Vec::new();
    if site
        .categories
        .iter()
        .any(|c| site.route(&c.code).is_none())
    {
        let all: Vec<_> = plan.listed().iter().map(|r| r.id.clone()).collect();
        out.push(if names {
            let list = plan.names(&all).join(", ");
            t.fmt("routing.who_default_named", &[("names", &list)])
        } else {
            t.get("routing.who_default").to_owned()
        });
    }
    for (category, group, readers) in plan.routed() {
        let args = [
            ("category", category.label(lang)),
            ("group", group.to_owned()),
            ("names", readers.join(", ")),
        ];
        let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let key = if names {
            "routing.who_routed_named"
        } else {
            "routing.who_routed"
        };
        out.push(t.fmt(key, &args));
    }
    out
}
