//! What `speakup serve` logs at start: every non-default setting at INFO with secrets
//! redacted, and a WARN for each dangerous one (a public bind without an https public URL,
//! no escrow key, a remote database without a checked certificate), through the same function
//! `serve` calls.

use speakup::config::{CommonArgs, FileConfig, ServeArgs, Settings};
use speakup_tests::*;

fn settings(url: &str, serve: ServeArgs) -> Settings {
    let common = CommonArgs {
        config: None,
        database_url: Some(url.into()),
    };
    Settings::from_parts(&common, &serve, FileConfig::default()).unwrap()
}

#[test]
fn dangerous_settings_are_warned_and_secrets_redacted() {
    run_test(async {
        let _ = captured_logs();
        let escrow = age::x25519::Identity::generate().to_public().to_string();
        let s = settings(
            "postgres://speakup:s3cretPW@db.internal/speakup",
            ServeArgs {
                bind: Some("0.0.0.0:8443".parse().unwrap()),
                org_name: Some("ACME Rail".into()),
                rate_global: Some(50),
                key_file: Some("/etc/speakup/speakup.key".into()),
                ..Default::default()
            },
        );
        speakup::server::log_settings(&s, false);
        let logs = String::from_utf8_lossy(&captured_logs()).into_owned();
        assert!(!logs.contains("s3cretPW"), "a password reached the log");
        for shown in [
            "setting=\"DATABASE_URL\" value=postgres://db.internal/speakup",
            "setting=\"SPEAKUP_BIND\" value=0.0.0.0:8443",
            "setting=\"SPEAKUP_ORG_NAME\" value=ACME Rail",
            "setting=\"SPEAKUP_RATE_GLOBAL\" value=50",
            "setting=\"SPEAKUP_KEY_FILE\" value=/etc/speakup/speakup.key",
        ] {
            assert!(logs.contains(shown), "missing `{shown}` in:\n{logs}");
        }
        let warned = server_warnings();
        assert_eq!(warned.len(), 4, "{warned:?}");
        assert!(warned.iter().any(|w| w.contains("no SPEAKUP_SMTP_URL")));
        // The database on another machine, its certificate unchecked.
        assert!(
            warned
                .iter()
                .any(|w| w.contains("DATABASE_URL connects to db.internal with sslmode=prefer"))
        );
        assert!(
            warned
                .iter()
                .any(|w| w.contains("SPEAKUP_PUBLIC_URL is not https://"))
        );
        assert!(warned.iter().any(|w| w.contains("no escrow key")));

        // Loopback, or public behind https with an escrow key: nothing to warn about.
        let quiet = settings(
            "sqlite:/tmp/never/speakup.db",
            ServeArgs {
                bind: Some("0.0.0.0:8443".parse().unwrap()),
                public_url: Some("https://speakup.example.org".into()),
                escrow_recipient: Some(escrow),
                time_zone: Some("Europe/Paris".into()),
                mail: speakup::config::MailArgs {
                    smtp_url: Some("smtp://mailer:m4ilPW@mail.example.org:587".into()),
                    smtp_from: Some("Speak Up <noreply@example.org>".into()),
                    escalation_email: None,
                    escalation_lang: None,
                    smtp_ca_file: None,
                },
                ..Default::default()
            },
        );
        speakup::server::log_settings(&quiet, true);
        assert_eq!(server_warnings().len(), 4, "no new warnings");
        // Loopback (behind a proxy, or development): only the missing mail is worth a word.
        let loopback = settings("sqlite:/tmp/never/speakup.db", ServeArgs::default());
        speakup::server::log_settings(&loopback, true);
        let warned = server_warnings();
        assert_eq!(warned.len(), 5, "{warned:?}");
        assert!(warned[4].contains("no SPEAKUP_SMTP_URL"), "{warned:?}");
        let logs = String::from_utf8_lossy(&captured_logs()).into_owned();
        assert!(
            !logs.contains("m4ilPW"),
            "the SMTP password reached the log"
        );
        assert!(logs.contains("setting=\"SPEAKUP_SMTP_URL\" value=mail.example.org:587"));
        assert!(logs.contains("setting=\"SPEAKUP_TIME_ZONE\" value=Europe/Paris"));
        assert!(logs.contains("setting=\"SPEAKUP_PUBLIC_URL\" value=https://speakup.example.org"));
        assert!(logs.contains("setting=\"SPEAKUP_ESCROW_RECIPIENT\" value=age1"));
    });
}
