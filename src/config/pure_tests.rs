//! Unit tests of the pure rules (the fixture files are checked by tests/config_fixtures.rs).
use super::*;
use crate::config::{Config, BUILTIN_PROFILES};

#[test]
fn line_col_counts_lines_and_characters_from_one() {
    let text = "a = 1\nbé = \"x\"\n";
    assert_eq!(line_col(text, 0), (1, 1));
    assert_eq!(line_col(text, 4), (1, 5));
    assert_eq!(line_col(text, 6), (2, 1));
    // "é" is two bytes but one column.
    assert_eq!(line_col(text, 10), (2, 4));
    // An offset inside a character counts from the character.
    assert_eq!(line_col(text, 8), (2, 2));
    assert_eq!(line_col(text, 1000), (3, 1));
}

#[test]
fn locate_finds_a_key_under_its_table_only() {
    let text = "x = 1\n[profiles.a]\nx = 2\n[profiles.a.sampler]\n  temperature = 3\n";
    assert_eq!(locate(text, &[], "x"), Some((1, 1)));
    assert_eq!(locate(text, &["profiles", "a"], "x"), Some((3, 1)));
    assert_eq!(
        locate(text, &["profiles", "a", "sampler"], "temperature"),
        Some((5, 3))
    );
    assert_eq!(locate(text, &["profiles", "b"], "x"), None);
}

#[test]
fn merge_overlays_tables_key_by_key_and_replaces_leaves() {
    let mut base: Table = "[p.a]\nx = 1\ny = [1, 2]\n[p.b]\nz = 3\n".parse().unwrap();
    let over: Table = "[p.a]\ny = [9]\n[p.c]\nw = 4\n".parse().unwrap();
    merge(&mut base, over);
    let want: Table = "[p.a]\nx = 1\ny = [9]\n[p.b]\nz = 3\n[p.c]\nw = 4\n"
        .parse()
        .unwrap();
    assert_eq!(base, want);
}

#[test]
fn the_embedded_defaults_have_six_valid_builtins_and_balanced_is_llama_cpp_with_repetition_control()
{
    let config = Config::defaults();
    assert_eq!(config.profiles.len(), 6);
    for name in BUILTIN_PROFILES {
        let p = &config.profiles[name];
        assert!(validate_profile(p).is_ok(), "{name}");
        assert!(!p.description.is_empty(), "{name}");
    }
    // llama.cpp's defaults but for the repetition control measured for the default model.
    assert_eq!(
        config.profiles["balanced"].sampler,
        SamplerParams {
            repeat_penalty: 1.1,
            dry_multiplier: 0.8,
            ..SamplerParams::default()
        }
    );
    assert_eq!(config.settings.active_profile, "balanced");
    // They differ from one another: a profile that equals another would be pointless.
    let coding = &config.profiles["coding"].sampler;
    assert!(coding.temperature < config.profiles["creative"].sampler.temperature);
}

#[test]
fn a_user_file_changes_only_what_it_sets_and_adds_profiles() {
    let user = "[profiles.balanced.sampler]\ntop_k = 7\n[profiles.mine]\nmax_tokens = 9\n";
    let got = parse_profiles("p.toml", Some(user)).unwrap();
    let defaults = parse_profiles("p.toml", None).unwrap();
    let mut want = defaults["balanced"].clone();
    want.sampler.top_k = 7;
    assert_eq!(got["balanced"], want);
    assert_eq!(got["quality"], defaults["quality"]);
    assert_eq!(got["mine"].max_tokens, 9);
    assert_eq!(got["mine"].sampler, SamplerParams::default());
    assert_eq!(got.len(), 7);
}

#[test]
fn validation_names_the_value_and_points_at_the_line() {
    let e = parse_profiles("p.toml", Some("[profiles.x.sampler]\ntop_p = 1.5\n")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "p.toml:2:1: top_p must be within 0..=1 (got 1.5) in profile `x`"
    );
    let e = parse_profiles("p.toml", Some("[profiles.x]\ncontext = 4\n")).unwrap_err();
    assert_eq!(e.position, Some((2, 1)));
    let e = parse_profiles(
        "p.toml",
        Some("[profiles.x.sampler]\nsamplers = [\"temp\"]\n"),
    )
    .unwrap_err();
    assert!(e.message.contains("spelled `temperature`"), "{e}");
    let e =
        parse_profiles("p.toml", Some("[profiles.x.sampler]\nrepeat_penalty = 0\n")).unwrap_err();
    assert!(
        e.message.starts_with("repeat_penalty must be above 0"),
        "{e}"
    );
    assert_eq!(e.position, Some((2, 1)));
}

#[test]
fn output_constraints_in_profiles_are_checked_when_loaded() {
    let ok =
        "[profiles.x]\njson_schema = '{\"type\": \"array\", \"items\": {\"type\": \"boolean\"}}'\n";
    let got = parse_profiles("p.toml", Some(ok)).unwrap();
    assert!(got["x"].json_schema.contains("boolean"));
    let bad_schema = "[profiles.x]\ntemplate = \"default\"\njson_schema = '{\"type\": \"string\", \"pattern\": \"a\"}'\n";
    let e = parse_profiles("p.toml", Some(bad_schema)).unwrap_err();
    assert!(e.message.contains("pattern"), "{e}");
    assert_eq!(e.position, Some((3, 1)), "{e}");
    let e = parse_profiles("p.toml", Some("[profiles.x]\nregex = '(a'\n")).unwrap_err();
    assert!(e.message.contains("bad regex"), "{e}");
    let both = "[profiles.x]\nregex = 'a'\njson_schema = '{}'\n";
    let e = parse_profiles("p.toml", Some(both)).unwrap_err();
    assert!(e.message.contains("not both"), "{e}");
}

#[test]
fn rope_tables_in_models_and_profiles_overlay_key_by_key() {
    use crate::engine::{RopeScaling, RopeScalingKind};
    let models = parse_models(
        "models.toml",
        Some("[models.gemma-3-270m.rope]\nscaling = \"yarn\"\nscale = 8.0\nyarn_orig_ctx = 256\n"),
    )
    .unwrap();
    let entry = models["gemma-3-270m"].rope;
    assert_eq!(entry.scaling, Some(RopeScalingKind::Yarn));
    assert_eq!((entry.scale, entry.yarn_orig_ctx), (Some(8.0), Some(256)));
    let profiles = parse_profiles(
        "profiles.toml",
        Some("[profiles.long.rope]\nscaling = \"linear\"\n"),
    )
    .unwrap();
    let mut config = Config::defaults();
    config.models = models;
    let path = crate::models::default_model_path();
    let flags = RopeScaling {
        freq_scale: Some(0.5),
        ..Default::default()
    };
    let rope = config.rope_for(&path, Some(&profiles["long"]), &flags);
    // The profile's method, the flag's frequency scale (replacing the entry's scale), the
    // entry's original context.
    assert_eq!(rope.scaling, Some(RopeScalingKind::Linear));
    assert_eq!((rope.scale, rope.freq_scale), (None, Some(0.5)));
    assert_eq!(rope.yarn_orig_ctx, Some(256));
    let bad = parse_models(
        "models.toml",
        Some("[models.gemma-3-270m.rope]\nscale = -2.0\n"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        bad.contains("positive") && bad.contains("gemma-3-270m"),
        "{bad}"
    );
    let unknown = parse_profiles("profiles.toml", Some("[profiles.x.rope]\nscael = 2.0\n"));
    assert!(unknown.is_err());
}
