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

/// `script#intake-keys`: the holders the browser seals a new case key to, and the escrow.
fn intake_keys(state: &SharedState, holders: &[(String, age::x25519::Recipient)]) -> String {
    let holders: Vec<serde_json::Value> = holders
        .iter()
        .map(|(h, r)| serde_json::json!({"holder": h, "recipient": r.to_string()}))
        .collect();
    let escrow = state.site.get().escrow.as_ref().map(|r| r.to_string());
    serde_json::json!({"holders": holders, "escrow": escrow})
        .to_string()
        .replace('<', "\\u003c")
}

fn report_page(
    state: &SharedState,
    lang: Lang,
    holders: &[(String, age::x25519::Recipient)],
    draft: ReportDraft,
    errors: Vec<&'static str>,
) -> ReportPage {
    let configured = !holders.is_empty();
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
        intake_keys: intake_keys(state, holders),
        js_text: super::pages::reporter_js_text(lang.tr()),
    }
}

pub async fn form(
    State(state): State<SharedState>,
    Locale(lang): Locale,
) -> Result<Response, AppError> {
    let holders = cases::intake_recipients(state.store.as_ref()).await?;
    Ok(report_page(&state, lang, &holders, ReportDraft::default(), Vec::new()).into_response())
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
            let page = report_page(&state, lang, &holders, draft, errors);
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
        sealed: false,
    };
    Ok(page.into_response())
}

pub(crate) fn parse_hex32(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// `POST /report/sealed`: the browser path. Everything arrives encrypted; the server checks
/// what it can without keys (metadata values, the age format, one envelope for exactly each
/// current holder with one recipient stanza, two stanzas on every item, sizes) so that a
/// broken or hostile client cannot file a case no officer can read; anything else is
/// refused and nothing is stored.
pub async fn submit_sealed(
    State(state): State<SharedState>,
    Locale(lang): Locale,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let store = state.store.as_ref();
    let holders = cases::intake_recipients(store).await?;
    if holders.is_empty() {
        return Err(ErrorKind::NotConfigured.into());
    }
    let now = state.clock.now();
    let form = super::officer::parts::read_checked(&state, &headers, multipart, 2, |token| {
        csrf::verify(&state.keys.csrf, Purpose::Report, b"", token, now)
    })
    .await?;
    let case = match sealed_case(&state, &form, &holders) {
        Ok(c) => c,
        Err(kind) => {
            form.discard(&state).await;
            return Err(kind.into());
        }
    };
    let attachments = form.files.len();
    let reference = match cases::store_new_case(store, case).await {
        Ok(r) => r,
        Err(e) => {
            form.discard(&state).await;
            return Err(AppError::internal(e));
        }
    };
    let today = state.clock.today();
    crate::audit::record_reporter(
        &state.store,
        today,
        crate::audit::action::REPORT_FILED,
        reference.as_str(),
    )
    .await;
    let t = lang.tr();
    Ok(ReceiptPage {
        c: chrome(&state, lang),
        receipt: String::new(),
        reference: reference.to_string(),
        ack_due: t.date(acknowledgement_due(today)),
        attachments,
        sealed: true,
    }
    .into_response())
}

fn sealed_case(
    state: &SharedState,
    form: &super::officer::parts::CipherForm,
    holders: &[(String, age::x25519::Recipient)],
) -> Result<crate::store::NewCase, ErrorKind> {
    use crate::domain::case::{Author, ItemKind, ReportMode};
    use crate::store::{Content, NewCase, NewEnvelope, NewItem};
    let site = state.site.get();
    let category = form.field("category");
    site.category(category).ok_or(ErrorKind::BadRequest)?;
    let mode = form
        .field("mode")
        .parse::<ReportMode>()
        .map_err(|_| ErrorKind::BadRequest)?;
    let lookup = parse_hex32(form.field("lookup")).ok_or(ErrorKind::BadRequest)?;
    let case_recipient = crate::domain::officer::parse_recipient(form.field("case_recipient"))
        .map_err(|_| ErrorKind::BadRequest)?;
    let reporter_recipient =
        crate::domain::officer::parse_recipient(form.field("reporter_recipient"))
            .map_err(|_| ErrorKind::BadRequest)?;
    let report = form.report.clone().ok_or(ErrorKind::BadRequest)?;
    if (mode == ReportMode::Confidential) != form.identity.is_some() {
        return Err(ErrorKind::BadRequest);
    }
    // Exactly one envelope per holder the server would have sealed to itself.
    let mut expected: Vec<(String, String)> = holders
        .iter()
        .map(|(h, r)| (h.clone(), r.to_string()))
        .collect();
    if let Some(e) = &site.escrow {
        expected.push(("escrow".into(), e.to_string()));
    }
    if form.envelopes.len() != expected.len() {
        return Err(ErrorKind::BadRequest);
    }
    let mut envelopes = Vec::new();
    for (holder, recipient) in expected {
        let sealed = form
            .envelopes
            .iter()
            .find(|(h, _)| *h == holder)
            .ok_or(ErrorKind::BadRequest)?;
        envelopes.push(NewEnvelope {
            holder,
            recipient,
            envelope: sealed.1.clone(),
        });
    }
    let today = state.clock.today();
    let reporter = Author::Reporter.to_db();
    let new_id = || uuid::Uuid::new_v4().to_string();
    let report_id = new_id();
    let mut items = vec![NewItem {
        id: report_id.clone(),
        kind: ItemKind::Report.as_str().into(),
        author: reporter.clone(),
        created_on: today,
        reporter_visible: true,
        parent_id: None,
        content: Content::Inline(report),
        encrypted_name: None,
    }];
    if let Some(identity) = &form.identity {
        items.push(NewItem {
            id: new_id(),
            kind: ItemKind::Identity.as_str().into(),
            author: reporter.clone(),
            created_on: today,
            reporter_visible: true,
            parent_id: None,
            content: Content::Inline(identity.clone()),
            encrypted_name: None,
        });
    }
    for f in &form.files {
        items.push(NewItem {
            id: new_id(),
            kind: ItemKind::Attachment.as_str().into(),
            author: reporter.clone(),
            created_on: today,
            reporter_visible: true,
            parent_id: Some(report_id.clone()),
            content: Content::Blob {
                id: f.blob_id.clone(),
                plaintext_size: i64::try_from(f.size).unwrap_or(i64::MAX),
            },
            encrypted_name: Some(f.name.clone()),
        });
    }
    Ok(NewCase {
        id: new_id(),
        reference: String::new(),
        lookup: lookup.to_vec(),
        case_recipient: case_recipient.to_string(),
        reporter_recipient: reporter_recipient.to_string(),
        category: category.to_owned(),
        mode: mode.as_str().into(),
        received_on: today,
        envelopes,
        items,
    })
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
