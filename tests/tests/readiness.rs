//! `/healthz` and `/readyz` on both databases: ready only when the database answers, its
//! migrations are this build's and an officer key exists; a 503 with a short plain reason
//! otherwise; and neither probe appears in the access log.

use speakup_tests::*;

async fn probe(app: &TestApp, path: &str) -> (u16, String, String) {
    let res = reqwest::get(app.url(path)).await.unwrap();
    let status = res.status().as_u16();
    let kind = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, kind, res.text().await.unwrap())
}

async fn ready_only_with_schema_database_and_officer_key(backend: Backend) {
    let Some(mut app) = spawn_without_officer(backend).await else {
        return;
    };
    // Alive, but no officer key yet: the intake is closed, so not ready.
    assert_eq!(probe(&app, "/healthz").await.0, 200);
    let (status, kind, body) = probe(&app, "/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert!(kind.starts_with("text/plain"), "{kind}");
    assert_eq!(body, "not ready: no officer key: the intake is closed");

    let key = age::x25519::Identity::generate().to_public().to_string();
    run_cli(
        &app,
        &[
            "officer",
            "add",
            "--email",
            "o@example.org",
            "--name",
            "O",
            "--recipient",
            &key,
        ],
    )
    .await;
    assert_eq!(
        probe(&app, "/readyz").await,
        (200, kind.clone(), "ready".into())
    );

    // A migration missing from the database: not ready, and the answer names it.
    let last = app
        .scalar("SELECT MAX(version) FROM _sqlx_migrations")
        .await;
    let saved = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM _sqlx_migrations WHERE version = {last}"
        ))
        .await;
    assert_eq!(saved, 1);
    exec(
        &app,
        &format!("UPDATE _sqlx_migrations SET success = FALSE WHERE version = {last}"),
    )
    .await;
    let (status, _, body) = probe(&app, "/readyz").await;
    assert_eq!(status, 503);
    assert_eq!(
        body,
        format!("not ready: migrations not applied: {last:04}")
    );
    exec(
        &app,
        &format!("UPDATE _sqlx_migrations SET success = TRUE WHERE version = {last}"),
    )
    .await;
    assert_eq!(probe(&app, "/readyz").await.0, 200);

    // A migration from a newer release: not ready either.
    exec(
        &app,
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         SELECT 99990101, 'future', TRUE, checksum, 1 FROM _sqlx_migrations WHERE version = 1",
    )
    .await;
    let (status, _, body) = probe(&app, "/readyz").await;
    assert_eq!(status, 503);
    assert!(
        body.contains("newer release") && body.contains("99990101"),
        "{body}"
    );
    exec(
        &app,
        "DELETE FROM _sqlx_migrations WHERE version = 99990101",
    )
    .await;
    assert_eq!(probe(&app, "/readyz").await.0, 200);

    // The database stops answering (PostgreSQL: the database is dropped under the server).
    if backend == Backend::Postgres {
        let admin = std::env::var("SPEAKUP_TEST_POSTGRES_URL").unwrap();
        let name = app.database_url.rsplit('/').next().unwrap().to_owned();
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
            .await
            .unwrap();
        sqlx::Executor::execute(
            &mut conn,
            sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)")),
        )
        .await
        .unwrap();
        let (status, _, body) = probe(&app, "/readyz").await;
        assert_eq!(
            (status, body.as_str()),
            (503, "not ready: database unavailable")
        );
        assert_eq!(probe(&app, "/healthz").await.0, 503);
        app.expect_warnings(&[
            "readiness check: database unavailable",
            "health check: database unavailable",
            // The settings reload (every 5 s) may fall in the moment the database is gone.
            "reloading site settings failed",
        ]);
    }

    // Polling is not reporter traffic: neither probe is in the access log.
    let logs = String::from_utf8_lossy(&captured_logs()).into_owned();
    assert!(
        !logs.contains("route=/readyz"),
        "the access log names /readyz"
    );
    assert!(
        !logs.contains("route=/healthz"),
        "the access log names /healthz"
    );
    // The access log itself still works (the check above can fail).
    let _ = reqwest::get(app.url("/static/style.css")).await.unwrap();
    let logs = String::from_utf8_lossy(&captured_logs()).into_owned();
    assert!(logs.contains("route=/static/style.css"));
    app.finish().await;
}

async fn exec(app: &TestApp, sql: &str) {
    let q = sqlx::AssertSqlSafe(sql.to_owned());
    match app.backend {
        Backend::Sqlite => {
            let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect(&app.database_url)
                .await
                .unwrap();
            sqlx::Executor::execute(&mut c, q).await.unwrap();
        }
        Backend::Postgres => {
            let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&app.database_url)
                .await
                .unwrap();
            sqlx::Executor::execute(&mut c, q).await.unwrap();
        }
    }
}

on_both_databases!(ready_only_with_schema_database_and_officer_key);
