//! The reporter's anonymous mailbox: opening it with a receipt (or, on the browser path, the
//! lookup value the browser derived), assembling the thread, replies on both roads, and
//! finding an attachment to download. The thread comes a page at a time; on the server path
//! the page's items are decrypted in memory, one at a time, for one response; on the browser
//! path the page lists item ids and the browser fetches each item's ciphertext on its own
//! route ([`item_text`]). Every reporter action is queued for the audit log with its day only
//! (a reply's in the reply's own transaction).

use std::collections::HashMap;

use age::x25519::{Identity, Recipient};
use time::Date;
use zeroize::Zeroizing;

use super::audit::{action, record_reporter};
use super::items::message_with_files;
use super::meetings::{Asked, asked};
use super::uploads::{StoredFile, discard};
use super::{App, Error, Result};
use crate::crypto;
use crate::domain::case::{ItemKind, ReportMode};
use crate::domain::content::{IdentityContent, ReportContent, from_json};
use crate::domain::holder::Author;
use crate::domain::officer::parse_recipient;
use crate::domain::receipt::ReporterKeys;
use crate::store::{CaseRecord, ItemRecord, MinutesRecord, ReplyLinks, ReporterAction, read_blob};

/// Finds the case of a receipt's (or lookup's) keys and queues `mailbox_opened`; `None` for
/// an unknown one (the caller gives one neutral answer whatever the reason).
pub async fn open(app: &App, keys: &ReporterKeys) -> Result<Option<CaseRecord>> {
    let Some(case) = app.store.case_by_lookup(&keys.lookup.0).await? else {
        return Ok(None);
    };
    record_reporter(
        app.store(),
        app.clock.today(),
        action::MAILBOX_OPENED,
        &case.reference,
    )
    .await;
    Ok(Some(case))
}

/// The case of an open mailbox session, or `None` when it is gone.
pub async fn case_of(app: &App, keys: &ReporterKeys) -> Result<Option<CaseRecord>> {
    Ok(app.store.case_by_lookup(&keys.lookup.0).await?)
}

/// A piece of text as the page gets it: read by the server, left sealed (the id of the item
/// whose ciphertext holds it, which the browser fetches on its own route), or unreadable (it
/// did not decrypt; the page says so and shows everything else).
#[derive(Debug, Clone)]
pub enum Text {
    Plain(String),
    Sealed(String),
    Unreadable,
}

#[derive(Debug, Clone)]
pub struct File {
    pub id: String,
    pub name: Text,
    pub size: i64,
}

#[derive(Debug, Clone)]
pub struct Entry {
    /// The message's item id (for minutes, what the reporter's answer names).
    pub id: String,
    /// Set when the message holds minutes: whether and how the reporter answered.
    pub minutes: Option<MinutesRecord>,
    pub from_reporter: bool,
    pub day: Date,
    pub body: Option<Text>,
    pub files: Vec<File>,
}

/// The report as filed. Plain fields are empty on the browser path, which gets the ids of the
/// report and identity items in `sealed` and `sealed_identity`.
#[derive(Default)]
pub struct Report {
    pub what: String,
    pub when_where: String,
    pub involved: String,
    pub name: String,
    pub contact: String,
    pub sealed: Option<String>,
    pub sealed_identity: Option<String>,
    /// The report or identity item did not decrypt.
    pub unreadable: bool,
}

/// Thread entries on one page of the mailbox, newest page first: a page costs the same
/// memory (and, on the browser path, the same number of item fetches) however long the
/// thread grows.
pub const THREAD_PAGE: usize = 25;

pub struct Thread {
    pub anonymous: bool,
    pub report: Report,
    pub report_files: Vec<File>,
    /// This page's entries, oldest first.
    pub entries: Vec<Entry>,
    /// This page (0 is the newest) and how many there are (at least 1).
    pub page: usize,
    pub pages: usize,
}

