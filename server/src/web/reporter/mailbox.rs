//! `/follow-up` and `/mailbox`: the reporter's anonymous mailbox. The receipt token is
//! turned into the lookup value and the reporter's identity at once and then dropped; the
//! thread comes from the mailbox use case (decrypted in memory for one response, or as
//! ciphertext for the browser), is sent with `no-store`, and is never logged. A wrong
//! receipt gets one neutral answer whatever the reason.

use axum::Form;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::pages::{AttachmentView, Chrome, FollowUpPage, MailboxPage, ReportView, ThreadEntry};
use super::session::{self, MailboxSession};
use crate::app::intake::parse_hex32;
use crate::app::mailbox::{self, File, Text, Thread};
use crate::app::meetings::Asked;
use crate::domain::case::CaseStatus;
use crate::domain::receipt::ReceiptToken;
use crate::i18n::{Lang, Tr};
use crate::store::CaseRecord;
use crate::web::SharedState;
use crate::web::shared::blob_stream::{ciphertext_response, decrypted_response};
use crate::web::shared::cipher_form::{FormShape, read_checked};
use crate::web::shared::csrf::{self, Purpose};
use crate::web::shared::error::{AppError, ErrorKind};
use crate::web::shared::locale::Locale;
use crate::web::shared::plain_form::{FormReader, Refusal, Step};

fn chrome(state: &SharedState, lang: Lang, path: &'static str) -> Chrome {
    Chrome {
        t: lang.tr(),
        org_name: state.site.get().org_name.clone(),
        path: path.into(),
        base: String::new(),
        logo: String::new(),
    }
}

fn follow_up_page(state: &SharedState, lang: Lang, failed: bool) -> Response {
    follow_up_with(state, lang, failed, chrome(state, lang, "/follow-up"))
}

fn follow_up_with(state: &SharedState, lang: Lang, failed: bool, c: Chrome) -> Response {
    let page = FollowUpPage {
        c,
        csrf: csrf::issue(&state.keys.csrf, Purpose::FollowUp, b"", state.clock.now()),
        failed,
        js_text: super::pages::reporter_js_text(lang.tr()),
    };
    let status = if failed {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    (status, page).into_response()
}

pub async fn follow_up_form(State(state): State<SharedState>, Locale(lang): Locale) -> Response {
    follow_up_page(&state, lang, false)
}

/// `GET /e/{slug}/follow-up`: the same form under an entity's name. Every mailbox is found
/// by its receipt alone, so the form opens any case, as `/follow-up` does.
pub async fn entity_follow_up_form(
    State(state): State<SharedState>,
    Locale(lang): Locale,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let e = super::entity::find(&state, &slug).await?;
    let c = super::entity::chrome(&state, lang, Some(&e), "/follow-up");
    Ok(follow_up_with(&state, lang, false, c))
}

#[derive(Deserialize)]
pub struct OpenForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    receipt: String,
    /// The browser path: the lookup value the browser derived (64 hex characters); the
    /// receipt itself never leaves the browser.
    #[serde(default)]
    lookup: String,
}

pub async fn open(
    State(state): State<SharedState>,
    Locale(lang): Locale,
    headers: HeaderMap,
    Form(mut form): Form<OpenForm>,
) -> Result<Response, AppError> {
    let now = state.clock.now();
    if !csrf::same_origin(&headers)
        || !csrf::verify(&state.keys.csrf, Purpose::FollowUp, b"", &form.csrf, now)
    {
        return Err(ErrorKind::Csrf.into());
    }
    let keys = if form.receipt.trim().is_empty() && !form.lookup.is_empty() {
        parse_hex32(&form.lookup).map(session::lookup_only)
    } else {
        let parsed = ReceiptToken::parse(&form.receipt);
        zeroize::Zeroize::zeroize(&mut form.receipt);
        parsed.ok().map(|t| t.derive())
    };
    let Some(keys) = keys else {
        return Ok(follow_up_page(&state, lang, true));
    };
    if mailbox::open(&state, &keys).await?.is_none() {
        return Ok(follow_up_page(&state, lang, true));
    }
    let cookie = session::seal(&state.keys.session, &keys, now)
        .map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))?;
    let mut res = Redirect::to(&format!("/mailbox?lang={}", lang.code())).into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        session::set_cookie(&cookie, state.settings.uses_tls()),
    );
    Ok(res)
}

