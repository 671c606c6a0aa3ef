//! The A/B panes (F5): the prompt in the input answered under two profiles, or on two models,
//! side by side, each reply streaming with its own live rate. Pure: the bench actor's A/B events
//! fold in here.
use super::action::{Action, Focus};
use super::effect::Effect;
use super::outcome::{Ctx, Outcome};
use crate::bench::ab::AbUpdate;

/// One side as shown.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AbSideView {
    pub profile: String,
    pub text: String,
    pub tokens: usize,
    pub tok_s: f64,
    pub done: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AbPane {
    pub profiles: Vec<String>,
    /// Indexes into `profiles` of side A and side B.
    pub a: usize,
    pub b: usize,
    pub prompt: String,
    pub sides: [AbSideView; 2],
    pub running: bool,
    pub message: Option<String>,
}

impl AbPane {
    pub fn set_profiles(&mut self, profiles: Vec<String>) {
        let pos = |name: &str| profiles.iter().position(|p| p == name);
        self.a = pos("precise").unwrap_or(0);
        self.b = pos("creative").unwrap_or(profiles.len().saturating_sub(1));
        self.profiles = profiles;
    }

    pub fn profile(&self, side: usize) -> Option<&str> {
        let i = if side == 0 { self.a } else { self.b };
        self.profiles.get(i).map(String::as_str)
    }

    /// Moves side `side`'s profile by `delta`, wrapping.
    pub fn cycle(&mut self, side: usize, delta: isize) {
        let n = self.profiles.len() as isize;
        if n == 0 || self.running {
            return;
        }
        let i = if side == 0 { &mut self.a } else { &mut self.b };
        *i = (*i as isize + delta).rem_euclid(n) as usize;
    }

    /// Clears both sides for a new prompt.
    pub fn start(&mut self, prompt: String) {
        self.prompt = prompt;
        self.running = true;
        self.message = None;
        for side in 0..2 {
            self.sides[side] = AbSideView {
                profile: self.profile(side).unwrap_or_default().to_string(),
                ..AbSideView::default()
            };
        }
    }

    pub fn update(&mut self, u: AbUpdate) {
        if let Some(s) = self.sides.get_mut(u.side) {
            s.text.push_str(&u.text);
            s.tokens = u.tokens;
            s.tok_s = u.tok_s;
            s.done = u.done;
        }
    }

    pub fn finish(&mut self, error: Option<String>) {
        self.running = false;
        self.message = error.map(|e| format!("failed: {e}"));
    }
}

impl AbPane {
    /// One of the A/B panes' actions: what it changes here and what it asks for.
    pub fn handle(&mut self, action: Action, ctx: &Ctx) -> Outcome {
        match action {
            Action::ToggleAb => {
                return if ctx.open {
                    Outcome::close()
                } else {
                    Outcome::open()
                }
            }
            Action::AbPrevA => self.cycle(0, -1),
            Action::AbNextA => self.cycle(0, 1),
            Action::AbPrevB => self.cycle(1, -1),
            Action::AbNextB => self.cycle(1, 1),
            Action::AbStart => {
                let prompt = ctx.input.trim().to_string();
                if self.running || ctx.bench_running || ctx.generating {
                    return Outcome::status("the model is busy: wait or cancel first");
                } else if !ctx.engine_idle {
                    return Outcome::status("the model is not ready yet");
                } else if prompt.is_empty() {
                    let how = format!(
                        "{} and {}",
                        ctx.keymap.hint(Focus::Input.contexts(), Action::ToggleAb),
                        ctx.keymap.hint(Focus::Ab.contexts(), Action::AbStart)
                    );
                    return Outcome::status(format!(
                        "type the prompt in the input first, then {how}"
                    ));
                } else if let (Some(a), Some(b)) = (self.profile(0), self.profile(1)) {
                    let (a, b) = with_profiles(a, b, ctx.active_profile);
                    self.start(prompt.clone());
                    return Outcome::effect(Effect::StartAb { prompt, a, b });
                }
            }
            Action::AbCancel if self.running => {
                return Outcome::status("stopping the A/B replies…").and(Effect::CancelBench);
            }
            _ => {}
        }
        Outcome::default()
    }
}

/// A `model:NAME` side runs under the other side's profile (the active one when both are
/// models), so that the two replies differ by the model alone; the bench actor gets it as
/// `model:NAME@PROFILE`.
pub fn with_profiles(a: &str, b: &str, active: &str) -> (String, String) {
    use crate::actors::bench::AB_MODEL;
    let profile_of = |other: &str| {
        if other.starts_with(AB_MODEL) {
            active.to_string()
        } else {
            other.to_string()
        }
    };
    let side = |this: &str, other: &str| {
        if this.starts_with(AB_MODEL) {
            format!("{this}@{}", profile_of(other))
        } else {
            this.to_string()
        }
    };
    (side(a, b), side(b, a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_model_side_runs_under_the_other_sides_profile() {
        let s = |a: &str, b: &str| with_profiles(a, b, "balanced");
        assert_eq!(
            s("precise", "creative"),
            ("precise".into(), "creative".into())
        );
        assert_eq!(
            s("precise", "model:it"),
            ("precise".into(), "model:it@precise".into())
        );
        assert_eq!(
            s("model:a", "model:b"),
            ("model:a@balanced".into(), "model:b@balanced".into())
        );
    }

    #[test]
    fn profiles_cycle_and_updates_stream_into_their_side() {
        let mut p = AbPane::default();
        p.set_profiles(vec!["balanced".into(), "creative".into(), "precise".into()]);
        assert_eq!(
            (p.profile(0), p.profile(1)),
            (Some("precise"), Some("creative"))
        );
        p.cycle(0, 1);
        assert_eq!(p.profile(0), Some("balanced"), "wraps");
        p.cycle(1, -1);
        assert_eq!(p.profile(1), Some("balanced"));
        p.start("Hi".into());
        p.cycle(1, 1);
        assert_eq!(p.profile(1), Some("balanced"), "fixed while running");
        for (side, text) in [(0, "Hel"), (1, "Yo"), (0, "lo")] {
            p.update(AbUpdate {
                side,
                text: text.into(),
                tokens: 1,
                tok_s: 30.0,
                done: false,
            });
        }
        assert_eq!(p.sides[0].text, "Hello");
        assert_eq!(p.sides[1].text, "Yo");
        assert_eq!(p.sides[0].profile, "balanced");
        p.finish(None);
        assert!(!p.running);
    }
}
