//! What a user can set: the samplers, their order and their parameters, with llama.cpp's names and
//! defaults so that a setting means here what it means there.
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One stage of the chain. The final draw (or Mirostat) always comes after them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SamplerKind {
    /// Repetition, frequency and presence penalties over the last `repeat_last_n` tokens.
    Penalties,
    /// "Don't repeat yourself": penalises tokens that would extend a repeated sequence.
    Dry,
    TopK,
    /// Locally typical sampling.
    Typical,
    TopP,
    MinP,
    /// Exclude top choices.
    Xtc,
    /// Temperature, dynamic when `dynatemp_range > 0`.
    Temperature,
}

impl SamplerKind {
    /// llama.cpp's default order.
    pub const DEFAULT_ORDER: [SamplerKind; 8] = [
        SamplerKind::Penalties,
        SamplerKind::Dry,
        SamplerKind::TopK,
        SamplerKind::Typical,
        SamplerKind::TopP,
        SamplerKind::MinP,
        SamplerKind::Xtc,
        SamplerKind::Temperature,
    ];

    /// The name `--samplers` takes (llama.cpp's, except "typical" for its "typ_p").
    pub fn name(self) -> &'static str {
        match self {
            SamplerKind::Penalties => "penalties",
            SamplerKind::Dry => "dry",
            SamplerKind::TopK => "top_k",
            SamplerKind::Typical => "typical",
            SamplerKind::TopP => "top_p",
            SamplerKind::MinP => "min_p",
            SamplerKind::Xtc => "xtc",
            SamplerKind::Temperature => "temperature",
        }
    }
}

impl fmt::Display for SamplerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SamplerKind {
    type Err = String;

    /// Accepts the names llama.cpp accepts (`top-k`, `typ_p`, `temp`, `nucleus`, …).
    fn from_str(s: &str) -> Result<Self, String> {
        let k = match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "penalties" | "penalty" | "repetition" => SamplerKind::Penalties,
            "dry" => SamplerKind::Dry,
            "top_k" | "k" => SamplerKind::TopK,
            "typical" | "typical_p" | "typ_p" | "typ" | "locally_typical" | "y" => {
                SamplerKind::Typical
            }
            "top_p" | "nucleus" | "p" => SamplerKind::TopP,
            "min_p" | "m" => SamplerKind::MinP,
            "xtc" | "x" => SamplerKind::Xtc,
            "temperature" | "temp" | "t" => SamplerKind::Temperature,
            other => {
                return Err(format!(
                    "unknown sampler `{other}` (known: penalties, dry, top_k, typical, top_p, \
                     min_p, xtc, temperature)"
                ))
            }
        };
        Ok(k)
    }
}

/// Parses an order such as `penalties;dry;top_k;temperature` (`;` or `,` between names).
pub fn parse_order(s: &str) -> Result<Vec<SamplerKind>, String> {
    let order: Vec<SamplerKind> = s
        .split([';', ','])
        .filter(|p| !p.trim().is_empty())
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    if order.is_empty() {
        return Err("the sampler order is empty".into());
    }
    Ok(order)
}

/// Formats an order the way [`parse_order`] reads it.
pub fn format_order(order: &[SamplerKind]) -> String {
    order.iter().map(|k| k.name()).collect::<Vec<_>>().join(";")
}

/// Mirostat: off, v1 or v2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mirostat {
    #[default]
    Off,
    V1,
    V2,
}

impl Mirostat {
    pub fn from_level(level: u8) -> Option<Self> {
        match level {
            0 => Some(Mirostat::Off),
            1 => Some(Mirostat::V1),
            2 => Some(Mirostat::V2),
            _ => None,
        }
    }

    pub fn level(self) -> u8 {
        match self {
            Mirostat::Off => 0,
            Mirostat::V1 => 1,
            Mirostat::V2 => 2,
        }
    }
}

