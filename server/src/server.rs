//! Starting and stopping the HTTP server: state assembly, the listener (connection limits and
//! timeouts live in `connections`), graceful shutdown (requests in flight finish; each store
//! write is one transaction, so nothing is left half-written), the metrics listener, the hourly
//! housekeeping round (one instance per round: a lease in the database) and the notification
//! mail loop.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hkdf::Hkdf;
use sha2::Sha256;
use time::Duration as Days;
use tokio::net::TcpListener;

use crate::app::App;
use crate::app::accounts::{ABSOLUTE_SECS, IDLE_SECS};
use crate::clock::SharedClock;
use crate::config::Settings;
use crate::metrics::{Job, Outcome};
use crate::store::SharedStore;
use crate::web::{self, AppState, ServerKeys, SharedState};

/// Derives the CSRF and session keys from the key file, never from the database
/// (database-alone-opens-nothing; see crate::keyfile).
pub fn server_keys(key_file: Option<&std::path::Path>) -> anyhow::Result<ServerKeys> {
    let secret = zeroize::Zeroizing::new(crate::keyfile::load(key_file)?);
    derive_keys(secret.as_ref())
}

/// The CSRF and session keys of a server secret (HKDF-SHA256).
pub fn derive_keys(secret: &[u8]) -> anyhow::Result<ServerKeys> {
    let hk = Hkdf::<Sha256>::new(None, secret);
    let mut keys = ServerKeys {
        csrf: [0u8; 32],
        session: [0u8; 32],
    };
    hk.expand(b"speakup/csrf", &mut keys.csrf)
        .and_then(|_| hk.expand(b"speakup/session", &mut keys.session))
        .map_err(|_| anyhow::anyhow!("key derivation failed"))?;
    Ok(keys)
}

pub async fn build_state(
    store: SharedStore,
    settings: Settings,
    clock: SharedClock,
) -> anyhow::Result<SharedState> {
    let keys = server_keys(settings.key_file.as_deref())?;
    let app = App::new(store, settings, clock).await?;
    Ok(Arc::new(AppState {
        app,
        keys,
        login_throttle: Default::default(),
        pages: Default::default(),
    }))
}

/// Logs, at start, every setting that differs from its default (INFO; secrets redacted) and
/// a WARN for each dangerous one (`Settings::dangers`). `escrow`: an escrow key is in force.
pub fn log_settings(settings: &Settings, escrow: bool) {
    for (name, value) in settings.non_default() {
        tracing::info!(setting = name, %value, "setting");
    }
    for danger in settings.dangers(escrow) {
        tracing::warn!("dangerous setting: {danger}");
    }
}

/// Serves until `shutdown` resolves, then lets requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    state: SharedState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with_metrics(listener, None, state, shutdown).await
}

/// As `serve`, plus the metrics listener (`SPEAKUP_METRICS_BIND`) when one is given: it
/// answers `/metrics` only, and stops with the server.
pub async fn serve_with_metrics(
    listener: TcpListener,
    metrics: Option<TcpListener>,
    state: SharedState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let purge = tokio::spawn(purge_loop(state.clone()));
    let refresh = tokio::spawn(refresh_loop(state.clone()));
    let notify = tokio::spawn(notify_loop(state.clone()));
    let scrape = metrics.map(|l| tokio::spawn(serve_metrics(l, state.clone())));
    let limits = state.settings.connections.clone();
    let app = web::router(state);
    let result = crate::connections::serve(listener, app, limits, shutdown).await;
    purge.abort();
    refresh.abort();
    notify.abort();
    if let Some(s) = scrape {
        s.abort();
    }
    result
}

async fn serve_metrics(listener: TcpListener, state: SharedState) {
    if let Err(e) = axum::serve(listener, web::metrics_router(state)).await {
        tracing::warn!(error = %e, "the metrics listener stopped");
    }
}

