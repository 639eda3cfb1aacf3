//! Composes crypto and store into case operations: filing a report and adding reporter
//! items. Keeps the rule that only ciphertext reaches the store: plaintext comes in, is
//! encrypted here, and the `NewCase`/`NewItem` values handed to the store hold none.

use age::x25519::Recipient;
use time::Date;

use crate::crypto::{self, CaseKey, CryptoError};
use crate::domain::case::{Author, ItemKind, ReportMode};
use crate::domain::content::{IdentityContent, ReportContent, to_json};
use crate::domain::officer::{Role, parse_recipient, roles_from_db};
use crate::domain::receipt::ReporterKeys;
use crate::domain::reference::CaseReference;
use crate::store::{Content, NewCase, NewEnvelope, NewItem, Store, StoreError, StoreResult};
use crate::web::upload::Received;

/// Who a new case's key is sealed to: every active officer with the `officer` role (the
/// triage group), as `(holder, recipient)`.
pub async fn intake_recipients(store: &dyn Store) -> StoreResult<Vec<(String, Recipient)>> {
    let officers = store.officers().await?;
    let mut out = Vec::new();
    for o in officers {
        if o.disabled || o.recipient.is_empty() || !roles_from_db(&o.roles).contains(&Role::Officer)
        {
            continue;
        }
        match parse_recipient(&o.recipient) {
            Ok(r) => out.push((format!("officer:{}", o.id), r)),
            Err(_) => tracing::warn!(officer = %o.id, "officer has an unusable age recipient"),
        }
    }
    Ok(out)
}

pub struct Filing<'a> {
    pub case_key: &'a CaseKey,
    pub reporter: &'a ReporterKeys,
    pub report: &'a ReportContent,
    pub identity: Option<&'a IdentityContent>,
    pub attachments: Vec<Received>,
    pub holders: &'a [(String, Recipient)],
    pub escrow: Option<&'a Recipient>,
    pub today: Date,
}

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("could not draw randomness: {0}")]
    Random(getrandom::Error),
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Encrypts and stores a new case in one transaction; returns its reference.
pub async fn file_report(store: &dyn Store, f: Filing<'_>) -> Result<CaseReference, FileError> {
    let case_rcpt = f.case_key.recipient();
    let reporter_rcpt = f.reporter.recipient();
    let both = [&case_rcpt, &reporter_rcpt];
    let reporter = Author::Reporter.to_db();

    let report_id = new_id();
    let mut items = vec![NewItem {
        id: report_id.clone(),
        kind: ItemKind::Report.as_str().into(),
        author: reporter.clone(),
        created_on: f.today,
        reporter_visible: true,
        parent_id: None,
        content: Content::Inline(crypto::encrypt(&both, &to_json(f.report))?),
        encrypted_name: None,
    }];
    if let Some(identity) = f.identity {
        items.push(NewItem {
            id: new_id(),
            kind: ItemKind::Identity.as_str().into(),
            author: reporter.clone(),
            created_on: f.today,
            reporter_visible: true,
            parent_id: None,
            content: Content::Inline(crypto::encrypt(&both, &to_json(identity))?),
            encrypted_name: None,
        });
    }
    items.extend(attachment_items(f.attachments, &report_id, f.today));

    let mut envelopes = Vec::with_capacity(f.holders.len() + 1);
    for (holder, r) in f.holders {
        envelopes.push(NewEnvelope {
            holder: holder.clone(),
            recipient: r.to_string(),
            envelope: f.case_key.seal_to(r)?,
        });
    }
    if let Some(r) = f.escrow {
        envelopes.push(NewEnvelope {
            holder: "escrow".into(),
            recipient: r.to_string(),
            envelope: f.case_key.seal_to(r)?,
        });
    }

    let mode = if f.identity.is_some() {
        ReportMode::Confidential
    } else {
        ReportMode::Anonymous
    };
    let case = NewCase {
        id: new_id(),
        reference: String::new(),
        lookup: f.reporter.lookup.0.to_vec(),
        case_recipient: case_rcpt.to_string(),
        reporter_recipient: reporter_rcpt.to_string(),
        category: f.report.category.clone(),
        mode: mode.as_str().into(),
        received_on: f.today,
        envelopes,
        items,
    };
    store_new_case(store, case).await
}

/// Stores a case under a fresh reference. References are random (about 39 bits), so a
/// clash is rare but possible; the failed transaction left nothing behind, so trying again
/// with a new reference is safe.
pub async fn store_new_case(
    store: &dyn Store,
    mut case: NewCase,
) -> Result<CaseReference, FileError> {
    let mut attempts = 0;
    loop {
        let reference = CaseReference::generate().map_err(FileError::Random)?;
        case.reference = reference.as_str().into();
        match store.create_case(&case).await {
            Ok(()) => return Ok(reference),
            Err(StoreError::DuplicateReference) if attempts < 5 => attempts += 1,
            Err(e) => return Err(e.into()),
        }
    }
}

fn attachment_items(files: Vec<Received>, parent: &str, today: Date) -> Vec<NewItem> {
    files
        .into_iter()
        .map(|r| NewItem {
            id: new_id(),
            kind: ItemKind::Attachment.as_str().into(),
            author: Author::Reporter.to_db(),
            created_on: today,
            reporter_visible: true,
            parent_id: Some(parent.to_owned()),
            content: Content::Blob {
                id: r.blob_id,
                plaintext_size: i64::try_from(r.size).unwrap_or(i64::MAX),
            },
            encrypted_name: Some(r.encrypted_name),
        })
        .collect()
}

/// A reporter's reply from the mailbox: a message (optional when files come with it) and
/// its attachments, encrypted to the case and the reporter.
pub async fn add_reporter_reply(
    store: &dyn Store,
    case_id: &str,
    recipients: &[&Recipient],
    message: Option<&str>,
    attachments: Vec<Received>,
    today: Date,
) -> Result<(), FileError> {
    let message_id = new_id();
    let mut items = Vec::new();
    if let Some(text) = message {
        items.push(NewItem {
            id: message_id.clone(),
            kind: ItemKind::Message.as_str().into(),
            author: Author::Reporter.to_db(),
            created_on: today,
            reporter_visible: true,
            parent_id: None,
            content: Content::Inline(crypto::encrypt(recipients, text.as_bytes())?),
            encrypted_name: None,
        });
    }
    let parent = if message.is_some() {
        message_id
    } else {
        String::new()
    };
    let mut files = attachment_items(attachments, &parent, today);
    if message.is_none() {
        for f in &mut files {
            f.parent_id = None;
        }
    }
    items.extend(files);
    store.add_items(case_id, &items).await?;
    Ok(())
}
