//! The askama models of the officer workspace, one struct per `frontend/templates/officer_*`
//! template. Case content appears in them only as base64 age ciphertext (`data-age`), which
//! the browser decrypts; the server renders metadata and ciphertext, never plaintext.

use askama::Template;
use askama_web::WebTemplate;

use crate::domain::deadlines::DeadlineState;
use crate::i18n::{Lang, Tr};

/// What the officer user sees on every page: the translator, the signed-in account (if
/// any), the strings the browser script shows, and the logout form's token.
pub struct Desk {
    pub t: Tr,
    pub org_name: String,
    /// `data-page` on `<body>` (see docs/browser-contract.md).
    pub page: &'static str,
    /// The page's own path for the language switch.
    pub path: String,
    pub me: Option<Me>,
    /// JSON for `<script type="application/json" id="speakup-text">`, with `<` escaped.
    pub js_text: String,
}

pub struct Me {
    pub name: String,
    pub email: String,
    pub recipient: String,
    pub csrf: String,
    pub cases: bool,
    /// May enter a report on a reporter's behalf (compliance officers).
    pub enter_reports: bool,
    pub admin: bool,
    pub auditor: bool,
}

impl Desk {
    pub fn langs(&self) -> [Lang; 4] {
        Lang::ALL
    }

    pub fn lang(&self) -> &'static str {
        self.t.lang().code()
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "officer_login.html")]
pub struct LoginPage {
    pub d: Desk,
    pub csrf: String,
    pub email: String,
    /// One neutral message for every failure (unknown account, wrong password or code,
    /// locked, throttled), so the page tells an attacker nothing.
    pub failed: bool,
    pub expired: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "officer_enroll.html")]
pub struct EnrollPage {
    pub d: Desk,
    pub csrf: String,
    pub token: String,
    pub email: String,
    pub name: String,
    /// Officers and investigators need an age key; admins and auditors do not.
    pub needs_key: bool,
    pub current_recipient: String,
    pub qr_svg: String,
    pub secret: String,
    pub recipient: String,
    pub errors: Vec<&'static str>,
}

/// A page with a title, a text and one link (enrollment done, link expired, …).
#[derive(Template, WebTemplate)]
#[template(path = "officer_notice.html")]
pub struct NoticePage {
    pub d: Desk,
    pub title_key: &'static str,
    pub body_key: &'static str,
    pub link: String,
    pub link_key: &'static str,
}

pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub struct CaseRow {
    pub reference: String,
    pub category: String,
    pub received: String,
    pub status_key: String,
    pub assignees: String,
    /// The owner's name; empty when the case is unowned.
    pub owner: String,
    pub ack_due: String,
    /// The CSS class is the state's stored word; the label its catalog key.
    pub ack_flag: DeadlineState,
    pub feedback_due: String,
    pub feedback_flag: DeadlineState,
    /// Not closed and older than the retention period: flagged, never deleted.
    pub open_too_long: bool,
    /// The earliest open meeting request's due date (empty: none), and whether it is past.
    pub meeting_due: String,
    pub meeting_overdue: bool,
    /// The slug of the legal entity the case belongs to; empty for the instance's own.
    pub entity: String,
}

impl CaseRow {
    pub fn ack_key(&self) -> &'static str {
        self.ack_flag.key()
    }

    pub fn feedback_key(&self) -> &'static str {
        self.feedback_flag.key()
    }
}

/// One of the counters above the case list: how many cases, and the link to them.
pub struct Counter {
    /// The link's element id (`count-new`, `count-ack-soon`, `count-feedback-soon`,
    /// `count-overdue`).
    pub id: &'static str,
    pub href: &'static str,
    pub label: String,
    pub count: usize,
    /// Shown as a warning when not zero.
    pub urgent: bool,
    /// The list shows exactly this filter now.
    pub current: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "officer_cases.html")]
pub struct CasesPage {
    pub d: Desk,
    pub rows: Vec<CaseRow>,
    pub counters: Vec<Counter>,
    pub statuses: Vec<Choice>,
    pub categories: Vec<Choice>,
    pub assignees: Vec<Choice>,
    pub dues: Vec<Choice>,
    pub sorts: Vec<Choice>,
    pub overdue_only: bool,
    /// The "my cases" filter (cases this person owns).
    pub mine_only: bool,
}

impl CasesPage {
    /// The entity column shows once a listed case belongs to a legal entity (issue 12).
    pub fn show_entity(&self) -> bool {
        self.rows.iter().any(|r| !r.entity.is_empty())
    }
}

pub struct AttachmentView {
    pub src: String,
    /// Where the browser fetches the encrypted name (empty for a file stored without one).
    pub name_src: String,
    pub size: String,
}

