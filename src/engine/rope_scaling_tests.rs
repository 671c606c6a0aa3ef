//! The formulas against values worked out by hand (with a calculator) from ggml's definitions:
//! corr_dim(b) = n_dims ln(n_ctx_orig / (2 pi b)) / (2 ln base), the ramp
//! 1 - clamp((i - low) / (high - low), 0, 1), theta = interp (1 - ramp) + extrap ramp, and the
//! magnitude 1 + 0.1 ln s.
use super::*;

/// The default model's: base 1e6, 256 rotated dimensions, 32768 training context.
fn gemma_270m() -> ModelRope {
    ModelRope {
        freq_base: 1e6,
        scaling: RopeScalingKind::Linear,
        freq_scale: 1.0,
        orig_ctx: 32768,
        attn_factor: 1.0,
        n_dims: 256,
    }
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

#[test]
fn yarn_correction_dims_match_the_hand_computed_ones() {
    let yarn = RopeScaling {
        scaling: Some(RopeScalingKind::Yarn),
        scale: Some(8.0),
        yarn_orig_ctx: Some(256),
        ..Default::default()
    }
    .resolve(&gemma_270m());
    // corr_dim(32) = 256 ln(256 / (64 pi)) / (2 ln 1e6) = 2.238 -> floor 2;
    // corr_dim(1) = 256 ln(256 / (2 pi)) / (2 ln 1e6) = 34.348 -> ceil 35.
    assert_eq!(yarn.corr_dims(256), [2.0, 35.0]);
    assert_eq!(
        (yarn.freq_scale, yarn.ext_factor, yarn.orig_ctx),
        (0.125, 1.0, 256)
    );
}

#[test]
fn yarn_angles_ramp_between_extrapolation_and_interpolation() {
    let yarn = RopeScaling {
        scaling: Some(RopeScalingKind::Yarn),
        scale: Some(8.0),
        yarn_orig_ctx: Some(256),
        ..Default::default()
    }
    .resolve(&gemma_270m());
    let corr = yarn.corr_dims(256);
    // mscale = 1 + 0.1 ln 8 = 1.207944.
    let mscale = 1.0 + 0.1 * 8f64.ln();
    // Pair 10 at position 1000: extrap = 1000 x 1e6^(-20/256) = 339.8208; ramp = 1 - 8/33 =
    // 0.757576; theta = 339.8208 / 8 x 0.242424 + 339.8208 x 0.757576 = 267.7376.
    let (c, s) = yarn.angle(1000, 10, 256, corr);
    assert!(close(c, 267.737_626f64.cos() * mscale, 1e-5), "{c}");
    assert!(
        close(c, -0.922_133, 1e-5) && close(s, -0.780_256, 1e-5),
        "{c} {s}"
    );
    // Pair 40, past the high correction dim: pure interpolation, 1000 x 1e6^(-80/256) / 8.
    let (c, _) = yarn.angle(1000, 40, 256, corr);
    assert!(close(c, -0.115_911, 1e-5), "{c}");
    // Pair 1, below the low one: pure extrapolation, 1000 x 1e6^(-2/256) = 897.6871.
    let (c, _) = yarn.angle(1000, 1, 256, corr);
    assert!(close(c, 0.834_304, 1e-5), "{c}");
}

#[test]
fn linear_scaling_divides_every_angle_and_keeps_the_magnitude() {
    let linear = RopeScaling {
        scaling: Some(RopeScalingKind::Linear),
        scale: Some(8.0),
        ..Default::default()
    }
    .resolve(&gemma_270m());
    assert_eq!((linear.freq_scale, linear.ext_factor), (0.125, 0.0));
    let corr = linear.corr_dims(256);
    for (pos, i) in [(1000, 0), (1000, 10), (37, 100)] {
        let theta = pos as f64 * 1e6f64.powf(-2.0 * i as f64 / 256.0) / 8.0;
        let (c, s) = linear.angle(pos, i, 256, corr);
        assert!(close(c, theta.cos(), 1e-12) && close(s, theta.sin(), 1e-12));
    }
    // `--rope-scale 8` alone: the GGUF's type (linear when it names none) with that scale.
    let implied = RopeScaling {
        scale: Some(8.0),
        ..Default::default()
    }
    .resolve(&gemma_270m());
    assert_eq!(implied, linear);
}

#[test]
fn ntk_raises_the_base_and_none_forces_scale_one() {
    let ntk = RopeScaling {
        scaling: Some(RopeScalingKind::Ntk),
        scale: Some(8.0),
        ..Default::default()
    }
    .resolve(&gemma_270m());
    // 1e6 x 8^(256/254) = 8,132,066.69.
    assert!(
        close(ntk.freq_base, 8_132_066.69, 0.01),
        "{}",
        ntk.freq_base
    );
    assert_eq!((ntk.freq_scale, ntk.ext_factor), (1.0, 0.0));
    let none = RopeScaling {
        scaling: Some(RopeScalingKind::None),
        freq_scale: Some(0.25),
        ..Default::default()
    }
    .resolve(&gemma_270m());
    assert_eq!(none.freq_scale, 1.0);
}

#[test]
fn unset_settings_are_the_model_s_and_overlays_replace_by_key() {
    let plain = RopeScaling::default().resolve(&gemma_270m());
    assert_eq!(
        (plain.freq_base, plain.freq_scale, plain.ext_factor),
        (1e6, 1.0, 0.0)
    );
    assert_eq!(plain.orig_ctx, 32768);
    let (c, s) = plain.angle(5, 3, 256, plain.corr_dims(256));
    let theta = 5.0 * 1e6f64.powf(-6.0 / 256.0);
    assert!(close(c, theta.cos(), 1e-12) && close(s, theta.sin(), 1e-12));
    let model_entry = RopeScaling {
        scaling: Some(RopeScalingKind::Yarn),
        scale: Some(4.0),
        yarn_beta_fast: Some(16.0),
        ..Default::default()
    };
    let flags = RopeScaling {
        freq_scale: Some(0.5),
        ..Default::default()
    };
    let both = model_entry.overlaid(&flags);
    assert_eq!(both.scaling, Some(RopeScalingKind::Yarn));
    assert_eq!((both.scale, both.freq_scale), (None, Some(0.5)));
    assert_eq!(both.yarn_beta_fast, Some(16.0));
    assert!(RopeScaling {
        scale: Some(0.0),
        ..Default::default()
    }
    .validate()
    .unwrap_err()
    .contains("positive"));
    assert!(RopeScalingKind::parse("YaRN") == Some(RopeScalingKind::Yarn));
    assert!(RopeScalingKind::parse("dynamic").is_none());
}
