//! The case's officer key: the rule that what only officers may read (internal notes and
//! their files, status reasons) is encrypted to a key the reporter never held. On the browser
//! path the reporter's browser made the case key, so anything encrypted to it is readable by
//! whatever ran in that browser; the officer key is made in the first officer's browser, its
//! identity sealed to exactly the holders of the case key (each to the same recipient as their
//! copy of the case key, escrow included), and the server keeps only its public recipient and
//! those sealed copies. One creation per case (the first wins), with its audit row in the
//! same transaction; grants seal it to the new holder together with the case key.

use super::accounts::require;
use super::audit::{action, entry};
use super::casework::Opened;
use super::{App, Error, Result};
use crate::crypto;
use crate::domain::holder::Holder;
use crate::domain::officer::parse_recipient;
use crate::domain::permission::Permission;
use crate::store::{CaseRecord, OfficerRecord};

/// A sealed officer identity is a short identity file, like a sealed case key.
const MAX_ENVELOPE_PLAIN: u64 = 1024;

/// Whether bytes a browser sent can be a sealed officer identity: an age file to exactly one
/// X25519 recipient, no passphrase, nothing appended, short.
pub fn envelope_ok(bytes: &[u8]) -> bool {
    crypto::check_small(bytes, 1, MAX_ENVELOPE_PLAIN)
}

/// How many holders the officer key must be sealed to: one per copy of the case key.
pub async fn holder_count(app: &App, o: &Opened) -> Result<usize> {
    Ok(app.store.envelopes(&o.case.id).await?.len())
}

/// Records the officer key an officer's browser made for a case that has none: `recipient`
/// is its public key, `envelopes` its identity sealed to each holder of the case key, as
/// (`officer:<id>` or `escrow`, age file). Refused (nothing stored) when the case already has
/// one (403: the first creation wins), or when the envelopes are not exactly one well-formed
/// age file per holder (400).
pub async fn create(
    app: &App,
    who: &OfficerRecord,
    o: &Opened,
    recipient: &str,
    envelopes: &[(String, Vec<u8>)],
) -> Result<()> {
    require(who, Permission::WorkOnCases)?;
    if o.case.officer_recipient.is_some() {
        return Err(Error::Forbidden);
    }
    let recipient = parse_recipient(recipient.trim())
        .map_err(|_| Error::Invalid)?
        .to_string();
    // A key the reporter holds would defeat the purpose.
    if recipient == o.case.case_recipient || recipient == o.case.reporter_recipient {
        return Err(Error::Invalid);
    }
    let mut sealed = Vec::with_capacity(envelopes.len());
    for (holder, bytes) in envelopes {
        let holder = Holder::parse(holder).map_err(|_| Error::Invalid)?;
        if !envelope_ok(bytes) {
            return Err(Error::Invalid);
        }
        sealed.push((holder, bytes.clone()));
    }
    let holders = app.store.envelopes(&o.case.id).await?;
    let named = |h: &Holder| sealed.iter().filter(|(s, _)| s == h).count();
    if sealed.len() != holders.len() || holders.iter().any(|e| named(&e.holder) != 1) {
        return Err(Error::Invalid);
    }
    let detail = format!("{} holder(s)", sealed.len());
    let audit = entry(
        app.clock.now(),
        &who.email,
        action::OFFICER_KEY_CREATED,
        &o.case.reference,
        &detail,
    );
    // The store checks again in its transaction, where a concurrent creation or grant shows.
    if app
        .store
        .create_officer_key(&o.case.id, &recipient, &sealed, &audit)
        .await?
    {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

/// An officer-only item may be stored only once the case has an officer key, and only from a
/// form that says it encrypted to that key (`declared`, the form's `recipient` field). The
/// server cannot see which key an age stanza is for; this refuses the route a page made
/// before the officer key existed would take (to the case key, which the reporter's browser
/// may hold).
pub fn check_officer_only(case: &CaseRecord, declared: &str) -> Result<()> {
    match &case.officer_recipient {
        Some(r) if r == declared.trim() => Ok(()),
        _ => Err(Error::Invalid),
    }
}

/// A grant's sealed officer identity, required exactly when the case has an officer key.
pub fn check_grant(case: &CaseRecord, officer_envelope: Option<&[u8]>) -> Result<()> {
    match (&case.officer_recipient, officer_envelope) {
        (None, None) => Ok(()),
        (Some(_), Some(bytes)) if envelope_ok(bytes) => Ok(()),
        _ => Err(Error::Invalid),
    }
}
