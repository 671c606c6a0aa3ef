//! The `[rag]` table of settings.toml: budget, ranking weights, chunking, and the memory tiers'
//! lifetimes and capacities.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RagSettings {
    /// Whether the dashboard may use RAG at all (each profile and message can still turn it off).
    pub enabled: bool,
    /// Most prompt tokens (Gemma's tokenizer) the injected memories may take.
    pub budget_tokens: usize,
    /// Most memories injected into one prompt.
    pub top_k: usize,
    /// Remember each finished conversation turn (user text and reply) as an episodic memory.
    pub auto_remember: bool,
    /// Files larger than this are skipped by `rag add`.
    pub max_file_bytes: u64,
    /// Chunk size in embedding-model tokens (MiniLM reads at most 256).
    pub chunk_tokens: usize,
    /// Tokens shared by neighbouring chunks, so a fact cut by a boundary is whole in one of them.
    pub chunk_overlap: usize,
    pub weights: RankWeights,
    pub tiers: TierSettings,
}

impl Default for RagSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            budget_tokens: 1024,
            top_k: 10,
            auto_remember: false,
            max_file_bytes: 1 << 20,
            chunk_tokens: 200,
            chunk_overlap: 32,
            weights: RankWeights::default(),
            tiers: TierSettings::default(),
        }
    }
}

/// final score = relevance * w.relevance + recency * w.recency + importance * w.importance, where
/// relevance = (1 - keyword) * cosine + keyword * normalised BM25.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RankWeights {
    pub relevance: f32,
    pub recency: f32,
    pub importance: f32,
    /// Share of relevance given to exact terms (BM25) rather than meaning (cosine).
    pub keyword: f32,
    /// Recency halves every this many hours since a memory was last used.
    pub recency_half_life_hours: f32,
    /// A memory whose embedding is at least this similar to a better-ranked one is dropped.
    pub dedup_similarity: f32,
    /// Memories less relevant than this are never injected, however recent or important.
    pub min_relevance: f32,
}

impl Default for RankWeights {
    fn default() -> Self {
        Self {
            relevance: 0.7,
            recency: 0.15,
            importance: 0.15,
            keyword: 0.3,
            recency_half_life_hours: 168.0,
            dedup_similarity: 0.95,
            min_relevance: 0.2,
        }
    }
}

/// How long a tier's memories live without being used, and how many it keeps.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TierLimit {
    /// 0 keeps them forever.
    pub ttl_hours: f64,
    /// 0 is unlimited.
    pub capacity: usize,
}

impl Default for TierLimit {
    fn default() -> Self {
        Self {
            ttl_hours: 0.0,
            capacity: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TierSettings {
    pub working: TierLimit,
    pub short_term: TierLimit,
    pub long_term: TierLimit,
    pub episodic: TierLimit,
    pub semantic: TierLimit,
}

impl Default for TierSettings {
    fn default() -> Self {
        let limit = |ttl_hours, capacity| TierLimit {
            ttl_hours,
            capacity,
        };
        Self {
            working: limit(1.0, 50),
            short_term: limit(24.0, 500),
            long_term: limit(0.0, 10_000),
            episodic: limit(720.0, 5_000),
            semantic: limit(0.0, 0),
        }
    }
}

impl RagSettings {
    /// Values that parse but cannot be meant: (key, message).
    pub fn validate(&self) -> Result<(), (String, String)> {
        let w = &self.weights;
        for (key, v) in [
            ("weights.relevance", w.relevance),
            ("weights.recency", w.recency),
            ("weights.importance", w.importance),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err((key.into(), format!("{key} must be a non-negative number")));
            }
        }
        for (key, v) in [
            ("weights.keyword", w.keyword),
            ("weights.dedup_similarity", w.dedup_similarity),
            ("weights.min_relevance", w.min_relevance),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err((key.into(), format!("{key} must be within 0..=1 (got {v})")));
            }
        }
        if !w.recency_half_life_hours.is_finite() || w.recency_half_life_hours <= 0.0 {
            let msg = "weights.recency_half_life_hours must be positive".to_string();
            return Err(("weights.recency_half_life_hours".into(), msg));
        }
        if !(16..=256).contains(&self.chunk_tokens) {
            let msg = format!(
                "chunk_tokens must be within 16..=256, what MiniLM reads (got {})",
                self.chunk_tokens
            );
            return Err(("chunk_tokens".into(), msg));
        }
        if self.chunk_overlap >= self.chunk_tokens / 2 {
            let msg = "chunk_overlap must be less than half of chunk_tokens".to_string();
            return Err(("chunk_overlap".into(), msg));
        }
        Ok(())
    }
}
