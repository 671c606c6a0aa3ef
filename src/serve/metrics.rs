//! The server's counters and its `/metrics` page (Prometheus text format): the pool's totals and
//! gauges, the HTTP answers by status class, and the generated tokens per second over the last
//! few seconds (sampled once a second by the server's ticker).
use std::collections::VecDeque;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::slots::PoolStatus;

/// How far back the tokens-per-second rate looks.
pub const RATE_WINDOW: Duration = Duration::from_secs(10);

#[derive(Default)]
pub struct Counters {
    /// Completion requests answered, by outcome.
    pub ok: AtomicU64,
    pub client_errors: AtomicU64,
    pub server_errors: AtomicU64,
    /// Streams the client left before their end (their slots were freed).
    pub disconnected: AtomicU64,
    rate: Mutex<VecDeque<(Instant, u64)>>,
}

impl Counters {
    pub fn count_status(&self, status: u16) {
        let c = match status {
            200..=299 => &self.ok,
            400..=499 => &self.client_errors,
            _ => &self.server_errors,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// Records the pool's generated-token total at `now` (called once a second).
    pub fn sample(&self, now: Instant, generated_total: u64) {
        let mut w = self.rate.lock().unwrap_or_else(|p| p.into_inner());
        w.push_back((now, generated_total));
        while w.len() > 2 && now.duration_since(w[0].0) > RATE_WINDOW {
            w.pop_front();
        }
    }

    /// Generated tokens per second over the window (0 before two samples).
    pub fn tokens_per_second(&self) -> f64 {
        let w = self.rate.lock().unwrap_or_else(|p| p.into_inner());
        match (w.front(), w.back()) {
            (Some(a), Some(b)) if b.0 > a.0 => {
                b.1.saturating_sub(a.1) as f64 / b.0.duration_since(a.0).as_secs_f64()
            }
            _ => 0.0,
        }
    }
}

/// The `/metrics` page. `status` is `None` while the model loads.
pub fn render(status: Option<&PoolStatus>, counters: &Counters) -> String {
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, value: String| {
        let _ = writeln!(out, "# HELP gemma_tui_{name} {help}");
        let _ = writeln!(out, "# TYPE gemma_tui_{name} {kind}");
        let _ = writeln!(out, "gemma_tui_{name} {value}");
    };
    let s = status.cloned().unwrap_or_default();
    metric(
        "model_loaded",
        "gauge",
        "1 once the model is loaded and requests are taken.",
        u8::from(status.is_some()).to_string(),
    );
    metric(
        "requests_total",
        "counter",
        "Completion requests the slots have finished.",
        s.requests_total.to_string(),
    );
    metric(
        "prompt_tokens_total",
        "counter",
        "Prompt tokens prefilled.",
        s.prompt_tokens_total.to_string(),
    );
    metric(
        "generated_tokens_total",
        "counter",
        "Tokens generated.",
        s.generated_tokens_total.to_string(),
    );
    metric(
        "requests_queued",
        "gauge",
        "Requests waiting for a slot.",
        s.queued.to_string(),
    );
    metric(
        "slots_busy",
        "gauge",
        "Slots decoding a request.",
        s.busy.to_string(),
    );
    metric(
        "slots_total",
        "gauge",
        "Slots (--parallel).",
        s.parallel.to_string(),
    );
    metric(
        "generated_tokens_per_second",
        "gauge",
        "Tokens generated per second over the last 10 s, all slots together.",
        format!("{:.3}", counters.tokens_per_second()),
    );
    let load = |c: &AtomicU64| c.load(Ordering::Relaxed).to_string();
    let _ = writeln!(
        out,
        "# HELP gemma_tui_http_responses_total Completion requests answered, by status class."
    );
    let _ = writeln!(out, "# TYPE gemma_tui_http_responses_total counter");
    for (class, c) in [
        ("2xx", &counters.ok),
        ("4xx", &counters.client_errors),
        ("5xx", &counters.server_errors),
    ] {
        let _ = writeln!(
            out,
            "gemma_tui_http_responses_total{{class=\"{class}\"}} {}",
            load(c)
        );
    }
    let _ = writeln!(
        out,
        "# HELP gemma_tui_disconnects_total Streams the client left before their end."
    );
    let _ = writeln!(out, "# TYPE gemma_tui_disconnects_total counter");
    let _ = writeln!(
        out,
        "gemma_tui_disconnects_total {}",
        load(&counters.disconnected)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_over_the_window() {
        let c = Counters::default();
        let t = Instant::now();
        assert_eq!(c.tokens_per_second(), 0.0);
        c.sample(t, 100);
        c.sample(t + Duration::from_secs(2), 160);
        assert!((c.tokens_per_second() - 30.0).abs() < 1e-9);
        // Old samples fall out of the window.
        c.sample(t + Duration::from_secs(20), 160);
        c.sample(t + Duration::from_secs(21), 170);
        assert!((c.tokens_per_second() - 10.0).abs() < 1e-9);
    }

    #[test]
    fn prometheus_text() {
        let c = Counters::default();
        c.count_status(200);
        c.count_status(400);
        let s = PoolStatus {
            parallel: 4,
            busy: 1,
            queued: 2,
            requests_total: 7,
            prompt_tokens_total: 50,
            generated_tokens_total: 90,
        };
        let text = render(Some(&s), &c);
        for line in [
            "gemma_tui_model_loaded 1",
            "gemma_tui_slots_busy 1",
            "gemma_tui_slots_total 4",
            "gemma_tui_requests_queued 2",
            "gemma_tui_requests_total 7",
            "gemma_tui_generated_tokens_total 90",
            "gemma_tui_http_responses_total{class=\"4xx\"} 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from\n{text}"
            );
        }
        assert!(render(None, &c).contains("gemma_tui_model_loaded 0"));
    }
}