/// The entries of `page` (0 the newest) out of `len`, oldest first, and the number of pages.
fn page_range(len: usize, page: usize) -> (std::ops::Range<usize>, usize, usize) {
    let pages = len.div_ceil(THREAD_PAGE).max(1);
    let page = page.min(pages - 1);
    let end = len - page * THREAD_PAGE;
    (end.saturating_sub(THREAD_PAGE)..end, page, pages)
}

/// Every attachment by the item it came with ("" for files sent on their own), names sealed.
fn files_by_parent(items: &[ItemRecord]) -> HashMap<String, Vec<File>> {
    let mut by_parent: HashMap<String, Vec<File>> = HashMap::new();
    for i in items.iter().filter(|i| i.kind == ItemKind::Attachment) {
        let name = match &i.name_blob_id {
            Some(_) => Text::Sealed(i.id.clone()),
            None => Text::Plain("attachment".to_owned()),
        };
        by_parent
            .entry(i.parent_id.clone().unwrap_or_default())
            .or_default()
            .push(File {
                id: i.id.clone(),
                name,
                size: i.size,
            });
    }
    by_parent
}

/// One page of what the reporter may see of the case, oldest first; the report comes with
/// every page. Only metadata is read here; on the server path [`open_page`] then decrypts
/// this page's texts, one item at a time.
pub async fn thread(
    app: &App,
    keys: &ReporterKeys,
    sealed: bool,
    case: &CaseRecord,
    page: usize,
) -> Result<Thread> {
    let items: Vec<ItemRecord> = app
        .store
        .items(&case.id)
        .await?
        .into_iter()
        .filter(|i| i.reporter_visible)
        .collect();
    let mut files = files_by_parent(&items);
    let mut minutes = super::meetings::minutes(app, case).await?;
    let mut report = Report::default();
    let mut report_files = Vec::new();
    let mut entries = Vec::new();
    for i in &items {
        match i.kind {
            ItemKind::Report => {
                report.sealed = Some(i.id.clone());
                report_files = files.remove(&i.id).unwrap_or_default();
            }
            ItemKind::Identity => report.sealed_identity = Some(i.id.clone()),
            ItemKind::Message => entries.push(Entry {
                id: i.id.clone(),
                minutes: minutes.remove(&i.id),
                from_reporter: i.author.is_reporter(),
                day: i.created_on,
                body: Some(Text::Sealed(i.id.clone())),
                files: files.remove(&i.id).unwrap_or_default(),
            }),
            _ => {}
        }
    }
    // Files sent without a message stand on their own in the thread.
    for i in items
        .iter()
        .filter(|i| i.kind == ItemKind::Attachment && i.parent_id.is_none())
    {
        let loose = files.get_mut("").and_then(|l| {
            let pos = l.iter().position(|f| f.id == i.id)?;
            Some(l.remove(pos))
        });
        if let Some(file) = loose {
            entries.push(Entry {
                id: i.id.clone(),
                minutes: None,
                from_reporter: i.author.is_reporter(),
                day: i.created_on,
                body: None,
                files: vec![file],
            });
        }
    }
    let (range, page, pages) = page_range(entries.len(), page);
    let mut t = Thread {
        anonymous: case.mode != ReportMode::Confidential,
        report,
        report_files,
        entries: entries.drain(range).collect(),
        page,
        pages,
    };
    if !sealed {
        open_page(app, &keys.secret.identity(), &items, &mut t).await?;
    }
    Ok(t)
}

