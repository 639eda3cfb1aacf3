//! Filing keeps the directory (who a new case is sealed to) in memory and trusts it only at
//! the database's `directory_version` (issue 14: one small read per report instead of the
//! whole directory). That is safe only if every change to who receives cases moves the
//! version in its own transaction, whichever process makes it: each kind of change is made
//! below through the command line and the version must have moved, and the copy in memory
//! must then be read again (a new directory with the change), and not before.

use std::sync::Arc;

use age::x25519::Identity;
use speakup::app::holder_cache::Directory;
use speakup_tests::*;

async fn version(app: &TestApp) -> i64 {
    app.store.directory_version().await.unwrap()
}

async fn current(app: &TestApp) -> Arc<Directory> {
    app.state
        .intake_holders
        .current(app.store.as_ref())
        .await
        .unwrap()
}

/// Runs one change and checks that it moved the version and that the next `current` reads
/// the directory again, which `check` must find changed.
async fn moves(app: &TestApp, args: &[&str], check: impl Fn(&Directory) -> bool) {
    let before = current(app).await;
    let v = version(app).await;
    assert!(
        Arc::ptr_eq(&before, &current(app).await),
        "read again unchanged"
    );
    assert!(!check(&before), "{args:?}: already so before");
    run_cli(app, args).await;
    assert!(version(app).await > v, "{args:?} did not move the version");
    let after = current(app).await;
    assert!(
        !Arc::ptr_eq(&before, &after),
        "{args:?}: the old copy was kept"
    );
    assert!(
        check(&after),
        "{args:?}: not in the directory read after it"
    );
}

async fn every_change_to_who_receives_cases_moves_the_version(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let key = Identity::generate().to_public().to_string();
    let in_it =
        |email: &'static str| move |d: &Directory| d.officers.iter().any(|o| o.email == email);
    let add = [
        "officer",
        "add",
        "--email",
        "b@example.org",
        "--name",
        "B",
        "--recipient",
        &key,
    ];
    moves(&app, &add, in_it("b@example.org")).await;
    run_cli(
        &app,
        &["entity", "add", "--slug", "alpha", "--name", "Alpha NV"],
    )
    .await;
    let key2 = Identity::generate().to_public().to_string();
    let add_in_alpha = [
        "officer",
        "add",
        "--email",
        "c@example.org",
        "--name",
        "C",
        "--recipient",
        &key2,
        "--entity",
        "alpha",
    ];
    let in_alpha = |d: &Directory| {
        let c = d.officers.iter().find(|o| o.email == "c@example.org");
        c.is_some_and(|c| {
            let alpha = speakup::domain::entity::EntitySlug::parse("alpha").unwrap();
            d.membership.in_group(&c.id, Some(&alpha))
        })
    };
    moves(&app, &add_in_alpha, in_alpha).await;
    let has_group = |d: &Directory| d.groups.iter().any(|g| g.name == "HR");
    moves(&app, &["group", "add", "--name", "HR"], has_group).await;
    let member = [
        "group",
        "member",
        "--group",
        "HR",
        "--officer",
        "b@example.org",
    ];
    let b_in_hr = |d: &Directory| {
        d.groups
            .iter()
            .any(|g| g.name == "HR" && !g.members.is_empty())
    };
    moves(&app, &member, b_in_hr).await;
    let renamed = |d: &Directory| d.groups.iter().any(|g| g.name == "Ethics");
    moves(
        &app,
        &["group", "rename", "--name", "HR", "--to", "Ethics"],
        renamed,
    )
    .await;
    let reset = ["admin", "create", "--email", "admin@example.org"];
    moves(&app, &reset, in_it("admin@example.org")).await;
    app.finish().await;
}

on_both_databases!(every_change_to_who_receives_cases_moves_the_version);
