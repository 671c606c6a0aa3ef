//! The sampler form (F2) as a component: the parameters in effect, whether the pane shows, which
//! parameter is selected, its keys ([`SamplerForm::handle`]) and how each parameter steps and shows
//! itself. Every change returns `Effect::ConfigureSampler`, so it applies from the next token on.
use super::action::{Action, Focus};
use super::effect::Effect;
use super::outcome::{Ctx, Outcome};
use crate::sampling::{Mirostat, SamplerKind, SamplerParams};

/// The sampler pane: the parameters in effect and the form that edits them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SamplerForm {
    /// The sampler parameters in effect.
    pub params: SamplerParams,
    /// The pane shows.
    pub open: bool,
    /// The selected row (an index into [`Param::ALL`]).
    pub row: usize,
    /// A remote model's server and the settings it does not apply (`field = value`).
    pub not_applied: Option<(String, Vec<String>)>,
}

impl SamplerForm {
    /// The selected parameter.
    pub fn selected(&self) -> Param {
        Param::ALL[self.row.min(Param::ALL.len() - 1)]
    }

    /// Replaces the parameters in effect (a profile, a reload); the effect that applies them if
    /// they changed.
    pub fn set_params(&mut self, params: SamplerParams) -> Option<Effect> {
        if params == self.params {
            return None;
        }
        self.params = params;
        Some(Effect::ConfigureSampler(self.params.clone()))
    }

    /// The form's actions: show/hide (F2), move between rows, step a value, reset.
    pub fn handle(&mut self, action: Action, ctx: &Ctx) -> Outcome {
        let n = Param::ALL.len();
        match action {
            Action::ToggleSampler => {
                if self.open && ctx.focus == Focus::Sampler {
                    self.open = false;
                    return Outcome::focus(Focus::Input);
                }
                self.open = true;
                return Outcome::focus(Focus::Sampler);
            }
            Action::SamplerPrev => self.row = (self.row + n - 1) % n,
            Action::SamplerNext => self.row = (self.row + 1) % n,
            Action::SamplerIncrease | Action::SamplerDecrease => {
                let param = self.selected();
                let before = self.params.clone();
                param.step(&mut self.params, action == Action::SamplerIncrease);
                if self.params != before {
                    return Outcome::status(format!(
                        "{} = {}",
                        param.name(),
                        param.show(&self.params)
                    ))
                    .and(Effect::ConfigureSampler(self.params.clone()));
                }
            }
            Action::SamplerDefaults => {
                // The seed is not a pane setting: keep the one given on the command line.
                let fresh = SamplerParams {
                    seed: self.params.seed,
                    ..SamplerParams::default()
                };
                if let Some(effect) = self.set_params(fresh) {
                    return Outcome::status("sampler reset to llama.cpp's defaults").and(effect);
                }
            }
            _ => {}
        }
        Outcome::default()
    }
}

/// The editable parameters, in the pane's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    Temperature,
    DynatempRange,
    DynatempExponent,
    TopK,
    TopP,
    MinP,
    TypicalP,
    XtcProbability,
    XtcThreshold,
    RepeatPenalty,
    RepeatLastN,
    FrequencyPenalty,
    PresencePenalty,
    DryMultiplier,
    DryBase,
    DryAllowedLength,
    DryPenaltyLastN,
    Mirostat,
    MirostatTau,
    MirostatEta,
}

impl Param {
    pub const ALL: [Param; 20] = [
        Param::Temperature,
        Param::DynatempRange,
        Param::DynatempExponent,
        Param::TopK,
        Param::TopP,
        Param::MinP,
        Param::TypicalP,
        Param::XtcProbability,
        Param::XtcThreshold,
        Param::RepeatPenalty,
        Param::RepeatLastN,
        Param::FrequencyPenalty,
        Param::PresencePenalty,
        Param::DryMultiplier,
        Param::DryBase,
        Param::DryAllowedLength,
        Param::DryPenaltyLastN,
        Param::Mirostat,
        Param::MirostatTau,
        Param::MirostatEta,
    ];

