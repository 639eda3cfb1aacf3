//! `/officer/report`: a compliance officer enters a report on a reporter's behalf (a call, a
//! meeting, a letter; Directive 2019/1937 art. 9(2)). Keeps `no-plaintext-at-rest`: the form
//! has the reporter form's fields, but its plaintext controls carry no `name`, so nothing
//! posts without the page script, which seals the report in the officer's browser exactly as
//! on the reporter's browser path (case key, receipt and envelopes made there, sealed to the
//! holders this page lists). The server checks the ciphertext as for reporters
//! (`app::intake::file_entered`), stores the case as officer-entered with its
//! `report_entered` row, and answers with a receipt page whose `#receipt` the browser fills:
//! the receipt is shown once and never reaches the server. With legal entities (issue 12)
//! the officer chooses the intake (`?entity=<slug>`: one of their entities, or the instance's
//! own); the page seals to that intake's triage group and `file_entered` refuses an entity
//! the officer is not in.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Multipart, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::desk_for;
use super::pages::Desk;
use super::session::Officer;
use crate::app::accounts::require;
use crate::app::entities::{self, Entity};
use crate::app::intake::{self, SealedReport};
use crate::app::routing::Plan;
use crate::domain::deadlines::acknowledgement_due;
use crate::domain::permission::Permission;
use crate::i18n::Lang;
use crate::web::SharedState;
use crate::web::shared::cipher_form::{FormShape, read_checked};
use crate::web::shared::error::{AppError, ErrorKind};

/// A category as the form offers it.
pub struct CategoryChoice {
    pub code: String,
    pub label: String,
}

/// A language the reporter may be answered in.
pub struct LangChoice {
    pub code: &'static str,
    pub name: &'static str,
    pub selected: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "officer_report.html")]
pub struct EnterPage {
    pub d: Desk,
    pub csrf: String,
    /// Some officer key exists: a case can be sealed to someone.
    pub configured: bool,
    pub categories: Vec<CategoryChoice>,
    pub langs: Vec<LangChoice>,
    /// `script#intake-keys`, as on the reporter's form.
    pub intake_keys: String,
    pub max_attachments: usize,
    pub max_attachment_mib: u64,
    /// The entities the officer may enter a report into (empty: no choice to make).
    pub entities: Vec<CategoryChoice>,
    /// The chosen entity's slug (empty: the instance's own intake).
    pub entity: String,
    /// Where the sealed form posts: `/officer/report`, with `?entity=` when one is chosen.
    pub action: String,
}

/// `?entity=<slug>`: the intake chosen.
#[derive(serde::Deserialize, Default)]
pub struct Intake {
    #[serde(default)]
    pub entity: String,
}

/// The officer's entities, and the one `choice` names (`None`: the instance's own); an entity
/// the officer is not in is refused.
async fn chosen(
    state: &SharedState,
    who: &Officer,
    choice: &Intake,
) -> Result<(Vec<Entity>, Option<Entity>), AppError> {
    let mine = entities::of_officer(state, &who.account.id).await?;
    let slug = choice.entity.trim();
    if slug.is_empty() {
        return Ok((mine, None));
    }
    let entity = mine
        .iter()
        .find(|e| e.slug.as_str() == slug)
        .cloned()
        .ok_or(ErrorKind::Forbidden)?;
    Ok((mine, Some(entity)))
}

#[derive(Template, WebTemplate)]
#[template(path = "officer_report_done.html")]
pub struct EnteredPage {
    pub d: Desk,
    pub reference: String,
    pub ack_due: String,
    pub attachments: usize,
}

/// `GET /officer/report`: the form (compliance officers only), for the chosen intake.
pub async fn form(
    State(state): State<SharedState>,
    who: Officer,
    Query(choice): Query<Intake>,
) -> Result<Response, AppError> {
    require(&who.account, Permission::EnterReports)?;
    let (mine, entity) = chosen(&state, &who, &choice).await?;
    let plan = Plan::load(&state, entity.as_ref()).await?;
    let instance = state.site.get();
    let site = entity
        .as_ref()
        .map_or_else(|| (*instance).clone(), |e| e.site(&instance));
    let s = &state.settings;
    let slug = entity
        .as_ref()
        .map(|e| e.slug.to_string())
        .unwrap_or_default();
    Ok(EnterPage {
        d: desk_for(&state, &who, "enter-report", "/officer/report"),
        csrf: who.csrf(&state),
        configured: !plan.candidates().is_empty(),
        categories: site
            .categories
            .iter()
            .map(|c| CategoryChoice {
                code: c.code.clone(),
                label: c.label(who.lang),
            })
            .collect(),
        langs: Lang::ALL
            .into_iter()
            .map(|l| LangChoice {
                code: l.code(),
                name: l.native_name(),
                selected: l == who.lang,
            })
            .collect(),
        intake_keys: plan.intake_keys(),
        max_attachments: s.max_attachments,
        max_attachment_mib: s.max_attachment_bytes / (1024 * 1024),
        entities: mine
            .iter()
            .map(|e| CategoryChoice {
                code: e.slug.to_string(),
                label: e.name(who.lang).to_owned(),
            })
            .collect(),
        action: match slug.as_str() {
            "" => "/officer/report".into(),
            s => format!("/officer/report?entity={s}"),
        },
        entity: slug,
    }
    .into_response())
}

/// `POST /officer/report`: the sealed report, as on `POST /report/sealed`, plus the language
/// the reporter is to be answered in. Refused before anything is read for anyone but a
/// compliance officer; CSRF bound to the session.
pub async fn submit(
    State(state): State<SharedState>,
    who: Officer,
    Query(choice): Query<Intake>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, AppError> {
    require(&who.account, Permission::EnterReports)?;
    let (_, entity) = chosen(&state, &who, &choice).await?;
    if !intake::is_open(&state, entity.as_ref()).await? {
        return Err(ErrorKind::NotConfigured.into());
    }
    let shape = FormShape {
        recipients: 2,
        envelopes: intake::envelope_count(&state, entity.as_ref()).await?,
        officer_envelopes: 0,
        fields: &[
            "category",
            "mode",
            "lookup",
            "case_recipient",
            "reporter_recipient",
            "reporter_lang",
        ],
    };
    let form = read_checked(&state, &headers, multipart, shape, |token| {
        who.check_csrf(&state, &headers, token).is_ok()
    })
    .await?;
    let attachments = form.files.len();
    let lang = Lang::from_code(form.field("reporter_lang")).unwrap_or(who.lang);
    let sealed = SealedReport {
        category: form.field("category").to_owned(),
        mode: form.field("mode").to_owned(),
        lookup: form.field("lookup").to_owned(),
        case_recipient: form.field("case_recipient").to_owned(),
        reporter_recipient: form.field("reporter_recipient").to_owned(),
        report: form.report,
        identity: form.identity,
        envelopes: form.envelopes,
        files: form.files,
        lang,
        leave_out: String::new(),
        entity,
        // An officer who takes a report at a meeting or on the phone has no meeting to ask for.
        meeting: String::new(),
        availability: None,
    };
    let reference = intake::file_entered(&state, &who.account, sealed).await?;
    let path = format!("/officer/cases/{reference}");
    Ok(EnteredPage {
        d: desk_for(&state, &who, "report-entered", &path),
        reference: reference.to_string(),
        ack_due: who.lang.tr().date(acknowledgement_due(state.clock.today())),
        attachments,
    }
    .into_response())
}
