//! The dashboard-level side of `app::layers`: its keys and events folded into [`AppState`],
//! the effects they return. The pane's own state lives in `app/layers.rs`, which imports nothing
//! of `AppState`.
use crate::app::action::{Action, Focus};
use crate::app::effect::Effect;
use crate::app::layers::*;
use crate::app::picker::Picker;
use crate::app::state::AppState;
use crossterm::event::KeyEvent;
use std::time::Instant;

impl AppState {
    /// Whether `layer` is open (the layer stack says so, and only it).
    pub fn is_open(&self, layer: Layer) -> bool {
        self.layers.is_open(layer)
    }

    /// The open overlays, bottom to top: the draw order, and the last one gets the keys.
    pub fn overlays(&self) -> Vec<Layer> {
        self.layers.layers().to_vec()
    }

    /// The overlay that receives the next key (None: the focused pane does).
    pub fn key_layer(&self) -> Option<Layer> {
        self.layers.top()
    }

    /// Opens `picker` over the dashboard (on top of the stack).
    pub(crate) fn open_picker(&mut self, picker: Picker) {
        self.picker = Some(picker);
        self.layers.open(Layer::Picker);
    }

    pub(crate) fn close_picker(&mut self) {
        self.picker = None;
        self.layers.close(Layer::Picker);
    }

    /// A key for the top overlay.
    pub(crate) fn layer_key(&mut self, layer: Layer, key: KeyEvent, now: Instant) -> Vec<Effect> {
        match layer {
            Layer::Help => self.help_key(key, now),
            Layer::Bench => self.on_bench_key(key, now),
            Layer::Ab => self.on_ab_key(key, now),
            Layer::Server => self.on_server_key(key, now),
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
