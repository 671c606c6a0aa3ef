//! Scroll positions of the panes (and of the help overlay) and the metrics history behind the
//! graphs.
use std::collections::VecDeque;

use crate::actors::metrics::MetricsSnapshot;

/// Seconds of metrics history kept.
pub const METRICS_WINDOW_S: f64 = 120.0;
const METRICS_MAX_POINTS: usize = 4096;

/// Scroll position of a pane, in wrapped lines from the top. `follow` keeps it at the bottom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScrollState {
    pub top: usize,
    pub follow: bool,
    /// The largest `top` at the last render.
    pub max_top: usize,
    /// Viewport height at the last render (one page).
    pub page: usize,
}

impl Default for ScrollState {
    fn default() -> Self {
        Self {
            top: 0,
            follow: true,
            max_top: 0,
            page: 10,
        }
    }
}

impl ScrollState {
    /// A scrolling key (line, page, top, bottom); other actions leave it as it is.
    pub fn on_action(&mut self, action: crate::config::keymap::Action) {
        use crate::config::keymap::Action as A;
        let page = self.page.saturating_sub(1).max(1);
        match action {
            A::ScrollUp => self.up(1),
            A::ScrollDown => self.down(1),
            A::PageUp => self.up(page),
            A::PageDown => self.down(page),
            A::ScrollToTop => self.to_top(),
            A::ScrollToBottom => self.to_bottom(),
            _ => {}
        }
    }

    pub fn up(&mut self, n: usize) {
        if self.follow {
            if self.max_top == 0 {
                return;
            }
            self.top = self.max_top;
        }
        self.follow = false;
        self.top = self.top.min(self.max_top).saturating_sub(n);
    }

    pub fn down(&mut self, n: usize) {
        if self.follow {
            return;
        }
        self.top = self.top.saturating_add(n);
        if self.top >= self.max_top {
            self.to_bottom();
        }
    }

    pub fn to_top(&mut self) {
        self.follow = false;
        self.top = 0;
    }

    pub fn to_bottom(&mut self) {
        self.follow = true;
        self.top = self.max_top;
    }

    /// Clamp to `total` lines in a viewport of `height`; returns the first visible line.
    pub fn resolve(&mut self, total: usize, height: usize) -> usize {
        self.page = height.max(1);
        self.max_top = total.saturating_sub(height);
        if self.follow || self.top >= self.max_top {
            self.top = self.max_top;
            if self.max_top == 0 {
                self.follow = true;
            }
        }
        self.top
    }
}

/// The last ~120 s of metrics, as (t seconds, value) series for the charts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricsHistory {
    pub token_rate: VecDeque<(f64, f64)>,
    pub rss_mb: VecDeque<(f64, f64)>,
    pub cpu_percent: VecDeque<(f64, f64)>,
    pub latest: Option<MetricsSnapshot>,
}

impl MetricsHistory {
    pub fn push(&mut self, s: MetricsSnapshot) {
        if !s.t.is_finite() {
            return;
        }
        if self.latest.as_ref().is_some_and(|l| s.t < l.t) {
            // The clock went backwards (a restarted metrics actor): start over.
            *self = Self::default();
        }
        let finite = |v: f64| if v.is_finite() { v.max(0.0) } else { 0.0 };
        self.token_rate.push_back((s.t, finite(s.token_rate)));
        self.rss_mb
            .push_back((s.t, s.rss_bytes as f64 / (1024.0 * 1024.0)));
        self.cpu_percent
            .push_back((s.t, finite(f64::from(s.cpu_percent))));
        let cutoff = s.t - METRICS_WINDOW_S;
        for series in [
            &mut self.token_rate,
            &mut self.rss_mb,
            &mut self.cpu_percent,
        ] {
            while series
                .front()
                .is_some_and(|&(t, _)| t < cutoff || series.len() > METRICS_MAX_POINTS)
            {
                series.pop_front();
            }
        }
        self.latest = Some(s);
    }

    /// Seconds since start of the newest sample.
    pub fn now_t(&self) -> f64 {
        self.latest.as_ref().map_or(0.0, |s| s.t)
    }
}
