//! The GEMM kernels against a scalar reference on pseudo-random blocks.
use super::*;
use candle_core::quantized::k_quants::{BlockQ4K, BlockQ5_0, BlockQ6K, GgmlType};

/// A deterministic stream of pseudo-random bytes.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }
    fn unit(&mut self) -> f32 {
        self.next() as f32 / (1u64 << 31) as f32 - 1.0
    }
}

/// `n` rows of random blocks with finite, modest f16 scales.
fn random_weights(kind: PackKind, n: usize, bpr: usize, rng: &mut Lcg) -> Vec<u8> {
    let bb = kind.block_bytes();
    let mut w: Vec<u8> = (0..n * bpr * bb).map(|_| rng.next() as u8).collect();
    for blk in w.chunks_mut(bb) {
        let mut put = |o: usize, v: f32| {
            blk[o..o + 2].copy_from_slice(&f16::from_f32(v).to_bits().to_le_bytes())
        };
        match kind {
            PackKind::Q5_0 => put(0, rng.unit() * 0.05),
            PackKind::Q4K => {
                put(0, rng.unit().abs() * 0.01);
                put(2, rng.unit().abs() * 0.01);
            }
            PackKind::Q6K => put(208, rng.unit() * 0.01),
        }
    }
    w
}

fn dequantize(kind: PackKind, w: &[u8], out: &mut [f32]) {
    fn deq<T: GgmlType>(w: &[u8], out: &mut [f32]) {
        let mut blocks = vec![T::zeros(); w.len() / std::mem::size_of::<T>()];
        // SAFETY: the block types are plain repr(C) bytes; sizes match by construction.
        unsafe {
            std::ptr::copy_nonoverlapping(w.as_ptr(), blocks.as_mut_ptr() as *mut u8, w.len())
        };
        T::to_float(&blocks, out).unwrap();
    }
    match kind {
        PackKind::Q5_0 => deq::<BlockQ5_0>(w, out),
        PackKind::Q4K => deq::<BlockQ4K>(w, out),
        PackKind::Q6K => deq::<BlockQ6K>(w, out),
    }
}

#[test]
fn batched_kernels_match_dequantized_products_and_the_scalar_kernel() {
    let mut rng = Lcg(7);
    for kind in [PackKind::Q5_0, PackKind::Q4K, PackKind::Q6K] {
        let (n, k, m) = (16, 512, 7);
        let bpr = k / kind.block();
        let w = random_weights(kind, n, bpr, &mut rng);
        let x: Vec<f32> = (0..m * k).map(|_| rng.unit() * 3.0).collect();
        let mut out = vec![0f32; m * n];
        matmul(
            kind,
            &w,
            n,
            k,
            &x,
            m,
            &mut out,
            &mut PackedActs::default(),
            None,
        );
        // The scales decoded once at load give the same numbers, bit for bit.
        let scales = TileScales::new(kind, &w, n, bpr).unwrap();
        let mut with_scales = vec![0f32; m * n];
        let mut acts = PackedActs::default();
        matmul(
            kind,
            &w,
            n,
            k,
            &x,
            m,
            &mut with_scales,
            &mut acts,
            Some(&scales),
        );
        assert!(out == with_scales, "{kind:?} with scales decoded at load");

        let mut acts = PackedActs::default();
        acts.pack(&x, m, k, kind);
        let mut wf = vec![0f32; n * k];
        dequantize(kind, &w, &mut wf);
        let mut scalar = vec![0f32; m * n];
        for j0 in (0..n).step_by(TILE) {
            let (mut simd_tile, mut scalar_tile) = (WeightTile::default(), WeightTile::default());
            simd_tile.decode(kind, &w, bpr, j0, None);
            scalar_tile.decode_scalar(kind, &w, bpr, j0);
            assert!(simd_tile.vals == scalar_tile.vals, "{kind:?} decoded bytes");
            assert_eq!(simd_tile.d, scalar_tile.d);
            tile_scalar(kind, &scalar_tile, &acts, 0..m, &mut scalar, n, j0);
        }
        for r in 0..m {
            for j in 0..n {
                let (mut exact, mut mag) = (0f64, 0f64);
                for e in 0..k {
                    let y = acts.scale(r, e / kind.block()) as f64 * acts.row(r)[e] as f64;
                    exact += wf[j * k + e] as f64 * y;
                    mag += (wf[j * k + e] as f64 * y).abs();
                }
                let (got, sc) = (out[r * n + j] as f64, scalar[r * n + j] as f64);
                assert!(
                    (got - exact).abs() <= 1e-5 * mag + 1e-6,
                    "{kind:?} {r},{j}: {got} vs {exact}"
                );
                assert!(
                    (got - sc).abs() <= 1e-5 * mag + 1e-6,
                    "{kind:?} {r},{j}: {got} vs scalar {sc}"
                );
                // A decode step's per-row path gives the batched kernel's result bit for bit.
                let row_bytes = bpr * kind.block_bytes();
                let wrow = &w[j * row_bytes..(j + 1) * row_bytes];
                #[cfg(target_arch = "x86_64")]
                if crate::engine::kernels::has_avx2() {
                    let one = dot_row_blockwise(kind, wrow, &acts, r);
                    assert_eq!(one, out[r * n + j], "{kind:?} {r},{j}");
                }
            }
        }
    }
}

