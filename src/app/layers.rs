//! The overlay stack (helix's compositor in small): ONE order decides which overlay receives a key
//! (the top one) and the order the overlays are drawn in (bottom to top), so the two cannot
//! disagree. An overlay opened later goes on top; a closed one leaves the stack.
use std::time::Instant;

use crossterm::event::KeyEvent;

use super::action::{Action, Focus};
use super::effect::Effect;
use super::state::AppState;

/// A modal overlay over the panes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layer {
    /// The sampler inspector (F3).
    Inspector,
    /// A picker: profiles, templates, conversations, models, "save as".
    Picker,
    /// The bench pane (F4).
    Bench,
    /// The A/B panes (F5).
    Ab,
    /// The key help (F1).
    Help,
}

impl Layer {
    /// Every overlay, in the order they stack when several open at once.
    pub const ALL: [Layer; 5] = [
        Layer::Inspector,
        Layer::Picker,
        Layer::Bench,
        Layer::Ab,
        Layer::Help,
    ];
}

/// The open overlays, bottom to top.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LayerStack {
    stack: Vec<Layer>,
}

impl LayerStack {
    /// The stack as it stands once closed overlays leave and newly opened ones go on top.
    pub fn resolved(&self, open: impl Fn(Layer) -> bool) -> Vec<Layer> {
        let mut out: Vec<Layer> = self.stack.iter().copied().filter(|l| open(*l)).collect();
        for l in Layer::ALL {
            if open(l) && !out.contains(&l) {
                out.push(l);
            }
        }
        out
    }

    /// Keeps the order [`resolved`](Self::resolved) gives.
    pub fn sync(&mut self, open: impl Fn(Layer) -> bool) {
        self.stack = self.resolved(open);
    }
}

impl AppState {
    /// Whether `layer` is open (each overlay's own state says so).
    pub fn is_open(&self, layer: Layer) -> bool {
        match layer {
            Layer::Inspector => self.inspector.open,
            Layer::Picker => self.picker.is_some(),
            Layer::Bench => self.bench.open,
            Layer::Ab => self.ab.open,
            Layer::Help => self.show_help,
        }
    }

    /// The open overlays, bottom to top: the draw order, and the last one gets the keys.
    pub fn overlays(&self) -> Vec<Layer> {
        self.layers.resolved(|l| self.is_open(l))
    }

    /// The overlay that receives the next key (None: the focused pane does).
    pub fn key_layer(&self) -> Option<Layer> {
        self.overlays().last().copied()
    }

    pub(crate) fn sync_layers(&mut self) {
        let open: Vec<Layer> = Layer::ALL
            .into_iter()
            .filter(|l| self.is_open(*l))
            .collect();
        self.layers.sync(|l| open.contains(&l));
    }

    /// A key for the top overlay.
    pub(crate) fn layer_key(&mut self, layer: Layer, key: KeyEvent, now: Instant) -> Vec<Effect> {
        match layer {
            Layer::Help => self.help_key(key, now),
            Layer::Bench => self.on_bench_key(key, now),
            Layer::Ab => self.on_ab_key(key, now),
            Layer::Picker => self.picker_key(key, now),
            Layer::Inspector => {
                // The inspector is modal: its keys, help and Ctrl-C; nothing else.
                match self.keymap.lookup(Focus::Inspector.contexts(), &key) {
                    Some(
                        a @ (Action::ForceQuitArm
                        | Action::ToggleHelp
                        | Action::ToggleInspector
                        | Action::InspectPrevToken
                        | Action::InspectNextToken
                        | Action::InspectPrevReply
                        | Action::InspectNextReply
                        | Action::InspectFirstToken
                        | Action::InspectLastToken),
                    ) => self.apply(a, now),
                    _ => vec![],
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_later_overlay_goes_on_top_and_a_closed_one_leaves() {
        let mut s = LayerStack::default();
        s.sync(|l| l == Layer::Help);
        let open = [Layer::Help, Layer::Inspector];
        assert_eq!(
            s.resolved(|l| open.contains(&l)),
            vec![Layer::Help, Layer::Inspector]
        );
        s.sync(|l| open.contains(&l));
        s.sync(|l| l == Layer::Inspector);
        assert_eq!(s.resolved(|_| true), {
            let mut v = vec![Layer::Inspector];
            v.extend([Layer::Picker, Layer::Bench, Layer::Ab, Layer::Help]);
            v
        });
    }
}
