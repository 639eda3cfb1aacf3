//! The browser path's sealed report, built here the way the browser scripts build it
//! (`reporter.js`, `intake.js` `sealReport`): keys derived from a fresh receipt, the report
//! (and the identity and a file) encrypted to the case key and the reporter, and the case key
//! sealed to each holder the form names in `script#intake-keys`. One builder, so a test says
//! only how its report differs.

use age::x25519::{Identity, Recipient};
use speakup::domain::receipt::ReceiptToken;

use crate::officer::encrypt;

/// A fresh receipt, what the browser derives from it, and a fresh case key.
pub struct SealedKeys {
    pub token: ReceiptToken,
    pub case_key: Identity,
    pub reporter: Recipient,
    pub lookup_hex: String,
}

impl SealedKeys {
    pub fn generate() -> Self {
        let token = ReceiptToken::generate().expect("receipt");
        let derived = token.derive();
        Self {
            lookup_hex: derived
                .lookup
                .0
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
            reporter: derived.recipient(),
            token,
            case_key: Identity::generate(),
        }
    }

    /// Who reads the report: the case key and the reporter.
    pub fn both(&self) -> [Recipient; 2] {
        [self.case_key.to_public(), self.reporter.clone()]
    }

    /// The case key as each holder's envelope carries it.
    pub fn key_file(&self) -> String {
        format!(
            "# Speak Up case key\n{}\n",
            age::secrecy::ExposeSecret::expose_secret(&self.case_key.to_string())
        )
    }
}

/// `script#intake-keys` of a form page: every holder, and the routes.
pub fn intake_keys(page: &str) -> serde_json::Value {
    let json = page
        .split("id=\"intake-keys\">")
        .nth(1)
        .and_then(|s| s.split("</script>").next())
        .expect("intake keys");
    serde_json::from_str(json).expect("intake keys JSON")
}

/// The holders (as stored, and their recipients) of parsed intake keys.
pub fn key_holders(keys: &serde_json::Value) -> Vec<(String, Recipient)> {
    keys["holders"]
        .as_array()
        .expect("holders")
        .iter()
        .map(|h| {
            (
                h["holder"].as_str().expect("holder").to_owned(),
                h["recipient"]
                    .as_str()
                    .expect("recipient")
                    .parse()
                    .expect("an age recipient"),
            )
        })
        .collect()
}

/// The holders a form page tells the browser to seal to.
pub fn intake_holders(page: &str) -> Vec<(String, Recipient)> {
    key_holders(&intake_keys(page))
}

/// One part of a multipart form: a text field, or ciphertext sent as a file.
#[derive(Clone)]
pub enum Part {
    Text(&'static str, String),
    Bytes(&'static str, Vec<u8>),
}

impl Part {
    pub fn name(&self) -> &'static str {
        match self {
            Part::Text(n, _) | Part::Bytes(n, _) => n,
        }
    }
}

/// The parts in order, as a form (ciphertext as `NAME.age`, `application/octet-stream`).
pub fn multipart(parts: &[Part]) -> reqwest::multipart::Form {
    let mut f = reqwest::multipart::Form::new();
    for p in parts {
        f = match p {
            Part::Text(n, v) => f.text(*n, v.clone()),
            Part::Bytes(n, b) => f.part(
                *n,
                reqwest::multipart::Part::bytes(b.clone())
                    .file_name(format!("{n}.age"))
                    .mime_str("application/octet-stream")
                    .expect("mime type"),
            ),
        };
    }
    f
}

/// A sealed report: what the browser sends to `/report/sealed` (or `/officer/report`).
pub struct SealedReport {
    pub keys: SealedKeys,
    pub category: String,
    pub mode: &'static str,
    pub what: String,
    pub when_where: String,
    /// Name and contact (a confidential report), sealed like the report.
    pub identity: Option<(String, String)>,
    /// Each gets an envelope with the case key.
    pub holders: Vec<(String, Recipient)>,
    pub leave_out: Vec<String>,
    /// A file: its content and its name, both sealed like the report.
    pub attachment: Option<(Vec<u8>, String)>,
    /// Sent last, after everything above.
    pub extra: Vec<Part>,
}

impl SealedReport {
    /// An anonymous fraud report without a file, sealed to `holders`, with fresh keys.
    pub fn to(holders: Vec<(String, Recipient)>) -> Self {
        Self {
            keys: SealedKeys::generate(),
            category: "fraud".into(),
            mode: "anonymous",
            what: "Sealed in the browser".into(),
            when_where: String::new(),
            identity: None,
            holders,
            leave_out: Vec::new(),
            attachment: None,
            extra: Vec::new(),
        }
    }

    /// The parts in the order the browser sends them.
    pub fn parts(&self, csrf: &str) -> Vec<Part> {
        let k = &self.keys;
        let both = k.both();
        let sealed = |v: serde_json::Value| encrypt(&both, v.to_string().as_bytes());
        let mut parts = vec![
            Part::Text("csrf", csrf.to_owned()),
            Part::Text("category", self.category.clone()),
            Part::Text("mode", self.mode.to_owned()),
            Part::Text("lookup", k.lookup_hex.clone()),
            Part::Text("case_recipient", k.case_key.to_public().to_string()),
            Part::Text("reporter_recipient", k.reporter.to_string()),
        ];
        for id in &self.leave_out {
            parts.push(Part::Text("leave_out", id.clone()));
        }
        parts.push(Part::Bytes(
            "report",
            sealed(serde_json::json!({"type": "report", "version": 1,
                "category": self.category, "what": self.what,
                "when_where": self.when_where, "involved": ""})),
        ));
        if let Some((name, contact)) = &self.identity {
            parts.push(Part::Bytes(
                "identity",
                sealed(serde_json::json!({"type": "identity", "version": 1,
                    "name": name, "contact": contact})),
            ));
        }
        let key_file = k.key_file();
        for (holder, r) in &self.holders {
            parts.push(Part::Text("holder", holder.clone()));
            parts.push(Part::Bytes(
                "envelope",
                encrypt(std::slice::from_ref(r), key_file.as_bytes()),
            ));
        }
        if let Some((content, name)) = &self.attachment {
            parts.push(Part::Bytes("attachment", encrypt(&both, content)));
            parts.push(Part::Bytes(
                "attachment_name",
                encrypt(&both, name.as_bytes()),
            ));
        }
        parts.extend(self.extra.iter().cloned());
        parts
    }

    pub fn form(&self, csrf: &str) -> reqwest::multipart::Form {
        multipart(&self.parts(csrf))
    }
}