/// The open mailbox of this request, or the "mailbox closed" page.
pub(super) async fn current(
    state: &SharedState,
    headers: &HeaderMap,
) -> Result<(MailboxSession, CaseRecord), AppError> {
    let secure = state.settings.uses_tls();
    let session = session::open(&state.keys.session, headers, secure, state.clock.now())
        .ok_or(ErrorKind::Session)?;
    let case = mailbox::case_of(state, &session.keys)
        .await?
        .ok_or(ErrorKind::Session)?;
    Ok((session, case))
}

#[derive(Deserialize, Default)]
pub struct ShowQuery {
    #[serde(default)]
    sent: Option<String>,
    /// The thread's page, 0 (the newest) by default; anything unreadable counts as 0.
    #[serde(default)]
    page: Option<String>,
    /// The minutes the reply form corrects (an item id; see `minutes_entry`).
    #[serde(default)]
    correct: Option<String>,
    #[serde(default)]
    confirmed: Option<String>,
}

pub async fn show(
    State(state): State<SharedState>,
    Locale(lang): Locale,
    headers: HeaderMap,
    Query(q): Query<ShowQuery>,
) -> Result<Response, AppError> {
    let (session, case) = current(&state, &headers).await?;
    let notice = match (q.sent.is_some(), q.confirmed.is_some()) {
        (_, true) => Some("meetings.confirmed_notice"),
        (true, _) => Some("mailbox.sent"),
        _ => None,
    };
    let thread_page = q.page.and_then(|p| p.parse().ok()).unwrap_or(0);
    let view = View {
        notice,
        error: None,
        page: thread_page,
        correct: q.correct,
    };
    let page = mailbox_page(&state, lang, &session, &case, view).await?;
    Ok(page.into_response())
}

fn human_size(t: &Tr, bytes: i64) -> String {
    let b = bytes.max(0) as f64;
    let (v, unit) = if b >= 1024.0 * 1024.0 {
        (b / (1024.0 * 1024.0), "MB")
    } else if b >= 1024.0 {
        (b / 1024.0, "kB")
    } else {
        (b, "B")
    };
    let s = if unit == "B" {
        format!("{v:.0} {unit}")
    } else {
        format!("{v:.1} {unit}")
    };
    match t.lang() {
        Lang::En => s,
        _ => s.replace('.', ","),
    }
}

/// The route the browser fetches one item's ciphertext from.
fn item_src(id: &str) -> String {
    format!("/mailbox/items/{id}")
}

/// Plain text for the page, the item route for the browser, or the catalog's word for an
/// item that did not decrypt (`(text, src, unreadable)`).
fn split(t: &Tr, text: Text) -> (String, String, bool) {
    match text {
        Text::Plain(s) => (s, String::new(), false),
        Text::Sealed(id) => (String::new(), item_src(&id), false),
        Text::Unreadable => (t.get("mailbox.unreadable").to_owned(), String::new(), true),
    }
}

fn file_views(t: &Tr, files: Vec<File>) -> Vec<AttachmentView> {
    files
        .into_iter()
        .map(|f| {
            let (name, name_src, _) = split(t, f.name);
            AttachmentView {
                id: f.id,
                name,
                name_src,
                size: human_size(t, f.size),
            }
        })
        .collect()
}

fn report_view(state: &SharedState, lang: Lang, case: &CaseRecord, t: &mut Thread) -> ReportView {
    let r = std::mem::take(&mut t.report);
    ReportView {
        // The site's categories: the one source an admin changes.
        category: state
            .site
            .get()
            .category(&case.category)
            .map(|c| c.label(lang))
            .unwrap_or_else(|| case.category.clone()),
        what: r.what.clone(),
        when_where: r.when_where.clone(),
        involved: r.involved.clone(),
        anonymous: t.anonymous,
        unreadable: r.unreadable,
        name: r.name.clone(),
        contact: r.contact.clone(),
        src: r.sealed.as_deref().map(item_src).unwrap_or_default(),
        identity_src: r
            .sealed_identity
            .as_deref()
            .map(item_src)
            .unwrap_or_default(),
    }
}

/// What a mailbox page shows besides the case: a notice or an error, the thread's page, and
/// the minutes the reply form corrects, if the reporter chose to correct some.
struct View {
    notice: Option<&'static str>,
    error: Option<&'static str>,
    page: usize,
    correct: Option<String>,
}

