//! The case list's counters and the case page's timeline over HTTP, on both databases.
//! Counters: six cases whose dates are planted relative to the server's today; each counter
//! shows the right number (over every case the person may see, whatever the filter), and its
//! link filters the list to exactly those cases; an investigator granted nothing counts
//! nothing. Timeline: a case whose history spans six days lists report, messages both ways,
//! the note, the status changes (one with its encrypted reason) and the grant in
//! chronological order.

use speakup_tests::officer::*;
use speakup_tests::workspace::*;
use speakup_tests::*;

const COUNTERS: [&str; 4] = [
    "count-new",
    "count-ack-soon",
    "count-feedback-soon",
    "count-overdue",
];

async fn counters_count_and_filter(backend: Backend) {
    let Some(app) = spawn_without_officer(backend).await else {
        return;
    };
    let t = team(&app).await;
    let want = plant_cases(&app).await;
    let list = app.page(&t.alex.client, "/officer/cases").await;
    assert_eq!(listed(&list), want.all, "the whole list");
    let expected = [
        (COUNTERS[0], &want.new, "/officer/cases?status=received"),
        (COUNTERS[1], &want.ack_soon, "/officer/cases?due=ack"),
        (
            COUNTERS[2],
            &want.feedback_soon,
            "/officer/cases?due=feedback",
        ),
        (COUNTERS[3], &want.overdue, "/officer/cases?overdue=1"),
    ];
    for (id, cases, href) in expected {
        assert_eq!(counter(&list, id), cases.len(), "{id}");
        assert_eq!(counter_href(&list, id), href, "{id}");
        // The link filters the list to exactly those cases, and marks its counter current;
        // the counters still count everything.
        let filtered = app.page(&t.alex.client, href).await;
        assert_eq!(&listed(&filtered), cases, "{id}: {href}");
        assert!(
            attr(&filtered, &format!("id=\"{id}\""), "aria-current") == "page",
            "{id} not marked current"
        );
        for (other, n, _) in expected {
            assert_eq!(counter(&filtered, other), n.len(), "{other} on {href}");
        }
    }
    // The whole list marks no counter current.
    assert!(!list.contains("aria-current=\"page\""));

    // The deadline filter is in the filter row, and a bad value is ignored, never an error.
    assert!(list.contains("id=\"f-due\""), "{list}");
    let res = t
        .alex
        .client
        .get(app.url("/officer/cases?due=someday&overdue=yes"))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 200);
    assert_eq!(listed(&res.text().await.expect("body")), want.all);

    // Counters count only the cases a person may open: an investigator granted none sees 0.
    let theirs = app.page(&t.ivan.client, "/officer/cases").await;
    for id in COUNTERS {
        assert_eq!(counter(&theirs, id), 0, "{id} for an investigator");
    }
    app.finish().await;
}

async fn timeline_is_chronological(backend: Backend) {
    let Some(app) = spawn_without_officer(backend).await else {
        return;
    };
    let t = team(&app).await;
    let h = history(&app, &t).await;
    login(&app, &t.alex).await;
    let case = open_case(&app, &t.alex, &h.reference).await;
    let entries = timeline(&case.html);
    let kinds: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(kinds, h.kinds, "{entries:?}");
    let days: Vec<&str> = entries.iter().map(|(_, d)| d.as_str()).collect();
    let mut sorted = days.clone();
    sorted.sort();
    assert_eq!(days, sorted, "days out of order");
    // Six different days: the report's, then one a day.
    let mut distinct = days.clone();
    distinct.dedup();
    assert_eq!(distinct.len(), 7, "{days:?}");

    // The status change to "investigating" carries its reason, encrypted to the officer key
    // (not the case key).
    let list = case.html.split("id=\"timeline\"").nth(1).expect("timeline");
    let status = list
        .split("<li class=\"tl ")
        .find(|li| li.starts_with("status") && li.contains("Being investigated"))
        .unwrap_or_else(|| panic!("the status change to investigating: {list}"));
    assert!(
        status.contains("Status changed to Being investigated"),
        "{status}"
    );
    let reason = attr(status, "class=\"text reason\"", "data-age");
    assert_eq!(
        decrypt(&case.officer_key, &b64(&reason)),
        h.reason.as_bytes(),
        "the reason"
    );
    // The grant names both officers.
    let access = list
        .split("<li class=\"tl ")
        .find(|li| li.starts_with("access"))
        .expect("the grant");
    assert!(
        access.contains("Name of alex@example.org gave Name of ivan@example.org access"),
        "{access}"
    );
    // Nothing of the content is in the page in the clear.
    assert!(!case.html.contains(h.reason));
    assert!(!case.html.contains("The manager also takes cash"));
    app.finish().await;
}

on_both_databases!(counters_count_and_filter, timeline_is_chronological);
