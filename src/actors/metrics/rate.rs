//! Token rate over a sliding window: pure, so it is tested without clocks.
use std::collections::VecDeque;
use std::time::{Duration, Instant};

pub struct RateWindow {
    window: Duration,
    stamps: VecDeque<Instant>,
}

impl RateWindow {
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            stamps: VecDeque::new(),
        }
    }

    pub fn record(&mut self, at: Instant) {
        self.stamps.push_back(at);
    }

    /// Events per second over the window ending at `now`.
    pub fn rate(&mut self, now: Instant) -> f64 {
        while let Some(&front) = self.stamps.front() {
            if now.saturating_duration_since(front) > self.window {
                self.stamps.pop_front();
            } else {
                break;
            }
        }
        self.stamps.len() as f64 / self.window.as_secs_f64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_only_the_last_window() {
        let t0 = Instant::now();
        let mut w = RateWindow::new(Duration::from_secs(1));
        for i in 0..30 {
            w.record(t0 + Duration::from_millis(i * 50));
        }
        // At 1.5 s only the events after 0.5 s remain: 20 of them.
        assert_eq!(w.rate(t0 + Duration::from_millis(1500)), 20.0);
        assert_eq!(w.rate(t0 + Duration::from_secs(10)), 0.0);
    }
}
