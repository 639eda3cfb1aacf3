//! The reporter's anonymous mailbox: opening it with a receipt (or, on the browser path, the
//! lookup value the browser derived), assembling the thread, replies on both roads, and
//! finding an attachment to download. On the server path the thread is decrypted in memory
//! for one response; on the browser path it is handed over as ciphertext. Every reporter
//! action is queued for the audit log with its day only.

use std::collections::HashMap;

use age::x25519::{Identity, Recipient};
use time::Date;
use zeroize::Zeroizing;

use super::audit::{action, record_reporter};
use super::items::message_with_files;
use super::uploads::{StoredFile, discard};
use super::{App, Error, Result};
use crate::crypto;
use crate::domain::case::{ItemKind, ReportMode};
use crate::domain::content::{IdentityContent, ReportContent, from_json};
use crate::domain::holder::Author;
use crate::domain::officer::parse_recipient;
use crate::domain::receipt::ReporterKeys;
use crate::store::{CaseRecord, ItemRecord, read_blob};

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

/// A piece of text as the page gets it: read by the server, ciphertext for the browser, or
/// unreadable (it did not decrypt; the page says so and shows everything else).
#[derive(Debug, Clone)]
pub enum Text {
    Plain(String),
    Sealed(Vec<u8>),
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
    pub from_reporter: bool,
    pub day: Date,
    pub body: Option<Text>,
    pub files: Vec<File>,
}

/// The report as filed. Plain fields are empty on the browser path, which gets `sealed`.
#[derive(Default)]
pub struct Report {
    pub what: String,
    pub when_where: String,
    pub involved: String,
    pub name: String,
    pub contact: String,
    pub sealed: Option<Vec<u8>>,
    pub sealed_identity: Option<Vec<u8>>,
    /// The report or identity item did not decrypt.
    pub unreadable: bool,
}

pub struct Thread {
    pub anonymous: bool,
    pub report: Report,
    pub report_files: Vec<File>,
    pub entries: Vec<Entry>,
}

/// How the page reads items: with the reporter's identity, or not at all (browser path).
struct Reader<'a> {
    app: &'a App,
    identity: Option<Identity>,
}

impl Reader<'_> {
    async fn text(&self, blob: &str) -> Result<Text> {
        let ct = read_blob(self.app.store(), blob).await?;
        Ok(match &self.identity {
            Some(id) => match crypto::decrypt(id, &ct) {
                Ok(pt) => Text::Plain(String::from_utf8_lossy(&pt).into_owned()),
                Err(e) => {
                    tracing::warn!(error = %e, "a mailbox item did not decrypt; shown as unreadable");
                    Text::Unreadable
                }
            },
            None => Text::Sealed(ct),
        })
    }

    /// The decrypted item; `Ok(Some(None))` when it did not decrypt, `Ok(None)` on the
    /// browser path.
    async fn plain(&self, blob: &str) -> Result<Option<Option<Zeroizing<Vec<u8>>>>> {
        let Some(id) = &self.identity else {
            return Ok(None);
        };
        let ct = read_blob(self.app.store(), blob).await?;
        Ok(Some(match crypto::decrypt(id, &ct) {
            Ok(pt) => Some(pt),
            Err(e) => {
                tracing::warn!(error = %e, "a report item did not decrypt; shown as unreadable");
                None
            }
        }))
    }

    async fn files(&self, items: &[ItemRecord]) -> Result<HashMap<String, Vec<File>>> {
        let mut by_parent: HashMap<String, Vec<File>> = HashMap::new();
        for i in items.iter().filter(|i| i.kind == ItemKind::Attachment) {
            let name = match &i.name_blob_id {
                Some(b) => self.text(b).await?,
                None => Text::Plain("attachment".to_owned()),
            };
            let file = File {
                id: i.id.clone(),
                name,
                size: i.size,
            };
            by_parent
                .entry(i.parent_id.clone().unwrap_or_default())
                .or_default()
                .push(file);
        }
        Ok(by_parent)
    }
}

