//! `speakup case export`: writes a case as files the standard `age` tool decrypts with no
//! Speak Up software. Only ciphertext and metadata are written: the server never holds a
//! key that could decrypt them. Layout (a fixed point, see docs/export.md):
//! `keys/*.age` (the case identity sealed to each holder), `officer-keys/*.age` (the case's
//! officer key sealed to each holder, once the case has one: it opens the officer-only
//! items), `items/*.age` (each item; attachment names as `*.name.age`), `history/*.age` (the
//! encrypted reason of each status change: the record Directive art. 18 asks for),
//! `manifest.json` (metadata only, with the status history) and `README.txt`.

use std::fs;
use std::io::Write;
use std::path::Path;

use serde_json::json;

use crate::domain::deadlines::{acknowledgement_due, feedback_due};
use crate::domain::holder::{Author, Holder};
use crate::store::{CaseRecord, Store};

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("no case with reference or id '{0}'")]
    NoSuchCase(String),
    #[error("{0} exists and is not empty; choose a new folder")]
    NotEmpty(String),
    #[error("cannot write the export: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

pub async fn find_case(store: &dyn Store, case: &str) -> Result<CaseRecord, ExportError> {
    if let Ok(r) = crate::domain::reference::CaseReference::parse(case)
        && let Some(c) = store.case_by_reference(r.as_str()).await?
    {
        return Ok(c);
    }
    store
        .cases()
        .await?
        .into_iter()
        .find(|c| c.id.as_str() == case)
        .ok_or_else(|| ExportError::NoSuchCase(case.to_owned()))
}

fn safe_file_part(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "@._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(unix)]
fn private_dir(p: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new().recursive(true).mode(0o700).create(p)
}

#[cfg(not(unix))]
fn private_dir(p: &Path) -> std::io::Result<()> {
    fs::create_dir_all(p)
}

/// Writes each holder's sealed copy of the case key as `keys/<holder>.age`, and of the
/// officer key (where the case has one) as `officer-keys/<holder>.age`; returns the
/// manifest's `keys` and `officer_keys` entries.
async fn write_keys(
    store: &dyn Store,
    case: &CaseRecord,
    out: &Path,
) -> Result<(Vec<serde_json::Value>, Vec<serde_json::Value>), ExportError> {
    if case.officer_recipient.is_some() {
        private_dir(&out.join("officer-keys"))?;
    }
    let officers = store.officers().await?;
    let mut keys = Vec::new();
    let mut officer_keys = Vec::new();
    for env in store.envelopes(&case.id).await? {
        let label = match &env.holder {
            Holder::Officer(id) => match officers.iter().find(|o| &o.id == id) {
                Some(o) => format!("officer-{}", safe_file_part(&o.email)),
                None => format!("officer-{}", safe_file_part(id.as_str())),
            },
            Holder::Escrow => "escrow".to_owned(),
        };
        let entry = |file: &str| json!({ "file": file, "holder": env.holder.to_db(), "recipient": env.recipient });
        let file = format!("keys/{label}.age");
        fs::write(out.join(&file), &env.envelope)?;
        keys.push(entry(&file));
        if let Some(sealed) = &env.officer_envelope {
            let file = format!("officer-keys/{label}.age");
            fs::write(out.join(&file), sealed)?;
            officer_keys.push(entry(&file));
        }
    }
    Ok((keys, officer_keys))
}

/// The status history: each change with who made it, when, the status and outcome, and its
/// reason as the stored age file `history/NNN-status.reason.age` (encrypted to the officer
/// key, or to the case key when written before the case had one); returns the manifest's
/// `history` entries.
async fn write_history(
    store: &dyn Store,
    case: &CaseRecord,
    out: &Path,
) -> Result<Vec<serde_json::Value>, ExportError> {
    let events = store.events(&case.id).await?;
    let officers = store.officers().await?;
    let mut history = Vec::new();
    for (n, e) in events.iter().enumerate() {
        let reason_file = match e.reason.as_deref() {
            Some(r) if !r.is_empty() => {
                private_dir(&out.join("history"))?;
                let file = format!("history/{:03}-{}.reason.age", n + 1, e.status);
                fs::write(out.join(&file), r)?;
                Some(file)
            }
            _ => None,
        };
        let email = match &e.actor {
            Author::Officer(id) => officers
                .iter()
                .find(|o| &o.id == id)
                .map(|o| o.email.clone()),
            _ => None,
        };
        let at = time::OffsetDateTime::from_unix_timestamp(e.at)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            });
        history.push(json!({
            "seq": e.seq,
            "at": at,
            "actor": e.actor.to_db(),
            "actor_email": email,
            "status": e.status.as_str(),
            "outcome": e.outcome.map(|o| o.as_str()),
            "reason_file": reason_file,
        }));
    }
    Ok(history)
}

