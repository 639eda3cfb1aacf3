//! What a run prints: one line per figure as it is measured, then a Markdown table per
//! database with each figure next to its limit and target (pasted into docs/performance.md).

use crate::load::Stats;

pub struct Row {
    pub figure: String,
    pub rate: f64,
    pub unit: String,
    pub p50_p99: Option<(f64, f64)>,
    pub errors: u64,
    pub statuses: String,
    pub peak: Option<f64>,
    /// Resident memory before a single large request (attachments), MiB.
    pub before: Option<f64>,
    pub limit_name: String,
    pub limit: Option<f64>,
    pub target_ratio: Option<f64>,
    pub p99_target_ms: Option<f64>,
    pub extra: String,
}

impl Row {
    pub fn plain(figure: &str, s: &Stats, peak: Option<f64>) -> Row {
        Row {
            figure: figure.to_owned(),
            rate: s.rate(),
            unit: "/s".to_owned(),
            p50_p99: Some((s.ms(0.5), s.ms(0.99))),
            errors: s.errors(),
            statuses: s.statuses_text(),
            peak,
            before: None,
            limit_name: String::new(),
            limit: None,
            target_ratio: None,
            p99_target_ms: None,
            extra: String::new(),
        }
    }

    pub fn ratio(
        figure: &str,
        s: &Stats,
        peak: Option<f64>,
        limit_name: &str,
        limit: f64,
        unit: &str,
        target: f64,
    ) -> Row {
        Row {
            unit: unit.to_owned(),
            limit_name: limit_name.to_owned(),
            limit: Some(limit),
            target_ratio: Some(target),
            ..Row::plain(figure, s, peak)
        }
    }

    /// A single large transfer, in MiB/s, next to raw age speed.
    pub fn speed(figure: &str, rate: f64, limit: f64, before: f64, peak: f64) -> Row {
        Row {
            figure: figure.to_owned(),
            rate,
            unit: "MiB/s".to_owned(),
            p50_p99: None,
            errors: 0,
            statuses: String::new(),
            peak: Some(peak),
            before: Some(before),
            limit_name: "raw age, same bytes, in-process".to_owned(),
            limit: Some(limit),
            target_ratio: Some(0.5),
            p99_target_ms: None,
            extra: String::new(),
        }
    }

    fn ratio_value(&self) -> Option<f64> {
        self.limit.map(|l| self.rate / l.max(1e-9))
    }

    pub fn met(&self) -> Option<bool> {
        let ratio_ok = match (self.ratio_value(), self.target_ratio) {
            (Some(r), Some(t)) => Some(r >= t),
            _ => None,
        };
        let p99_ok = match (self.p50_p99, self.p99_target_ms) {
            (Some((_, p99)), Some(t)) => Some(p99 < t),
            _ => None,
        };
        let errors_ok = self.errors == 0;
        match (ratio_ok, p99_ok) {
            (None, None) => Some(errors_ok),
            (a, b) => Some(a.unwrap_or(true) && b.unwrap_or(true) && errors_ok),
        }
    }

    fn measured(&self) -> String {
        let mut m = format!("{:.0} {}", self.rate, self.unit);
        if self.unit == "MiB/s" {
            m = format!("{:.1} MiB/s", self.rate);
        }
        m
    }

    fn latency(&self) -> String {
        self.p50_p99
            .map(|(a, b)| format!("{a:.2} / {b:.1} ms"))
            .unwrap_or_else(|| "–".to_owned())
    }

    fn memory(&self) -> String {
        match (self.before, self.peak) {
            (Some(b), Some(p)) => format!("{b:.1} → {p:.1} MiB"),
            (None, Some(p)) => format!("{p:.1} MiB"),
            _ => "–".to_owned(),
        }
    }

    fn limit_text(&self) -> String {
        match self.limit {
            Some(l) if self.unit == "MiB/s" => format!("{l:.1} MiB/s ({})", self.limit_name),
            Some(l) => format!("{l:.0} {} ({})", self.unit, self.limit_name),
            None => "–".to_owned(),
        }
    }

    fn target(&self) -> String {
        let mut t = Vec::new();
        if let Some(r) = self.target_ratio {
            t.push(format!("≥ {:.0} %", r * 100.0));
        }
        if let Some(ms) = self.p99_target_ms {
            t.push(format!("p99 < {ms:.0} ms"));
        }
        t.push("0 errors".to_owned());
        t.join(", ")
    }
}

#[derive(Default)]
pub struct Report {
    pub backend: String,
    pub rows: Vec<Row>,
    pub notes: Vec<String>,
    pub idle: f64,
    pub peak32: f64,
    /// Statuses of the flood with default limits, how many got 429, how many 5xx/failed.
    pub flood: Option<(String, u64, u64)>,
}

fn yes(b: Option<bool>) -> &'static str {
    match b {
        Some(true) => "yes",
        Some(false) => "**no**",
        None => "–",
    }
}

impl Report {
    pub fn new(backend: &str) -> Self {
        Report {
            backend: backend.to_owned(),
            ..Default::default()
        }
    }

    pub fn note(&mut self, n: String) {
        println!("[{}] {n}", self.backend);
        self.notes.push(n);
    }

    pub fn peak_32(&mut self, peak: f64) {
        self.peak32 = self.peak32.max(peak);
    }

    pub fn row(&mut self, r: Row) {
        let ratio = r
            .ratio_value()
            .map(|x| format!(" = {:.0} % of {}", x * 100.0, r.limit_text()))
            .unwrap_or_default();
        println!(
            "[{}] {}: {}{ratio}; p50/p99 {}; errors {} [{}]; RSS {} {}",
            self.backend,
            r.figure,
            r.measured(),
            r.latency(),
            r.errors,
            r.statuses,
            r.memory(),
            r.extra
        );
        self.rows.push(r);
    }

    pub fn table(&self) -> String {
        let mut t = format!(
            "\n### {}\n\n| figure | measured | p50 / p99 | errors | server RSS | limit, same run | ratio | target | met |\n|---|---|---|---|---|---|---|---|---|\n",
            self.backend
        );
        for r in &self.rows {
            let ratio = r
                .ratio_value()
                .map(|x| format!("{:.0} %", x * 100.0))
                .unwrap_or_else(|| "–".to_owned());
            t.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {ratio} | {} | {} |\n",
                r.figure,
                r.measured(),
                r.latency(),
                r.errors,
                r.memory(),
                r.limit_text(),
                r.target(),
                yes(r.met())
            ));
        }
        t.push_str(&format!(
            "| idle RSS | {:.1} MiB | – | – | – | – | – | < 25 MiB | {} |\n",
            self.idle,
            yes(Some(self.idle < 25.0))
        ));
        t.push_str(&format!(
            "| peak RSS under 32-way load | {:.1} MiB | – | – | – | – | – | < 64 MiB | {} |\n",
            self.peak32,
            yes(Some(self.peak32 < 64.0))
        ));
        if let Some((statuses, limited, bad)) = &self.flood {
            t.push_str(&format!(
                "| flood, default limits (POST /report, 32 in flight) | {statuses} | – | {bad} 5xx | – | – | – | 429s, no 5xx | {} |\n",
                yes(Some(*limited > 0 && *bad == 0))
            ));
        }
        t
    }
}
