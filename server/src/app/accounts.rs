//! Accounts and sign-in, one implementation for the command line and the web: creating an
//! account with its first one-time enrollment link, resetting, disabling, enabling and
//! changing roles (admins only, never on their own account), finishing an enrollment,
//! signing in with password and TOTP, resuming and ending sessions. Each change and its audit
//! row commit together; `require` is the one permission check of the workspace.

use age::x25519::Recipient;

use super::audit::{action, entry, record};
use super::{App, Error, Result};
use crate::auth;
use crate::domain::audit::{CLI_ACTOR, FAILURE_WINDOW_SECS, failure_bucket};
use crate::domain::holder::OfficerId;
use crate::domain::officer::{OfficerEmail, OfficerName, Role, Roles};
use crate::domain::permission::Permission;
use crate::i18n::Lang;
use crate::store::{CompletedEnrollment, EnrollmentRecord, NewEnrollment};
use crate::store::{NewOfficer, OfficerRecord, StoreError};

/// Lifetime of an enrollment link.
pub const LINK_HOURS: i64 = 72;
/// Officer sessions end after 30 idle minutes and after 12 hours in any case.
pub const IDLE_SECS: i64 = 30 * 60;
pub const ABSOLUTE_SECS: i64 = 12 * 60 * 60;
/// Consecutive failures that lock an account, and for how long.
pub const ACCOUNT_FAILURES: i64 = 5;
pub const ACCOUNT_LOCK_SECS: i64 = 15 * 60;
/// An armored age passphrase file holding one identity is far below this.
const MAX_WRAPPED_BYTES: usize = 8 * 1024;

