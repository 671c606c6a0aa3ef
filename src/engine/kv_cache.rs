//! The KV cache: every layer's keys and values of past positions, `[position][kv_head][dim]`, in
//! f16 (llama.cpp's default cache type; our attention reads the same rounded numbers).
//!
//! A global layer keeps every position. A sliding-window layer only ever looks `window` positions
//! back, so it keeps a ring of `window + MAX_STEP_ROWS` slots (position `p` in slot
//! `p % slots`): enough for one micro-batch's rows and the window behind its first row, as
//! llama.cpp's SWA cache does. With Gemma 3's 15 sliding layers of 18 the cache of a 32k-token
//! conversation is then mostly the 3 global layers': 115 MB instead of 1.2 GB in f32.
//!
//! A ring forgets: after a long step, rolling back far (a cancelled 4k-token prompt) can ask for
//! positions whose slots were overwritten. `truncate` then keeps nothing, and the caller feeds the
//! conversation again (see `Session::rollback`).
use half::f16;

use super::attention::KvView;

/// The most positions one pass writes: longer inputs run in micro-batches of this many rows
/// (llama.cpp's default `n_ubatch`), so a ring needs only this many slots beyond its window.
pub const MAX_STEP_ROWS: usize = 512;

/// One layer's keys and values, as f16 bits (`vec![0u16; n]` is zeroed by the allocator, so
/// untouched pages of a long context cost nothing).
pub(crate) struct LayerCache {
    pub(crate) k: Vec<u16>,
    pub(crate) v: Vec<u16>,
    /// Positions held: the capacity for a global layer, window + MAX_STEP_ROWS for a ring.
    pub(crate) slots: usize,
    /// How far back attention looks (`usize::MAX` on global layers).
    window: usize,
    /// The lowest position whose slot still holds it (0 but on a ring that wrapped).
    oldest: usize,
}

impl LayerCache {
    fn ring(&self) -> bool {
        self.window != usize::MAX
    }

    /// The ring's window (`None` on a global layer).
    pub(crate) fn ring_window(&self) -> Option<usize> {
        self.ring().then_some(self.window)
    }

    /// The slot of position `p`.
    pub(crate) fn slot(&self, p: usize) -> usize {
        p % self.slots
    }

    /// Whether a step at position `len` finds every earlier position its window reaches.
    fn can_continue_at(&self, len: usize) -> bool {
        (len + 1).saturating_sub(self.window) >= self.oldest
    }
}

pub struct KvCache {
    pub(crate) layers: Vec<LayerCache>,
    pub(crate) len: usize,
    pub(crate) capacity: usize,
    pub(crate) kv_width: usize,
    pub(crate) scratch: super::scratch::Scratch,
}

