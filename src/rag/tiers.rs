//! Memory tiers (as the original Gemma CLI had them) and eviction: which memories go when a tier's
//! lifetime or capacity is exceeded. Pure.
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{TierLimit, TierSettings};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Scratch notes for the task at hand.
    Working,
    /// Facts for the next day or so.
    ShortTerm,
    /// Notes to keep (`/remember` without a tier).
    LongTerm,
    /// Conversation turns (automatic memory).
    Episodic,
    /// Documents added with `rag add` / `/add`.
    Semantic,
}

impl Tier {
    pub const ALL: [Tier; 5] = [
        Tier::Working,
        Tier::ShortTerm,
        Tier::LongTerm,
        Tier::Episodic,
        Tier::Semantic,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Working => "working",
            Tier::ShortTerm => "short_term",
            Tier::LongTerm => "long_term",
            Tier::Episodic => "episodic",
            Tier::Semantic => "semantic",
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Tier {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let norm = s.trim().to_ascii_lowercase().replace('-', "_");
        Tier::ALL
            .into_iter()
            .find(|t| t.as_str() == norm)
            .ok_or_else(|| {
                format!("unknown tier `{s}` (tiers: working, short_term, long_term, episodic, semantic)")
            })
    }
}

/// What eviction needs to know of a memory.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Vitals {
    pub id: u64,
    pub tier: Tier,
    pub last_accessed: u64,
    pub access_count: u32,
    pub importance: f32,
}

/// How much a memory is worth keeping (0..1): importance first, then recent and frequent use.
pub fn keep_value(v: &Vitals, now: u64, half_life_hours: f32) -> f32 {
    let age_h = now.saturating_sub(v.last_accessed) as f32 / 3600.0;
    let recency = 0.5f32.powf(age_h / half_life_hours.max(1e-3));
    let use_score = (v.access_count.min(10) as f32) / 10.0;
    0.5 * v.importance.clamp(0.0, 1.0) + 0.3 * recency + 0.2 * use_score
}

/// Ids to evict: those unused for longer than their tier's TTL, then, per tier over capacity, the
/// lowest-valued until it fits.
pub fn to_evict(all: &[Vitals], tiers: &TierSettings, now: u64, half_life_hours: f32) -> Vec<u64> {
    let mut evict = Vec::new();
    let mut by_tier: BTreeMap<Tier, Vec<&Vitals>> = BTreeMap::new();
    for v in all {
        let limit = tiers.limit(v.tier);
        let age_h = now.saturating_sub(v.last_accessed) as f64 / 3600.0;
        if limit.ttl_hours > 0.0 && age_h > limit.ttl_hours {
            evict.push(v.id);
        } else {
            by_tier.entry(v.tier).or_default().push(v);
        }
    }
    for (tier, mut live) in by_tier {
        let capacity = tiers.limit(tier).capacity;
        if capacity == 0 || live.len() <= capacity {
            continue;
        }
        live.sort_by(|a, b| {
            keep_value(a, now, half_life_hours)
                .total_cmp(&keep_value(b, now, half_life_hours))
                .then(a.id.cmp(&b.id))
        });
        let excess = live.len() - capacity;
        evict.extend(live[..excess].iter().map(|v| v.id));
    }
    evict.sort_unstable();
    evict
}

impl TierSettings {
    /// The lifetime and capacity of `tier`.
    pub fn limit(&self, tier: Tier) -> TierLimit {
        match tier {
            Tier::Working => self.working,
            Tier::ShortTerm => self.short_term,
            Tier::LongTerm => self.long_term,
            Tier::Episodic => self.episodic,
            Tier::Semantic => self.semantic,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(id: u64, tier: Tier, hours_ago: u64, importance: f32) -> Vitals {
        Vitals {
            id,
            tier,
            last_accessed: 100_000_000 - hours_ago * 3600,
            access_count: 0,
            importance,
        }
    }

    #[test]
    fn tier_names_round_trip_and_bad_names_are_refused() {
        for t in Tier::ALL {
            assert_eq!(t.as_str().parse::<Tier>().unwrap(), t);
        }
        assert_eq!("short-term".parse::<Tier>().unwrap(), Tier::ShortTerm);
        assert!("forever"
            .parse::<Tier>()
            .unwrap_err()
            .contains("unknown tier"));
    }

    #[test]
    fn expired_memories_go_and_fresh_ones_stay() {
        let tiers = TierSettings::default(); // working: 1 h
        let all = [v(1, Tier::Working, 2, 1.0), v(2, Tier::Working, 0, 0.0)];
        assert_eq!(to_evict(&all, &tiers, 100_000_000, 168.0), vec![1]);
    }

    #[test]
    fn over_capacity_evicts_the_least_valuable_first() {
        let mut tiers = TierSettings {
            long_term: TierLimit {
                ttl_hours: 0.0,
                capacity: 2,
            },
            ..TierSettings::default()
        };
        let all = [
            v(1, Tier::LongTerm, 0, 0.9),
            v(2, Tier::LongTerm, 0, 0.1),
            v(3, Tier::LongTerm, 500, 0.9),
            v(4, Tier::Semantic, 10_000, 0.0),
        ];
        // 2 is unimportant; 3 is important but old: 2 goes first, then 3 vs 1 -> 3 (older).
        let tiers_cap2 = tiers.clone();
        assert_eq!(to_evict(&all, &tiers_cap2, 100_000_000, 168.0), vec![2]);
        tiers.long_term.capacity = 1;
        assert_eq!(to_evict(&all, &tiers, 100_000_000, 168.0), vec![2, 3]);
    }
}
