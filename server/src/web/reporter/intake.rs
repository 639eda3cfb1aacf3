//! `/report`: the intake form and its two submissions. `POST /report` is the server path
//! (works with no JavaScript): the form is read here and handed to the intake use case, which
//! encrypts before the store sees anything; a refused form comes back filled in with its
//! problems listed. `POST /report/sealed` is the browser path: everything arrives encrypted.

use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::pages::{CategoryOption, Chrome, ReceiptPage, ReportDraft, ReportPage};
use crate::app::intake::{self, PlainIntake, SealedReport};
use crate::domain::deadlines::acknowledgement_due;
use crate::domain::holder::Holder;
use crate::i18n::Lang;
use crate::web::SharedState;
use crate::web::shared::cipher_form::{FormShape, read_checked};
use crate::web::shared::csrf::{self, Purpose};
use crate::web::shared::error::{AppError, ErrorKind};
use crate::web::shared::locale::Locale;
use crate::web::shared::plain_form::{FormReader, Refusal, Step};

fn chrome(state: &SharedState, lang: Lang) -> Chrome {
    Chrome {
        t: lang.tr(),
        org_name: state.site.get().org_name.clone(),
        path: "/report",
    }
}

/// `script#intake-keys`: the holders the browser seals a new case key to, and the escrow.
fn intake_keys(state: &SharedState, holders: &[(Holder, age::x25519::Recipient)]) -> String {
    let holders: Vec<serde_json::Value> = holders
        .iter()
        .map(|(h, r)| serde_json::json!({"holder": h.to_db(), "recipient": r.to_string()}))
        .collect();
    let escrow = state.site.get().escrow.as_ref().map(|r| r.to_string());
    serde_json::json!({"holders": holders, "escrow": escrow})
        .to_string()
        .replace('<', "\\u003c")
}

fn report_page(
    state: &SharedState,
    lang: Lang,
    holders: &[(Holder, age::x25519::Recipient)],
    draft: ReportDraft,
    errors: Vec<&'static str>,
) -> ReportPage {
    let s = &state.settings;
    let site = state.site.get();
    ReportPage {
        c: chrome(state, lang),
        configured: !holders.is_empty(),
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
        intake_keys: intake_keys(state, holders),
        js_text: super::pages::reporter_js_text(lang.tr()),
    }
}

pub async fn form(
    State(state): State<SharedState>,
    Locale(lang): Locale,
) -> Result<Response, AppError> {
    let holders = state.intake_holders.get(state.store()).await?;
    Ok(report_page(&state, lang, &holders, ReportDraft::default(), Vec::new()).into_response())
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
async fn read_form(state: &SharedState, reader: &mut FormReader<'_>) -> Result<Read, AppError> {
    let mut draft = ReportDraft::default();
    let site = state.site.get();
    loop {
        let step = reader
            .next(|| intake::check(&site, &draft).is_empty())
            .await?;
        let (name, value) = match step {
            Step::Done => break,
            Step::Stored => continue,
            Step::Held => {
                let errors = intake::check(&site, &draft);
                return Ok(Err((draft, errors)));
            }
            Step::Refused(r) => return Ok(Err((draft, vec![refusal_key(r)]))),
            Step::Text(name, value) => (name, value),
        };
        let slot = match name.as_str() {
            "category" => &mut draft.category,
            "what" => &mut draft.what,
            "when_where" => &mut draft.when_where,
            "involved" => &mut draft.involved,
            "mode" => &mut draft.mode,
            "name" => &mut draft.name,
            "contact" => &mut draft.contact,
            _ => continue,
        };
        *slot = value.to_string();
    }
    let errors = intake::check(&site, &draft);
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
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    if !csrf::same_origin(&headers) {
        return Err(ErrorKind::Csrf.into());
    }
    let filing = PlainIntake::begin(&state).await?;
    let recipients = filing.recipients();
    let now = state.clock.now();
    let mut reader = FormReader::open(&mut multipart, &state, &recipients, |token| {
        csrf::verify(&state.keys.csrf, Purpose::Report, b"", token, now)
    })
    .await?;
    let draft = match read_form(&state, &mut reader).await {
        Ok(Ok(draft)) => draft,
        Ok(Err((draft, errors))) => {
            reader.discard().await;
            let page = report_page(&state, lang, &filing.holders, draft, errors);
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
        Err(e) => {
            reader.discard().await;
            return Err(e);
        }
    };
    let files = std::mem::take(&mut reader.files);
    let attachments = files.len();
    let (token, reference) = filing.file(&state, &draft, lang, files).await?;
    drop(draft);
    let page = ReceiptPage {
        c: chrome(&state, lang),
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
    if !intake::is_open(&state).await? {
        return Err(ErrorKind::NotConfigured.into());
    }
    let now = state.clock.now();
    let shape = FormShape {
        recipients: 2,
        envelopes: intake::envelope_count(&state).await?,
        officer_envelopes: 0,
        fields: &[
            "category",
            "mode",
            "lookup",
            "case_recipient",
            "reporter_recipient",
        ],
    };
    let form = read_checked(&state, &headers, multipart, shape, |token| {
        csrf::verify(&state.keys.csrf, Purpose::Report, b"", token, now)
    })
    .await?;
    let attachments = form.files.len();
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
    };
    let reference = intake::file_sealed(&state, sealed).await?;
    Ok(ReceiptPage {
        c: chrome(&state, lang),
        receipt: String::new(),
        reference: reference.to_string(),
        ack_due: lang.tr().date(acknowledgement_due(state.clock.today())),
        attachments,
        sealed: true,
    }
    .into_response())
}