/// The server path: decrypts the page's texts with the reporter's identity, one item at a
/// time (each ciphertext is dropped once read). One that does not decrypt is unreadable and
/// everything else shows as usual.
async fn open_page(
    app: &App,
    identity: &Identity,
    items: &[ItemRecord],
    t: &mut Thread,
) -> Result<()> {
    let by_id: HashMap<&str, &ItemRecord> = items.iter().map(|i| (i.id.as_str(), i)).collect();
    if let Some(id) = t.report.sealed.take()
        && let Some(i) = by_id.get(id.as_str())
    {
        read_report(app, identity, i, &mut t.report).await?;
    }
    if let Some(id) = t.report.sealed_identity.take()
        && let Some(i) = by_id.get(id.as_str())
    {
        read_identity(app, identity, i, &mut t.report).await?;
    }
    let files = t
        .entries
        .iter_mut()
        .flat_map(|e| e.files.iter_mut())
        .chain(t.report_files.iter_mut());
    for f in files {
        let blob = by_id
            .get(f.id.as_str())
            .and_then(|i| i.name_blob_id.as_deref());
        if let (Text::Sealed(_), Some(blob)) = (&f.name, blob) {
            f.name = decrypt_text(app, identity, blob).await?;
        }
    }
    for e in &mut t.entries {
        if let Some(Text::Sealed(id)) = &e.body
            && let Some(i) = by_id.get(id.as_str())
        {
            e.body = Some(decrypt_text(app, identity, &i.blob_id).await?);
        }
    }
    Ok(())
}

/// The decrypted item, or `None` when it did not decrypt.
async fn decrypt(app: &App, identity: &Identity, blob: &str) -> Result<Option<Zeroizing<Vec<u8>>>> {
    let ct = read_blob(app.store(), blob).await?;
    Ok(match crypto::decrypt(identity, &ct) {
        Ok(pt) => Some(pt),
        Err(e) => {
            tracing::warn!(error = %e, "a mailbox item did not decrypt; shown as unreadable");
            None
        }
    })
}

async fn decrypt_text(app: &App, identity: &Identity, blob: &str) -> Result<Text> {
    Ok(match decrypt(app, identity, blob).await? {
        Some(pt) => Text::Plain(String::from_utf8_lossy(&pt).into_owned()),
        None => Text::Unreadable,
    })
}

async fn read_report(
    app: &App,
    identity: &Identity,
    i: &ItemRecord,
    out: &mut Report,
) -> Result<()> {
    match decrypt(app, identity, &i.blob_id).await? {
        None => out.unreadable = true,
        Some(pt) => {
            if let Some(r) = from_json::<ReportContent>(&pt) {
                out.what.clone_from(&r.what);
                out.when_where.clone_from(&r.when_where);
                out.involved.clone_from(&r.involved);
            }
        }
    }
    Ok(())
}

async fn read_identity(
    app: &App,
    identity: &Identity,
    i: &ItemRecord,
    out: &mut Report,
) -> Result<()> {
    match decrypt(app, identity, &i.blob_id).await? {
        None => out.unreadable = true,
        Some(pt) => {
            if let Some(id) = from_json::<IdentityContent>(&pt) {
                out.name.clone_from(&id.name);
                out.contact.clone_from(&id.contact);
            }
        }
    }
    Ok(())
}

/// The blob the reporter's browser fetches for one item of their case (its own route, so no
/// page carries every item's ciphertext): a message's, the report's or the identity's age
/// file, or an attachment's encrypted name. Only items the reporter may see.
pub async fn item_text(app: &App, case: &CaseRecord, id: &str) -> Result<String> {
    let item = app
        .store
        .item(&case.id, id)
        .await?
        .filter(|i| i.reporter_visible)
        .ok_or(Error::NotFound)?;
    match item.kind {
        ItemKind::Attachment => item.name_blob_id.ok_or(Error::NotFound),
        ItemKind::Report | ItemKind::Identity | ItemKind::Message => Ok(item.blob_id),
        _ => Err(Error::NotFound),
    }
}

/// What a reporter's reply is encrypted to: the case and the reporter, both as stored with
/// the case (never a key made up for a session that holds no reporter secret).
pub fn reply_recipients(case: &CaseRecord) -> Result<[Recipient; 2]> {
    let case_rcpt = parse_recipient(&case.case_recipient).map_err(Error::internal)?;
    let reporter = parse_recipient(&case.reporter_recipient).map_err(Error::internal)?;
    Ok([case_rcpt, reporter])
}

