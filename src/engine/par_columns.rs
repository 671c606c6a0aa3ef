//! The output-feature-parallel loop of the one-row-at-a-time products (the Q8_0 head's kernels
//! and the generic block kernels): every task owns some columns of every activation row.
use rayon::prelude::*;

/// A raw pointer that rayon tasks may share because each writes disjoint elements.
#[derive(Clone, Copy)]
struct SharedOut(*mut f32);
unsafe impl Send for SharedOut {}
unsafe impl Sync for SharedOut {}

/// `out` is `m x n`; runs `column(j, put)` for every output feature `j` on the thread pool, in
/// chunks of columns (each task owns some features of every row), where `put(r, v)` writes
/// `out[r * n + j]`. Enough tasks to balance the threads, few enough that scheduling stays
/// negligible.
pub fn par_columns(
    out: &mut [f32],
    n: usize,
    column: impl Fn(usize, &mut dyn FnMut(usize, f32)) + Sync,
) {
    let len = out.len();
    let dst = SharedOut(out.as_mut_ptr());
    let tasks = rayon::current_num_threads() * 8;
    let chunk = n.div_ceil(tasks).clamp(16, 1024);
    (0..n.div_ceil(chunk)).into_par_iter().for_each(|c| {
        // Capture the whole wrapper (not its raw pointer field) so the closure is Send.
        let dst = &dst;
        for j in c * chunk..((c + 1) * chunk).min(n) {
            column(j, &mut |r, v| {
                assert!(r * n + j < len, "row {r} is outside the output");
                // SAFETY: in bounds (checked); (r, j) is written by this task only, as the
                // columns of a chunk belong to it.
                unsafe { *dst.0.add(r * n + j) = v };
            });
        }
    });
}