async fn mailbox_page(
    state: &SharedState,
    lang: Lang,
    session: &MailboxSession,
    case: &CaseRecord,
    view: View,
) -> Result<MailboxPage, AppError> {
    let t = lang.tr();
    let sealed = session.is_sealed();
    let mut thread = mailbox::thread(state, &session.keys, sealed, case, view.page).await?;
    let report = report_view(state, lang, case, &mut thread);
    let entries: Vec<ThreadEntry> = thread
        .entries
        .into_iter()
        .map(|e| {
            let (body, src, unreadable) = e.body.map(|b| split(&t, b)).unwrap_or_default();
            ThreadEntry {
                minutes: super::minutes::entry_state(&t, e.minutes.as_ref()),
                id: e.id,
                from_reporter: e.from_reporter,
                day: t.date(e.day),
                body,
                src,
                unreadable,
                attachments: file_views(&t, e.files),
            }
        })
        .collect();
    let deadlines = case.deadlines(state.clock.today());
    let correct = super::minutes::correcting(&entries, view.correct);
    Ok(MailboxPage {
        c: chrome(state, lang, "/mailbox"),
        csrf: csrf::issue(
            &state.keys.csrf,
            Purpose::Mailbox,
            &session.nonce,
            state.clock.now(),
        ),
        reference: case.reference.clone(),
        status_key: status_key(case.status),
        received: t.date(case.received_on),
        ack_due: t.date(deadlines.ack_due),
        acknowledged: case.acknowledged_on.map(|d| t.date(d)),
        feedback_due: t.date(deadlines.feedback_due),
        report,
        report_attachments: file_views(&t, thread.report_files),
        thread: entries,
        page: thread.page,
        pages: thread.pages,
        max_attachment_mib: state.settings.max_attachment_bytes / (1024 * 1024),
        max_attachments: state.settings.max_attachments,
        notice: view.notice,
        error: view.error,
        sealed,
        correct,
        to_both: format!("{} {}", case.case_recipient, case.reporter_recipient),
        js_text: super::pages::reporter_js_text(t),
    })
}

fn status_key(s: CaseStatus) -> &'static str {
    match s {
        CaseStatus::Received => "status.received",
        CaseStatus::Acknowledged => "status.acknowledged",
        CaseStatus::Investigating => "status.investigating",
        CaseStatus::Concluded => "status.concluded",
        CaseStatus::Closed => "status.closed",
    }
}

/// Reads the reply form: the message and what it asks for (a meeting, correcting minutes),
/// or the refusal's catalog key.
async fn read_reply(
    reader: &mut FormReader<'_>,
) -> Result<Result<(Zeroizing<String>, Asked), &'static str>, AppError> {
    let mut message = Zeroizing::new(String::new());
    let (mut meeting, mut corrects) = (String::new(), String::new());
    loop {
        match reader.next(|| true).await? {
            Step::Done => break,
            Step::Stored | Step::Held => {}
            Step::Text(name, value) if name == "message" => message = value,
            Step::Text(name, value) if name == "meeting" => meeting = value.to_string(),
            Step::Text(name, value) if name == "corrects" => corrects = value.to_string(),
            Step::Text(..) => {}
            Step::Refused(r) => {
                return Ok(Err(match r {
                    Refusal::TooLong => "mailbox.error.too_long",
                    Refusal::TooManyFiles => "mailbox.error.too_many_files",
                    Refusal::EmptyFile => "mailbox.error.empty",
                }));
            }
        }
    }
    let Ok(asks) = Asked::parse(&meeting, &corrects) else {
        return Ok(Err("meetings.error.kind"));
    };
    let empty = message.trim().is_empty();
    if asks.corrects.is_some() && empty {
        return Ok(Err("meetings.error.correction_empty"));
    }
    if empty && reader.files.is_empty() && asks.meeting.is_none() {
        return Ok(Err("mailbox.error.empty"));
    }
    Ok(Ok((message, asks)))
}