/// Every setting of the chain. `Default` is llama.cpp's defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SamplerParams {
    /// 0 (or below) picks the most likely token every step.
    pub temperature: f32,
    /// Dynamic temperature: the temperature moves within `temperature ± dynatemp_range` with the
    /// normalised entropy of the candidates; 0 disables.
    pub dynatemp_range: f32,
    pub dynatemp_exponent: f32,
    /// Keep the k most likely tokens; 0 keeps all.
    pub top_k: usize,
    /// Keep the smallest set whose probability reaches p; 1 disables.
    pub top_p: f32,
    /// Drop tokens less likely than min_p times the most likely one; 0 disables.
    pub min_p: f32,
    /// Locally typical sampling mass; 1 disables.
    pub typical_p: f32,
    /// Tokens looked back at by the penalties; 0 disables them.
    pub repeat_last_n: usize,
    /// Divides positive (multiplies negative) logits of recent tokens; 1 disables.
    pub repeat_penalty: f32,
    /// Subtracted once per occurrence in the window.
    pub frequency_penalty: f32,
    /// Subtracted once if present in the window.
    pub presence_penalty: f32,
    /// DRY strength; 0 disables.
    pub dry_multiplier: f32,
    pub dry_base: f32,
    /// Repeats up to this length are not penalised.
    pub dry_allowed_length: usize,
    /// Tokens DRY scans; -1 the whole context, 0 disables.
    pub dry_penalty_last_n: i32,
    /// Text that ends a repeated sequence for DRY (llama.cpp's defaults: newline, `:`, `"`, `*`).
    pub dry_sequence_breakers: Vec<String>,
    /// Chance that XTC removes the top choices on a step; 0 disables.
    pub xtc_probability: f32,
    /// XTC removes all but the least likely of the tokens at or above this probability.
    pub xtc_threshold: f32,
    pub mirostat: Mirostat,
    /// Mirostat's target surprise in bits.
    pub mirostat_tau: f32,
    /// Mirostat's learning rate.
    pub mirostat_eta: f32,
    /// Every truncating sampler keeps at least this many tokens (and always at least one).
    pub min_keep: usize,
    /// The order of the stages. With Mirostat on and this order left at the default, the chain
    /// is temperature then Mirostat, as in llama.cpp; any other order runs before Mirostat.
    pub samplers: Vec<SamplerKind>,
    /// The same seed gives the same text; `None` draws a seed from the OS.
    pub seed: Option<u64>,
}

impl Default for SamplerParams {
    fn default() -> Self {
        Self {
            temperature: 0.8,
            dynatemp_range: 0.0,
            dynatemp_exponent: 1.0,
            top_k: 40,
            top_p: 0.95,
            min_p: 0.05,
            typical_p: 1.0,
            repeat_last_n: 64,
            repeat_penalty: 1.0,
            frequency_penalty: 0.0,
            presence_penalty: 0.0,
            dry_multiplier: 0.0,
            dry_base: 1.75,
            dry_allowed_length: 2,
            dry_penalty_last_n: -1,
            dry_sequence_breakers: ["\n", ":", "\"", "*"].map(String::from).to_vec(),
            xtc_probability: 0.0,
            xtc_threshold: 0.1,
            mirostat: Mirostat::Off,
            mirostat_tau: 5.0,
            mirostat_eta: 0.1,
            min_keep: 0,
            samplers: SamplerKind::DEFAULT_ORDER.to_vec(),
            seed: None,
        }
    }
}

impl SamplerParams {
    pub fn greedy() -> Self {
        Self {
            temperature: 0.0,
            ..Self::default()
        }
    }

    /// The stages that actually run, in order (the draw or Mirostat follows them).
    pub fn chain(&self) -> Vec<SamplerKind> {
        if self.mirostat != Mirostat::Off && self.samplers == SamplerKind::DEFAULT_ORDER {
            return vec![SamplerKind::Temperature];
        }
        self.samplers.clone()
    }

