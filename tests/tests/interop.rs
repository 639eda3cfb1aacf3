//! The export decrypts with an age implementation this project did not write: the `age`
//! command line (Debian's package, installed by `.ci/run`). Also checks the layout.

use std::process::Command;

use speakup_tests::officer::{encrypt, open_case, post_parts};
use speakup_tests::*;

fn age_cli() -> bool {
    Command::new("age")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

async fn export_decrypts_with_the_age_cli(backend: Backend) {
    if !available("the age command (apt-get install age)", age_cli()) {
        return;
    }
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = app.browser();
    let report = Report {
        what: "Safety valves were disabled on line 3.",
        mode: "confidential",
        name: "R. Porter",
        contact: "signal: +32 470 00 00 00",
        files: vec![("valve photo.jpg".into(), vec![42u8; 1_300_000])],
        ..Default::default()
    };
    let (status, _) = file_report(&app, &client, "en", &report).await;
    assert_eq!(status, 200);
    let case = app.store.cases().await.unwrap().pop().unwrap();

    let out = app.dir.path().join("export");
    let cli = speakup::cli::Cli {
        common: speakup::config::CommonArgs {
            config: None,
            database_url: Some(app.database_url.clone()),
        },
        command: speakup::cli::Command::Case {
            command: speakup::cli::CaseCommand::Export {
                case: case.reference.to_lowercase(),
                out: out.clone(),
            },
        },
    };
    let mut printed = Vec::new();
    speakup::cli::run(cli, &mut printed).await.unwrap();
    assert!(String::from_utf8_lossy(&printed).contains(&case.reference));

    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["reference"], case.reference.as_str());
    assert!(out.join("README.txt").exists());
    let manifest_text = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    assert!(
        !manifest_text.contains("valve photo"),
        "names stay encrypted"
    );

    let identity_file = app.dir.path().join("officer.key");
    use age::secrecy::ExposeSecret;
    std::fs::write(
        &identity_file,
        format!("{}\n", app.officer.to_string().expose_secret()),
    )
    .unwrap();
    let key_file = out.join(format!("keys/officer-{}.age", app.officer_email));
    assert!(key_file.exists(), "{key_file:?}");
    let case_key = app.dir.path().join("case.key");
    let st = Command::new("age")
        .args(["-d", "-i"])
        .arg(&identity_file)
        .arg("-o")
        .arg(&case_key)
        .arg(&key_file)
        .status()
        .unwrap();
    assert!(st.success());

    let decrypt = |file: &str| -> Vec<u8> {
        let o = Command::new("age")
            .args(["-d", "-i"])
            .arg(&case_key)
            .arg(out.join(file))
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "age -d {file}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        o.stdout
    };
    let items = manifest["items"].as_array().unwrap();
    let file_of = |kind: &str| {
        items.iter().find(|i| i["kind"] == kind).unwrap()["file"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let report_json: serde_json::Value =
        serde_json::from_slice(&decrypt(&file_of("report"))).unwrap();
    assert_eq!(
        report_json["what"],
        "Safety valves were disabled on line 3."
    );
    let identity_json: serde_json::Value =
        serde_json::from_slice(&decrypt(&file_of("identity"))).unwrap();
    assert_eq!(identity_json["name"], "R. Porter");
    let att = items.iter().find(|i| i["kind"] == "attachment").unwrap();
    assert_eq!(
        decrypt(att["file"].as_str().unwrap()),
        vec![42u8; 1_300_000]
    );
    assert_eq!(
        decrypt(att["name_file"].as_str().unwrap()),
        b"valve photo.jpg"
    );
    assert_eq!(att["size"], 1_300_000);
    app.finish().await;
}

/// An internal note written after the case got its officer key: the export carries the
/// officer key sealed to each holder; `age` opens it with the officer's identity, and the note
/// with it, while the case key alone does not open the note.
async fn officer_only_items_decrypt_with_the_age_cli(backend: Backend) {
    if !available("the age command (apt-get install age)", age_cli()) {
        return;
    }
    let Some(app) = spawn_without_officer(backend).await else {
        return;
    };
    let t = speakup_tests::workspace::team(&app).await;
    let (status, _) = file_report(&app, &app.browser(), "en", &Report::default()).await;
    assert_eq!(status, 200);
    let case = app.store.cases().await.unwrap().pop().unwrap();
    let reference = case.reference.clone();
    let view = open_case(&app, &t.alex, &reference).await;
    let note = "Interview the warehouse staff first.";
    let (status, page) = post_parts(
        &app,
        &t.alex,
        &format!("/officer/cases/{reference}/notes"),
        &[
            ("csrf", &view.csrf),
            ("recipient", &view.to_officers.to_string()),
        ],
        vec![(
            "message",
            encrypt(std::slice::from_ref(&view.to_officers), note.as_bytes()),
        )],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    // A status change with its reason: the export keeps the history (Directive art. 18).
    let reason = "Enough detail to investigate: opening an investigation.";
    let (status, page) = post_parts(
        &app,
        &t.alex,
        &format!("/officer/cases/{reference}/status"),
        &[
            ("csrf", &view.csrf),
            ("status", "investigating"),
            ("outcome", ""),
            ("recipient", &view.to_officers.to_string()),
        ],
        vec![(
            "reason",
            encrypt(std::slice::from_ref(&view.to_officers), reason.as_bytes()),
        )],
    )
    .await;
    assert_eq!(status, 200, "{page}");

    let out = app.dir.path().join("export");
    let printed = run_cli(
        &app,
        &[
            "case",
            "export",
            &reference,
            "--out",
            &out.display().to_string(),
        ],
    )
    .await;
    assert!(printed.contains(&reference), "{printed}");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(
        manifest["officer_recipient"],
        view.to_officers.to_string().as_str()
    );
    let note_file = manifest["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "note")
        .expect("the note in the manifest")["file"]
        .as_str()
        .unwrap()
        .to_owned();
    let sealed = manifest["officer_keys"].as_array().unwrap();
    assert_eq!(sealed.len(), 1, "{manifest}");
    assert_eq!(
        sealed[0]["file"],
        "officer-keys/officer-alex@example.org.age"
    );

    use age::secrecy::ExposeSecret;
    let identity_file = app.dir.path().join("alex.key");
    let alex = t.alex.identity.as_ref().unwrap();
    std::fs::write(
        &identity_file,
        format!("{}\n", alex.to_string().expose_secret()),
    )
    .unwrap();
    let age_d = |identities: &[&std::path::Path], file: &std::path::Path| {
        let mut c = Command::new("age");
        c.arg("-d");
        for i in identities {
            c.arg("-i").arg(i);
        }
        c.arg(file).output().unwrap()
    };
    let keys = app.dir.path();
    for (sealed, plain) in [
        ("keys/officer-alex@example.org.age", "case-key.txt"),
        (
            "officer-keys/officer-alex@example.org.age",
            "officer-key.txt",
        ),
    ] {
        let o = age_d(&[&identity_file], &out.join(sealed));
        assert!(
            o.status.success(),
            "{sealed}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        std::fs::write(keys.join(plain), o.stdout).unwrap();
    }
    let case_key = keys.join("case-key.txt");
    let officer_key = keys.join("officer-key.txt");
    let refused = age_d(&[&case_key], &out.join(&note_file));
    assert!(!refused.status.success(), "the case key opens the note");
    let o = age_d(&[&officer_key, &case_key], &out.join(&note_file));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(o.stdout, note.as_bytes());
    let history = manifest["history"].as_array().expect("history");
    let change = history.last().expect("the status change");
    assert_eq!(change["status"], "investigating", "{manifest}");
    assert_eq!(change["actor_email"], "alex@example.org", "{manifest}");
    assert!(
        change["at"].as_str().is_some_and(|a| a.ends_with('Z')),
        "{manifest}"
    );
    let reason_file = change["reason_file"].as_str().expect("a reason file");
    let o = age_d(&[&officer_key], &out.join(reason_file));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(o.stdout, reason.as_bytes());
    let readme = std::fs::read_to_string(out.join("README.txt")).unwrap();
    assert!(readme.contains("officer-keys/"), "{readme}");
    app.finish().await;
}

on_both_databases!(export_decrypts_with_the_age_cli);
on_both_databases!(officer_only_items_decrypt_with_the_age_cli);
