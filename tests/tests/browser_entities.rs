//! An entity's intake in a real browser (Debian's Chromium, `tests/browser/reporter.mjs`):
//! from `/e/{slug}/` to its form, a report filed with JavaScript (encrypted in the browser,
//! sealed to the entity's triage group from the page's `script#intake-keys`) and one without
//! (encrypted by the server), each read back in the mailbox. Both cases belong to the entity
//! and only its triage group holds their key. Without Chromium or Node it skips, unless
//! everything is required (CI).

use speakup_tests::browser::{self, str_of};
use speakup_tests::speakup::domain::holder::Holder;
use speakup_tests::*;

async fn entity_intake_in_chromium(backend: Backend) {
    if !browser::ready() {
        return;
    }
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    alpha_and_beta(&app).await;
    let key = age::x25519::Identity::generate().to_public().to_string();
    let args = [
        "officer",
        "add",
        "--email",
        "alpha@example.org",
        "--name",
        "Alpha",
    ];
    run_cli(
        &app,
        &[&args[..], &["--recipient", &key, "--entity", "alpha"]].concat(),
    )
    .await;
    let alpha = app
        .store
        .officer_by_email("alpha@example.org")
        .await
        .unwrap()
        .unwrap()
        .0;
    for js in [true, false] {
        let what = format!("Entity report, JavaScript {js}");
        let plan = serde_json::json!([{"lang": "nl", "mode": "anonymous", "what": what,
            "when_where": "", "involved": "", "name": "", "contact": "",
            "attachment_name": "note.txt", "attachment_text": "an attached note"}]);
        let summary = browser::node(
            "reporter.mjs",
            "journey",
            vec![
                "--base".into(),
                format!("{}/e/alpha", app.base),
                "--js".into(),
                if js { "on" } else { "off" }.into(),
                "--plan".into(),
                plan.to_string(),
            ],
            Vec::new(),
        )
        .await;
        let r = &summary["reports"][0];
        assert_eq!(r["sealed"], js, "{r}");
        assert_eq!(str_of(r, "what"), what, "{r}");
    }
    let cases = app.store.cases().await.unwrap();
    assert_eq!(cases.len(), 2);
    for c in cases {
        assert_eq!(c.entity.as_ref().map(|e| e.as_str()), Some("alpha"));
        let holders: Vec<Holder> = app
            .store
            .envelopes(&c.id)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.holder)
            .collect();
        assert_eq!(holders, vec![alpha.holder()], "{}", c.reference);
    }
    app.finish().await;
}

#[test]
fn entity_intake_in_chromium_sqlite() {
    run_test(entity_intake_in_chromium(Backend::Sqlite));
}
