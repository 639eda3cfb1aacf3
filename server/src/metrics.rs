//! Prometheus metrics (docs/monitoring.md), served on their own listener
//! (`SPEAKUP_METRICS_BIND`), never on the reporters' port. Keeps rule `reporter-anonymity`:
//! no label names a reporter, a case, a client or a time. Requests are counted by route
//! pattern (axum's `MatchedPath`, never the concrete path or query), method and status class;
//! reports by one counter without labels; jobs by their fixed names. Each server holds its own
//! registry, so two servers in one process (the tests) never mix their numbers.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub use crate::store::PoolUse;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// The scheduled jobs, by the fixed names their metrics carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Job {
    /// Ending expired officer sessions.
    Sessions,
    /// Deleting closed cases past their retention period.
    Retention,
    /// Checking the audit log's hash chain.
    AuditCheck,
    /// Adding the day's reporter actions to the audit log.
    AuditFlush,
    /// Purging uploads a crash left unfinished.
    Uploads,
    /// Sending the notification mails that fall due.
    Notify,
}

impl Job {
    pub const ALL: [Job; 6] = [
        Job::Sessions,
        Job::Retention,
        Job::AuditCheck,
        Job::AuditFlush,
        Job::Uploads,
        Job::Notify,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Job::Sessions => "sessions",
            Job::Retention => "retention",
            Job::AuditCheck => "audit_check",
            Job::AuditFlush => "audit_flush",
            Job::Uploads => "uploads",
            Job::Notify => "notify",
        }
    }
}

/// How one run of a job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
    /// Another instance held the job's lease: this one did nothing.
    Skipped,
}

impl Outcome {
    fn name(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Skipped => "skipped",
        }
    }
}

