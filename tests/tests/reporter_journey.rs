//! The reporter's whole path without JavaScript, over HTTP, on both databases: file a
//! confidential report with attachments, keep the receipt, reopen the mailbox, reply with a
//! file, download it back, log out.

use speakup_tests::*;

async fn full_journey(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = app.browser();

    // No cookie before the reporter needs one.
    let landing = client.get(app.url("/?lang=nl")).send().await.unwrap();
    assert!(landing.headers().get("set-cookie").is_none());
    let body = landing.text().await.unwrap();
    assert!(body.contains("lang=\"nl\""));

    let report = Report {
        mode: "confidential",
        name: "Jan Peeters",
        contact: "jan@private.example",
        files: vec![
            ("invoices.csv".into(), b"a,b\n1,2\n".to_vec()),
            ("photo.jpg".into(), vec![0xff; 70_000]),
        ],
        ..Default::default()
    };
    let (status, page) = file_report(&app, &client, "de", &report).await;
    assert_eq!(status, 200, "{page}");
    let token = receipt(&page);
    assert_eq!(token.len(), 29, "receipt {token}");
    assert!(page.contains("lang=\"de\""));
    let case = app.store.cases().await.unwrap().pop().unwrap();
    assert!(page.contains(&case.reference));
    assert_eq!(case.mode.as_str(), "confidential");
    assert_eq!(case.category, "fraud");
    assert_eq!(app.store.items(&case.id).await.unwrap().len(), 4);

    // A wrong receipt gets the neutral answer and no cookie.
    let other = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let (status, page) = open_mailbox(&app, &other, "2345-6789-ABCD-EFGH-JKMN-PQRS").await;
    assert_eq!(status, 401);
    assert!(page.contains("role=\"alert\""));
    let (status_bad, page_bad) = open_mailbox(&app, &other, "not a token").await;
    assert_eq!(status_bad, 401);
    assert_eq!(
        page.replace(&hidden(&page, "csrf"), ""),
        page_bad.replace(&hidden(&page_bad, "csrf"), ""),
        "a malformed and an unknown receipt must look the same"
    );

    // Typed back in lower case with spaces: the mailbox opens and shows the report as filed.
    let typed = token.to_lowercase().replace('-', " ");
    let (status, mailbox) = open_mailbox(&app, &client, &typed).await;
    assert_eq!(status, 200, "{mailbox}");
    assert!(mailbox.contains("Invoices are paid twice to a supplier."));
    assert!(mailbox.contains("Jan Peeters"));
    assert!(mailbox.contains("invoices.csv"));
    assert!(mailbox.contains(&case.reference));

    // Reply with a message and a file.
    let csrf = hidden(&mailbox, "csrf");
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf)
        .text("message", "More detail: the second invoice number is 4711.")
        .part(
            "attachments",
            reqwest::multipart::Part::bytes(b"evidence".to_vec()).file_name("note.txt"),
        );
    let res = client
        .post(app.url("/mailbox/reply?lang=en"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let mailbox = res.text().await.unwrap();
    assert!(
        mailbox.contains("the second invoice number is 4711"),
        "{mailbox}"
    );
    assert!(mailbox.contains("note.txt"));

    // Download the reply's file back, decrypted for the reporter.
    let items = app.store.items(&case.id).await.unwrap();
    let note = items
        .iter()
        .rfind(|i| i.kind.as_str() == "attachment")
        .unwrap();
    let res = client
        .get(app.url(&format!("/mailbox/attachments/{}", note.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("note.txt")
    );
    assert_eq!(res.bytes().await.unwrap().as_ref(), b"evidence");

    // Logout clears the session; the mailbox is closed afterwards.
    let csrf = hidden(&mailbox, "csrf");
    let res = client
        .post(app.url("/mailbox/logout"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = client.get(app.url("/mailbox")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    app.finish().await;
}

async fn anonymous_report_drops_identity_fields(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = app.browser();
    let report = Report {
        mode: "anonymous",
        name: "Should Not Be Kept",
        ..Default::default()
    };
    let (status, page) = file_report(&app, &client, "fr", &report).await;
    assert_eq!(status, 200);
    let case = app.store.cases().await.unwrap().pop().unwrap();
    assert_eq!(case.mode.as_str(), "anonymous");
    let kinds: Vec<String> = app
        .store
        .items(&case.id)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.kind.as_str().to_owned())
        .collect();
    assert_eq!(kinds, vec!["report"]);
    let (_, mailbox) = open_mailbox(&app, &client, &receipt(&page)).await;
    assert!(!mailbox.contains("Should Not Be Kept"));
    app.finish().await;
}

on_both_databases!(full_journey, anonymous_report_drops_identity_fields);