/// Picks up settings changed by an admin on another instance.
async fn refresh_loop(state: SharedState) {
    let mut tick = tokio::time::interval(crate::app::settings::REFRESH_EVERY);
    loop {
        tick.tick().await;
        if let Err(e) = state
            .site
            .refresh(state.store.as_ref(), &state.settings)
            .await
        {
            tracing::warn!(error = %e, "reloading site settings failed");
        }
    }
}

/// The lease held while a housekeeping round runs (given back when it ends): no two instances
/// on one database run a round at the same time.
pub const HOUSEKEEPING_LEASE: &str = "housekeeping";
/// The lease of the hourly schedule, kept (not given back) for 50 minutes by the instance whose
/// scheduled round ran: another instance whose hourly tick falls within that time skips its
/// round, so each hour's round runs on one instance. An instance that stops holds it no longer.
pub const SCHEDULE_LEASE: &str = "housekeeping-schedule";
const SCHEDULE_HOLD_SECS: i64 = 50 * 60;
/// The longest a round may hold `HOUSEKEEPING_LEASE`: after a crash mid-round, rounds wait at
/// most this long.
const ROUND_HOLD_SECS: i64 = 15 * 60;

async fn purge_loop(state: SharedState) {
    let mut tick = tokio::time::interval(Duration::from_secs(60 * 60));
    // At start the round runs unless another instance is running one: a restart (or an
    // instance added) catches up at once, whatever the schedule says.
    tick.tick().await;
    // Claims this hour's schedule when free, so the others skip their next tick.
    lease(&state, SCHEDULE_LEASE, SCHEDULE_HOLD_SECS).await;
    housekeeping_round(&state).await;
    loop {
        tick.tick().await;
        housekeeping(&state).await;
    }
}

fn now_secs(state: &AppState) -> i64 {
    state.clock.now().unix_timestamp()
}

/// Runs `job` and counts it in the metrics (outcome and duration).
async fn timed<T, E>(
    state: &AppState,
    job: Job,
    run: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, E> {
    let started = Instant::now();
    let result = run.await;
    let outcome = match &result {
        Ok(_) => Outcome::Success,
        Err(_) => Outcome::Failure,
    };
    state.metrics.job(job, outcome, started.elapsed());
    result
}

/// Takes the named lease for this instance until `secs` from now; false when another instance
/// holds it (or the database cannot say).
async fn lease(state: &AppState, name: &str, secs: i64) -> bool {
    let now = now_secs(state);
    match state
        .store
        .take_lease(name, &state.instance, now, now + secs)
        .await
    {
        Ok(taken) => taken,
        Err(e) => {
            tracing::warn!(error = %e, lease = name, "taking a lease failed");
            false
        }
    }
}

/// The scheduled hourly round: runs it unless another instance ran this hour's round (it holds
/// the schedule's lease) or is running one. Returns whether it ran.
pub async fn housekeeping(state: &AppState) -> bool {
    if !lease(state, SCHEDULE_LEASE, SCHEDULE_HOLD_SECS).await {
        skipped(state);
        return false;
    }
    housekeeping_round(state).await
}

fn skipped(state: &AppState) {
    for job in HOUSEKEEPING_JOBS {
        state.metrics.job(job, Outcome::Skipped, Duration::ZERO);
    }
}

/// One round: ends expired sessions, applies the retention period, checks the audit chain,
/// adds the reporter actions of past days and the closed windows of failed sign-ins to it, and
/// purges abandoned uploads. Returns false,
/// doing nothing, when another instance is running a round.
/// Retention, each case under its entity's period (the instance's for its own cases).
async fn retention_round(state: &AppState, today: time::Date) -> crate::store::StoreResult<usize> {
    use crate::app::retention::{Policies, apply_per_entity};
    let entities = match crate::app::entities::list(state).await {
        Ok(e) => e,
        Err(crate::app::Error::Store(e)) => return Err(e),
        Err(e) => return Err(crate::store::StoreError::Corrupt(e.to_string())),
    };
    let policies = Policies::of(&state.site.get(), &entities);
    apply_per_entity(state.store(), &policies, today, state.clock.now()).await
}

pub async fn housekeeping_round(state: &AppState) -> bool {
    if !lease(state, HOUSEKEEPING_LEASE, ROUND_HOLD_SECS).await {
        skipped(state);
        return false;
    }
    let now = now_secs(state);
    let sessions = state
        .store
        .purge_sessions(now - IDLE_SECS, now - ABSOLUTE_SECS);
    match timed(state, Job::Sessions, sessions).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(count = n, "ended expired officer sessions"),
        Err(e) => tracing::warn!(error = %e, "ending expired officer sessions failed"),
    }
    let today = state.clock.today();
    let retention = retention_round(state, today);
    match timed(state, Job::Retention, retention).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            count = n,
            "deleted closed cases past their retention period"
        ),
        Err(e) => tracing::warn!(error = %e, "applying the retention period failed"),
    }
    audit_and_uploads(state).await;
    if let Err(e) = state
        .store
        .drop_lease(HOUSEKEEPING_LEASE, &state.instance)
        .await
    {
        tracing::warn!(error = %e, "giving back the housekeeping lease failed");
    }
    true
}