    /// The name `ask` takes as a flag (without the dashes).
    pub fn name(self) -> &'static str {
        match self {
            Param::Temperature => "temp",
            Param::DynatempRange => "dynatemp-range",
            Param::DynatempExponent => "dynatemp-exp",
            Param::TopK => "top-k",
            Param::TopP => "top-p",
            Param::MinP => "min-p",
            Param::TypicalP => "typical-p",
            Param::XtcProbability => "xtc-probability",
            Param::XtcThreshold => "xtc-threshold",
            Param::RepeatPenalty => "repeat-penalty",
            Param::RepeatLastN => "repeat-last-n",
            Param::FrequencyPenalty => "frequency-penalty",
            Param::PresencePenalty => "presence-penalty",
            Param::DryMultiplier => "dry-multiplier",
            Param::DryBase => "dry-base",
            Param::DryAllowedLength => "dry-allowed-length",
            Param::DryPenaltyLastN => "dry-penalty-last-n",
            Param::Mirostat => "mirostat",
            Param::MirostatTau => "mirostat-tau",
            Param::MirostatEta => "mirostat-eta",
        }
    }

    /// The stage this parameter belongs to (None for Mirostat's, which replace the draw).
    pub fn stage(self) -> Option<SamplerKind> {
        Some(match self {
            Param::Temperature | Param::DynatempRange | Param::DynatempExponent => {
                SamplerKind::Temperature
            }
            Param::TopK => SamplerKind::TopK,
            Param::TopP => SamplerKind::TopP,
            Param::MinP => SamplerKind::MinP,
            Param::TypicalP => SamplerKind::Typical,
            Param::XtcProbability | Param::XtcThreshold => SamplerKind::Xtc,
            Param::RepeatPenalty
            | Param::RepeatLastN
            | Param::FrequencyPenalty
            | Param::PresencePenalty => SamplerKind::Penalties,
            Param::DryMultiplier
            | Param::DryBase
            | Param::DryAllowedLength
            | Param::DryPenaltyLastN => SamplerKind::Dry,
            Param::Mirostat | Param::MirostatTau | Param::MirostatEta => return None,
        })
    }

    /// The value as the pane shows it.
    pub fn show(self, p: &SamplerParams) -> String {
        match self {
            Param::Temperature => format!("{:.2}", p.temperature),
            Param::DynatempRange => format!("{:.2}", p.dynatemp_range),
            Param::DynatempExponent => format!("{:.1}", p.dynatemp_exponent),
            Param::TopK => p.top_k.to_string(),
            Param::TopP => format!("{:.2}", p.top_p),
            Param::MinP => format!("{:.2}", p.min_p),
            Param::TypicalP => format!("{:.2}", p.typical_p),
            Param::XtcProbability => format!("{:.2}", p.xtc_probability),
            Param::XtcThreshold => format!("{:.2}", p.xtc_threshold),
            Param::RepeatPenalty => format!("{:.2}", p.repeat_penalty),
            Param::RepeatLastN => p.repeat_last_n.to_string(),
            Param::FrequencyPenalty => format!("{:.2}", p.frequency_penalty),
            Param::PresencePenalty => format!("{:.2}", p.presence_penalty),
            Param::DryMultiplier => format!("{:.2}", p.dry_multiplier),
            Param::DryBase => format!("{:.2}", p.dry_base),
            Param::DryAllowedLength => p.dry_allowed_length.to_string(),
            Param::DryPenaltyLastN => match p.dry_penalty_last_n {
                -1 => "context".into(),
                n => n.to_string(),
            },
            Param::Mirostat => match p.mirostat {
                Mirostat::Off => "off".into(),
                Mirostat::V1 => "v1".into(),
                Mirostat::V2 => "v2".into(),
            },
            Param::MirostatTau => format!("{:.2}", p.mirostat_tau),
            Param::MirostatEta => format!("{:.2}", p.mirostat_eta),
        }
    }

    /// Moves the value one step up (`up`) or down, within its range.
    pub fn step(self, p: &mut SamplerParams, up: bool) {
        let d = if up { 1.0 } else { -1.0 };
        let float = |v: &mut f32, step: f32, lo: f32, hi: f32| {
            // Round to the step so that repeated presses land on clean values.
            *v = ((*v + d * step) / step).round() * step;
            *v = v.clamp(lo, hi);
        };
        let int = |v: &mut usize, step: usize, hi: usize| {
            *v = if up {
                (*v + step).min(hi)
            } else {
                v.saturating_sub(step)
            };
        };
        match self {
            Param::Temperature => float(&mut p.temperature, 0.05, 0.0, 5.0),
            Param::DynatempRange => float(&mut p.dynatemp_range, 0.05, 0.0, 5.0),
            Param::DynatempExponent => float(&mut p.dynatemp_exponent, 0.1, 0.1, 10.0),
            Param::TopK => {
                let step = if p.top_k < 10 || (p.top_k == 10 && !up) {
                    1
                } else {
                    5
                };
                int(&mut p.top_k, step, 1000)
            }
            Param::TopP => float(&mut p.top_p, 0.01, 0.0, 1.0),
            Param::MinP => float(&mut p.min_p, 0.01, 0.0, 1.0),
            Param::TypicalP => float(&mut p.typical_p, 0.05, 0.0, 1.0),
            Param::XtcProbability => float(&mut p.xtc_probability, 0.05, 0.0, 1.0),
            Param::XtcThreshold => float(&mut p.xtc_threshold, 0.01, 0.0, 1.0),
            Param::RepeatPenalty => float(&mut p.repeat_penalty, 0.05, 0.5, 3.0),
            Param::RepeatLastN => int(&mut p.repeat_last_n, 8, 4096),
            Param::FrequencyPenalty => float(&mut p.frequency_penalty, 0.05, 0.0, 2.0),
            Param::PresencePenalty => float(&mut p.presence_penalty, 0.05, 0.0, 2.0),
            Param::DryMultiplier => float(&mut p.dry_multiplier, 0.1, 0.0, 5.0),
            Param::DryBase => float(&mut p.dry_base, 0.05, 1.0, 4.0),
            Param::DryAllowedLength => int(&mut p.dry_allowed_length, 1, 20),
            Param::DryPenaltyLastN => {
                // -1 (the whole context) sits above the largest window.
                p.dry_penalty_last_n = match (p.dry_penalty_last_n, up) {
                    (-1, true) => -1,
                    (-1, false) => 4096,
                    (n, true) if n >= 4096 => -1,
                    (n, true) => n + 64,
                    (n, false) => (n - 64).max(0),
                };
            }
            Param::Mirostat => {
                let level = p.mirostat.level();
                let next = if up {
                    (level + 1).min(2)
                } else {
                    level.saturating_sub(1)
                };
                p.mirostat = Mirostat::from_level(next).unwrap_or_default();
            }
            Param::MirostatTau => float(&mut p.mirostat_tau, 0.25, 0.0, 20.0),
            Param::MirostatEta => float(&mut p.mirostat_eta, 0.01, 0.0, 1.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_stay_in_range_and_round_trip() {
        for param in Param::ALL {
            let mut p = SamplerParams::default();
            for _ in 0..10_000 {
                param.step(&mut p, true);
            }
            assert!(p.validate().is_ok(), "{param:?} up: {p:?}");
            let top = param.show(&p);
            for _ in 0..10_000 {
                param.step(&mut p, false);
            }
            assert!(p.validate().is_ok(), "{param:?} down: {p:?}");
            assert_ne!(top, param.show(&p), "{param:?} does not move");
        }
        let mut p = SamplerParams::default();
        Param::Temperature.step(&mut p, true);
        assert_eq!(Param::Temperature.show(&p), "0.85");
        Param::Temperature.step(&mut p, false);
        assert_eq!(p.temperature, 0.8);
        let mut p = SamplerParams {
            top_k: 1,
            ..SamplerParams::default()
        };
        Param::TopK.step(&mut p, false);
        assert_eq!(p.top_k, 0, "0 (off) is reachable");
    }
}
