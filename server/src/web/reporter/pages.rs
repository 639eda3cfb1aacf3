//! The askama page models, one struct per template in `frontend/templates/`. Pages that show
//! case data are only ever sent with `Cache-Control: no-store` (see `web::headers`); the
//! plaintext in them lives for one response and is never logged.

use askama::Template;
use askama_web::WebTemplate;

pub use crate::app::intake::Draft as ReportDraft;
use crate::i18n::Tr;
pub use crate::web::shared::views::Chrome;
use crate::web::shared::views::ScriptText;

/// Strings the reporter script shows (`script#speakup-text`), with `<` escaped for the
/// data block.
pub fn reporter_js_text(t: Tr) -> String {
    const KEYS: &[&str] = &[
        "locked",
        "decrypt_failed",
        "send_failed",
        "downloading",
        "encrypting",
        "sealing",
        "sending",
        "metadata_warning",
        "strip_metadata",
        "routing.error.too_many",
        "routing.error.everyone",
    ];
    static TEXT: ScriptText = ScriptText::new(KEYS);
    TEXT.get(t).to_owned()
}

#[derive(Template, WebTemplate)]
#[template(path = "landing.html")]
pub struct LandingPage {
    pub c: Chrome,
    /// False until at least one officer key exists: then nothing can be submitted.
    pub configured: bool,
    /// The organisation's own notice for reporters, set by an admin (may be empty).
    pub notice: String,
    pub ack_days: i64,
    pub feedback_months: u8,
    /// Routing before sealing: who reads a report, one sentence per group of readers.
    pub who_reads: Vec<String>,
    /// With more than one entity, the instance's landing lists them (issue 12).
    pub entities: Vec<EntityLink>,
}

/// One officer the reporter may leave out (routing before sealing): the account id as the
/// checkbox value, "Name (role)" as its label.
pub struct ReaderOption {
    pub id: String,
    pub label: String,
    pub checked: bool,
}

/// An entity's name and its landing page's address, on the instance's landing.
pub struct EntityLink {
    pub name: String,
    pub href: String,
}

/// One category option: its stable code and its label in the page's language.
pub struct CategoryOption {
    pub code: String,
    pub label: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "report.html")]
pub struct ReportPage {
    pub c: Chrome,
    pub configured: bool,
    pub csrf: String,
    pub categories: Vec<CategoryOption>,
    pub max_attachment_mib: u64,
    pub max_attachments: usize,
    pub draft: ReportDraft,
    /// Catalog keys of the problems found, shown at the top and announced (role="alert").
    pub errors: Vec<&'static str>,
    /// `script#intake-keys`: who the browser seals the case key to.
    pub intake_keys: String,
    pub js_text: String,
    /// Routing before sealing: the officers the reporter may leave out (empty when the
    /// organisation does not offer it).
    pub readers: Vec<ReaderOption>,
}

impl ReportPage {
    /// Whether the validation found the problem with this catalog key (marks the field
    /// `aria-invalid`).
    pub fn has_error(&self, key: &str) -> bool {
        self.errors.contains(&key)
    }

    /// The id of the form control an error is about, for the link in the error summary.
    pub fn error_anchor(&self, key: &str) -> &'static str {
        match key {
            "report.error.category" => "category",
            "report.error.what_required" | "report.error.too_long" => "what",
            "report.error.mode" => "mode-anonymous",
            "report.error.identity_required" => "name",
            "report.error.too_many_files" | "report.error.empty_file" => "attachments",
            "meetings.error.kind" | "meetings.error.no_kind" => "meeting",
            "routing.error.no_reader" => "category",
            k if k.starts_with("routing.") => "leave-out",
            _ => "report-form",
        }
    }

    /// Whether a leave-out was refused (marks the fieldset).
    pub fn has_routing_error(&self) -> bool {
        self.errors.iter().any(|e| e.starts_with("routing."))
    }

    /// The draft chose confidential (anything else, including nothing, shows anonymous).
    pub fn is_confidential(&self) -> bool {
        self.draft.mode == "confidential"
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "receipt.html")]
pub struct ReceiptPage {
    pub c: Chrome,
    /// The receipt token in groups (XXXX-XXXX-…); shown once, in the element `id="receipt"`.
    pub receipt: String,
    pub reference: String,
    pub ack_due: String,
    pub attachments: usize,
    /// Filed through the browser path: the receipt is filled in by the browser, which made it.
    pub sealed: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "follow_up.html")]
pub struct FollowUpPage {
    pub c: Chrome,
    pub csrf: String,
    /// True after a failed attempt: one neutral message whatever the reason.
    pub failed: bool,
    pub js_text: String,
}

pub struct AttachmentView {
    pub id: String,
    pub name: String,
    /// Sealed mailbox: the route of the encrypted name, for the browser to fetch and open.
    pub name_src: String,
    pub size: String,
}

pub struct ThreadEntry {
    /// The message's item id (what a confirmation or correction of minutes names).
    pub id: String,
    /// Set when the message holds minutes.
    pub minutes: Option<MinutesView>,
    pub from_reporter: bool,
    pub day: String,
    pub body: String,
    /// Sealed mailbox: the route of the message's age file.
    pub src: String,
    /// The message did not decrypt; `body` holds the catalog's notice.
    pub unreadable: bool,
    pub attachments: Vec<AttachmentView>,
}

/// Minutes in the thread: still to be answered, or how the reporter answered (a sentence).
pub struct MinutesView {
    pub open: bool,
    pub answer: String,
}

/// The minutes the reply form corrects, and their day.
pub struct CorrectView {
    pub id: String,
    pub day: String,
}

pub struct ReportView {
    pub category: String,
    pub what: String,
    pub when_where: String,
    pub involved: String,
    pub anonymous: bool,
    /// The report or the identity did not decrypt.
    pub unreadable: bool,
    pub name: String,
    pub contact: String,
    /// Sealed mailbox: the routes of the report and identity items' age files.
    pub src: String,
    pub identity_src: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "mailbox.html")]
pub struct MailboxPage {
    pub c: Chrome,
    pub csrf: String,
    pub reference: String,
    /// Catalog key of the status label ("status.received", …).
    pub status_key: &'static str,
    pub received: String,
    pub ack_due: String,
    pub acknowledged: Option<String>,
    pub feedback_due: String,
    pub report: ReportView,
    pub report_attachments: Vec<AttachmentView>,
    pub thread: Vec<ThreadEntry>,
    /// The thread's page shown (0 is the newest) and how many there are.
    pub page: usize,
    pub pages: usize,
    pub max_attachment_mib: u64,
    pub max_attachments: usize,
    /// Catalog key of a notice after an action ("mailbox.sent"), or of an error.
    pub notice: Option<&'static str>,
    pub error: Option<&'static str>,
    /// Opened with the lookup value only: the browser decrypts (see docs/browser-contract.md).
    pub sealed: bool,
    /// The minutes the reply form corrects, when the reporter chose "correct" on some.
    pub correct: Option<CorrectView>,
    /// Recipients for the browser's replies: case and reporter.
    pub to_both: String,
    pub js_text: String,
}
