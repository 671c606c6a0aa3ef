//! The decode bound: how fast this machine can read memory, and so how many decode steps per
//! second it could run at most. A decode step reads every weight once (the matrices do not fit
//! in any cache), so tokens per second cannot exceed read bandwidth over the bytes a step reads.
//! The bandwidth is measured on the machine of the run, with the run's thread count, so the
//! fraction of the bound a run reaches says how much of the hardware it uses rather than comparing
//! against a datasheet figure that a shared or throttled machine never reaches.
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::engine::Gemma3Model;

/// The probe's buffer: far beyond any last-level cache (32 MiB here, a few hundred MB on the
/// largest server parts), so every pass reads from memory as a decode step does.
pub const PROBE_BYTES: usize = 512 << 20;

/// The probe stops after this much time in passes (and at least `MIN_PASSES`), so a bench run
/// pays about a second for it whatever the machine's speed.
const PROBE_TIME: Duration = Duration::from_millis(600);
const MIN_PASSES: usize = 3;
const MAX_PASSES: usize = 50;

/// What a run is measured against: the read bandwidth and the bytes one decode step reads.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct DecodeBound {
    /// Read bandwidth in GB/s (1e9 bytes), the best pass of the probe.
    pub bandwidth_gbs: f64,
    /// Threads the probe read with: the run's.
    pub probe_threads: usize,
    /// The model's weights one decode step reads (the KV cache is not counted; see the README).
    pub decode_bytes_per_step: u64,
    /// `bandwidth_gbs * 1e9 / decode_bytes_per_step`: no decode can be faster.
    pub decode_bound_tps: f64,
}

impl DecodeBound {
    pub fn new(bandwidth_gbs: f64, probe_threads: usize, decode_bytes_per_step: u64) -> Self {
        Self {
            bandwidth_gbs,
            probe_threads,
            decode_bytes_per_step,
            decode_bound_tps: bandwidth_gbs * 1e9 / decode_bytes_per_step.max(1) as f64,
        }
    }

    /// The share of the bound a decode rate reaches.
    pub fn fraction(&self, decode_tps: f64) -> f64 {
        decode_tps / self.decode_bound_tps.max(1e-9)
    }

    /// "bandwidth 31.8 GB/s (2 threads) · a decode step reads 253 MB · bound 126 tok/s · decode
    /// 85.1 tok/s = 0.67 of bound".
    pub fn describe(&self, decode_tps: f64) -> String {
        format!(
            "bandwidth {:.1} GB/s ({} threads) · a decode step reads {:.0} MB · bound {:.0} tok/s \
             · decode {:.1} tok/s = {:.2} of bound",
            self.bandwidth_gbs,
            self.probe_threads,
            self.decode_bytes_per_step as f64 / 1e6,
            self.decode_bound_tps,
            decode_tps,
            self.fraction(decode_tps)
        )
    }
}

/// The bound of decoding the model at `model_path` with `threads` threads: the bytes our loader
/// finds a step reads (the same file's weights whichever engine ran it), then the probe. Call it
/// outside any timed region: the probe keeps every core busy for about a second.
pub fn measure_bound(model_path: &Path, threads: usize) -> Result<DecodeBound, String> {
    // One pool thread: the model is only asked for its tensors, never run.
    let bytes = Gemma3Model::load_path(model_path, 1)
        .map_err(|e| format!("{}: {e}", model_path.display()))?
        .decode_bytes_per_step();
    Ok(DecodeBound::new(measure_read_gbs(threads), threads, bytes))
}

/// Measures read bandwidth with `threads` threads over a `PROBE_BYTES` buffer: GB/s of the best
/// pass. The best, not the mean, because the machine may be shared and a pass slowed by another
/// process says nothing about the hardware; the decode it is compared with is as exposed to that.
pub fn measure_read_gbs(threads: usize) -> f64 {
    let words = filled_buffer(PROBE_BYTES / 8, threads);
    let started = Instant::now();
    let mut best = Duration::MAX;
    for pass in 0..MAX_PASSES {
        let t = Instant::now();
        black_box(parallel_sum(black_box(&words), threads));
        best = best.min(t.elapsed());
        if pass + 1 >= MIN_PASSES && started.elapsed() >= PROBE_TIME {
            break;
        }
    }
    (words.len() * 8) as f64 / best.as_secs_f64().max(1e-9) / 1e9
}

/// A buffer of `len` words, each its own index, written once by the threads that will read it:
/// pages never written would all map the kernel's one zero page, and reading that measures the
/// cache, not memory.
fn filled_buffer(len: usize, threads: usize) -> Vec<u64> {
    let mut words: Vec<u64> = Vec::with_capacity(len);
    let spare = &mut words.spare_capacity_mut()[..len];
    let share = len.div_ceil(threads.max(1)).max(1);
    std::thread::scope(|s| {
        for (i, part) in spare.chunks_mut(share).enumerate() {
            s.spawn(move || {
                for (j, w) in part.iter_mut().enumerate() {
                    w.write((i * share + j) as u64);
                }
            });
        }
    });
    // SAFETY: every one of the first `len` words was written above (the chunks cover them).
    unsafe { words.set_len(len) };
    words
}

/// The wrapping sum of `words`, each thread summing its own contiguous share, as a decode step's
/// threads each read their own rows of a matrix.
pub fn parallel_sum(words: &[u64], threads: usize) -> u64 {
    let share = words.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|s| {
        let parts: Vec<_> = words
            .chunks(share)
            .map(|part| s.spawn(move || sum_words(part)))
            .collect();
        parts
            .into_iter()
            .map(|p| p.join().unwrap_or(0))
            .fold(0u64, u64::wrapping_add)
    })
}

/// The wrapping sum of `words`. A plain fold: the compiler splits it into vector lanes (the build
/// targets the native CPU, AVX2 or wider here), and on this machine it read faster than a
/// hand-split eight-lane loop (about 20 GB/s against 5, which the compiler did not vectorise) and
/// than a scalar loop kept from vectorising (19).
fn sum_words(words: &[u64]) -> u64 {
    words.iter().fold(0u64, |sum, w| sum.wrapping_add(*w))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sum of 0..len, the pattern `filled_buffer` writes.
    fn triangle(len: u64) -> u64 {
        len * (len - 1) / 2
    }

    #[test]
    fn the_sum_reads_every_word_once_whatever_the_split() {
        // Lengths that split unevenly and leave a tail shorter than the lanes.
        for (len, threads) in [(1, 1), (7, 3), (1000, 1), (1003, 2), (100_001, 7), (64, 64)] {
            let words = filled_buffer(len, threads);
            assert_eq!(words.len(), len);
            assert_eq!(
                parallel_sum(&words, threads),
                triangle(len as u64),
                "{len}/{threads}"
            );
        }
    }

    #[test]
    fn a_changed_word_changes_the_sum() {
        let mut words = filled_buffer(10_000, 2);
        let before = parallel_sum(&words, 2);
        words[9_999] += 1;
        assert_eq!(parallel_sum(&words, 2), before + 1);
        words[0] += 5;
        assert_eq!(parallel_sum(&words, 3), before + 6);
    }

    #[test]
    fn the_bound_is_bandwidth_over_bytes() {
        let b = DecodeBound::new(30.0, 2, 250_000_000);
        assert_eq!(b.decode_bound_tps, 120.0);
        assert_eq!(b.fraction(60.0), 0.5);
        assert_eq!(
            b.describe(60.0),
            "bandwidth 30.0 GB/s (2 threads) · a decode step reads 250 MB · bound 120 tok/s \
             · decode 60.0 tok/s = 0.50 of bound"
        );
    }
}