pub struct ItemView {
    pub id: String,
    pub from_reporter: bool,
    pub author: String,
    pub day: String,
    /// Where the browser fetches the item's age file (its own route, with the page's read
    /// token), or empty for a message that only carried files and for the identity.
    pub src: String,
    /// Base64 age ciphertext inline: only the identity, in the answer to an audited reveal.
    pub age: String,
    pub attachments: Vec<AttachmentView>,
    /// For minutes: the reporter's answer so far, in a sentence.
    pub minutes: Option<String>,
    /// For a reporter's message: the meeting it asks for, or the minutes it corrects.
    pub linked: String,
}

pub struct EventView {
    pub at: String,
    pub actor: String,
    pub status_key: String,
    pub outcome_key: String,
    pub reason_age: String,
}

/// What one entry of the case's history shows.
pub enum Entry {
    /// The report (its fields filled in by the browser) and its files.
    Report(ItemView),
    /// A message either way, a note, or a file sent on its own.
    Item(ItemView),
    Status(EventView),
    Access(AccessView),
}

/// The sentence saying who gave or denied whom access, and when.
pub struct AccessView {
    pub text: String,
    pub at: String,
}

pub struct TimelineEntry {
    /// `data-kind` and a CSS class: `report`, `from-reporter`, `to-reporter`, `note`,
    /// `file`, `status` or `access`.
    pub kind: &'static str,
    pub label: String,
    /// The day (`YYYY-MM-DD`) of the entry, for `<time datetime>`.
    pub day: String,
    pub entry: Entry,
}

pub struct Holder {
    pub id: String,
    pub name: String,
    /// "triage" (sealed at intake), "grant" or "escrow".
    pub kind: &'static str,
}

impl Holder {
    pub fn kind_key(&self) -> &'static str {
        match self.kind {
            "grant" => "case.access.kind_grant",
            "escrow" => "case.access.kind_escrow",
            _ => "case.access.kind_triage",
        }
    }
}

/// A proposed exclusion (with who proposed it) or one in force, and whether this person may
/// confirm or lift it (never the proposer).
pub struct ExclusionView {
    pub id: String,
    pub label: String,
    pub note: String,
    pub may_act: bool,
}

pub struct Colleague {
    pub id: String,
    pub label: String,
    pub recipient: String,
}

/// The officer key's part of the case page (docs/browser-contract.md).
pub struct OfficerKeyView {
    /// Its recipient, which notes and status reasons are encrypted to (empty until one exists).
    pub recipient: String,
    /// This officer's sealed copy (base64; empty while there is none).
    pub envelope: String,
    /// While the case has none: every holder of the case key with the recipient their copy
    /// is sealed to, for the browser that makes it.
    pub holders: Vec<(String, String)>,
}

#[derive(Template, WebTemplate)]
#[template(path = "officer_case.html")]
pub struct CasePage {
    pub d: Desk,
    pub csrf: String,
    pub reference: String,
    pub category: String,
    pub mode_key: String,
    /// `channel.web` or `channel.officer_entered`.
    pub channel_key: String,
    /// The triage group the case was routed to at filing; empty when it was not routed.
    pub routed_to: String,
    pub status_key: String,
    pub outcome_key: String,
    pub received: String,
    pub ack_due: String,
    pub ack_flag: DeadlineState,
    pub acknowledged: String,
    pub feedback_due: String,
    pub feedback_flag: DeadlineState,
    pub feedback: String,
    pub envelope: String,
    pub confidential: bool,
    /// Present only in the response to the "reveal identity" action.
    pub identity: Option<ItemView>,
    /// The case's whole history, oldest first.
    pub timeline: Vec<TimelineEntry>,
    /// Case and reporter recipients, for messages the reporter reads.
    pub to_both: String,
    /// The case's officer key, where officer-only items go.
    pub officer_key: OfficerKeyView,
    pub transitions: Vec<Choice>,
    pub outcomes: Vec<Choice>,
    pub can_acknowledge: bool,
    pub ack_template: String,
    pub is_officer: bool,
    pub holders: Vec<Holder>,
    pub grantable: Vec<Colleague>,
    pub excludable: Vec<Colleague>,
    pub pending_exclusions: Vec<ExclusionView>,
    pub exclusions: Vec<ExclusionView>,
    pub notice: Option<&'static str>,
    pub has_wrapped_key: bool,
    /// The owner's name; empty when the case is unowned.
    pub owner: String,
    /// Who the case could be handed to (empty unless this person may manage case access).
    pub owner_choices: Vec<Colleague>,
    /// The reporter's language (its own name is shown; its code marks the templates' `lang`).
    pub reporter_lang: crate::i18n::Lang,
    /// The day the case was put under a legal hold, shown; `None`: not held.
    pub hold_since: Option<String>,
    /// Whether this person may set or lift a hold (who may manage the case's access).
    pub may_hold: bool,
    /// Not closed and older than the retention period.
    pub open_too_long: bool,
    /// The reporter's meeting requests, as tasks.
    pub meetings: Vec<MeetingView>,
    /// The entities the case can be moved to (issue 12); empty without entities.
    pub moves: Vec<super::case_move::MoveOption>,
}

