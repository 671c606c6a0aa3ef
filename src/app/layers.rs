//! The overlay stack (helix's compositor in small): ONE order decides which overlay receives a key
//! (the top one) and the order the overlays are drawn in (bottom to top), so the two cannot
//! disagree. An overlay opened later goes on top; a closed one leaves the stack.

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
    /// The server pane (F8).
    Server,
    /// The key help (F1).
    Help,
}

impl Layer {
    /// Every overlay, in the order they stack when several open at once.
    pub const ALL: [Layer; 6] = [
        Layer::Inspector,
        Layer::Picker,
        Layer::Bench,
        Layer::Ab,
        Layer::Server,
        Layer::Help,
    ];
}

/// The open overlays, bottom to top: the one record of which overlay is open. Opening one pushes
/// it on top, closing one removes it; nothing else keeps an "open" flag.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LayerStack {
    stack: Vec<Layer>,
}

impl LayerStack {
    /// Opens `layer` on top (an overlay already open stays where it is).
    pub fn open(&mut self, layer: Layer) {
        if !self.is_open(layer) {
            self.stack.push(layer);
        }
    }

    pub fn close(&mut self, layer: Layer) {
        self.stack.retain(|l| *l != layer);
    }

    /// Opens `layer` if it is closed, closes it if open; whether it is open now.
    pub fn toggle(&mut self, layer: Layer) -> bool {
        if self.is_open(layer) {
            self.close(layer);
            false
        } else {
            self.open(layer);
            true
        }
    }

    pub fn is_open(&self, layer: Layer) -> bool {
        self.stack.contains(&layer)
    }

    /// The open overlays, bottom to top: the draw order.
    pub fn layers(&self) -> &[Layer] {
        &self.stack
    }

    /// The overlay that receives the keys.
    pub fn top(&self) -> Option<Layer> {
        self.stack.last().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_later_overlay_goes_on_top_and_a_closed_one_leaves() {
        let mut s = LayerStack::default();
        s.open(Layer::Help);
        s.open(Layer::Inspector);
        assert_eq!(s.layers(), [Layer::Help, Layer::Inspector]);
        assert_eq!(s.top(), Some(Layer::Inspector));
        s.open(Layer::Help);
        assert_eq!(
            s.layers(),
            [Layer::Help, Layer::Inspector],
            "stays where it is"
        );
        s.close(Layer::Help);
        assert_eq!(s.layers(), [Layer::Inspector]);
        assert!(!s.toggle(Layer::Inspector));
        assert!(s.toggle(Layer::Bench));
        assert_eq!(
            (s.top(), s.is_open(Layer::Bench)),
            (Some(Layer::Bench), true)
        );
    }
}
