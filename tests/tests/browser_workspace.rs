//! The officer workspace in Chromium at a desktop's width (1440 px) and a phone's (360 px),
//! driven by `tests/browser/workspace.mjs`: the case list's counters show the right numbers
//! and each link lists exactly its cases (dates planted in the database); the filters share
//! one row and the deadline columns stay inside the window on a desktop; nothing scrolls
//! sideways on a phone; the case page, decrypted in the browser, lists its history in
//! chronological order (a status change with its reason among it) beside the panel on a
//! desktop and above it on a phone; axe-core finds nothing serious or critical on either page
//! at either width, in the light and the dark colour scheme (lesser findings are printed).
//! Without Chromium or Node it skips, unless everything is required (CI).

use speakup_tests::browser::{self, OfficerScript, note, str_of};
use speakup_tests::workspace::plant_cases;
use speakup_tests::*;

async fn workspace_at_two_widths(backend: Backend) {
    if !browser::ready() {
        return;
    }
    let Some(app) = spawn_without_officer(backend).await else {
        return;
    };
    let OfficerScript {
        history: h,
        mut args,
        ..
    } = browser::officer_with_history(&app).await;
    // Planted after the history moved the clock: the dates count from the final today.
    let want = plant_cases(&app).await;
    let expect = serde_json::json!({
        "counters": {
            "count-new": want.new.len(),
            "count-ack-soon": want.ack_soon.len(),
            "count-feedback-soon": want.feedback_soon.len(),
            "count-overdue": want.overdue.len(),
        },
        "filters": {
            "count-new": want.new,
            "count-ack-soon": want.ack_soon,
            "count-feedback-soon": want.feedback_soon,
            "count-overdue": want.overdue,
        },
        "kinds": h.kinds,
        "reason": h.reason,
    });
    args.extend(["--expect".into(), expect.to_string()]);
    let summary = browser::node(
        "workspace.mjs",
        "check",
        args,
        browser::script_env(&app, backend),
    )
    .await;
    note(&format!("layout: {}", summary["checks"]));

    let pages = summary["pages"].as_array().expect("pages");
    // Two pages, two widths, two schemes.
    assert_eq!(pages.len(), 8, "{summary}");
    let mut serious = Vec::new();
    for p in pages {
        for v in p["violations"].as_array().expect("violations") {
            let line = format!(
                "{} at {} px ({}): {} [{}] {} {}",
                str_of(p, "name"),
                p["width"],
                str_of(p, "scheme"),
                str_of(v, "id"),
                v["impact"].as_str().unwrap_or("?"),
                str_of(v, "help"),
                v["nodes"]
            );
            match v["impact"].as_str() {
                Some("serious" | "critical") => serious.push(line),
                _ => note(&format!("axe (lesser): {line}")),
            }
        }
    }
    assert!(serious.is_empty(), "axe-core:\n{}", serious.join("\n"));
    app.finish().await;
}

on_both_databases!(workspace_at_two_widths);