/// The permission check of the workspace: one place, one rule per [`Permission`].
pub fn require(who: &OfficerRecord, p: Permission) -> Result<()> {
    if p.granted_to(&who.roles) {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

/// Who changes an account: a signed-in admin, or the machine's operator on the command line
/// (who already holds the database, so no role is checked).
#[derive(Clone, Copy)]
pub enum Changer<'a> {
    Admin(&'a OfficerRecord),
    Cli,
}

impl Changer<'_> {
    fn actor(&self) -> &str {
        match self {
            Changer::Admin(a) => &a.email,
            Changer::Cli => CLI_ACTOR,
        }
    }

    fn check(&self, target: Option<&OfficerId>) -> Result<()> {
        match self {
            Changer::Cli => Ok(()),
            Changer::Admin(a) => {
                require(a, Permission::ManageAccounts)?;
                // Nobody locks themselves out: another admin must do it.
                if target == Some(&a.id) {
                    return Err(Error::Invalid);
                }
                Ok(())
            }
        }
    }
}

pub struct NewAccount {
    pub email: OfficerEmail,
    pub name: OfficerName,
    pub roles: Roles,
    /// A key registered on the command line; otherwise the person registers one while
    /// enrolling.
    pub recipient: Option<Recipient>,
}

/// A fresh link and what the store keeps of it.
fn new_link(app: &App) -> Result<(String, NewEnrollment)> {
    let (token, hash) = auth::new_token().map_err(Error::internal)?;
    let seed = auth::new_totp_seed().map_err(Error::internal)?;
    let link = NewEnrollment {
        token_hash: hash,
        totp_secret: seed.to_vec(),
        expires_at: app.clock.now().unix_timestamp() + LINK_HOURS * 3600,
    };
    let url = format!(
        "{}/officer/enroll/{token}",
        app.settings.public_url.trim_end_matches('/')
    );
    Ok((url, link))
}

/// Creates the account with its one-time link; `Ok(None)` when the e-mail is taken.
pub async fn create(
    app: &App,
    by: Changer<'_>,
    account: &NewAccount,
) -> Result<Option<(OfficerId, String)>> {
    by.check(None)?;
    if account.roles.is_empty() {
        return Err(Error::Invalid);
    }
    let (url, link) = new_link(app)?;
    let now = app.clock.now();
    let officer = NewOfficer {
        id: OfficerId::generate(),
        email: account.email.as_str().into(),
        name: account.name.as_str().into(),
        roles: account.roles.clone(),
        recipient: account
            .recipient
            .as_ref()
            .map(|r| r.to_string())
            .unwrap_or_default(),
        created_at: now.unix_timestamp(),
    };
    let detail = format!("{} ({})", officer.email, officer.roles);
    let audit = entry(now, by.actor(), action::ACCOUNT_CREATED, "", &detail);
    match app.store.add_officer(&officer, Some(&link), &audit).await {
        Ok(()) => Ok(Some((officer.id, url))),
        Err(StoreError::DuplicateOfficer) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// A new link for an account: its password and TOTP stop working and its sessions end.
pub async fn reset(
    app: &App,
    by: Changer<'_>,
    target: &OfficerId,
) -> Result<(OfficerRecord, String)> {
    by.check(Some(target))?;
    let account = app.store.officer(target).await?.ok_or(Error::NotFound)?;
    let (url, link) = new_link(app)?;
    let audit = entry(
        app.clock.now(),
        by.actor(),
        action::ENROLLMENT_RESET,
        "",
        &account.email,
    );
    app.store
        .create_enrollment(target, &link, true, &audit)
        .await?;
    Ok((account, url))
}

pub enum AccountChange {
    Disable,
    Enable,
    Roles(Roles),
}

pub async fn change(
    app: &App,
    by: Changer<'_>,
    target: &OfficerId,
    what: AccountChange,
) -> Result<()> {
    by.check(Some(target))?;
    let account = app.store.officer(target).await?.ok_or(Error::NotFound)?;
    let now = app.clock.now();
    let store = &app.store;
    match what {
        AccountChange::Disable | AccountChange::Enable => {
            let disable = matches!(what, AccountChange::Disable);
            let name = if disable {
                action::ACCOUNT_DISABLED
            } else {
                action::ACCOUNT_ENABLED
            };
            let audit = entry(now, by.actor(), name, "", &account.email);
            store.set_disabled(target, disable, &audit).await?;
        }
        AccountChange::Roles(roles) => {
            if roles.is_empty() {
                return Err(Error::Invalid);
            }
            let detail = format!("{}: {} -> {}", account.email, account.roles, roles);
            let audit = entry(now, by.actor(), action::ROLES_CHANGED, "", &detail);
            store.set_roles(target, &roles, &audit).await?;
        }
    }
    Ok(())
}

/// Officers and investigators need an age key; admins and auditors do not.
pub fn needs_key(a: &OfficerRecord) -> bool {
    Permission::WorkOnCases.granted_to(&a.roles)
}

/// A valid, unused link and its account, or `LinkExpired`.
pub async fn enrollment(app: &App, token: &str) -> Result<(EnrollmentRecord, OfficerRecord)> {
    let hash = auth::hash_token(token);
    let now = app.clock.now().unix_timestamp();
    let enrollment = app
        .store
        .enrollment(&hash)
        .await?
        .filter(|e| e.expires_at > now)
        .ok_or(Error::LinkExpired)?;
    let account = app
        .store
        .officer(&enrollment.officer_id)
        .await?
        .filter(|a| !a.disabled)
        .ok_or(Error::LinkExpired)?;
    Ok((enrollment, account))
}

/// What a person submits to finish enrolling.
pub struct EnrollInput<'a> {
    pub password: &'a str,
    pub password_confirm: &'a str,
    pub code: &'a str,
    pub recipient: &'a str,
    pub wrapped_identity: &'a str,
}

/// Checks the input; on success sets password, TOTP and key with the audit row. On refusal,
/// the catalog keys of every problem.
pub async fn enroll(app: &App, token: &str, input: &EnrollInput<'_>) -> Result<Vec<&'static str>> {
    let (e, a) = enrollment(app, token).await?;
    let now = app.clock.now();
    let (step, recipient, wrapped, errors) = check_enrollment(&e, &a, input, now.unix_timestamp());
    let Some(step) = step.filter(|_| errors.is_empty()) else {
        return Ok(errors);
    };
    let done = CompletedEnrollment {
        password_hash: auth::hash_password_bounded(input.password)
            .await
            .map_err(Error::internal)?,
        totp_step: step,
        recipient,
        wrapped_identity: wrapped,
    };
    let detail = if done.recipient.is_some() {
        "password, TOTP and age key set"
    } else {
        "password and TOTP set"
    };
    let audit = entry(now, &a.email, action::ENROLLED, "", detail);
    let hash = auth::hash_token(token);
    if !app
        .store
        .complete_enrollment(&hash, now.unix_timestamp(), &done, &audit)
        .await?
    {
        return Err(Error::LinkExpired);
    }
    Ok(Vec::new())
}

type Checked = (
    Option<i64>,
    Option<String>,
    Option<String>,
    Vec<&'static str>,
);

fn check_enrollment(
    e: &EnrollmentRecord,
    a: &OfficerRecord,
    i: &EnrollInput<'_>,
    now: i64,
) -> Checked {
    let mut errors = Vec::new();
    if let Err(p) = auth::check_password(i.password, &a.email) {
        errors.push(p.key());
    } else if i.password != i.password_confirm {
        errors.push("enroll.error.password_mismatch");
    }
    let step = auth::check_code(&e.totp_secret, i.code, now);
    if step.is_none() {
        errors.push("enroll.error.code");
    }
    let recipient = i.recipient.trim();
    let new_recipient = if recipient.is_empty() {
        if needs_key(a) && a.recipient.is_empty() {
            errors.push("enroll.error.key_required");
        }
        None
    } else if let Ok(r) = crate::domain::officer::parse_recipient(recipient) {
        Some(r.to_string())
    } else {
        errors.push("enroll.error.recipient");
        None
    };
    let wrapped = i.wrapped_identity.trim();
    let wrapped = if wrapped.is_empty() {
        None
    } else if wrapped.len() <= MAX_WRAPPED_BYTES
        && wrapped.starts_with("-----BEGIN AGE ENCRYPTED FILE-----")
        && wrapped.ends_with("-----END AGE ENCRYPTED FILE-----")
        && new_recipient.is_some()
    {
        Some(wrapped.to_owned())
    } else {
        errors.push("enroll.error.wrapped");
        None
    };
    (step, new_recipient, wrapped, errors)
}

/// A sign-in attempt as typed, with what the web layer knows about the peer.
pub struct SignInAttempt<'a> {
    /// Already normalised (lower case) when it parsed as an address.
    pub email: &'a str,
    pub password: &'a str,
    pub code: &'a str,
    pub lang: Lang,
    /// Too many failures from this address recently.
    pub peer_blocked: bool,
    /// The session this browser had, which is ended first.
    pub old_session: Option<&'a str>,
}

/// A successful sign-in: the new session's token, and when the account was reset by an
/// admin if this is the first sign-in since (the person is told).
pub struct SignedIn {
    pub token: String,
    pub reset_notice: Option<i64>,
}

/// Audits a failed sign-in; always the same neutral answer. Failures are counted per window
/// (`domain::audit::FAILURE_WINDOW_SECS`) in the account's bucket, or one bucket for every
/// address that is no account: the first of a window gets its own row, the rest one summary
/// row when the window closes, so a flood of guesses cannot flood the audit log.
async fn failed(
    app: &App,
    a: &SignInAttempt<'_>,
    why: &str,
    known_account: bool,
) -> Result<Option<SignedIn>> {
    let audit = entry(app.clock.now(), a.email, action::LOGIN_FAILED, "", why);
    let bucket = failure_bucket(a.email, known_account);
    app.store
        .count_login_failure(&bucket, &audit, FAILURE_WINDOW_SECS)
        .await?;
    Ok(None)
}

/// The new session, or `None` for a failure (one neutral answer whatever the cause). An
/// attempt on a known account is counted (and the account locked at the limit) in one
/// statement BEFORE anything is verified, so concurrent guesses cannot outrun the lock.
/// Password checks run off the async workers with bounded concurrency; a blocked peer costs
/// no hash at all.
pub async fn sign_in(app: &App, a: &SignInAttempt<'_>) -> Result<Option<SignedIn>> {
    let unix = app.clock.now().unix_timestamp();
    let found = app.store.officer_by_email(a.email).await?;
    let found = found.filter(|(acc, _)| !acc.disabled);
    if a.peer_blocked {
        let why = "too many attempts from this address";
        return failed(app, a, why, found.is_some()).await;
    }
    let Some((account, secrets)) = found else {
        auth::burn_password_check_bounded(a.password).await;
        return failed(app, a, "unknown or disabled account", false).await;
    };
    let (Some(hash), Some(seed)) = (
        secrets.password_hash.as_deref(),
        secrets.totp_secret.as_deref(),
    ) else {
        auth::burn_password_check_bounded(a.password).await;
        return failed(app, a, "enrollment not finished", true).await;
    };
    let reserved = app
        .store
        .reserve_login_attempt(&account.id, unix, ACCOUNT_FAILURES, ACCOUNT_LOCK_SECS)
        .await?;
    if reserved.is_none() {
        // Same cost as any other answer, so a locked account cannot be told from an unknown one.
        auth::burn_password_check_bounded(a.password).await;
        return failed(app, a, "account locked after repeated failures", true).await;
    }
    let password_ok = auth::verify_password_bounded(hash, a.password).await;
    let step = auth::check_code(seed, a.code, unix);
    let accepted = match (password_ok, step) {
        (true, Some(step)) => app.store.accept_totp_step(&account.id, step).await?,
        _ => false,
    };
    if !accepted {
        let why = match (password_ok, step) {
            (false, _) => "wrong password",
            (true, None) => "wrong code",
            (true, Some(_)) => "code already used",
        };
        return failed(app, a, why, true).await;
    }
    start_session(app, a, &account).await.map(Some)
}

async fn start_session(
    app: &App,
    a: &SignInAttempt<'_>,
    account: &OfficerRecord,
) -> Result<SignedIn> {
    // A new id on every login, and any session this browser had is ended first.
    if let Some(old) = a.old_session {
        app.store
            .delete_session(&auth::hash_token(old), None)
            .await?;
    }
    // The failures before this sign-in are counted in the chain before it.
    app.store
        .close_login_failures(Some(&failure_bucket(a.email, true)), i64::MAX)
        .await?;
    let now = app.clock.now();
    let (token, hash) = auth::new_token().map_err(Error::internal)?;
    let audit = entry(now, a.email, action::LOGIN, "", "");
    app.store
        .create_session(
            &hash,
            &account.id,
            now.unix_timestamp(),
            a.lang.code(),
            &audit,
        )
        .await?;
    let reset_notice = if app.store.take_reset_notice(&account.id).await? {
        account.reset_at
    } else {
        None
    };
    Ok(SignedIn {
        token,
        reset_notice,
    })
}

/// A signed-in person, found from their session cookie.
pub struct Session {
    pub account: OfficerRecord,
    pub hash: [u8; 32],
    pub lang: Lang,
}

/// Checks the session, the account's state and the timeouts; remembers the language.
pub async fn resume(app: &App, token: &str, chosen: Option<Lang>) -> Result<Option<Session>> {
    let hash = auth::hash_token(token);
    let Some(session) = app.store.session(&hash).await? else {
        return Ok(None);
    };
    let now = app.clock.now().unix_timestamp();
    if now - session.last_seen > IDLE_SECS || now - session.created_at > ABSOLUTE_SECS {
        app.store.delete_session(&hash, None).await?;
        return Ok(None);
    }
    let Some(account) = app
        .store
        .officer(&session.officer_id)
        .await?
        .filter(|a| !a.disabled && a.enrolled)
    else {
        return Ok(None);
    };
    let lang = chosen
        .or_else(|| Lang::from_code(&session.lang))
        .unwrap_or_default();
    app.store.touch_session(&hash, now, lang.code()).await?;
    Ok(Some(Session {
        account,
        hash,
        lang,
    }))
}

/// Ends the session and records the logout in one transaction.
pub async fn sign_out(app: &App, who: &OfficerRecord, session_hash: &[u8; 32]) -> Result<()> {
    let audit = entry(app.clock.now(), &who.email, action::LOGOUT, "", "");
    app.store.delete_session(session_hash, Some(&audit)).await?;
    Ok(())
}

/// The person's own passphrase-wrapped key, if they stored one.
pub async fn wrapped_key(app: &App, who: &OfficerRecord) -> Result<String> {
    app.store
        .wrapped_identity(&who.id)
        .await?
        .ok_or(Error::NotFound)
}

/// Records an action of `who` whose only write is its audit row.
pub async fn audit_only(
    app: &App,
    who: &OfficerRecord,
    action: &str,
    case_ref: &str,
    detail: &str,
) -> Result<()> {
    let e = entry(app.clock.now(), &who.email, action, case_ref, detail);
    record(app.store(), &e).await?;
    Ok(())
}

/// Whether this person holds a role, for pages that show or hide parts.
pub fn has(who: &OfficerRecord, role: Role) -> bool {
    who.roles.has(role)
}
