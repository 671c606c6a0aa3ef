//! RoPE scaling for longer contexts, with llama.cpp's settings and semantics: none, linear
//! (position interpolation), YaRN (ggml's: a ramp between interpolated and extrapolated
//! frequencies and a magnitude factor) and NTK-aware (the base raised, not a llama.cpp mode: its
//! users emulate it with `--rope-freq-base`). As in llama.cpp's Gemma 3, scaling applies to the
//! global-attention layers only; the sliding-window layers keep their own base and scale 1.
//!
//! [`RopeScaling`] is what a user asks for (flags, models.toml, profiles): every field optional,
//! the GGUF's values standing in for the missing ones. [`RopeScaling::resolve`] turns it into the
//! [`RopeParams`] the forward pass uses, as llama.cpp's context setup does.
use serde::{Deserialize, Serialize};

/// The scaling method (llama.cpp's `--rope-scaling`, plus `ntk`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum RopeScalingKind {
    /// No scaling: the frequency scale is forced to 1.
    None,
    /// Every frequency multiplied by the frequency scale.
    Linear,
    /// ggml's YaRN.
    Yarn,
    /// NTK-aware: base x s^(d / (d - 2)), frequency scale 1.
    Ntk,
}

impl RopeScalingKind {
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "none" => Some(Self::None),
            "linear" => Some(Self::Linear),
            "yarn" => Some(Self::Yarn),
            "ntk" => Some(Self::Ntk),
            _ => None,
        }
    }
}

/// A user's RoPE settings; `None` takes the model's value (llama.cpp's defaults after that).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RopeScaling {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scaling: Option<RopeScalingKind>,
    /// The context extension factor: the frequency scale is 1 / scale (`--rope-scale`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale: Option<f64>,
    /// The frequency scale itself (`--rope-freq-scale`); wins over `scale`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub freq_scale: Option<f64>,
    /// The global layers' base (`--rope-freq-base`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub freq_base: Option<f64>,
    /// YaRN's original context (0 or absent: the GGUF's, else its training context).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub yarn_orig_ctx: Option<usize>,
    /// Extrapolation mix (negative or absent: 1 under YaRN, else 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub yarn_ext_factor: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub yarn_attn_factor: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub yarn_beta_fast: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub yarn_beta_slow: Option<f64>,
}

/// What the model file says about RoPE (llama.cpp's training hyper-parameters).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ModelRope {
    /// The global layers' base.
    pub freq_base: f64,
    /// `rope.scaling.type` (llama.cpp reads a missing one as linear).
    pub scaling: RopeScalingKind,
    /// 1 / `rope.scaling.factor` (1 when absent).
    pub freq_scale: f64,
    /// `rope.scaling.original_context_length`, else the training context.
    pub orig_ctx: usize,
    /// `rope.scaling.attn_factor` (1 when absent).
    pub attn_factor: f64,
    /// Rotated dimensions per head.
    pub n_dims: usize,
}

/// The rotation of one layer: every value the angle tables depend on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RopeParams {
    pub freq_base: f64,
    pub freq_scale: f64,
    pub ext_factor: f64,
    pub attn_factor: f64,
    pub beta_fast: f64,
    pub beta_slow: f64,
    pub orig_ctx: usize,
}

impl RopeParams {
    /// Plain RoPE with `base` (the sliding-window layers).
    pub fn plain(freq_base: f64) -> Self {
        Self {
            freq_base,
            freq_scale: 1.0,
            ext_factor: 0.0,
            attn_factor: 1.0,
            beta_fast: 32.0,
            beta_slow: 1.0,
            orig_ctx: 0,
        }
    }

    /// ggml's YaRN correction dimensions for `n_dims` rotated dimensions: the pair indices
    /// between which the ramp goes from extrapolation to interpolation.
    pub fn corr_dims(&self, n_dims: usize) -> [f64; 2] {
        let corr_dim = |beta: f64| {
            n_dims as f64 * (self.orig_ctx as f64 / (beta * 2.0 * std::f64::consts::PI)).ln()
                / (2.0 * self.freq_base.ln())
        };
        let low = corr_dim(self.beta_fast).floor().max(0.0);
        let high = corr_dim(self.beta_slow).ceil().min(n_dims as f64 - 1.0);
        [low, high]
    }

    /// The angle of pair `i` of `n_dims` at `pos`, as ggml's `rope_yarn`: theta x freq_scale with
    /// ext_factor 0 (linear), else the ramp's mix of the interpolated and extrapolated angles.
    pub fn theta(&self, pos: usize, i: usize, n_dims: usize, corr: [f64; 2]) -> f64 {
        let theta_extrap = pos as f64 * self.freq_base.powf(-2.0 * i as f64 / n_dims as f64);
        let theta_interp = self.freq_scale * theta_extrap;
        if self.ext_factor == 0.0 {
            return theta_interp;
        }
        let y = (i as f64 - corr[0]) / (corr[1] - corr[0]).max(0.001);
        let mix = (1.0 - y.clamp(0.0, 1.0)) * self.ext_factor;
        theta_interp * (1.0 - mix) + theta_extrap * mix
    }

