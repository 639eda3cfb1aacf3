//! `GET /officer/cases/{reference}/case-file`: the case file as JSON for the officer's
//! browser, which decrypts it and saves it as a ZIP with a printable `index.html`
//! (`frontend/js/src/casefile.js`). Keeps `no-plaintext-at-rest`: ciphertext (base64) and
//! workflow metadata only, with the summary's headings in the officer's language; which
//! items go in, and the audit row, are decided in `app::case_file`.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::audit_view::action_label;
use super::session::Officer;
use super::when;
use crate::app::case_file::{CaseFile, case_file};
use crate::app::casework::{self, Opened};
use crate::app::entities;
use crate::app::settings::Site;
use crate::domain::audit::REPORTER_ACTOR;
use crate::domain::case::ItemKind;
use crate::domain::holder::Author;
use crate::i18n::Tr;
use crate::web::SharedState;
use crate::web::shared::error::AppError;

/// The summary's headings and labels, from the catalogs (the browser shows no text of its own).
const LABELS: &[(&str, &str)] = &[
    ("title", "casefile.title"),
    ("reference", "receipt.reference"),
    ("category", "cases.category"),
    ("mode", "case.mode_label"),
    ("channel", "channel.label"),
    ("status", "cases.status"),
    ("received", "cases.received"),
    ("report", "case.report"),
    ("what", "report.what"),
    ("when_where", "report.when_where"),
    ("involved", "report.involved"),
    ("identity", "case.identity"),
    ("name", "report.name"),
    ("contact", "report.contact"),
    ("thread", "casefile.thread"),
    ("notes", "case.notes"),
    ("files", "casefile.files"),
    ("history", "casefile.history"),
    ("reason", "timeline.reason"),
    ("audit", "casefile.audit"),
    ("reporter", "case.reporter"),
    ("unreadable", "casefile.unreadable"),
    ("generated", "casefile.generated"),
    ("at", "casefile.at"),
    ("by", "casefile.by"),
    ("action", "casefile.action"),
    ("detail", "casefile.detail"),
];

fn author(t: &Tr, f: &CaseFile, a: &Author) -> String {
    match a {
        Author::Reporter => t.get("case.reporter").to_owned(),
        Author::Officer(id) => f.people.get(id).cloned().unwrap_or_else(|| id.to_string()),
    }
}

fn items(t: &Tr, reference: &str, f: &CaseFile) -> Vec<Value> {
    f.items
        .iter()
        .map(|i| {
            let it = &i.item;
            json!({
                "id": it.id,
                "kind": it.kind.as_str(),
                "author": author(t, f, &it.author),
                "from_reporter": it.author.is_reporter(),
                "reporter_visible": it.reporter_visible,
                "day": it.created_on.to_string(),
                "parent": it.parent_id,
                "size": it.size,
                "age": STANDARD.encode(&i.ciphertext),
                "download": match it.kind {
                    ItemKind::Attachment => format!("/officer/cases/{reference}/items/{}", it.id),
                    _ => String::new(),
                },
            })
        })
        .collect()
}

/// `site`: the settings of the case's entity (its categories' labels).
fn body(state: &SharedState, t: &Tr, o: &Opened, f: &CaseFile, site: &Site) -> Value {
    let zone = &state.settings.time_zone;
    let c = &o.case;
    let events: Vec<Value> = f
        .events
        .iter()
        .map(|e| {
            json!({
                "at": when(t, zone, e.at),
                "actor": author(t, f, &e.actor),
                "status": t.get(&format!("status.{}", e.status)),
                "outcome": e.outcome.map(|o| t.get(&format!("outcome.{o}")).to_owned()),
                "reason_age": e.reason.as_ref().map(|r| STANDARD.encode(r)),
            })
        })
        .collect();
    let audit: Vec<Value> = f
        .audit
        .iter()
        .map(|r| {
            json!({
                "seq": r.seq,
                // Reporter rows carry a day only.
                "at": if r.entry.actor == REPORTER_ACTOR {
                    time::OffsetDateTime::from_unix_timestamp(r.entry.at)
                        .map(|d| t.date(d.date()))
                        .unwrap_or_default()
                } else {
                    when(t, zone, r.entry.at)
                },
                "actor": r.entry.actor,
                "action": action_label(t, &r.entry.action),
                "detail": r.entry.detail,
            })
        })
        .collect();
    let labels: serde_json::Map<String, Value> = LABELS
        .iter()
        .map(|(k, key)| ((*k).to_owned(), Value::from(t.get(key))))
        .collect();
    json!({
        "reference": c.reference,
        "lang": t.lang().code(),
        "category": site.category(&c.category).map_or_else(|| c.category.clone(), |k| k.label(t.lang())),
        "mode": t.get(&format!("case.mode.{}", c.mode)),
        "channel": t.get(&format!("channel.{}", c.channel)),
        "status": t.get(&format!("status.{}", c.status)),
        "received": t.date(c.received_on),
        "generated": when(t, zone, state.clock.now().unix_timestamp()),
        "items": items(t, &c.reference, f),
        "events": events,
        "audit": audit,
        "labels": labels,
    })
}

pub async fn download(
    State(state): State<SharedState>,
    who: Officer,
    Path(reference): Path<String>,
) -> Result<Response, AppError> {
    let o = casework::open(&state, &who.account, &reference).await?;
    let f = case_file(&state, &who.account, &o).await?;
    let t = who.lang.tr();
    let site = entities::site_for(&state, o.case.entity.as_ref()).await?;
    Ok(Json(body(&state, &t, &o, &f, &site)).into_response())
}
