//! The escrow key ceremony of docs/deployment.md, with the commands it prints: the key made
//! with `age-keygen`, split between two people with `ssss-split -t 2 -n 2` and then deleted,
//! its public key given to Speak Up; a case filed and exported; the two shares combined with
//! `ssss-combine`, and the case's escrow envelope and then its report opened with `age`.
//! One share alone does not give the key back.

use std::path::Path;
use std::process::{Command, Output};

use speakup_tests::speakup::config::ServeArgs;
use speakup_tests::*;

/// A shell command line as the documentation prints it, run in `dir`.
fn sh(dir: &Path, line: &str) -> Output {
    Command::new("sh")
        .args(["-c", line])
        .current_dir(dir)
        .env("TMPDIR", dir)
        .output()
        .unwrap_or_else(|e| panic!("{line}: {e}"))
}

fn tools() -> bool {
    ["age", "age-keygen", "ssss-split", "ssss-combine"]
        .iter()
        .all(|t| {
            Command::new("sh")
                .args(["-c", &format!("command -v {t}")])
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

#[test]
fn two_shares_of_the_escrow_key_open_a_case_and_one_does_not() {
    if !available("age and ssss (apt-get install age ssss)", tools()) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    // 1. Generate offline.
    let made = sh(d, "age-keygen -o escrow.key");
    assert!(made.status.success(), "{made:?}");
    let printed = String::from_utf8_lossy(&made.stderr).into_owned();
    let public = printed
        .trim()
        .strip_prefix("Public key: ")
        .unwrap_or_else(|| panic!("{printed}"))
        .to_owned();
    let secret = std::fs::read_to_string(d.join("escrow.key")).expect("escrow.key");
    let secret = secret
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .expect("secret key")
        .to_owned();
    // 2. Split between two people, then destroy the key.
    let split = sh(
        d,
        "grep AGE-SECRET-KEY escrow.key | ssss-split -t 2 -n 2 -w escrow -q > shares.txt",
    );
    assert!(split.status.success(), "{split:?}");
    let shares = std::fs::read_to_string(d.join("shares.txt")).expect("shares");
    assert_eq!(shares.lines().count(), 2, "{shares}");
    assert!(!shares.contains(&secret));
    std::fs::remove_file(d.join("escrow.key")).expect("destroy the key");

    run_test(async move {
        // 3. Register the public key; a case is filed and exported.
        let mut opts = Options::default();
        opts.serve = ServeArgs {
            escrow_recipient: Some(public),
            ..opts.serve
        };
        let Some(app) = spawn_with(Backend::Sqlite, opts).await else {
            return;
        };
        let (status, _) = file_report(&app, &app.browser(), "en", &Report::default()).await;
        assert_eq!(status, 200);
        let case = app
            .store
            .cases()
            .await
            .expect("cases")
            .pop()
            .expect("a case");
        let export = d.join("case-export");
        let out = export.display().to_string();
        run_cli(&app, &["case", "export", &case.reference, "--out", &out]).await;

        // One share alone gives nothing.
        let alone = sh(d, "sed -n 1p shares.txt | ssss-combine -t 2 -q");
        let said = format!("{alone:?}");
        assert!(!said.contains(&secret), "one share gave the key: {said}");

        // 4. Recover with both shares, as docs/deployment.md prints it.
        let both = sh(
            d,
            "(sed -n 1p shares.txt; sed -n 2p shares.txt) | ssss-combine -t 2 -q 2> escrow-secret.txt \
             && grep -o 'AGE-SECRET-KEY-[0-9A-Z]*' escrow-secret.txt > escrow.key \
             && age -d -i escrow.key -o case-key.txt case-export/keys/escrow.age \
             && age -d -i case-key.txt case-export/items/001-report.age",
        );
        assert!(both.status.success(), "{both:?}");
        let report = String::from_utf8_lossy(&both.stdout);
        assert!(report.contains("Invoices are paid twice"), "{report}");
        app.finish().await;
    });
}