    /// Whether a stage changes anything with these parameters (disabled ones are shown dimmed).
    pub fn is_active(&self, kind: SamplerKind) -> bool {
        match kind {
            SamplerKind::Penalties => {
                self.repeat_last_n > 0
                    && (self.repeat_penalty != 1.0
                        || self.frequency_penalty != 0.0
                        || self.presence_penalty != 0.0)
            }
            SamplerKind::Dry => {
                self.dry_multiplier != 0.0 && self.dry_base >= 1.0 && self.dry_penalty_last_n != 0
            }
            SamplerKind::TopK => self.top_k > 0,
            SamplerKind::Typical => self.typical_p < 1.0,
            SamplerKind::TopP => self.top_p < 1.0,
            SamplerKind::MinP => self.min_p > 0.0,
            SamplerKind::Xtc => self.xtc_probability > 0.0 && self.xtc_threshold <= 0.5,
            SamplerKind::Temperature => true,
        }
    }

    /// Rejects values that cannot mean anything (NaN, negative sizes of things).
    pub fn validate(&self) -> Result<(), String> {
        let finite = [
            ("temperature", self.temperature),
            ("dynatemp_range", self.dynatemp_range),
            ("dynatemp_exponent", self.dynatemp_exponent),
            ("top_p", self.top_p),
            ("min_p", self.min_p),
            ("typical_p", self.typical_p),
            ("repeat_penalty", self.repeat_penalty),
            ("frequency_penalty", self.frequency_penalty),
            ("presence_penalty", self.presence_penalty),
            ("dry_multiplier", self.dry_multiplier),
            ("dry_base", self.dry_base),
            ("xtc_probability", self.xtc_probability),
            ("xtc_threshold", self.xtc_threshold),
            ("mirostat_tau", self.mirostat_tau),
            ("mirostat_eta", self.mirostat_eta),
        ];
        for (name, v) in finite {
            if !v.is_finite() {
                return Err(format!("{name} must be a finite number, not {v}"));
            }
        }
        if self.repeat_penalty <= 0.0 {
            return Err("repeat_penalty must be above 0".into());
        }
        if self.dynatemp_range < 0.0 {
            return Err("dynatemp_range must not be negative".into());
        }
        if self.dry_penalty_last_n < -1 {
            return Err("dry_penalty_last_n must be -1 (whole context), 0 or more".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_round_trips_and_accepts_llama_cpp_spellings() {
        let order = parse_order("penalties;dry;top_k;typical;top_p;min_p;xtc;temperature").unwrap();
        assert_eq!(order, SamplerKind::DEFAULT_ORDER);
        assert_eq!(parse_order(&format_order(&order)).unwrap(), order);
        assert_eq!(
            parse_order("top-k, typ_p ,temp").unwrap(),
            [
                SamplerKind::TopK,
                SamplerKind::Typical,
                SamplerKind::Temperature
            ]
        );
        assert!(parse_order("top_k;bogus").unwrap_err().contains("bogus"));
        assert!(parse_order(" ; ").is_err());
    }

    #[test]
    fn mirostat_with_the_default_order_is_temperature_then_mirostat() {
        let mut p = SamplerParams {
            mirostat: Mirostat::V2,
            ..SamplerParams::default()
        };
        assert_eq!(p.chain(), [SamplerKind::Temperature]);
        p.samplers = vec![SamplerKind::MinP, SamplerKind::Temperature];
        assert_eq!(p.chain(), p.samplers);
        p.mirostat = Mirostat::Off;
        p.samplers = SamplerKind::DEFAULT_ORDER.to_vec();
        assert_eq!(p.chain(), SamplerKind::DEFAULT_ORDER);
    }

    #[test]
    fn validation_rejects_nan_and_nonsense() {
        assert!(SamplerParams::default().validate().is_ok());
        let bad = SamplerParams {
            top_p: f32::NAN,
            ..SamplerParams::default()
        };
        assert!(bad.validate().unwrap_err().contains("top_p"));
        let bad = SamplerParams {
            repeat_penalty: 0.0,
            ..SamplerParams::default()
        };
        assert!(bad.validate().is_err());
    }
}