pub async fn reply(
    State(state): State<SharedState>,
    Locale(lang): Locale,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    if !csrf::same_origin(&headers) {
        return Err(ErrorKind::Csrf.into());
    }
    let (session, case) = current(&state, &headers).await?;
    // Opened on the browser path: the server holds no reporter key to encrypt with here.
    if session.is_sealed() {
        return Err(ErrorKind::BrowserMailbox.into());
    }
    let to = mailbox::reply_recipients(&case)?;
    let recipients = [&to[0], &to[1]];
    let now = state.clock.now();
    let mut reader = FormReader::open(&mut multipart, &state, &recipients, |token| {
        csrf::verify(
            &state.keys.csrf,
            Purpose::Mailbox,
            &session.nonce,
            token,
            now,
        )
    })
    .await?;
    let (message, asks) = match read_reply(&mut reader).await {
        Ok(Ok(m)) => m,
        Ok(Err(key)) => {
            reader.discard().await;
            let view = View {
                notice: None,
                error: Some(key),
                page: 0,
                correct: None,
            };
            let page = mailbox_page(&state, lang, &session, &case, view).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
        Err(e) => {
            reader.discard().await;
            return Err(e);
        }
    };
    let text = message.trim();
    let files = std::mem::take(&mut reader.files);
    mailbox::reply(
        &state,
        &case,
        &to,
        (!text.is_empty()).then_some(text),
        files,
        asks,
    )
    .await?;
    Ok(Redirect::to(&format!("/mailbox?lang={}&sent=1", lang.code())).into_response())
}

/// The browser path's reply: the message and files arrive encrypted to the case and the
/// reporter (checked), so the server never sees them in the clear.
pub async fn reply_sealed(
    State(state): State<SharedState>,
    Locale(lang): Locale,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let (session, case) = current(&state, &headers).await?;
    let now = state.clock.now();
    let shape = FormShape {
        recipients: 2,
        envelopes: 0,
        officer_envelopes: 0,
        fields: &["meeting", "corrects"],
    };
    let form = read_checked(&state, &headers, multipart, shape, |token| {
        csrf::verify(
            &state.keys.csrf,
            Purpose::Mailbox,
            &session.nonce,
            token,
            now,
        )
    })
    .await?;
    let asks = match Asked::parse(form.field("meeting"), form.field("corrects")) {
        Ok(a) => a,
        Err(e) => {
            form.discard(&state).await;
            return Err(e.into());
        }
    };
    mailbox::add_reply(&state, &case, form.message, form.files, asks).await?;
    Ok(Redirect::to(&format!("/mailbox?lang={}&sent=1", lang.code())).into_response())
}

/// One item's ciphertext as stored (a message, the report, the identity, or an attachment's
/// name), streamed for the browser path to decrypt: the mailbox page lists items and the
/// browser fetches each here, so no page carries a whole case.
pub async fn item(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let (_, case) = current(&state, &headers).await?;
    let blob = mailbox::item_text(&state, &case, &id).await?;
    Ok(ciphertext_response(state.store.clone(), blob))
}

/// An attachment's age file as stored, for the browser path to decrypt.
pub async fn download_sealed(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let (_, case) = current(&state, &headers).await?;
    let item = mailbox::attachment(&state, &case, &id).await?;
    Ok(ciphertext_response(state.store.clone(), item.blob_id))
}

/// Stream-decrypts one attachment with the reporter's identity.
pub async fn download(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let (session, case) = current(&state, &headers).await?;
    // Opened on the browser path: the server holds no reporter key to decrypt with.
    if session.is_sealed() {
        return Err(ErrorKind::BrowserMailbox.into());
    }
    let item = mailbox::attachment(&state, &case, &id).await?;
    let identity = session.keys.secret.identity();
    let name = mailbox::attachment_name(&state, &identity, &item).await?;
    let store = state.store.clone();
    Ok(decrypted_response(
        store,
        item.blob_id,
        identity,
        &name,
        item.size,
    ))
}

#[derive(Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(
    State(state): State<SharedState>,
    Locale(lang): Locale,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Result<Response, AppError> {
    let now = state.clock.now();
    let session = session::open(
        &state.keys.session,
        &headers,
        state.settings.uses_tls(),
        now,
    );
    let valid = csrf::same_origin(&headers)
        && session.as_ref().is_some_and(|s| {
            csrf::verify(
                &state.keys.csrf,
                Purpose::Mailbox,
                &s.nonce,
                &form.csrf,
                now,
            )
        });
    // Without a live session there is nothing to protect, and clearing is always safe.
    if session.is_some() && !valid {
        return Err(ErrorKind::Csrf.into());
    }
    let mut res = Redirect::to(&format!("/?lang={}", lang.code())).into_response();
    let h = res.headers_mut();
    h.insert(
        header::SET_COOKIE,
        session::clear_cookie(state.settings.uses_tls()),
    );
    h.insert(
        "clear-site-data",
        HeaderValue::from_static("\"cache\", \"cookies\", \"storage\""),
    );
    Ok(res)
}
