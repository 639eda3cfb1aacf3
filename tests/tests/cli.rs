//! The `speakup` command line, run through the same entry point as the binary.

use speakup_tests::*;

async fn cli(app: &TestApp, args: &[&str]) -> Result<String, String> {
    try_cli(app, args).await
}

async fn officer_and_case_commands(backend: Backend) {
    let Some(app) = spawn_without_officer(backend).await else {
        return;
    };
    assert!(
        cli(&app, &["migrate"])
            .await
            .unwrap()
            .contains("migrations applied")
    );
    assert_eq!(
        cli(&app, &["officer", "list"]).await.unwrap().trim(),
        "no officers"
    );

    let key = age::x25519::Identity::generate().to_public().to_string();
    let add = |email: &str, role: &str, recipient: &str| {
        let args: Vec<String> = [
            "officer",
            "add",
            "--email",
            email,
            "--name",
            "Eva",
            "--role",
            role,
            "--recipient",
            recipient,
        ]
        .map(String::from)
        .to_vec();
        args
    };
    let refused = [
        (
            add("x@example.org", "officer", "age1nope"),
            "not an age X25519 recipient",
        ),
        (add("bad", "officer", &key), "e-mail"),
        (add("x@example.org", "boss", &key), "unknown role"),
    ];
    for (args, expected) in refused {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let err = cli(&app, &args).await.unwrap_err();
        assert!(err.contains(expected), "{args:?}: {err}");
    }

    let first = add("Eva@Example.org", "officer,auditor", &key);
    let first: Vec<&str> = first.iter().map(String::as_str).collect();
    assert!(cli(&app, &first).await.unwrap().contains("eva@example.org"));
    let again = add("eva@example.org", "officer", &key);
    let again: Vec<&str> = again.iter().map(String::as_str).collect();
    let err = cli(&app, &again).await.unwrap_err();
    assert!(err.contains("already exists"), "{err}");
    let list = cli(&app, &["officer", "list"]).await.unwrap();
    assert!(
        list.contains("eva@example.org\tEva\tauditor,officer"),
        "{list}"
    );

    assert_eq!(
        cli(&app, &["case", "list"]).await.unwrap().trim(),
        "no cases"
    );
    let (status, _) = file_report(&app, &app.browser(), "en", &Report::default()).await;
    assert_eq!(status, 200);
    let list = cli(&app, &["case", "list"]).await.unwrap();
    let case = app.store.cases().await.unwrap().pop().unwrap();
    assert!(list.contains(&case.reference) && list.contains("fraud") && list.contains("received"));
    assert!(!list.contains("Invoices"), "metadata only");

    let err = cli(
        &app,
        &["case", "export", "SU-2222-2222", "--out", "/tmp/never"],
    )
    .await
    .unwrap_err();
    assert!(err.contains("no case"), "{err}");
    let out_dir = app.dir.path().join("exp");
    cli(
        &app,
        &[
            "case",
            "export",
            &case.reference,
            "--out",
            out_dir.to_str().unwrap(),
        ],
    )
    .await
    .unwrap();
    let err = cli(
        &app,
        &[
            "case",
            "export",
            &case.reference,
            "--out",
            out_dir.to_str().unwrap(),
        ],
    )
    .await
    .unwrap_err();
    assert!(
        err.contains("not empty"),
        "an export never overwrites: {err}"
    );
    app.finish().await;
}

on_both_databases!(officer_and_case_commands);
