//! `/report`: the intake form and its two submissions. `POST /report` is the server path
//! (works with no JavaScript): the form is read here and handed to the intake use case, which
//! encrypts before the store sees anything; a refused form comes back filled in with its
//! problems listed. `POST /report/sealed` is the browser path: everything arrives encrypted.

use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::entity;
use super::page_cache::{Page, Stamp};
use super::pages::{CategoryOption, Chrome, ReceiptPage, ReportDraft, ReportPage};
use crate::app::entities::Entity;
use crate::app::intake::{self, PlainIntake, SealedReport};
use crate::app::routing::{self, Plan};
use crate::domain::deadlines::acknowledgement_due;
use crate::domain::routing::MAX_LEAVE_OUT;
use crate::i18n::Lang;
use crate::web::SharedState;
use crate::web::shared::cipher_form::{FormShape, read_checked};
use crate::web::shared::csrf::{self, Purpose};
use crate::web::shared::error::{AppError, ErrorKind};
use crate::web::shared::locale::Locale;
use crate::web::shared::plain_form::{FormReader, Refusal, Step};

fn chrome(state: &SharedState, lang: Lang, e: Option<&Entity>) -> Chrome {
    entity::chrome(state, lang, e, "/report")
}

/// The intake a form is for: its entity (`None`: the instance's) and its routing plan (who
/// its case can go to: the entity's triage group, narrowed by category and leave-outs).
struct Desk<'a> {
    entity: Option<&'a Entity>,
    plan: &'a Plan,
}

fn report_page(
    state: &SharedState,
    lang: Lang,
    desk: Desk<'_>,
    draft: ReportDraft,
    errors: Vec<&'static str>,
) -> ReportPage {
    let s = &state.settings;
    let site = entity::site(state, desk.entity);
    let plan = desk.plan;
    ReportPage {
        readers: super::routing::leave_out_choices(lang, plan, &draft),
        c: chrome(state, lang, desk.entity),
        configured: !plan.candidates().is_empty(),
        csrf: csrf::issue(&state.keys.csrf, Purpose::Report, b"", state.clock.now()),
        categories: site
            .categories
            .iter()
            .map(|c| CategoryOption {
                code: c.code.clone(),
                label: c.label(lang),
            })
            .collect(),
        max_attachment_mib: s.max_attachment_bytes / (1024 * 1024),
        max_attachments: s.max_attachments,
        draft,
        errors,
        intake_keys: plan.intake_keys(),
        js_text: super::pages::reporter_js_text(lang.tr()),
    }
}

pub async fn form(
    State(state): State<SharedState>,
    Locale(lang): Locale,
) -> Result<Response, AppError> {
    show_form(&state, lang, None).await
}

/// `GET /e/{slug}/report`: an entity's form, sealed to its triage group.
pub async fn entity_form(
    State(state): State<SharedState>,
    Locale(lang): Locale,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let e = entity::find(&state, &slug).await?;
    show_form(&state, lang, Some(&e)).await
}

/// The empty form, the same for every visitor of this intake in this minute: served from
/// the page cache when nothing it shows has changed.
async fn show_form(
    state: &SharedState,
    lang: Lang,
    entity: Option<&Entity>,
) -> Result<Response, AppError> {
    let stamp = Stamp::now(state, true, entity).await?;
    if let Some(page) = state.pages.get(Page::Intake, lang, &stamp) {
        return Ok(page);
    }
    let plan = stamp.plan(state);
    let desk = Desk {
        entity,
        plan: &plan,
    };
    let rendered = report_page(state, lang, desk, ReportDraft::default(), Vec::new()).render();
    state.pages.keep(Page::Intake, lang, stamp, rendered)
}

fn refusal_key(r: Refusal) -> &'static str {
    match r {
        Refusal::TooLong => "report.error.too_long",
        Refusal::TooManyFiles => "report.error.too_many_files",
        Refusal::EmptyFile => "report.error.empty_file",
    }
}

