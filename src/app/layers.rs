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
