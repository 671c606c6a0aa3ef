//! The dashboard-level side of `app::layers`: its keys and events folded into [`AppState`],
//! the effects they return. The pane's own state lives in `app/layers.rs`, which imports nothing
//! of `AppState`.
use crate::app::action::{Action, Focus};
use crate::app::effect::Effect;
use crate::app::layers::*;
use crate::app::state::AppState;
use crossterm::event::KeyEvent;
use std::time::Instant;

impl AppState {
    /// Whether `layer` is open (each overlay's own state says so).
    pub fn is_open(&self, layer: Layer) -> bool {
        match layer {
            Layer::Inspector => self.inspector.open,
            Layer::Picker => self.picker.is_some(),
            Layer::Bench => self.bench.open,
            Layer::Ab => self.ab.open,
            Layer::Help => self.help.open,
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
