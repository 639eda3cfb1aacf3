//! Logging set-up. Keeps rules `no-plaintext-at-rest` and `reporter-anonymity` at the source: only our own targets log at
//! info, and the dependencies that could echo request data (sqlx statements, hyper) are held
//! at warn unless `SPEAKUP_LOG` says otherwise.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Stamps log lines with the day only: an exact time next to a reporter's request would be
/// the very timestamp the platform promises not to keep.
struct DayOnly;

impl tracing_subscriber::fmt::time::FormatTime for DayOnly {
    fn format_time(&self, w: &mut tracing_subscriber::fmt::format::Writer<'_>) -> std::fmt::Result {
        write!(w, "{}", time::OffsetDateTime::now_utc().date())
    }
}

pub const DEFAULT_FILTER: &str = "warn,speakup=info";

pub fn filter() -> EnvFilter {
    EnvFilter::try_from_env("SPEAKUP_LOG").unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER))
}

/// Installs the global subscriber writing to `writer`; a second call is a no-op.
pub fn init<W>(writer: W, filter: EnvFilter)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_target(false)
        .with_ansi(false)
        .with_timer(DayOnly)
        .try_init();
}
