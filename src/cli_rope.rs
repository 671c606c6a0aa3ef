//! The RoPE scaling flags (global: they apply to every command that loads the model).
use clap::Args;

/// RoPE scaling for longer contexts, with llama.cpp's flags and semantics (global-attention
/// layers only); unset ones come from the profile, the models.toml entry, then the GGUF.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "RoPE scaling")]
pub struct RopeArgs {
    /// none, linear, yarn or ntk (NTK-aware: the base raised by s^(d/(d-2))).
    #[arg(long, global = true, value_enum, value_name = "KIND")]
    pub rope_scaling: Option<gemma_tui::engine::RopeScalingKind>,
    /// Context extension factor N: the frequency scale becomes 1/N.
    #[arg(
        long,
        global = true,
        value_name = "N",
        conflicts_with = "rope_freq_scale"
    )]
    pub rope_scale: Option<f64>,
    /// The global layers' RoPE base (default: the model's).
    #[arg(long, global = true, value_name = "BASE")]
    pub rope_freq_base: Option<f64>,
    /// The frequency scale itself (1/N of --rope-scale).
    #[arg(long, global = true, value_name = "F")]
    pub rope_freq_scale: Option<f64>,
    /// YaRN's original context (default: the model's training context).
    #[arg(long, global = true, value_name = "N")]
    pub yarn_orig_ctx: Option<usize>,
    /// YaRN's extrapolation mix (negative: 1 under YaRN, else 0).
    #[arg(long, global = true, value_name = "F", allow_hyphen_values = true)]
    pub yarn_ext_factor: Option<f64>,
    /// YaRN's magnitude factor (times 1 + 0.1 ln N).
    #[arg(long, global = true, value_name = "F")]
    pub yarn_attn_factor: Option<f64>,
    /// YaRN's low correction dimension (default 32).
    #[arg(long, global = true, value_name = "F")]
    pub yarn_beta_fast: Option<f64>,
    /// YaRN's high correction dimension (default 1).
    #[arg(long, global = true, value_name = "F")]
    pub yarn_beta_slow: Option<f64>,
}

impl RopeArgs {
    /// The flags given, as settings to lay over the profile's and the model entry's.
    pub fn to_scaling(&self) -> gemma_tui::engine::RopeScaling {
        gemma_tui::engine::RopeScaling {
            scaling: self.rope_scaling,
            scale: self.rope_scale,
            freq_scale: self.rope_freq_scale,
            freq_base: self.rope_freq_base,
            yarn_orig_ctx: self.yarn_orig_ctx,
            yarn_ext_factor: self.yarn_ext_factor,
            yarn_attn_factor: self.yarn_attn_factor,
            yarn_beta_fast: self.yarn_beta_fast,
            yarn_beta_slow: self.yarn_beta_slow,
        }
    }
}