const HOUSEKEEPING_JOBS: [Job; 5] = [
    Job::Sessions,
    Job::Retention,
    Job::AuditCheck,
    Job::AuditFlush,
    Job::Uploads,
];

async fn audit_and_uploads(state: &AppState) {
    // Every row of the audit chain, once an hour; the auditor's page then checks only the
    // rows added since (and the rows it shows).
    match timed(
        state,
        Job::AuditCheck,
        crate::app::audit::check(&state.app, true),
    )
    .await
    {
        Ok((crate::app::audit::Verdict::Broken { seq, reason }, _)) => {
            tracing::error!(seq, reason, "the audit log's hash chain is broken")
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "checking the audit log failed"),
    }
    // Reporter actions join the audit chain once their day is over (see crate::app::audit).
    let flush = state.store.flush_reporter_audit(state.clock.today());
    match timed(state, Job::AuditFlush, flush).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(count = n, "added reporter actions to the audit log"),
        Err(e) => tracing::warn!(error = %e, "adding reporter actions to the audit log failed"),
    }
    // Windows of failed sign-ins that are over join the chain as one row each.
    let over = now_secs(state) - crate::domain::audit::FAILURE_WINDOW_SECS;
    match state.store.close_login_failures(None, over).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(count = n, "closed windows of failed sign-ins"),
        Err(e) => tracing::warn!(error = %e, "closing windows of failed sign-ins failed"),
    }
    // Uploads are stamped with a day only; anything begun before yesterday is abandoned.
    let before = state.clock.today().saturating_sub(Days::days(1));
    match timed(
        state,
        Job::Uploads,
        state.store.purge_incomplete_blobs(before),
    )
    .await
    {
        Ok(0) => {}
        Ok(n) => tracing::info!(count = n, "purged unfinished uploads"),
        Err(e) => tracing::warn!(error = %e, "purging unfinished uploads failed"),
    }
}

/// Sends the notification mails that fall due (see crate::app::notify): every minute, so the
/// random moment within each hour is kept to the minute. Off when no SMTP server is set.
async fn notify_loop(state: SharedState) {
    if state.mailer.is_none() {
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        let started = Instant::now();
        let result = crate::app::notify::run(&state, false).await;
        let outcome = match &result {
            Ok(r) if r.busy => Outcome::Skipped,
            Ok(_) => Outcome::Success,
            Err(_) => Outcome::Failure,
        };
        state.metrics.job(Job::Notify, outcome, started.elapsed());
        match result {
            Ok(r) if r.sent > 0 => tracing::info!(count = r.sent, "sent notification mails"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "the notification run failed"),
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
