//! The forward pass's working buffers. They live with each conversation's KV cache, so a step
//! neither allocates nor faults in fresh pages.
use super::gemm::PackedActs;

/// Buffers for one step's activations, kept across steps.
#[derive(Default)]
pub(crate) struct Scratch {
    pub(crate) h: Vec<f32>,
    pub(crate) q: Vec<f32>,
    pub(crate) k: Vec<f32>,
    pub(crate) v: Vec<f32>,
    pub(crate) attn: Vec<f32>,
    pub(crate) o: Vec<f32>,
    pub(crate) hn: Vec<f32>,
    pub(crate) g: Vec<f32>,
    pub(crate) u: Vec<f32>,
    pub(crate) f: Vec<f32>,
    /// A prompt's activations quantized for the batched kernels.
    pub(crate) acts: PackedActs,
}
