//! Turning ciphertext into the store's new items, the same way for every road: a message (or
//! report) and the files sent with it, each file attached to it, or standing alone when there
//! is no message. One builder for the reporter's replies, officers' messages and notes.

use time::Date;

use super::new_id;
use super::uploads::StoredFile;
use crate::domain::case::ItemKind;
use crate::domain::holder::Author;
use crate::store::{Content, NewItem};

/// A small item whose ciphertext is kept inline.
pub fn inline(
    id: String,
    kind: ItemKind,
    author: &Author,
    visible: bool,
    today: Date,
    ct: Vec<u8>,
) -> NewItem {
    NewItem {
        id,
        kind,
        author: author.clone(),
        created_on: today,
        reporter_visible: visible,
        parent_id: None,
        content: Content::Inline(ct),
        encrypted_name: None,
    }
}

/// Each stored file as an attachment item, attached to `parent` when there is one.
pub fn attachments(
    files: &[StoredFile],
    parent: Option<&str>,
    author: &Author,
    visible: bool,
    today: Date,
) -> Vec<NewItem> {
    files
        .iter()
        .map(|f| NewItem {
            id: new_id(),
            kind: ItemKind::Attachment,
            author: author.clone(),
            created_on: today,
            reporter_visible: visible,
            parent_id: parent.map(str::to_owned),
            content: Content::Blob {
                id: f.blob_id.clone(),
                plaintext_size: i64::try_from(f.size).unwrap_or(i64::MAX),
            },
            encrypted_name: Some(f.name.clone()),
        })
        .collect()
}

/// A message of `kind` (if any) and the files sent with it.
pub fn message_with_files(
    message: Option<Vec<u8>>,
    files: &[StoredFile],
    kind: ItemKind,
    author: &Author,
    visible: bool,
    today: Date,
) -> Vec<NewItem> {
    let mut out = Vec::new();
    let parent = message.map(|ct| {
        let id = new_id();
        out.push(inline(id.clone(), kind, author, visible, today, ct));
        id
    });
    out.extend(attachments(
        files,
        parent.as_deref(),
        author,
        visible,
        today,
    ));
    out
}
