//! The case file (issue 11, art. 18 record keeping): everything an officer's browser needs to
//! assemble the whole case as a ZIP with a printable summary, decrypted there. Keeps
//! `no-plaintext-at-rest`: the server hands out ciphertext and workflow metadata only
//! (texts as stored, attachments through the audited download route, status reasons as
//! stored). The identity goes in only for an officer who already revealed it (an
//! `identity_revealed` row of theirs for this case): the case file is no second road to it.
//! Taking the file is audited (`case_file_downloaded`) before anything is read, so the
//! extract it carries ends with its own row.

use std::collections::HashMap;

use super::accounts::audit_only;
use super::audit::action;
use super::casework::Opened;
use super::{App, Result};
use crate::domain::audit::AuditRecord;
use crate::domain::case::ItemKind;
use crate::domain::holder::OfficerId;
use crate::store::{EventRecord, ItemRecord, OfficerRecord, read_blob};

/// One item of the case file: its metadata and, for texts (the report, messages, notes, the
/// identity) its age file; for attachments the age file of its name (the content is fetched
/// on its own, audited as a download).
pub struct FileItem {
    pub item: ItemRecord,
    pub ciphertext: Vec<u8>,
}

pub struct CaseFile {
    pub items: Vec<FileItem>,
    pub events: Vec<EventRecord>,
    /// Every audit row that names the case, oldest first (this download's included).
    pub audit: Vec<AuditRecord>,
    /// Officers' names by id, for authors and actors.
    pub people: HashMap<OfficerId, String>,
}

/// Whether `who` revealed this case's identity before (only then does it go in the file).
async fn revealed_by(app: &App, who: &OfficerRecord, case_ref: &str) -> Result<bool> {
    Ok(app
        .store
        .case_audit(case_ref, &[action::IDENTITY_REVEALED])
        .await?
        .iter()
        .any(|r| r.entry.actor == who.email))
}

/// The case file for an officer who opened the case (`casework::open` checked role,
/// exclusion, grant and envelope); audited as `case_file_downloaded`.
pub async fn case_file(app: &App, who: &OfficerRecord, o: &Opened) -> Result<CaseFile> {
    let case_ref = o.case.reference.as_str();
    let identity = revealed_by(app, who, case_ref).await?;
    audit_only(app, who, action::CASE_FILE_DOWNLOADED, case_ref, "").await?;
    let mut items = Vec::new();
    for item in app.store.items(&o.case.id).await? {
        let blob = match item.kind {
            ItemKind::Identity if !identity => continue,
            ItemKind::Attachment => match &item.name_blob_id {
                Some(name) => read_blob(app.store(), name).await?,
                None => Vec::new(),
            },
            _ => read_blob(app.store(), &item.blob_id).await?,
        };
        items.push(FileItem {
            item,
            ciphertext: blob,
        });
    }
    let people = app
        .store
        .officers()
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect();
    Ok(CaseFile {
        items,
        events: app.store.events(&o.case.id).await?,
        audit: app.store.case_audit(case_ref, action::ALL).await?,
        people,
    })
}
