//! `/follow-up` and `/mailbox`: the reporter's anonymous mailbox. The receipt token is
//! turned into the lookup value and the reporter's identity at once and then dropped; the
//! thread is decrypted in memory for one response, sent with `no-store`, and never logged.
//! A wrong receipt gets one neutral answer whatever the reason.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;

use axum::Form;
use axum::body::Body;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::SharedState;
use super::csrf::{self, Purpose};
use super::error::{AppError, ErrorKind};
use super::locale::Locale;
use super::pages::{AttachmentView, Chrome, FollowUpPage, MailboxPage, ReportView, ThreadEntry};
use super::session::{self, MailboxSession};
use super::upload::{FormReader, Refusal, Step};
use crate::cases;
use crate::crypto;
use crate::domain::case::{
    Author, CaseStatus, ItemKind, ReportMode, acknowledgement_due, feedback_due,
};
use crate::domain::content::{IdentityContent, ReportContent, from_json};
use crate::domain::receipt::ReceiptToken;
use crate::i18n::{Lang, Tr};
use crate::store::{CaseRecord, ItemRecord, Store, read_blob};

fn chrome(state: &SharedState, lang: Lang, path: &'static str) -> Chrome {
    Chrome {
        t: lang.tr(),
        org_name: state.site.get().org_name.clone(),
        path,
    }
}

