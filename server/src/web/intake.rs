//! `/report`: the intake form and its submission, server-side encryption path (works with
//! no JavaScript). Keeps non-negotiables 1 and 5: fields are encrypted before the store sees
//! them, an anonymous reporter's name/contact fields are dropped unread, and a refused form
//! comes back filled in with its problems listed, with any partial upload discarded.

use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::SharedState;
use super::csrf::{self, Purpose};
use super::error::{AppError, ErrorKind};
use super::locale::Locale;
use super::pages::{CategoryOption, Chrome, ReceiptPage, ReportDraft, ReportPage};
use super::upload::{FormReader, Refusal, Step};
use crate::cases::{self, Filing};
use crate::crypto::CaseKey;
use crate::domain::case::acknowledgement_due;
use crate::domain::content::{IdentityContent, ReportContent};
use crate::domain::receipt::ReceiptToken;
use crate::i18n::Lang;

fn chrome(state: &SharedState, lang: Lang) -> Chrome {
    Chrome {
        t: lang.tr(),
        org_name: state.site.get().org_name.clone(),
        path: "/report",
    }
}

fn report_page(
    state: &SharedState,
    lang: Lang,
    configured: bool,
    draft: ReportDraft,
    errors: Vec<&'static str>,
) -> ReportPage {
    let s = &state.settings;
    let site = state.site.get();
    ReportPage {
        c: chrome(state, lang),
        configured,
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
    }
}

pub async fn form(
    State(state): State<SharedState>,
    Locale(lang): Locale,
) -> Result<Response, AppError> {
    let configured = !cases::intake_recipients(state.store.as_ref())
        .await?
        .is_empty();
    Ok(report_page(&state, lang, configured, ReportDraft::default(), Vec::new()).into_response())
}

/// The problems with a draft, as catalog keys; empty when it can be filed.
fn validate(state: &SharedState, d: &ReportDraft) -> Vec<&'static str> {
    let mut errors = Vec::new();
    if state.site.get().category(&d.category).is_none() {
        errors.push("report.error.category");
    }
    if d.what.trim().is_empty() {
        errors.push("report.error.what_required");
    }
    match d.mode.as_str() {
        "anonymous" => {}
        "confidential" if d.name.trim().is_empty() => errors.push("report.error.identity_required"),
        "confidential" => {}
        _ => errors.push("report.error.mode"),
    }
    errors
}

fn refusal_key(r: Refusal) -> &'static str {
    match r {
        Refusal::TooLong => "report.error.too_long",
        Refusal::TooManyFiles => "report.error.too_many_files",
        Refusal::EmptyFile => "report.error.empty_file",
    }
}

/// Reads the report form. The text fields come before the files in the form, so a draft
/// with problems is refused before any file is stored.
async fn read_form(
    state: &SharedState,
    reader: &mut FormReader<'_>,
) -> Result<Result<ReportDraft, (ReportDraft, Vec<&'static str>)>, AppError> {
    let mut draft = ReportDraft::default();
    loop {
        let value = match reader.next(|| validate(state, &draft).is_empty()).await? {
            Step::Done => break,
            Step::Stored => continue,
            Step::Held => {
                let errors = validate(state, &draft);
                return Ok(Err((draft, errors)));
            }
            Step::Refused(r) => return Ok(Err((draft, vec![refusal_key(r)]))),
            Step::Text(name, value) => match name.as_str() {
                "category" => (&mut draft.category, value),
                "what" => (&mut draft.what, value),
                "when_where" => (&mut draft.when_where, value),
                "involved" => (&mut draft.involved, value),
                "mode" => (&mut draft.mode, value),
                "name" => (&mut draft.name, value),
                "contact" => (&mut draft.contact, value),
                _ => continue,
            },
        };
        let (slot, text) = value;
        *slot = text.to_string();
    }
    let errors = validate(state, &draft);
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
    let store = state.store.as_ref();
    let holders = cases::intake_recipients(store).await?;
    if holders.is_empty() {
        return Err(ErrorKind::NotConfigured.into());
    }
    let token = ReceiptToken::generate().map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))?;
    let reporter = token.derive();
    let case_key = CaseKey::generate();
    let (case_rcpt, reporter_rcpt) = (case_key.recipient(), reporter.recipient());

    let recipients = [&case_rcpt, &reporter_rcpt];
    let now = state.clock.now();
    let mut reader = FormReader::open(&mut multipart, &state, &recipients, |token| {
        csrf::verify(&state.keys.csrf, Purpose::Report, b"", token, now)
    })
    .await?;
    let mut draft = match read_form(&state, &mut reader).await {
        Ok(Ok(draft)) => draft,
        Ok(Err((draft, errors))) => {
            reader.discard().await;
            let page = report_page(&state, lang, true, draft, errors);
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
        Err(e) => {
            reader.discard().await;
            return Err(e);
        }
    };
    let files = std::mem::take(&mut reader.files);

    let report = ReportContent::new(
        &draft.category,
        &draft.what,
        &draft.when_where,
        &draft.involved,
    );
    let identity =
        (draft.mode == "confidential").then(|| IdentityContent::new(&draft.name, &draft.contact));
    wipe(&mut draft);
    let today = state.clock.today();
    let site = state.site.get();
    let attachments = files.len();
    let filed = cases::file_report(
        store,
        Filing {
            case_key: &case_key,
            reporter: &reporter,
            report: &report,
            identity: identity.as_ref(),
            attachments: files,
            holders: &holders,
            escrow: site.escrow.as_ref(),
            today,
        },
    )
    .await;
    let reference = match filed {
        Ok(r) => r,
        Err(e) => {
            reader.discard().await;
            return Err(AppError::internal(e));
        }
    };
    crate::audit::record_reporter(
        &state.store,
        today,
        crate::audit::action::REPORT_FILED,
        reference.as_str(),
    )
    .await;
    let t = lang.tr();
    let page = ReceiptPage {
        c: chrome(&state, lang),
        // Shown once; the page (and this copy) is gone with the response.
        receipt: token.grouped().to_string(),
        reference: reference.to_string(),
        ack_due: t.date(acknowledgement_due(today)),
        attachments,
    };
    Ok(page.into_response())
}

fn wipe(d: &mut ReportDraft) {
    use zeroize::Zeroize;
    for s in [
        &mut d.category,
        &mut d.what,
        &mut d.when_where,
        &mut d.involved,
        &mut d.name,
        &mut d.contact,
    ] {
        s.zeroize();
    }
}