/// A meeting request on the case page.
pub struct MeetingView {
    pub id: String,
    pub kind_key: &'static str,
    pub requested: String,
    pub due: String,
    /// `open`, `overdue` or `done` (a class and the state's catalog key).
    pub state: &'static str,
    /// Who marked it done, and when (empty while open).
    pub done: String,
}

pub struct AccountRow {
    pub id: String,
    pub email: String,
    pub name: String,
    pub roles: String,
    pub enrolled: bool,
    pub disabled: bool,
    pub has_key: bool,
    pub is_me: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "officer_admin_accounts.html")]
pub struct AccountsPage {
    pub d: Desk,
    pub csrf: String,
    pub accounts: Vec<AccountRow>,
    pub roles: Vec<Choice>,
    /// After creating or resetting an account: whose link, and the link (shown once).
    pub new_link: Option<(String, String)>,
    pub link_hours: i64,
    pub errors: Vec<&'static str>,
    pub draft_email: String,
    pub draft_name: String,
}

pub struct NoticeField {
    pub code: &'static str,
    pub native: &'static str,
    pub text: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "officer_admin_settings.html")]
pub struct SettingsPage {
    pub d: Desk,
    pub csrf: String,
    pub org_name: String,
    pub notices: Vec<NoticeField>,
    pub categories: String,
    pub escrow: String,
    pub retention_months: u8,
    /// One field per outcome: (outcome word, catalog key of its label, months as typed).
    pub retention_outcomes: Vec<(&'static str, String, String)>,
    pub saved: bool,
    pub errors: Vec<&'static str>,
    pub mail: MailPanel,
    /// Routing before sealing: per category, the triage group that receives it.
    pub routes: Vec<RouteField>,
    pub reporter_leave_out: bool,
}

/// One category's route on the settings page: its code, label and the groups to choose from
/// (the first choice, empty, is every compliance officer).
pub struct RouteField {
    pub code: String,
    pub label: String,
    pub options: Vec<Choice>,
}

/// The admin's view of notification mail: configured or not, the last delivery, the last
/// delivery error (never a mail's contents) and the outcome of a test mail just sent.
pub struct MailPanel {
    pub configured: bool,
    pub last_ok: Option<String>,
    pub last_error: Option<String>,
    /// Catalog key of the test mail's outcome, when one was just sent.
    pub test_result: Option<&'static str>,
}

pub struct AuditRow {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub case_ref: String,
    pub detail: String,
}

pub struct StatCount {
    pub key: String,
    pub count: usize,
}

#[derive(Template, WebTemplate)]
#[template(path = "officer_audit.html")]
pub struct AuditPage {
    pub d: Desk,
    pub rows: Vec<AuditRow>,
    pub actions: Vec<Choice>,
    pub actor: String,
    pub case_ref: String,
    pub intact: bool,
    pub verdict: String,
    pub stats: Vec<StatCount>,
    pub ack_overdue: usize,
    pub feedback_overdue: usize,
    pub shown: usize,
    pub total: i64,
    /// When every row was last checked (none before the first full check).
    pub full_check: Option<String>,
    /// The next page's address, when older rows match.
    pub older: Option<String>,
    /// Whether this is an older page (then a link back to the newest).
    pub paged: bool,
    pub newest: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "officer_account.html")]
pub struct AccountPage {
    pub d: Desk,
    pub roles: String,
    pub has_wrapped_key: bool,
    /// Shown at the first sign-in after an admin reset the account.
    pub reset_notice: Option<String>,
    pub csrf: String,
    /// The notification choices (all, digest only, off), the current one selected.
    pub notify_modes: Vec<Choice>,
    pub notify_saved: bool,
    /// Whether this server sends mail at all.
    pub mail_on: bool,
}

// --- routing before sealing (issue 12) ---

pub struct GroupRow {
    pub name: String,
    /// Members as (name, e-mail).
    pub members: Vec<(String, String)>,
    /// The categories that route to it, by their label (a group they name cannot be deleted).
    pub routed: Vec<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "officer_groups.html")]
pub struct GroupsPage {
    pub d: Desk,
    pub csrf: String,
    pub groups: Vec<GroupRow>,
    /// Active accounts with the officer role, as (name, e-mail): who may be a member.
    pub candidates: Vec<(String, String)>,
    /// Catalog keys of a notice after a change, or of a refusal.
    pub notice: Option<&'static str>,
    pub error: Option<&'static str>,
}

pub struct LeaveOutRow {
    pub reference: String,
    /// The day the report was filed (no more is known of the leave-out's time).
    pub received: String,
    pub account: String,
    /// "Name <e-mail>".
    pub officer: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "officer_leave_outs.html")]
pub struct LeaveOutsPage {
    pub d: Desk,
    pub csrf: String,
    pub rows: Vec<LeaveOutRow>,
    pub lifted: bool,
}