type Read = Result<ReportDraft, (ReportDraft, Vec<&'static str>)>;

/// Reads the report form. The text fields come before the files in the form, so a draft
/// with problems is refused before any file is stored.
async fn read_form(
    state: &SharedState,
    e: Option<&Entity>,
    plan: &Plan,
    reader: &mut FormReader<'_>,
) -> Result<Read, AppError> {
    let mut draft = ReportDraft::default();
    let site = entity::site(state, e);
    // The draft's problems, the routing's (leave-outs) included.
    let check = |d: &ReportDraft| routing::problems(&site, plan, d);
    loop {
        let step = reader.next(|| check(&draft).is_empty()).await?;
        let (name, value) = match step {
            Step::Done => break,
            Step::Stored => continue,
            Step::Held => {
                let errors = check(&draft);
                return Ok(Err((draft, errors)));
            }
            Step::Refused(r) => return Ok(Err((draft, vec![refusal_key(r)]))),
            Step::Text(name, value) => (name, value),
        };
        if name == "leave_out" {
            // One more than allowed is enough to refuse; a flood of them is not kept.
            if draft.leave_out.len() <= MAX_LEAVE_OUT {
                draft.leave_out.push(value.to_string());
            }
            continue;
        }
        let slot = match name.as_str() {
            "category" => &mut draft.category,
            "what" => &mut draft.what,
            "when_where" => &mut draft.when_where,
            "involved" => &mut draft.involved,
            "mode" => &mut draft.mode,
            "name" => &mut draft.name,
            "contact" => &mut draft.contact,
            "meeting" => &mut draft.meeting,
            "availability" => &mut draft.availability,
            _ => continue,
        };
        *slot = value.to_string();
    }
    let errors = check(&draft);
    Ok(if errors.is_empty() {
        Ok(draft)
    } else {
        Err((draft, errors))
    })
}

pub async fn submit(
    State(state): State<SharedState>,
    Locale(lang): Locale,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, AppError> {
    file_plain(&state, lang, &headers, multipart, None).await
}

/// `POST /e/{slug}/report`: the server path into an entity's intake.
pub async fn entity_submit(
    State(state): State<SharedState>,
    Locale(lang): Locale,
    Path(slug): Path<String>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let e = entity::find(&state, &slug).await?;
    file_plain(&state, lang, &headers, multipart, Some(&e)).await
}

async fn file_plain(
    state: &SharedState,
    lang: Lang,
    headers: &HeaderMap,
    mut multipart: Multipart,
    e: Option<&Entity>,
) -> Result<Response, AppError> {
    if !csrf::same_origin(headers) {
        return Err(ErrorKind::Csrf.into());
    }
    let filing = PlainIntake::begin(state, e).await?;
    let recipients = filing.recipients();
    let now = state.clock.now();
    let mut reader = FormReader::open(&mut multipart, state, &recipients, |token| {
        csrf::verify(&state.keys.csrf, Purpose::Report, b"", token, now)
    })
    .await?;
    let draft = match read_form(state, e, &filing.plan, &mut reader).await {
        Ok(Ok(draft)) => draft,
        Ok(Err((draft, errors))) => {
            reader.discard().await;
            let desk = Desk {
                entity: e,
                plan: &filing.plan,
            };
            let page = report_page(state, lang, desk, draft, errors);
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
        Err(e) => {
            reader.discard().await;
            return Err(e);
        }
    };
    let files = std::mem::take(&mut reader.files);
    let attachments = files.len();
    let (token, reference) = filing.file(state, &draft, lang, files).await?;
    drop(draft);
    let page = ReceiptPage {
        c: chrome(state, lang, e),
        // Shown once; the page (and this copy) is gone with the response.
        receipt: token.grouped().to_string(),
        reference: reference.to_string(),
        ack_due: lang.tr().date(acknowledgement_due(state.clock.today())),
        attachments,
        sealed: false,
    };
    Ok(page.into_response())
}

/// `POST /report/sealed`: the browser path. Checked by the intake use case; anything that
/// does not check out is refused and nothing is stored.
pub async fn submit_sealed(
    State(state): State<SharedState>,
    Locale(lang): Locale,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, AppError> {
    file_sealed(&state, lang, &headers, multipart, None).await
}

/// `POST /e/{slug}/report/sealed`: the browser path into an entity's intake; the server
/// checks one envelope for each member of that entity's triage group, and no other.
pub async fn entity_submit_sealed(
    State(state): State<SharedState>,
    Locale(lang): Locale,
    Path(slug): Path<String>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let e = entity::find(&state, &slug).await?;
    file_sealed(&state, lang, &headers, multipart, Some(e)).await
}

async fn file_sealed(
    state: &SharedState,
    lang: Lang,
    headers: &HeaderMap,
    multipart: Multipart,
    e: Option<Entity>,
) -> Result<Response, AppError> {
    if !intake::is_open(state, e.as_ref()).await? {
        return Err(ErrorKind::NotConfigured.into());
    }
    let now = state.clock.now();
    let shape = FormShape {
        recipients: 2,
        envelopes: intake::envelope_count(state, e.as_ref()).await?,
        officer_envelopes: 0,
        fields: &[
            "category",
            "mode",
            "lookup",
            "case_recipient",
            "reporter_recipient",
            "meeting",
            "leave_out",
        ],
    };
    let form = read_checked(state, headers, multipart, shape, |token| {
        csrf::verify(&state.keys.csrf, Purpose::Report, b"", token, now)
    })
    .await?;
    let attachments = form.files.len();
    let sealed_entity = e.clone();
    let sealed = SealedReport {
        meeting: form.field("meeting").to_owned(),
        category: form.field("category").to_owned(),
        mode: form.field("mode").to_owned(),
        lookup: form.field("lookup").to_owned(),
        case_recipient: form.field("case_recipient").to_owned(),
        reporter_recipient: form.field("reporter_recipient").to_owned(),
        leave_out: form.field("leave_out").to_owned(),
        report: form.report,
        identity: form.identity,
        envelopes: form.envelopes,
        files: form.files,
        lang,
        availability: form.message,
        entity: e,
    };
    let reference = intake::file_sealed(state, sealed).await?;
    Ok(ReceiptPage {
        c: chrome(state, lang, sealed_entity.as_ref()),
        receipt: String::new(),
        reference: reference.to_string(),
        ack_due: lang.tr().date(acknowledgement_due(state.clock.today())),
        attachments,
        sealed: true,
    }
    .into_response())
}
