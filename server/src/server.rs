//! Starting and stopping the HTTP server: state assembly, the listener (connection limits and
//! timeouts live in `connections`), graceful shutdown (requests in flight finish; each store
//! write is one transaction, so nothing is left half-written) and the daily purge of uploads a
//! crash left unfinished, and the notification mail loop.

use std::sync::Arc;
use std::time::Duration;

use hkdf::Hkdf;
use sha2::Sha256;
use time::Duration as Days;
use tokio::net::TcpListener;

use crate::app::App;
use crate::app::accounts::{ABSOLUTE_SECS, IDLE_SECS};
use crate::clock::SharedClock;
use crate::config::Settings;
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
    let purge = tokio::spawn(purge_loop(state.clone()));
    let refresh = tokio::spawn(refresh_loop(state.clone()));
    let notify = tokio::spawn(notify_loop(state.clone()));
    let limits = state.settings.connections.clone();
    let app = web::router(state);
    let result = crate::connections::serve(listener, app, limits, shutdown).await;
    purge.abort();
    refresh.abort();
    notify.abort();
    result
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

async fn purge_loop(state: SharedState) {
    let mut tick = tokio::time::interval(Duration::from_secs(60 * 60));
    loop {
        tick.tick().await;
        let now = state.clock.now().unix_timestamp();
        match state
            .store
            .purge_sessions(now - IDLE_SECS, now - ABSOLUTE_SECS)
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(count = n, "ended expired officer sessions"),
            Err(e) => tracing::warn!(error = %e, "ending expired officer sessions failed"),
        }
        let policy = state.site.get().retention();
        match crate::app::retention::apply(
            state.store(),
            &policy,
            state.clock.today(),
            state.clock.now(),
        )
        .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                count = n,
                "deleted closed cases past their retention period"
            ),
            Err(e) => tracing::warn!(error = %e, "applying the retention period failed"),
        }
        // Every row of the audit chain, once an hour; the auditor's page then checks only the
        // rows added since (and the rows it shows).
        match crate::app::audit::check(&state.app, true).await {
            Ok((crate::app::audit::Verdict::Broken { seq, reason }, _)) => {
                tracing::error!(seq, reason, "the audit log's hash chain is broken")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "checking the audit log failed"),
        }
        // Reporter actions join the audit chain once their day is over (see crate::app::audit).
        match state.store.flush_reporter_audit(state.clock.today()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(count = n, "added reporter actions to the audit log"),
            Err(e) => tracing::warn!(error = %e, "adding reporter actions to the audit log failed"),
        }
        // Windows of failed sign-ins that are over join the chain as one row each.
        let over = state.clock.now().unix_timestamp() - crate::domain::audit::FAILURE_WINDOW_SECS;
        match state.store.close_login_failures(None, over).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(count = n, "closed windows of failed sign-ins"),
            Err(e) => tracing::warn!(error = %e, "closing windows of failed sign-ins failed"),
        }
        // Uploads are stamped with a day only; anything begun before yesterday is abandoned.
        let before = state.clock.today().saturating_sub(Days::days(1));
        match state.store.purge_incomplete_blobs(before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(count = n, "purged unfinished uploads"),
            Err(e) => tracing::warn!(error = %e, "purging unfinished uploads failed"),
        }
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
        match crate::app::notify::run(&state, false).await {
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