#[test]
fn packed_activations_round_trip_within_half_a_step() {
    let mut rng = Lcg(3);
    for kind in [PackKind::Q5_0, PackKind::Q4K] {
        let (m, k) = (3, 512);
        let x: Vec<f32> = (0..m * k).map(|_| rng.unit() * 2.0).collect();
        let mut acts = PackedActs::default();
        acts.pack(&x, m, k, kind);
        for r in 0..m {
            for e in 0..k {
                let d = acts.scale(r, e / kind.block());
                let back = d * acts.row(r)[e] as f32;
                // Q8_0 stores the scale as f16: up to 127 quants of its rounding on top.
                assert!((back - x[r * k + e]).abs() <= d.abs() * 0.65);
            }
            for g in 0..k / kind.group() {
                let s: i32 = acts.row(r)[g * kind.group()..(g + 1) * kind.group()]
                    .iter()
                    .map(|&q| q as i32)
                    .sum();
                assert_eq!(acts.sum(r, g), s);
            }
        }
    }
}

/// `cargo test --release --lib decode_speed -- --ignored --nocapture`: one activation row
/// through the one-row kernel against the tile kernel, per K-quant, on an FFN-down-sized matrix.
#[test]
#[ignore]
fn decode_speed_of_the_one_row_and_tile_kernels() {
    let mut rng = Lcg(9);
    for kind in [PackKind::Q5_0, PackKind::Q4K, PackKind::Q6K] {
        let (n, k) = (640, 2048);
        let bpr = k / kind.block();
        let w = random_weights(kind, n, bpr, &mut rng);
        let scales = TileScales::new(kind, &w, n, bpr);
        let x: Vec<f32> = (0..k).map(|_| rng.unit()).collect();
        let (mut a, mut b) = (vec![0f32; n], vec![0f32; n]);
        let mut acts = PackedActs::default();
        for round in 0..3 {
            let t = std::time::Instant::now();
            for _ in 0..300 {
                matvec_blockwise(kind, &w, k, &x, &mut a, &mut acts);
            }
            let one = t.elapsed();
            let t = std::time::Instant::now();
            for _ in 0..300 {
                matmul(kind, &w, n, k, &x, 1, &mut b, &mut acts, scales.as_ref());
            }
            let tile = t.elapsed();
            let mut rows8 = tile;
            if kind == PackKind::Q5_0 {
                let mut wb = vec![BlockQ5_0::zeros(); w.len() / 22];
                // SAFETY: plain repr(C) blocks of 22 bytes.
                unsafe {
                    std::ptr::copy_nonoverlapping(w.as_ptr(), wb.as_mut_ptr() as *mut u8, w.len())
                };
                let mut xq = vec![candle_core::quantized::k_quants::BlockQ8_0::zeros(); k / 32];
                candle_core::quantized::k_quants::BlockQ8_0::from_float(&x, &mut xq).unwrap();
                let t = std::time::Instant::now();
                for _ in 0..300 {
                    crate::engine::q5_0_rows::matmul(&wb, n, k / 32, &xq, 1, &mut b);
                }
                rows8 = t.elapsed();
            }
            let gbs = |d: std::time::Duration| (300 * w.len()) as f64 / d.as_secs_f64() / 1e9;
            eprintln!(
                "{kind:?} round {round}: one-row {:.1} GB/s, tile {:.1} GB/s, rows8 {:.1}",
                gbs(one),
                gbs(tile),
                gbs(rows8)
            );
            if kind != PackKind::Q5_0 {
                assert_eq!(
                    a.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    b.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
                );
            }
        }
    }
}