/// One server's metrics.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    reports: IntCounter,
    pool: IntGaugeVec,
    queue_days: IntGaugeVec,
    job_runs: IntCounterVec,
    job_success: IntGaugeVec,
    job_duration: prometheus::GaugeVec,
    job_age: prometheus::GaugeVec,
    last_run: Mutex<HashMap<Job, Instant>>,
    up: IntGauge,
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let r = &registry;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "speakup_http_request_duration_seconds",
                "Time to answer an HTTP request, by route pattern",
            )
            .buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
            ]),
            &["route"],
        )?;
        r.register(Box::new(latency.clone()))?;
        let reports = IntCounter::new(
            "speakup_reports_received_total",
            "Reports received since the start (increase over 1d: reports per day)",
        )?;
        r.register(Box::new(reports.clone()))?;
        let up = IntGauge::new("speakup_up", "1 while the server runs")?;
        r.register(Box::new(up.clone()))?;
        up.set(1);
        Ok(Self {
            requests: registered(r, counter_vec(REQUESTS, &["route", "method", "class"])?)?,
            latency,
            reports,
            pool: registered(r, IntGaugeVec::new(opts(POOL), &["state"])?)?,
            queue_days: registered(r, IntGaugeVec::new(opts(QUEUE_DAYS), &["queue"])?)?,
            job_runs: registered(r, counter_vec(JOB_RUNS, &["job", "outcome"])?)?,
            job_success: registered(r, IntGaugeVec::new(opts(JOB_SUCCESS), &["job"])?)?,
            job_duration: registered(r, job_gauge(JOB_DURATION)?)?,
            job_age: registered(r, job_gauge(JOB_AGE)?)?,
            last_run: Mutex::new(HashMap::new()),
            up,
            registry,
        })
    }

    /// One answered request. `route` is the matched pattern or `(unmatched)`; a method outside
    /// the standard ones is counted as `OTHER`, so a client cannot invent label values.
    pub fn request(&self, route: &str, method: &axum::http::Method, status: u16, took: Duration) {
        let method = standard_method(method);
        let class = match status {
            100..=199 => "1xx",
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        };
        self.requests
            .with_label_values(&[route, method, class])
            .inc();
        self.latency
            .with_label_values(&[route])
            .observe(took.as_secs_f64());
    }

    /// A report was stored.
    pub fn report_received(&self) {
        self.reports.inc();
    }

    /// One run of a scheduled job.
    pub fn job(&self, job: Job, outcome: Outcome, took: Duration) {
        let name = job.name();
        self.job_runs
            .with_label_values(&[name, outcome.name()])
            .inc();
        if outcome == Outcome::Skipped {
            return;
        }
        self.job_success
            .with_label_values(&[name])
            .set(i64::from(outcome == Outcome::Success));
        self.job_duration
            .with_label_values(&[name])
            .set(took.as_secs_f64());
        if let Ok(mut last) = self.last_run.lock() {
            last.insert(job, Instant::now());
        }
    }

    /// The text a scrape receives; the pool, the queue and job ages are read now.
    /// `reporter_audit_days`: days of reporter actions waiting for the audit chain (`None` when
    /// the database could not say; the gauge then keeps its last value).
    pub fn render(&self, pool: PoolUse, reporter_audit_days: Option<i64>) -> String {
        if let Some(days) = reporter_audit_days {
            self.queue_days
                .with_label_values(&["reporter_audit"])
                .set(days);
        }
        self.pool
            .with_label_values(&["size"])
            .set(i64::from(pool.size));
        self.pool
            .with_label_values(&["idle"])
            .set(i64::try_from(pool.idle).unwrap_or(i64::MAX));
        self.pool
            .with_label_values(&["max"])
            .set(i64::from(pool.max));
        if let Ok(last) = self.last_run.lock() {
            for (job, at) in last.iter() {
                self.job_age
                    .with_label_values(&[job.name()])
                    .set(at.elapsed().as_secs_f64());
            }
        }
        self.up.set(1);
        let mut out = Vec::new();
        if TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .is_err()
        {
            return String::new();
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

/// `metric`, registered in `registry`.
fn registered<M>(registry: &Registry, metric: M) -> Result<M, prometheus::Error>
where
    M: prometheus::core::Collector + Clone + 'static,
{
    registry.register(Box::new(metric.clone()))?;
    Ok(metric)
}

/// A metric's name and help text.
type Named = (&'static str, &'static str);

const REQUESTS: Named = (
    "speakup_http_requests_total",
    "HTTP requests answered, by route pattern, method and status class",
);
const POOL: Named = (
    "speakup_db_pool_connections",
    "Database connections: open (size), idle, and the most allowed (max)",
);
const QUEUE_DAYS: Named = (
    "speakup_queue_days",
    "Days of work waiting in a queue (reporter_audit: reporter actions not yet in the audit chain; above 1, the hourly move is stuck)",
);
const JOB_RUNS: Named = (
    "speakup_job_runs_total",
    "Scheduled job runs, by job and outcome (skipped: another instance ran it)",
);
const JOB_SUCCESS: Named = (
    "speakup_job_last_success",
    "1 when the job's last run on this instance succeeded, 0 when it failed",
);
const JOB_DURATION: Named = (
    "speakup_job_last_duration_seconds",
    "How long the job's last run on this instance took",
);
const JOB_AGE: Named = (
    "speakup_job_seconds_since_last_run",
    "Seconds since the job last ran on this instance (measured at the scrape)",
);

fn opts((name, help): Named) -> Opts {
    Opts::new(name, help)
}

fn counter_vec(named: Named, labels: &[&str]) -> Result<IntCounterVec, prometheus::Error> {
    IntCounterVec::new(opts(named), labels)
}

/// A gauge per job.
fn job_gauge(named: Named) -> Result<prometheus::GaugeVec, prometheus::Error> {
    prometheus::GaugeVec::new(opts(named), &["job"])
}

fn standard_method(m: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "OTHER",
    }
}

/// The content type of the text exposition format.
pub const CONTENT_TYPE: &str = prometheus::TEXT_FORMAT;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_render_without_request_details() {
        let m = Metrics::new().unwrap_or_else(|e| panic!("{e}"));
        m.request(
            "/report",
            &axum::http::Method::from_bytes(b"BREW").unwrap_or_else(|e| panic!("{e}")),
            201,
            Duration::from_millis(3),
        );
        m.job(Job::Retention, Outcome::Success, Duration::from_millis(5));
        m.report_received();
        let pool = PoolUse {
            size: 2,
            idle: 1,
            max: 8,
        };
        let text = m.render(pool, Some(2));
        assert!(text.contains("speakup_queue_days{queue=\"reporter_audit\"} 2"));
        assert!(text.contains(
            "speakup_http_requests_total{class=\"2xx\",method=\"OTHER\",route=\"/report\"} 1"
        ));
        assert!(text.contains("speakup_reports_received_total 1"));
        assert!(text.contains("speakup_db_pool_connections{state=\"idle\"} 1"));
        assert!(text.contains("speakup_job_last_success{job=\"retention\"} 1"));
        assert!(!text.contains("BREW"));
    }
}