    /// (cos, sin) factors of pair `i` at `pos`: those of [`RopeParams::theta`] times the
    /// magnitude, attn_factor x (1 + 0.1 ln(1 / freq_scale)) when ext_factor is set, else
    /// attn_factor.
    pub fn angle(&self, pos: usize, i: usize, n_dims: usize, corr: [f64; 2]) -> (f64, f64) {
        let theta = self.theta(pos, i, n_dims, corr);
        let mscale = if self.ext_factor != 0.0 {
            self.attn_factor * (1.0 + 0.1 * (1.0 / self.freq_scale).ln())
        } else {
            self.attn_factor
        };
        (theta.cos() * mscale, theta.sin() * mscale)
    }
}

impl RopeScaling {
    /// Whether any setting is given.
    pub fn is_unset(&self) -> bool {
        *self == Self::default()
    }

    /// `over`'s settings where given, else these.
    pub fn overlaid(self, over: &RopeScaling) -> RopeScaling {
        RopeScaling {
            scaling: over.scaling.or(self.scaling),
            // A frequency scale or a scale given later replaces both earlier ones.
            scale: if over.scale.is_some() || over.freq_scale.is_some() {
                over.scale
            } else {
                self.scale
            },
            freq_scale: if over.scale.is_some() || over.freq_scale.is_some() {
                over.freq_scale
            } else {
                self.freq_scale
            },
            freq_base: over.freq_base.or(self.freq_base),
            yarn_orig_ctx: over.yarn_orig_ctx.or(self.yarn_orig_ctx),
            yarn_ext_factor: over.yarn_ext_factor.or(self.yarn_ext_factor),
            yarn_attn_factor: over.yarn_attn_factor.or(self.yarn_attn_factor),
            yarn_beta_fast: over.yarn_beta_fast.or(self.yarn_beta_fast),
            yarn_beta_slow: over.yarn_beta_slow.or(self.yarn_beta_slow),
        }
    }

    /// Refuses values no RoPE can use (zero or negative scales and bases, NaN).
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("rope scale", self.scale),
            ("rope frequency scale", self.freq_scale),
            ("rope frequency base", self.freq_base),
            ("YaRN beta fast", self.yarn_beta_fast),
            ("YaRN beta slow", self.yarn_beta_slow),
        ];
        for (name, value) in positive {
            if let Some(v) = value.filter(|v| !(v.is_finite() && *v > 0.0)) {
                return Err(format!("{name} must be a positive number, not {v}"));
            }
        }
        for (name, value) in [
            ("YaRN extrapolation factor", self.yarn_ext_factor),
            ("YaRN attention factor", self.yarn_attn_factor),
        ] {
            if let Some(v) = value.filter(|v| !v.is_finite()) {
                return Err(format!("{name} must be a number, not {v}"));
            }
        }
        Ok(())
    }

    /// The global layers' rotation, as llama.cpp's context setup derives it.
    pub fn resolve(&self, model: &ModelRope) -> RopeParams {
        let kind = self.scaling.unwrap_or(model.scaling);
        let mut freq_base = self.freq_base.unwrap_or(model.freq_base);
        let mut freq_scale = self
            .freq_scale
            .or(self.scale.map(|s| 1.0 / s))
            .unwrap_or(model.freq_scale);
        match kind {
            RopeScalingKind::None => freq_scale = 1.0,
            RopeScalingKind::Ntk => {
                let d = model.n_dims as f64;
                freq_base = ntk_base(freq_base, 1.0 / freq_scale, d);
                freq_scale = 1.0;
            }
            RopeScalingKind::Linear | RopeScalingKind::Yarn => {}
        }
        let ext_factor = match self.yarn_ext_factor {
            Some(e) if e >= 0.0 => e,
            _ if kind == RopeScalingKind::Yarn => 1.0,
            _ => 0.0,
        };
        RopeParams {
            freq_base,
            freq_scale,
            ext_factor,
            attn_factor: self.yarn_attn_factor.unwrap_or(1.0) * model.attn_factor,
            beta_fast: self.yarn_beta_fast.unwrap_or(32.0),
            beta_slow: self.yarn_beta_slow.unwrap_or(1.0),
            orig_ctx: self
                .yarn_orig_ctx
                .filter(|&c| c > 0)
                .unwrap_or(model.orig_ctx),
        }
    }
}

/// NTK-aware base for a context extension of `s` with `d` rotated dimensions.
pub fn ntk_base(base: f64, s: f64, d: f64) -> f64 {
    base * s.powf(d / (d - 2.0))
}

#[cfg(test)]
#[path = "rope_scaling_tests.rs"]
mod tests;
