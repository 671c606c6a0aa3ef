use serde_json::json;

use super::*;
use crate::sampling::constrained::FullMatchRegex;

/// Compiles the schema as its JSON text, so that the properties keep their order.
fn compile(schema: &str) -> FullMatchRegex {
    let re = schema_text_to_regex(schema).unwrap_or_else(|e| panic!("{schema}: {e}"));
    FullMatchRegex::new(&re).unwrap_or_else(|e| panic!("{schema} -> {re}: {e}"))
}

fn assert_accepts(re: &FullMatchRegex, texts: &[&str]) {
    for t in texts {
        assert!(
            re.is_full_match(t.as_bytes()),
            "should match {t:?}: {}",
            re.pattern()
        );
    }
}

fn assert_rejects(re: &FullMatchRegex, texts: &[&str]) {
    for t in texts {
        assert!(
            !re.is_full_match(t.as_bytes()),
            "should not match {t:?}: {}",
            re.pattern()
        );
    }
}

#[test]
fn integer_ranges_hold_exactly_their_numbers() {
    for (lo, hi) in [
        (0, 0),
        (0, 9),
        (3, 17),
        (1, 1000),
        (-20, 7),
        (-105, -3),
        (250, 12_345),
    ] {
        let re = FullMatchRegex::new(&integer(lo, hi)).unwrap();
        for n in (lo - 30)..=(hi + 30) {
            let ok = re.is_full_match(n.to_string().as_bytes());
            assert_eq!(
                ok,
                (lo..=hi).contains(&n),
                "{n} in {lo}..={hi}: {}",
                re.pattern()
            );
        }
        assert!(!re.is_full_match(b"007"), "leading zeros");
        assert!(!re.is_full_match(b"-0"));
    }
}

#[test]
fn number_ranges_with_fractions() {
    let re = FullMatchRegex::new(&number(-5, 10)).unwrap();
    assert_accepts(
        &re,
        &["0", "10", "10.0", "9.75", "-5", "-4.5", "-0.25", "3"],
    );
    assert_rejects(&re, &["10.5", "-5.5", "11", "-6", "1.", "01", "1e3"]);
    let re = FullMatchRegex::new(&number(2, 4)).unwrap();
    assert_accepts(&re, &["2", "2.5", "3.999", "4", "4.00"]);
    assert_rejects(&re, &["1.9", "4.1", "5", "-3"]);
}

#[test]
fn objects_with_required_and_optional_properties() {
    let re = compile(
        r#"{
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 5},
            "age": {"type": "integer", "minimum": 0, "maximum": 120},
            "pet": {"type": "boolean"}
        },
        "required": ["name"]
    }"#,
    );
    assert_accepts(
        &re,
        &[
            r#"{"name":"Ann"}"#,
            r#"{"name": "Ann", "age": 42}"#,
            r#"{"name":"Ann","pet":true}"#,
            r#"{"name":"","age":0,"pet":false}"#,
            r#"{"name":"a\"b"}"#,
        ],
    );
    assert_rejects(
        &re,
        &[
            r#"{}"#,
            r#"{"age":3}"#,
            r#"{"name":"Annabel"}"#,
            r#"{"name":"Ann","age":121}"#,
            r#"{"name":"Ann",}"#,
            r#"{"age":3,"name":"Ann"}"#,
            "{\"name\":\"a\nb\"}",
        ],
    );
}

#[test]
fn all_optional_properties_allow_an_empty_object() {
    let re = compile(
        &json!({
            "type": "object",
            "properties": {"a": {"type": "null"}, "b": {"enum": ["x", 2, null]}}
        })
        .to_string(),
    );
    assert_accepts(
        &re,
        &["{}", r#"{"a":null}"#, r#"{"b":"x"}"#, r#"{"a":null,"b":2}"#],
    );
    assert_rejects(&re, &[r#"{"b":"y"}"#, r#"{,"b":2}"#, r#"{"a":null,}"#]);
}

#[test]
fn arrays_with_item_schemas_and_bounds() {
    let re = compile(
        &json!({
            "type": "array",
            "items": {"type": "integer", "minimum": 1, "maximum": 9},
            "minItems": 1,
            "maxItems": 3
        })
        .to_string(),
    );
    assert_accepts(&re, &["[1]", "[1,2,3]", "[4, 5]"]);
    assert_rejects(&re, &["[]", "[1,2,3,4]", "[0]", "[1,]"]);
    let re = compile(&json!({"type": "array", "items": {"type": "string"}}).to_string());
    assert_accepts(&re, &["[]", r#"["a","b c"]"#]);
}

#[test]
fn type_lists_and_untyped_values() {
    let re = compile(&json!({"type": ["string", "null"], "maxLength": 2}).to_string());
    assert_accepts(&re, &["null", r#""ab""#]);
    assert_rejects(&re, &["1", r#""abc""#]);
    let re = compile(&json!({}).to_string());
    assert_accepts(&re, &["1", "[1,[2]]", r#"{"a":{"b":1}}"#, "true", r#""x""#]);
}

#[test]
fn unsupported_keywords_are_named() {
    let e = schema_to_regex(&json!({"type": "string", "pattern": "a+", "format": "email"}))
        .unwrap_err();
    assert!(e.contains("`pattern`") && e.contains("`format`"), "{e}");
    let e = schema_to_regex(&json!({
        "type": "object",
        "properties": {"a": {"anyOf": [{"type": "string"}]}}
    }))
    .unwrap_err();
    assert!(e.contains("property `a`") && e.contains("`anyOf`"), "{e}");
    let e = schema_to_regex(&json!({"type": "number", "minimum": 0.5})).unwrap_err();
    assert!(e.contains("minimum"), "{e}");
    let e = schema_to_regex(&json!({"type": "object", "properties": {}, "required": ["x"]}))
        .unwrap_err();
    assert!(e.contains("`x`"), "{e}");
    assert!(schema_to_regex(&json!({"type": "tuple"})).is_err());
    assert!(schema_to_regex(&json!([1])).is_err());
}

#[test]
fn properties_keep_the_order_of_the_schema_text() {
    let text = r#"{"type":"object","properties":{"zeta":{"type":"null"},"alpha":{"type":"null"}},
        "required":["zeta","alpha"]}"#;
    let re = FullMatchRegex::new(&schema_text_to_regex(text).unwrap()).unwrap();
    assert_accepts(&re, &[r#"{"zeta":null,"alpha":null}"#]);
    assert_rejects(&re, &[r#"{"alpha":null,"zeta":null}"#]);
    assert!(schema_text_to_regex("{")
        .unwrap_err()
        .contains("not valid JSON"));
}