/// The server path's reply: the message (optional when files come with it) is encrypted
/// here; the files were encrypted as they arrived. On failure the files are discarded.
pub async fn reply(
    app: &App,
    case: &CaseRecord,
    to: &[Recipient; 2],
    message: Option<&str>,
    files: Vec<StoredFile>,
    asks: Asked,
) -> Result<()> {
    let sealed = message
        .map(|m| crypto::encrypt(&[&to[0], &to[1]], m.as_bytes()))
        .transpose();
    match sealed {
        Ok(ct) => add_reply(app, case, ct, files, asks).await,
        Err(e) => {
            discard(app.store(), &files).await;
            Err(e.into())
        }
    }
}

/// A reply whose message and files are already ciphertext (the browser path), or were just
/// encrypted (the server path). It may ask for a meeting (the message, if any, is what the
/// reporter wrote about it) or correct minutes (then a message is needed); the request or
/// the correction is stored with the reply's items, and the reply's reporter actions queued
/// for the audit log, in one transaction.
pub async fn add_reply(
    app: &App,
    case: &CaseRecord,
    message: Option<Vec<u8>>,
    files: Vec<StoredFile>,
    asks: Asked,
) -> Result<()> {
    let has_message = message.is_some();
    let empty = !has_message && files.is_empty();
    if (empty && asks.meeting.is_none()) || (asks.corrects.is_some() && message.is_none()) {
        discard(app.store(), &files).await;
        return Err(Error::Invalid);
    }
    let today = app.clock.today();
    let adding = usize::from(message.is_some()) + files.len();
    let so_far = app.store.reporter_items_on(&case.id, today).await;
    let cap = app.settings.max_reporter_items_per_day;
    let over = so_far.map(|n| {
        usize::try_from(n)
            .unwrap_or(usize::MAX)
            .saturating_add(adding)
            > cap
    });
    if !matches!(over, Ok(false)) {
        discard(app.store(), &files).await;
        return Err(over.map_or_else(Error::from, |_| Error::DailyLimit));
    }
    let items = message_with_files(
        message,
        &files,
        ItemKind::Message,
        &Author::Reporter,
        true,
        today,
    );
    // The message, when there is one, comes first (`message_with_files`).
    let said = has_message.then(|| items[0].id.clone());
    let links = ReplyLinks {
        meeting: asks.meeting.map(|k| asked(k, said.clone(), today)),
        corrects: asks.corrects.clone().zip(said),
    };
    // `reporter_replied` and what the reply asks for, queued in the reply's own transaction.
    let replied = (!empty).then_some(action::REPORTER_REPLIED);
    let queued: Vec<ReporterAction> = replied
        .into_iter()
        .chain(asks.actions())
        .map(|action| ReporterAction { day: today, action })
        .collect();
    let stored = app
        .store
        .add_reporter_reply(&case.id, &items, &links, &queued)
        .await;
    match stored {
        Ok(true) => {}
        Ok(false) => {
            discard(app.store(), &files).await;
            return Err(Error::Invalid);
        }
        Err(e) => {
            discard(app.store(), &files).await;
            return Err(e.into());
        }
    }
    Ok(())
}

/// An attachment the reporter may download (one they can see on their case).
pub async fn attachment(app: &App, case: &CaseRecord, id: &str) -> Result<ItemRecord> {
    app.store
        .item(&case.id, id)
        .await?
        .filter(|i| i.reporter_visible && i.kind == ItemKind::Attachment)
        .ok_or(Error::NotFound)
}

/// The attachment's file name, decrypted with the reporter's identity.
pub async fn attachment_name(app: &App, identity: &Identity, item: &ItemRecord) -> Result<String> {
    match &item.name_blob_id {
        Some(b) => {
            let ct = read_blob(app.store(), b).await?;
            Ok(String::from_utf8_lossy(&crypto::decrypt(identity, &ct)?).into_owned())
        }
        None => Ok("attachment".to_owned()),
    }
}
