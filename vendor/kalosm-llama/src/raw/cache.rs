use candle_core::{Device, Tensor};
use candle_nn::kv_cache::Cache;
use kalosm_common::KvCache;
use std::collections::HashMap;

use super::LlamaConfig;

/// The dimension along which the attention cache is concatenated with attention for new tokens.
const CONCAT_DIMENSION: usize = 2;

/// A cache for llama inference. This cache will speed up generation of sequential text significantly.
#[derive(Debug, Clone)]
pub struct LlamaCache {
    max_seq_len: usize,
    pub(crate) tokens: Vec<u32>,
    pub(crate) blocks: Vec<KvCache>,
}

impl LlamaCache {
    /// Create a new cache for a model
    pub fn new(config: &LlamaConfig) -> Self {
        let max_seq_len = config.context_length;
        let mut blocks = Vec::with_capacity(config.n_layer);
        for _ in 0..config.n_layer {
            blocks.push(KvCache::new(CONCAT_DIMENSION, max_seq_len))
        }
        Self {
            max_seq_len,
            tokens: Vec::new(),
            blocks,
        }
    }

    /// gemma-tui patch: an empty cache for `n_layer` layers growing up to `max_seq_len`
    /// positions (`new` always sizes it for the model's whole context).
    pub fn with_max_seq_len(n_layer: usize, max_seq_len: usize) -> Self {
        Self {
            max_seq_len,
            tokens: Vec::new(),
            blocks: (0..n_layer)
                .map(|_| KvCache::new(CONCAT_DIMENSION, max_seq_len))
                .collect(),
        }
    }

    /// gemma-tui patch: positions in the cache.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// gemma-tui patch: whether the cache holds no position.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// gemma-tui patch: the most positions this cache holds.
    pub fn max_seq_len(&self) -> usize {
        self.max_seq_len
    }

    /// gemma-tui patch: forgets every position from `len` on (keys and values are copied down
    /// to `len` positions per layer).
    pub fn truncate(&mut self, len: usize) -> candle_core::Result<()> {
        if len >= self.tokens.len() {
            return Ok(());
        }
        self.tokens.truncate(len);
        for block in &mut self.blocks {
            let (k, v) = (block.cache().k()?, block.cache().v()?);
            block.reset();
            if let (Some(k), Some(v), true) = (k, v, len > 0) {
                block.append(
                    &k.narrow(CONCAT_DIMENSION, 0, len)?,
                    &v.narrow(CONCAT_DIMENSION, 0, len)?,
                )?;
            }
        }
        Ok(())
    }

    /// Clear the cache.
    pub fn clear(&mut self) {
        for block in &mut self.blocks {
            block.reset()
        }
    }

    /// Get the tensor map for this cache. This can be used to save the cache to disk.
    pub fn get_tensor_map(&self, device: &Device) -> HashMap<String, Tensor> {
        let mut map = HashMap::with_capacity(self.blocks.len());
        for (i, kv_cache) in self.blocks.iter().enumerate() {
            if let (Ok(Some(k)), Ok(Some(v))) = (kv_cache.cache().k(), kv_cache.cache().v()) {
                map.insert(
                    format!("llama.cache.blocks.{}.key", i),
                    k.to_device(device).unwrap(),
                );
                map.insert(
                    format!("llama.cache.blocks.{}.value", i),
                    v.to_device(device).unwrap(),
                );
            }
        }
        if !self.tokens.is_empty() {
            // Tensor from iter panics or segfaults if the iterator is empty
            map.insert(
                "llama.cache.tokens".to_string(),
                Tensor::from_iter(self.tokens.iter().copied(), device).unwrap(),
            );
        }
        map.insert(
            "llama.cache.max_seq_len".to_string(),
            Tensor::new(self.max_seq_len as u32, device).unwrap(),
        );
        map
    }

    /// Create a cache from a tensor map. This can be used to load a cache from disk.
    pub fn from_tensor_map(map: HashMap<String, Tensor>) -> candle_core::Result<Self> {
        let tokens: Vec<u32> = map
            .get("llama.cache.tokens")
            .and_then(|tokens| tokens.to_vec1().ok())
            .unwrap_or_default();
        let max_seq_len = map
            .get("llama.cache.max_seq_len")
            .and_then(|max_seq_len| max_seq_len.to_scalar::<u32>().ok())
            .unwrap_or(2048) as usize;
        let mut blocks = Vec::with_capacity(24);
        for (k, v) in map {
            if let Some(i) = k.strip_prefix("llama.cache.blocks.") {
                let i = i
                    .strip_suffix(".key")
                    .unwrap_or_else(|| i.strip_suffix(".value").unwrap());
                let i = i.parse::<usize>().unwrap_or(0);
                if i >= blocks.len() {
                    blocks.resize(i + 1, KvCache::new(CONCAT_DIMENSION, max_seq_len));
                }
                if k.ends_with(".key") {
                    match blocks.get_mut(i) {
                        Some(cache) => {
                            let key_cache = cache.cache_mut().k_cache_mut();
                            let len = v.dim(CONCAT_DIMENSION)?;
                            *key_cache = Cache::new(CONCAT_DIMENSION, len);
                            key_cache.append(&v)?;
                        }
                        _ => {
                            let mut cache = KvCache::new(CONCAT_DIMENSION, max_seq_len);
                            let key_cache = cache.cache_mut().k_cache_mut();
                            let len = v.dim(CONCAT_DIMENSION)?;
                            *key_cache = Cache::new(CONCAT_DIMENSION, len);
                            key_cache.append(&v)?;
                            blocks[i] = cache;
                        }
                    }
                } else if k.ends_with(".value") {
                    match blocks.get_mut(i) {
                        Some(cache) => {
                            let value_cache = cache.cache_mut().v_cache_mut();
                            let len = v.dim(CONCAT_DIMENSION)?;
                            *value_cache = Cache::new(CONCAT_DIMENSION, len);
                            value_cache.append(&v)?;
                        }
                        _ => {
                            let mut cache = KvCache::new(CONCAT_DIMENSION, max_seq_len);
                            let value_cache = cache.cache_mut().v_cache_mut();
                            let len = v.dim(CONCAT_DIMENSION)?;
                            *value_cache = Cache::new(CONCAT_DIMENSION, len);
                            value_cache.append(&v)?;
                            blocks[i] = cache;
                        }
                    }
                }
            }
        }
        Ok(Self {
            tokens,
            blocks,
            max_seq_len,
        })
    }
}
