//! The wall clock as an input: the state machine never reads the system clock. The run loop
//! anchors it once ([`WallClock::anchored`]: this `Instant` is that `SystemTime`) and every wall
//! time after is the anchor plus the `now: Instant` that came with the event.
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Wall-clock time derived from the monotonic `now` each event brings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WallClock {
    /// (an instant, the wall time at it); None until anchored: the first `now` seen is then
    /// taken as one second after the epoch (tests that do not care get small, stable times).
    anchor: Option<(Instant, SystemTime)>,
    /// The last conversation id handed out (ids stay unique when `now` does not move).
    last_id: u64,
}

impl WallClock {
    /// `instant` was `wall`.
    pub fn anchored(instant: Instant, wall: SystemTime) -> Self {
        Self {
            anchor: Some((instant, wall)),
            last_id: 0,
        }
    }

    /// The wall time at `now`.
    pub fn wall(&mut self, now: Instant) -> SystemTime {
        let (at, wall) = *self
            .anchor
            .get_or_insert((now, UNIX_EPOCH + Duration::from_secs(1)));
        if now >= at {
            wall + (now - at)
        } else {
            wall.checked_sub(at - now).unwrap_or(UNIX_EPOCH)
        }
    }

    /// Wall-clock milliseconds at `now` (stored timestamps).
    pub fn unix_ms(&mut self, now: Instant) -> u64 {
        self.since_epoch(now).as_millis() as u64
    }

    /// A new conversation id: wall-clock microseconds at `now`, above every id handed out before.
    pub fn new_id(&mut self, now: Instant) -> u64 {
        let micros = self.since_epoch(now).as_micros() as u64;
        self.last_id = micros.max(self.last_id + 1);
        self.last_id
    }

    fn since_epoch(&mut self, now: Instant) -> Duration {
        self.wall(now)
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_time_follows_the_anchor_and_ids_stay_unique() {
        let t0 = Instant::now();
        let wall = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut clock = WallClock::anchored(t0, wall);
        assert_eq!(clock.unix_ms(t0), 1_700_000_000_000);
        let later = t0 + Duration::from_millis(1500);
        assert_eq!(clock.unix_ms(later), 1_700_000_001_500);
        let a = clock.new_id(later);
        let b = clock.new_id(later);
        assert!(b > a, "{a} {b}");
        let mut fresh = WallClock::default();
        assert_eq!(fresh.unix_ms(t0), 1000);
    }
}
