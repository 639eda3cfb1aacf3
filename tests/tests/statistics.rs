//! The yearly figures (issue 11): the auditors' statistics page, its CSV file and
//! `speakup stats` give the same figures, every count under five shows as "<5" in each of
//! them, the deadline shares and durations are right, only auditors see them, taking a copy
//! is audited, and the figures of cases deleted by retention survive the deletion.

use speakup::clock::Clock;
use speakup_tests::officer::{admin_via_cli, create_account, enroll, login};
use speakup_tests::*;

/// The cells of the table `id` on the page: (row label, shown figure), then the total.
fn table(page: &str, id: &str) -> (Vec<(String, String)>, String) {
    let start = page
        .find(&format!("<table id=\"stats-{id}\">"))
        .unwrap_or_else(|| panic!("no table {id}"));
    let t = &page[start..start + page[start..].find("</table>").expect("table end")];
    let cell = |row: &str, open: &str| {
        let at = row.find(open).expect("cell") + open.len();
        let from = at + row[at..].find('>').expect("tag end") + 1;
        row[from..from + row[from..].find('<').expect("cell end")]
            .replace("&#60;", "<")
            .replace("&lt;", "<")
    };
    let body = &t[t.find("<tbody>").expect("body")..t.find("</tbody>").expect("body end")];
    let rows = body
        .split("<tr>")
        .skip(1)
        .map(|r| (cell(r, "<th"), cell(r, "<td")))
        .collect();
    let foot = &t[t.find("<tfoot>").expect("foot")..];
    (rows, cell(foot, "<td"))
}

fn get<'a>(rows: &'a [(String, String)], label: &str) -> &'a str {
    rows.iter()
        .find(|(l, _)| l == label)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no row {label} in {rows:?}"))
}

/// Count cells (tables and `cases` lines) never show 1 to 4.
fn no_small_counts(csv: &str) {
    for line in csv.lines().skip(3) {
        let parts: Vec<&str> = line.split(',').collect();
        let is_count = !matches!(parts[1], "percent" | "median" | "max");
        if is_count {
            assert!(
                parts[2] == "<5" || parts[2].parse::<u64>().is_ok_and(|n| n >= 5),
                "a small count in {line}"
            );
        }
    }
}