fn follow_up_page(state: &SharedState, lang: Lang, failed: bool) -> Response {
    let page = FollowUpPage {
        c: chrome(state, lang, "/follow-up"),
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
        match super::intake::parse_hex32(&form.lookup) {
            Some(lookup) => session::lookup_only(lookup),
            None => return Ok(follow_up_page(&state, lang, true)),
        }
    } else {
        let parsed = ReceiptToken::parse(&form.receipt);
        zeroize::Zeroize::zeroize(&mut form.receipt);
        let Ok(token) = parsed else {
            return Ok(follow_up_page(&state, lang, true));
        };
        token.derive()
    };
    let Some(case) = state.store.case_by_lookup(&keys.lookup.0).await? else {
        return Ok(follow_up_page(&state, lang, true));
    };
    crate::audit::record_reporter(
        &state.store,
        state.clock.today(),
        crate::audit::action::MAILBOX_OPENED,
        &case.reference,
    )
    .await;
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
async fn current(
    state: &SharedState,
    headers: &HeaderMap,
) -> Result<(MailboxSession, CaseRecord), AppError> {
    let session =
        session::open(&state.keys.session, headers, state.clock.now()).ok_or(ErrorKind::Session)?;
    let case = state
        .store
        .case_by_lookup(&session.keys.lookup.0)
        .await?
        .ok_or(ErrorKind::Session)?;
    Ok((session, case))
}

#[derive(Deserialize, Default)]
pub struct ShowQuery {
    #[serde(default)]
    sent: Option<String>,
}

pub async fn show(
    State(state): State<SharedState>,
    Locale(lang): Locale,
    headers: HeaderMap,
    Query(q): Query<ShowQuery>,
) -> Result<Response, AppError> {
    let (session, case) = current(&state, &headers).await?;
    let notice = q.sent.is_some().then_some("mailbox.sent");
    let page = mailbox_page(&state, lang, &session, &case, notice, None).await?;
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

async fn decrypt_item(
    store: &dyn Store,
    identity: &age::x25519::Identity,
    blob: &str,
) -> Result<Zeroizing<Vec<u8>>, AppError> {
    let ct = read_blob(store, blob).await?;
    Ok(crypto::decrypt(identity, &ct)?)
}

async fn mailbox_page(
    state: &SharedState,
    lang: Lang,
    session: &MailboxSession,
    case: &CaseRecord,
    notice: Option<&'static str>,
    error: Option<&'static str>,
) -> Result<MailboxPage, AppError> {
    let t = lang.tr();
    let store = state.store.as_ref();
    let sealed = session.is_sealed();
    let identity = session.keys.secret.identity();
    // Sealed: the page carries the ciphertext itself and the browser decrypts it.
    let open_or_carry = |bytes: Vec<u8>| -> Result<(String, String), AppError> {
        if sealed {
            Ok((String::new(), STANDARD.encode(&bytes)))
        } else {
            let pt = crypto::decrypt(&identity, &bytes)?;
            Ok((String::from_utf8_lossy(&pt).into_owned(), String::new()))
        }
    };
    let items: Vec<ItemRecord> = store
        .items(&case.id)
        .await?
        .into_iter()
        .filter(|i| i.reporter_visible)
        .collect();

    let mut attachments: HashMap<String, Vec<AttachmentView>> = HashMap::new();
    for i in items
        .iter()
        .filter(|i| i.kind == ItemKind::Attachment.as_str())
    {
        let (name, name_age) = match &i.name_blob_id {
            Some(b) => open_or_carry(read_blob(store, b).await?)?,
            None => ("attachment".to_owned(), String::new()),
        };
        attachments
            .entry(i.parent_id.clone().unwrap_or_default())
            .or_default()
            .push(AttachmentView {
                id: i.id.clone(),
                name,
                name_age,
                size: human_size(&t, i.size),
            });
    }

    let mut report = ReportView {
        category: state
            .settings
            .category(&case.category)
            .map(|c| c.label(lang))
            .unwrap_or_else(|| case.category.clone()),
        what: String::new(),
        when_where: String::new(),
        involved: String::new(),
        anonymous: case.mode != ReportMode::Confidential.as_str(),
        name: String::new(),
        contact: String::new(),
        age: String::new(),
        identity_age: String::new(),
    };
    let mut report_attachments = Vec::new();
    let mut thread = Vec::new();
    for i in &items {
        match i.kind.parse::<ItemKind>() {
            Ok(ItemKind::Report) if sealed => {
                report.age = STANDARD.encode(read_blob(store, &i.blob_id).await?);
                report_attachments = attachments.remove(&i.id).unwrap_or_default();
            }
            Ok(ItemKind::Identity) if sealed => {
                report.identity_age = STANDARD.encode(read_blob(store, &i.blob_id).await?);
            }
            Ok(ItemKind::Report) => {
                let pt = decrypt_item(store, &identity, &i.blob_id).await?;
                if let Some(r) = from_json::<ReportContent>(&pt) {
                    report.what.clone_from(&r.what);
                    report.when_where.clone_from(&r.when_where);
                    report.involved.clone_from(&r.involved);
                }
                report_attachments = attachments.remove(&i.id).unwrap_or_default();
            }
            Ok(ItemKind::Identity) => {
                let pt = decrypt_item(store, &identity, &i.blob_id).await?;
                if let Some(id) = from_json::<IdentityContent>(&pt) {
                    report.name.clone_from(&id.name);
                    report.contact.clone_from(&id.contact);
                }
            }
            Ok(ItemKind::Message) => {
                let (body, age) = open_or_carry(read_blob(store, &i.blob_id).await?)?;
                thread.push(ThreadEntry {
                    from_reporter: Author::from_db(&i.author) == Author::Reporter,
                    day: t.date(i.created_on),
                    body,
                    age,
                    attachments: attachments.remove(&i.id).unwrap_or_default(),
                });
            }
            _ => {}
        }
    }
    // Files sent without a message stand on their own in the thread.
    for i in items
        .iter()
        .filter(|i| i.kind == ItemKind::Attachment.as_str() && i.parent_id.is_none())
    {
        if let Some(files) = attachments.get_mut("")
            && let Some(pos) = files.iter().position(|a| a.id == i.id)
        {
            let a = files.remove(pos);
            thread.push(ThreadEntry {
                from_reporter: Author::from_db(&i.author) == Author::Reporter,
                day: t.date(i.created_on),
                body: String::new(),
                age: String::new(),
                attachments: vec![a],
            });
        }
    }

    let status = case
        .status
        .parse::<CaseStatus>()
        .unwrap_or(CaseStatus::Received);
    Ok(MailboxPage {
        c: chrome(state, lang, "/mailbox"),
        csrf: csrf::issue(
            &state.keys.csrf,
            Purpose::Mailbox,
            &session.nonce,
            state.clock.now(),
        ),
        reference: case.reference.clone(),
        status_key: status_key(status),
        received: t.date(case.received_on),
        ack_due: t.date(acknowledgement_due(case.received_on)),
        acknowledged: case.acknowledged_on.map(|d| t.date(d)),
        feedback_due: t.date(feedback_due(case.received_on, case.acknowledged_on)),
        report,
        report_attachments,
        thread,
        max_attachment_mib: state.settings.max_attachment_bytes / (1024 * 1024),
        max_attachments: state.settings.max_attachments,
        notice,
        error,
        sealed,
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
    let case_rcpt = crate::domain::officer::parse_recipient(&case.case_recipient)
        .map_err(AppError::internal)?;
    let reporter_rcpt = session.keys.recipient();
    let recipients = [&case_rcpt, &reporter_rcpt];
    let store = state.store.as_ref();
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
    let mut message = Zeroizing::new(String::new());
    let mut refused: Option<&'static str> = None;
    loop {
        match reader.next(|| true).await {
            Ok(Step::Done) => break,
            Ok(Step::Stored | Step::Held) => {}
            Ok(Step::Text(name, value)) if name == "message" => message = value,
            Ok(Step::Text(..)) => {}
            Ok(Step::Refused(r)) => {
                refused = Some(match r {
                    Refusal::TooLong => "mailbox.error.too_long",
                    Refusal::TooManyFiles => "mailbox.error.too_many_files",
                    Refusal::EmptyFile => "mailbox.error.empty",
                });
                break;
            }
            Err(e) => {
                reader.discard().await;
                return Err(e);
            }
        }
    }
    let text = message.trim();
    if refused.is_none() && text.is_empty() && reader.files.is_empty() {
        refused = Some("mailbox.error.empty");
    }
    if let Some(key) = refused {
        reader.discard().await;
        let page = mailbox_page(&state, lang, &session, &case, None, Some(key)).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let added = cases::add_reporter_reply(
        store,
        &case.id,
        &recipients,
        (!text.is_empty()).then_some(text),
        std::mem::take(&mut reader.files),
        state.clock.today(),
    )
    .await;
    if let Err(e) = added {
        reader.discard().await;
        return Err(AppError::internal(e));
    }
    crate::audit::record_reporter(
        &state.store,
        state.clock.today(),
        crate::audit::action::REPORTER_REPLIED,
        &case.reference,
    )
    .await;
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
    let form = super::officer::parts::read_checked(&state, &headers, multipart, 2, |token| {
        csrf::verify(
            &state.keys.csrf,
            Purpose::Mailbox,
            &session.nonce,
            token,
            now,
        )
    })
    .await?;
    if form.message.is_none() && form.files.is_empty() {
        form.discard(&state).await;
        return Err(ErrorKind::BadRequest.into());
    }
    let today = state.clock.today();
    let items = form.items(&Author::Reporter, ItemKind::Message, true, today);
    if let Err(e) = state.store.add_items(&case.id, &items).await {
        form.discard(&state).await;
        return Err(e.into());
    }
    crate::audit::record_reporter(
        &state.store,
        today,
        crate::audit::action::REPORTER_REPLIED,
        &case.reference,
    )
    .await;
    Ok(Redirect::to(&format!("/mailbox?lang={}&sent=1", lang.code())).into_response())
}

/// An attachment's age file as stored, for the browser path to decrypt.
pub async fn download_sealed(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let (_, case) = current(&state, &headers).await?;
    let item = state
        .store
        .items(&case.id)
        .await?
        .into_iter()
        .find(|i| i.id == id && i.reporter_visible && i.kind == ItemKind::Attachment.as_str())
        .ok_or(ErrorKind::NotFound)?;
    Ok(super::officer::case::ciphertext_response(
        state.store.clone(),
        item.blob_id,
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
    let session = session::open(&state.keys.session, &headers, now);
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

/// RFC 6266 `filename*` so any file name survives, with an ASCII fallback.
fn content_disposition(name: &str) -> HeaderValue {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._- ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"._-".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// Reads a blob's chunks from the store on demand, for age's synchronous stream reader.
/// Runs on a blocking thread, so waiting on the async store there is allowed.
struct BlobReader {
    store: Arc<dyn Store>,
    blob_id: String,
    idx: i64,
    buf: Vec<u8>,
    pos: usize,
    rt: tokio::runtime::Handle,
}

impl Read for BlobReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.buf.len() {
            let next = self
                .rt
                .block_on(self.store.chunk(&self.blob_id, self.idx))
                .map_err(std::io::Error::other)?;
            match next {
                Some(c) => {
                    self.buf = c;
                    self.pos = 0;
                    self.idx += 1;
                }
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

pub async fn download(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let (session, case) = current(&state, &headers).await?;
    let store = state.store.clone();
    let item = store
        .items(&case.id)
        .await?
        .into_iter()
        .find(|i| i.id == id && i.reporter_visible && i.kind == ItemKind::Attachment.as_str())
        .ok_or(ErrorKind::NotFound)?;
    let identity = session.keys.secret.identity();
    let name = match &item.name_blob_id {
        Some(b) => {
            String::from_utf8_lossy(&decrypt_item(store.as_ref(), &identity, b).await?).into_owned()
        }
        None => "attachment".to_owned(),
    };

    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(4);
    let reader = BlobReader {
        store,
        blob_id: item.blob_id.clone(),
        idx: 0,
        buf: Vec::new(),
        pos: 0,
        rt: tokio::runtime::Handle::current(),
    };
    tokio::task::spawn_blocking(move || {
        let decryptor = match age::Decryptor::new(reader) {
            Ok(d) => d,
            Err(e) => {
                let _ = tx.blocking_send(Err(std::io::Error::other(e)));
                return;
            }
        };
        let mut stream = match decryptor.decrypt(std::iter::once(&identity as &dyn age::Identity)) {
            Ok(s) => s,
            Err(e) => {
                let _ = tx.blocking_send(Err(std::io::Error::other(e)));
                return;
            }
        };
        loop {
            let mut buf = vec![0u8; 64 * 1024];
            match stream.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    buf.truncate(n);
                    if tx.blocking_send(Ok(buf)).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "attachment could not be decrypted");
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            }
        }
    });
    let body = Body::from_stream(tokio_stream_from(rx));
    let mut res = Response::new(body);
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CONTENT_DISPOSITION, content_disposition(&name));
    if let Ok(len) = HeaderValue::from_str(&item.size.to_string()) {
        h.insert(header::CONTENT_LENGTH, len);
    }
    Ok(res)
}

fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<std::io::Result<Vec<u8>>>,
) -> impl futures_util::Stream<Item = std::io::Result<Vec<u8>>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

#[cfg(test)]
mod tests {
    #[test]
    fn file_names_are_encoded_for_headers() {
        let v = super::content_disposition("rapport été.pdf");
        let s = v.to_str().unwrap();
        assert!(s.contains("filename=\"rapport _t_.pdf\""), "{s}");
        assert!(
            s.contains("filename*=UTF-8''rapport%20%C3%A9t%C3%A9.pdf"),
            "{s}"
        );
    }
}