/// Writes each item's age file (and an attachment's name file) under `items/`; returns the
/// manifest's `items` entries and the name files written.
async fn write_items(
    store: &dyn Store,
    items: &[crate::store::ItemRecord],
    out: &Path,
) -> Result<(Vec<serde_json::Value>, Vec<String>), ExportError> {
    let mut listed = Vec::new();
    let mut name_files = Vec::new();
    for (n, item) in items.iter().enumerate() {
        let stem = format!("items/{:03}-{}", n + 1, item.kind);
        let file = format!("{stem}.age");
        copy_blob(store, &item.blob_id, &out.join(&file)).await?;
        let name_file = match &item.name_blob_id {
            Some(b) => {
                let f = format!("{stem}.name.age");
                copy_blob(store, b, &out.join(&f)).await?;
                name_files.push(f.clone());
                Some(f)
            }
            None => None,
        };
        let parent = item
            .parent_id
            .as_ref()
            .and_then(|p| items.iter().position(|i| &i.id == p))
            .map(|i| format!("items/{:03}-{}.age", i + 1, items[i].kind));
        listed.push(json!({
            "file": file,
            "id": item.id,
            "seq": item.seq,
            "kind": item.kind.as_str(),
            "author": item.author.to_db(),
            "created_on": item.created_on.to_string(),
            "reporter_visible": item.reporter_visible,
            "size": item.size,
            "name_file": name_file,
            "attached_to": parent,
        }));
    }

    Ok((listed, name_files))
}

/// Writes the export; returns the number of item files written.
pub async fn export_case(
    store: &dyn Store,
    case: &CaseRecord,
    out: &Path,
) -> Result<usize, ExportError> {
    if out.exists() && fs::read_dir(out)?.next().is_some() {
        return Err(ExportError::NotEmpty(out.display().to_string()));
    }
    private_dir(&out.join("keys"))?;
    private_dir(&out.join("items"))?;

    let (keys, officer_keys) = write_keys(store, case, out).await?;
    let items = store.items(&case.id).await?;
    let (listed, name_files) = write_items(store, &items, out).await?;
    let history = write_history(store, case, out).await?;
    let manifest = json!({
        "format": "speakup-case-export/1",
        "reference": case.reference,
        "id": case.id.as_str(),
        "category": case.category,
        "mode": case.mode.as_str(),
        "status": case.status.as_str(),
        "received_on": case.received_on.to_string(),
        "acknowledged_on": case.acknowledged_on.map(|d| d.to_string()),
        "feedback_on": case.feedback_on.map(|d| d.to_string()),
        "closed_on": case.closed_on.map(|d| d.to_string()),
        "acknowledgement_due": acknowledgement_due(case.received_on).to_string(),
        "feedback_due": feedback_due(case.received_on, case.acknowledged_on).to_string(),
        "case_recipient": case.case_recipient,
        "reporter_recipient": case.reporter_recipient,
        "keys": keys,
        "officer_recipient": case.officer_recipient,
        "officer_keys": officer_keys,
        "items": listed,
        "history": history,
    });
    let text = serde_json::to_string_pretty(&manifest).map_err(std::io::Error::other)?;
    fs::write(out.join("manifest.json"), text + "\n")?;
    fs::write(
        out.join("README.txt"),
        readme(
            case,
            items.first().map(|i| i.kind.as_str()),
            name_files.first().map(String::as_str),
        ),
    )?;
    Ok(items.len())
}

async fn copy_blob(store: &dyn Store, blob_id: &str, path: &Path) -> Result<(), ExportError> {
    let mut f = fs::File::create(path)?;
    let mut idx = 0;
    while let Some(chunk) = store.chunk(blob_id, idx).await? {
        f.write_all(&chunk)?;
        idx += 1;
    }
    f.sync_all()?;
    Ok(())
}

/// The decryption steps, naming files that exist in this export (an attachment's name file
/// only when the case has an attachment).
fn readme(case: &CaseRecord, first_kind: Option<&str>, name_file: Option<&str>) -> String {
    let first = format!("items/001-{}.age", first_kind.unwrap_or("report"));
    let names = match name_file {
        Some(f) => format!(
            "An attachment's original file name is in the matching *.name.age file:\n\n\
             \x20  age -d -i case-key.txt {f}\n\n"
        ),
        None => String::new(),
    };
    let officer = match case.officer_recipient {
        Some(_) => {
            "Internal notes, their files and names written after the case got its officer\n\
             key are encrypted to that key, not the case key. Open it the same way, then use\n\
             both keys (manifest.json says which items are notes):\n\n\
             \x20  age -d -i my-identity.txt -o officer-key.txt officer-keys/officer-YOUR-EMAIL.age\n\
             \x20  age -d -i officer-key.txt -i case-key.txt items/NNN-note.age\n\n"
        }
        None => "",
    };
    format!(
        "Speak Up case {reference}: encrypted export\n\
         ==========================================\n\n\
         Everything here is encrypted with age (https://age-encryption.org). You need your\n\
         own age identity file (the AGE-SECRET-KEY-1... key you registered as an officer)\n\
         and any standard age tool: age, rage or typage. No Speak Up software is needed.\n\n\
         1. Open the case key with your identity (find your file in keys/):\n\n\
         \x20  age -d -i my-identity.txt -o case-key.txt keys/officer-YOUR-EMAIL.age\n\n\
         2. Decrypt any item with the case key:\n\n\
         \x20  age -d -i case-key.txt {first}\n\n\
         Reports and identities are JSON (read fields with: ... | jq -r .what). Messages are\n\
         plain text.\n\n\
         {names}\
         {officer}\
         manifest.json lists every file with its kind, day and size (metadata only), and the\n\
         status history: who changed the status, when, to what, and the file holding the\n\
         reason given (history/*.reason.age, opened like a note).\n\
         Keep case-key.txt (and officer-key.txt) as secret as your own identity, and delete\n\
         them when done.\n",
        reference = case.reference,
    )
}