/// Everything the reporter may see of the case, oldest first.
pub async fn thread(
    app: &App,
    keys: &ReporterKeys,
    sealed: bool,
    case: &CaseRecord,
) -> Result<Thread> {
    let reader = Reader {
        app,
        identity: (!sealed).then(|| keys.secret.identity()),
    };
    let items: Vec<ItemRecord> = app
        .store
        .items(&case.id)
        .await?
        .into_iter()
        .filter(|i| i.reporter_visible)
        .collect();
    let mut files = reader.files(&items).await?;
    let mut t = Thread {
        anonymous: case.mode != ReportMode::Confidential,
        report: Report::default(),
        report_files: Vec::new(),
        entries: Vec::new(),
    };
    for i in &items {
        match i.kind {
            ItemKind::Report => {
                read_report(&reader, i, &mut t.report).await?;
                t.report_files = files.remove(&i.id).unwrap_or_default();
            }
            ItemKind::Identity => read_identity(&reader, i, &mut t.report).await?,
            ItemKind::Message => t.entries.push(Entry {
                from_reporter: i.author.is_reporter(),
                day: i.created_on,
                body: Some(reader.text(&i.blob_id).await?),
                files: files.remove(&i.id).unwrap_or_default(),
            }),
            _ => {}
        }
    }
    // Files sent without a message stand on their own in the thread.
    let mut loose = files.remove("").unwrap_or_default();
    for i in items
        .iter()
        .filter(|i| i.kind == ItemKind::Attachment && i.parent_id.is_none())
    {
        if let Some(pos) = loose.iter().position(|f| f.id == i.id) {
            let file = loose.remove(pos);
            t.entries.push(Entry {
                from_reporter: i.author.is_reporter(),
                day: i.created_on,
                body: None,
                files: vec![file],
            });
        }
    }
    Ok(t)
}

async fn read_report(reader: &Reader<'_>, i: &ItemRecord, out: &mut Report) -> Result<()> {
    match reader.plain(&i.blob_id).await? {
        Some(None) => out.unreadable = true,
        Some(Some(pt)) => {
            if let Some(r) = from_json::<ReportContent>(&pt) {
                out.what.clone_from(&r.what);
                out.when_where.clone_from(&r.when_where);
                out.involved.clone_from(&r.involved);
            }
        }
        None => out.sealed = Some(read_blob(reader.app.store(), &i.blob_id).await?),
    }
    Ok(())
}

async fn read_identity(reader: &Reader<'_>, i: &ItemRecord, out: &mut Report) -> Result<()> {
    match reader.plain(&i.blob_id).await? {
        Some(None) => out.unreadable = true,
        Some(Some(pt)) => {
            if let Some(id) = from_json::<IdentityContent>(&pt) {
                out.name.clone_from(&id.name);
                out.contact.clone_from(&id.contact);
            }
        }
        None => out.sealed_identity = Some(read_blob(reader.app.store(), &i.blob_id).await?),
    }
    Ok(())
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
) -> Result<()> {
    let sealed = message
        .map(|m| crypto::encrypt(&[&to[0], &to[1]], m.as_bytes()))
        .transpose();
    match sealed {
        Ok(ct) => add_reply(app, case, ct, files).await,
        Err(e) => {
            discard(app.store(), &files).await;
            Err(e.into())
        }
    }
}

/// A reply whose message and files are already ciphertext (the browser path), or were just
/// encrypted (the server path).
pub async fn add_reply(
    app: &App,
    case: &CaseRecord,
    message: Option<Vec<u8>>,
    files: Vec<StoredFile>,
) -> Result<()> {
    if message.is_none() && files.is_empty() {
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
    if let Err(e) = app.store.add_items(&case.id, &items).await {
        discard(app.store(), &files).await;
        return Err(e.into());
    }
    record_reporter(
        app.store(),
        today,
        action::REPORTER_REPLIED,
        &case.reference,
    )
    .await;
    Ok(())
}

/// An attachment the reporter may download (one they can see on their case).
pub async fn attachment(app: &App, case: &CaseRecord, id: &str) -> Result<ItemRecord> {
    app.store
        .items(&case.id)
        .await?
        .into_iter()
        .find(|i| i.id == id && i.reporter_visible && i.kind == ItemKind::Attachment)
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