async fn figures_are_published_safely(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let reporter = app.browser();
    for i in 0..13 {
        let category = if i < 10 { "fraud" } else { "health_safety" };
        let report = Report {
            category,
            ..Default::default()
        };
        let (status, _) = file_report(&app, &reporter, "en", &report).await;
        assert_eq!(status, 200);
    }
    // The dates of a year past, set directly: ten fraud cases in March 2025, half of them
    // acknowledged after two days and half after ten (late); three health-and-safety cases
    // in April, acknowledged the next day, concluded as not admissible and closed in May.
    let first_five = "SELECT id FROM cases WHERE category = 'fraud' ORDER BY reference LIMIT 5";
    app.execute("UPDATE cases SET received_on = '2025-03-10', acknowledged_on = '2025-03-20', status = 'acknowledged' WHERE category = 'fraud'").await;
    app.execute(&format!(
        "UPDATE cases SET acknowledged_on = '2025-03-12' WHERE id IN ({first_five})"
    ))
    .await;
    app.execute("UPDATE cases SET received_on = '2025-04-02', acknowledged_on = '2025-04-03', feedback_on = '2025-04-20', closed_on = '2025-05-01', status = 'closed', outcome = 'not_admissible' WHERE category = 'health_safety'").await;

    let link = admin_via_cli(&app, "admin@example.org").await;
    let admin = enroll(&app, &link, "admin@example.org", false).await;
    login(&app, &admin).await;
    let auditor_link = create_account(&app, &admin, "audrey@example.org", &["auditor"]).await;
    let auditor = enroll(&app, &auditor_link, "audrey@example.org", false).await;
    login(&app, &auditor).await;

    let range = "from=2025-01&to=2025-12";
    let page = app
        .page(&auditor.client, &format!("/officer/stats?{range}"))
        .await;
    let (months, total) = table(&page, "month");
    assert_eq!((months.len(), total.as_str()), (12, "13"));
    assert_eq!(get(&months, "2025-03"), "10");
    assert_eq!(get(&months, "2025-04"), "<5");
    assert_eq!(
        get(&months, "2025-05"),
        "<5",
        "an empty month is withheld too"
    );
    let (categories, _) = table(&page, "category");
    assert!(categories.iter().any(|(_, v)| v == "10"), "{categories:?}");
    assert!(
        categories.iter().filter(|(_, v)| v == "<5").count() >= 9,
        "{categories:?}"
    );
    let (outcomes, _) = table(&page, "outcome");
    assert_eq!(get(&outcomes, "Not admissible"), "<5");
    // One withheld mode beside the total would give it away: the other is withheld too.
    let (modes, mode_total) = table(&page, "mode");
    assert!(modes.iter().all(|(_, v)| v == "<5"), "{modes:?}");
    assert_eq!(mode_total, "13");
    // 8 of 13 acknowledged in time; days to acknowledge 1,1,1,2×5,10×5: median 2, longest 10.
    assert!(page.contains("<dd>61.5 %</dd>"), "{page}");
    let facts = &page[page.find("id=\"stats-facts\"").expect("facts")..];
    assert!(
        facts.contains("Days to acknowledge (median)</dt><dd>2</dd>"),
        "{facts}"
    );
    assert!(
        facts.contains("Days to acknowledge (longest)</dt><dd>10</dd>"),
        "{facts}"
    );
    // Feedback and closing dates exist for three cases only: withheld.
    assert!(
        facts.contains("Days to close (median)</dt><dd>&#60;5</dd>")
            || facts.contains("Days to close (median)</dt><dd>&lt;5</dd>"),
        "{facts}"
    );
    // A withheld figure draws no bar: the month chart has exactly one.
    let chart = &page
        [page.find("stats-month-title").unwrap()..page.find("<table id=\"stats-month\">").unwrap()];
    assert_eq!(chart.matches("<rect").count(), 1, "{chart}");

    // The CSV download and the command line give the same figures.
    let res = auditor
        .client
        .get(app.url(&format!("/officer/stats.csv?{range}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = res.text().await.unwrap();
    for line in [
        "category,fraud,10",
        "category,health_safety,<5",
        "month,total,13",
        "acknowledged_within_7_days,percent,61.5",
        "days_to_acknowledge,median,2",
        "days_to_acknowledge,max,10",
        "days_to_close,median,<5",
    ] {
        assert!(csv.lines().any(|l| l == line), "no {line} in\n{csv}");
    }
    no_small_counts(&csv);
    let cli = run_cli(
        &app,
        &["stats", "--from", "2025-01-01", "--to", "2025-12-31"],
    )
    .await;
    assert_eq!(cli, csv);
    let json = run_cli(
        &app,
        &[
            "stats", "--from", "2025-01", "--to", "2025-12", "--format", "json",
        ],
    )
    .await;
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v["by_month"]["total"], 13);
    assert_eq!(v["days_to_acknowledge"]["median"], 2);
    assert!(
        v["by_category"]["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r[1] == "<5" || r[1].as_u64().is_some_and(|n| n >= 5)),
        "{json}"
    );

    // Taking a copy is audited, with who and which range; viewing is not.
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'stats_exported' AND actor = 'audrey@example.org' AND detail = '2025-01..2025-12 csv'").await,
        1
    );
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'stats_exported' AND actor = 'cli'"
        )
        .await,
        2
    );

    // Only auditors: an admin is refused, and nothing is exported.
    for path in ["/officer/stats", "/officer/stats.csv"] {
        let status = admin
            .client
            .get(app.url(path))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 403, "{path}");
    }
    // Months that do not read: the page says so (this year's figures shown), the download
    // and the command line refuse them.
    let bad = app
        .page(&auditor.client, "/officer/stats?from=2025-13&to=2025-01")
        .await;
    assert!(bad.contains("id=\"stats-error\""), "{bad}");
    let status = auditor
        .client
        .get(app.url("/officer/stats.csv?from=2026-02&to=2026-01"))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 400);
    let err = try_cli(&app, &["stats", "--from", "March"])
        .await
        .unwrap_err();
    assert!(err.contains("--from"), "{err}");

    // Retention deletes the three closed cases; what they left keeps the figures whole.
    let today = app.clock.today();
    let deleted = speakup::app::retention::apply(
        app.store.as_ref(),
        &retention_months(1),
        today,
        app.clock.now(),
    )
    .await
    .unwrap();
    assert_eq!(deleted, 3);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM cases").await, 10);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM case_stats").await, 3);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM case_stats WHERE month = '2025-04' AND outcome = 'not_admissible' AND days_to_ack = 1 AND days_to_close = 29").await,
        3
    );
    let after = run_cli(&app, &["stats", "--from", "2025-01", "--to", "2025-12"]).await;
    assert_eq!(after, csv, "the figures changed when cases were deleted");
    app.finish().await;
}

on_both_databases!(figures_are_published_safely);
