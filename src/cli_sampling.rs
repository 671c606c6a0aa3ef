//! The sampler flags of `ask` (llama.cpp's names and defaults), and their chain.
use clap::Args;
use gemma_tui::sampling::{Mirostat, SamplerKind, SamplerParams};

/// The sampler chain's settings, with llama.cpp's flag names and defaults (shared by `ask` and,
/// later, profiles).
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Sampling")]
pub struct SamplingArgs {
    /// Sampling temperature; 0 is greedy.
    #[arg(long, default_value_t = 0.8)]
    pub temp: f32,
    /// Dynamic temperature: vary it within temp ± range by the candidates' entropy; 0 is off.
    #[arg(long, default_value_t = 0.0)]
    pub dynatemp_range: f32,
    /// Exponent of the normalised entropy in the dynamic temperature.
    #[arg(long = "dynatemp-exp", default_value_t = 1.0)]
    pub dynatemp_exponent: f32,
    /// Keep the k most likely tokens; 0 keeps all.
    #[arg(long, default_value_t = 40)]
    pub top_k: usize,
    /// Keep the smallest set of tokens whose probability reaches p; 1 is off.
    #[arg(long, default_value_t = 0.95)]
    pub top_p: f32,
    /// Drop tokens less likely than min-p times the most likely one; 0 is off.
    #[arg(long, default_value_t = 0.05)]
    pub min_p: f32,
    /// Locally typical sampling; 1 is off.
    #[arg(long, default_value_t = 1.0)]
    pub typical_p: f32,
    /// 0 off, 1 Mirostat, 2 Mirostat 2.0 (replaces the draw; with the default order the chain is
    /// then temperature and Mirostat, as in llama.cpp).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=2))]
    pub mirostat: u8,
    /// Mirostat's target surprise (bits).
    #[arg(long, default_value_t = 5.0)]
    pub mirostat_tau: f32,
    /// Mirostat's learning rate.
    #[arg(long, default_value_t = 0.1)]
    pub mirostat_eta: f32,
    /// Penalise tokens seen in the last repeat-last-n tokens; 1 is off.
    #[arg(long, default_value_t = 1.0)]
    pub repeat_penalty: f32,
    /// Tokens the penalties look back at; 0 is off.
    #[arg(long, default_value_t = 64)]
    pub repeat_last_n: usize,
    /// Subtracted from a seen token's logit once.
    #[arg(long, default_value_t = 0.0)]
    pub presence_penalty: f32,
    /// Subtracted from a seen token's logit per occurrence.
    #[arg(long, default_value_t = 0.0)]
    pub frequency_penalty: f32,
    /// DRY (don't repeat yourself) strength; 0 is off.
    #[arg(long, default_value_t = 0.0)]
    pub dry_multiplier: f32,
    /// DRY's base: the penalty grows as base^(repeat length - allowed length).
    #[arg(long, default_value_t = 1.75)]
    pub dry_base: f32,
    /// Repeats up to this many tokens are not penalised by DRY.
    #[arg(long, default_value_t = 2)]
    pub dry_allowed_length: usize,
    /// Tokens DRY scans; -1 the whole context, 0 off.
    #[arg(long, default_value_t = -1, allow_hyphen_values = true)]
    pub dry_penalty_last_n: i32,
    /// Chance per token that XTC removes the top choices; 0 is off.
    #[arg(long, default_value_t = 0.0)]
    pub xtc_probability: f32,
    /// XTC removes all but the least likely of the tokens at or above this probability.
    #[arg(long, default_value_t = 0.1)]
    pub xtc_threshold: f32,
    /// Seed for the sampler: the same seed gives the same text.
    #[arg(long)]
    pub seed: Option<u64>,
    /// The order of the samplers, e.g. "penalties;dry;top_k;typical;top_p;min_p;xtc;temperature".
    #[arg(long, value_name = "ORDER", value_parser = parse_samplers)]
    pub samplers: Option<SamplerOrder>,
}

/// A parsed `--samplers` order (a newtype: clap would read a bare `Vec` as repeated values).
#[derive(Debug, Clone, PartialEq)]
pub struct SamplerOrder(pub Vec<SamplerKind>);

fn parse_samplers(s: &str) -> Result<SamplerOrder, String> {
    gemma_tui::sampling::parse_order(s).map(SamplerOrder)
}

impl SamplingArgs {
    /// The parameters these flags describe (checked: NaN and the like are refused).
    pub fn to_params(&self) -> Result<SamplerParams, String> {
        let d = SamplerParams::default();
        let p = SamplerParams {
            temperature: self.temp,
            dynatemp_range: self.dynatemp_range,
            dynatemp_exponent: self.dynatemp_exponent,
            top_k: self.top_k,
            top_p: self.top_p,
            min_p: self.min_p,
            typical_p: self.typical_p,
            repeat_last_n: self.repeat_last_n,
            repeat_penalty: self.repeat_penalty,
            frequency_penalty: self.frequency_penalty,
            presence_penalty: self.presence_penalty,
            dry_multiplier: self.dry_multiplier,
            dry_base: self.dry_base,
            dry_allowed_length: self.dry_allowed_length,
            dry_penalty_last_n: self.dry_penalty_last_n,
            xtc_probability: self.xtc_probability,
            xtc_threshold: self.xtc_threshold,
            mirostat: Mirostat::from_level(self.mirostat).unwrap_or_default(),
            mirostat_tau: self.mirostat_tau,
            mirostat_eta: self.mirostat_eta,
            samplers: self
                .samplers
                .clone()
                .map_or_else(|| d.samplers.clone(), |o| o.0),
            seed: self.seed,
            ..d
        };
        p.validate()?;
        Ok(p)
    }
}