impl KvCache {
    /// A cache of `capacity` positions for layers that look back `windows[il]` positions; with
    /// `rings` false every layer keeps every position (the layout before rings, kept to test
    /// them against and to measure what they save).
    pub(crate) fn new(windows: &[usize], capacity: usize, kv_width: usize, rings: bool) -> Self {
        let layers = windows
            .iter()
            .map(|&window| {
                let window = if rings { window } else { usize::MAX };
                let slots = if window == usize::MAX {
                    capacity
                } else {
                    capacity.min(window.saturating_add(MAX_STEP_ROWS))
                };
                LayerCache {
                    k: vec![0u16; slots * kv_width],
                    v: vec![0u16; slots * kv_width],
                    slots,
                    window,
                    oldest: 0,
                }
            })
            .collect();
        KvCache {
            layers,
            len: 0,
            capacity,
            kv_width,
            scratch: Default::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Bytes of keys and values this cache holds at most (its ring layers at their ring size).
    pub fn bytes(&self) -> usize {
        self.layers
            .iter()
            .map(|l| (l.k.len() + l.v.len()) * 2)
            .sum()
    }

    pub fn clear(&mut self) {
        self.len = 0;
        self.layers.iter_mut().for_each(|l| l.oldest = 0);
    }

    /// Forgets every position from `len` on (to roll back an unfinished turn or a rejected
    /// draft). When a ring no longer holds what position `len` needs, it keeps nothing: check
    /// `len()` afterwards.
    pub fn truncate(&mut self, len: usize) {
        if len >= self.len {
            return;
        }
        if self.layers.iter().all(|l| l.can_continue_at(len)) {
            self.len = len;
        } else {
            tracing::debug!(
                "KV cache: the sliding-window rings no longer hold what position {len} needs; \
                 dropping all {} positions",
                self.len
            );
            self.clear();
        }
    }

    /// Stores layer `il`'s keys and values of the `rows` positions from `p0` on (`k` and `v`
    /// hold `rows x kv_width` values), rounding them to f16.
    pub(crate) fn write(&mut self, il: usize, p0: usize, k: &[f32], v: &[f32]) {
        let w = self.kv_width;
        let layer = &mut self.layers[il];
        for (row, (kr, vr)) in k.chunks_exact(w).zip(v.chunks_exact(w)).enumerate() {
            let at = layer.slot(p0 + row) * w;
            to_f16(kr, &mut layer.k[at..at + w]);
            to_f16(vr, &mut layer.v[at..at + w]);
        }
        if layer.ring() {
            let end = p0 + k.len() / w;
            layer.oldest = layer.oldest.max(end.saturating_sub(layer.slots));
        }
    }

    /// Layer `il`'s keys and values for attention.
    pub(crate) fn view(&self, il: usize) -> KvView<'_> {
        let l = &self.layers[il];
        KvView {
            k: &l.k,
            v: &l.v,
            slots: l.slots,
        }
    }

    /// An independent copy of the cached positions, with the same capacity (only the used part of
    /// a global layer is copied; the rest is fresh zeroed memory, untouched until the copy reaches
    /// it).
    pub fn duplicate(&self) -> KvCache {
        let used = self.len * self.kv_width;
        let copy = |src: &[u16]| {
            let mut fresh = vec![0u16; src.len()];
            let n = used.min(src.len());
            fresh[..n].copy_from_slice(&src[..n]);
            fresh
        };
        KvCache {
            layers: self
                .layers
                .iter()
                .map(|l| LayerCache {
                    k: copy(&l.k),
                    v: copy(&l.v),
                    slots: l.slots,
                    window: l.window,
                    oldest: l.oldest,
                })
                .collect(),
            len: self.len,
            capacity: self.capacity,
            kv_width: self.kv_width,
            scratch: Default::default(),
        }
    }

    /// Whether a context shift dropping `keep..keep + discard` can move the positions in place:
    /// not when a ring's window, after the shift, reaches back into kept positions that ring has
    /// already overwritten (only when a shift comes well before the context is full).
    pub fn can_shift(&self, keep: usize, discard: usize) -> bool {
        let new_len = self.len.saturating_sub(discard);
        self.layers.iter().filter(|l| l.ring()).all(|l| {
            let from = (new_len + 1).saturating_sub(l.window);
            from >= keep || from >= l.oldest
        })
    }

    /// After a context shift to `len` positions: a ring only holds the positions the shift
    /// copied for it, those a step at `len` can reach.
    pub(crate) fn shifted_to(&mut self, len: usize) {
        self.len = len;
        for layer in self.layers.iter_mut().filter(|l| l.ring()) {
            layer.oldest = (len + 1).saturating_sub(layer.window);
        }
    }
}

fn to_f16(src: &[f32], dst: &mut [u16]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = f16::from_f32(s).to_bits();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(capacity: usize) -> KvCache {
        // One global layer and one sliding layer with a window of 4, kv_width 2.
        KvCache::new(&[usize::MAX, 4], capacity, 2, true)
    }

    fn fill(c: &mut KvCache, p0: usize, rows: usize) {
        let vals: Vec<f32> = (p0..p0 + rows)
            .flat_map(|p| [p as f32, -(p as f32)])
            .collect();
        for il in 0..2 {
            c.write(il, p0, &vals, &vals);
        }
        c.len = p0 + rows;
    }

    #[test]
    fn a_sliding_layer_keeps_a_ring_of_window_plus_one_micro_batch() {
        let c = cache(100_000);
        assert_eq!(c.layers[0].slots, 100_000);
        assert_eq!(c.layers[1].slots, 4 + MAX_STEP_ROWS);
        assert_eq!(
            cache(10).layers[1].slots,
            10,
            "never more than the capacity"
        );
    }

    #[test]
    fn positions_land_in_their_slot_and_older_ones_are_forgotten() {
        let mut c = cache(10_000);
        let slots = c.layers[1].slots;
        fill(&mut c, 0, 500);
        fill(&mut c, 500, 500);
        let at = |c: &KvCache, il: usize, p: usize| {
            let s = c.layers[il].slot(p) * 2;
            f16::from_bits(c.layers[il].k[s]).to_f32()
        };
        assert_eq!(at(&c, 1, 999), 999.0);
        assert_eq!(at(&c, 1, 1000 - slots), (1000 - slots) as f32);
        assert_eq!(c.layers[1].oldest, 1000 - slots);
        assert_eq!(at(&c, 0, 3), 3.0, "the global layer keeps everything");
    }

    #[test]
    fn truncate_keeps_what_the_ring_still_holds_and_drops_all_otherwise() {
        let mut c = cache(10_000);
        fill(&mut c, 0, 512);
        fill(&mut c, 512, 512);
        // Rolling back a short draft: the window behind position 1000 is still there.
        c.truncate(1000);
        assert_eq!(c.len(), 1000);
        // Rolling back past what the ring holds: nothing is kept.
        c.truncate(100);
        assert_eq!(c.len(), 0);
        assert_eq!(c.layers[1].oldest, 0);
    }

    #[test]
    fn a_duplicate_is_independent() {
        let mut c = cache(64);
        fill(&mut c, 0, 10);
        let d = c.duplicate();
        fill(&mut c, 5, 5);
        c.layers[0].k[0] = f16::from_f32(42.0).to_bits();
        assert_eq!(d.len(), 10);
        assert_eq!(f16::from_bits(d.layers[0].k[0]).to_f32(), 0.0);
    }
}
