//! `response_format` (OpenAI: `text`, `json_object`, `json_schema`) and llama-server's top-level
//! `json_schema`: the reply is constrained to one JSON value, compiled here into the whole-match
//! regex the slot's [`Constraint`] drives.
//!
//! A schema's `properties` order is the order the reply writes them in, but the request body was
//! parsed into sorted maps; so when a schema is present the body is parsed a second time keeping
//! key order (only then: most requests carry none).
//!
//! [`Constraint`]: crate::sampling::constrained::Constraint
use std::sync::Arc;

use serde_json::Value;

use super::error::ApiError;
use super::fields::Fields;
use crate::sampling::constrained::{
    any_object_regex, parse_keeping_key_order, schema_to_regex, FullMatchRegex, OutputConstraint,
    ANY_DEPTH,
};

/// A compiled reply constraint; its label is `json_object` or `json_schema`.
pub type JsonConstraint = OutputConstraint;

/// Where a schema sits in the body, to find it again in the order-keeping parse.
enum SchemaAt {
    /// `response_format.schema` (llama-server's form of `json_object` with a schema).
    FormatSchema,
    /// `response_format.json_schema.schema` (OpenAI's).
    FormatJsonSchema,
    /// The top-level `json_schema` (llama-server's `/completion` field).
    TopLevel,
}

/// The request's constraint, if it asks for one. `body` is the raw JSON the value was parsed
/// from. A malformed `response_format` or a schema this server cannot follow is a 400 naming
/// `response_format` (or `json_schema`) and what is wrong.
pub fn from_request(value: &Value, body: &[u8]) -> Result<Option<JsonConstraint>, ApiError> {
    let f = Fields::of(value);
    let at = match (f.get("response_format"), f.get("json_schema")) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_field(
                "json_schema",
                "give either `response_format` or `json_schema`, not both",
            ))
        }
        (None, Some(schema)) => {
            if !schema.is_object() && !schema.is_boolean() {
                return Err(ApiError::bad_field(
                    "json_schema",
                    "`json_schema` must be a JSON Schema object",
                ));
            }
            SchemaAt::TopLevel
        }
        (Some(format), None) => match format_kind(format)? {
            Some(at) => at,
            None => return Ok(None),
        },
        (None, None) => return Ok(None),
    };
    let (param, kind, pattern) = match at {
        SchemaAt::FormatSchema if format_schema(value).is_none() => (
            "response_format",
            "json_object",
            any_object_regex(ANY_DEPTH + 1),
        ),
        at => {
            let param = match at {
                SchemaAt::TopLevel => "json_schema",
                _ => "response_format",
            };
            let ordered = std::str::from_utf8(body)
                .ok()
                .and_then(|text| parse_keeping_key_order(text).ok())
                .ok_or_else(|| ApiError::bad_field(param, "the body is not valid JSON"))?;
            let schema = match at {
                SchemaAt::TopLevel => ordered.get("json_schema"),
                SchemaAt::FormatSchema => format_schema(&ordered),
                SchemaAt::FormatJsonSchema => ordered
                    .get("response_format")
                    .and_then(|r| r.get("json_schema"))
                    .and_then(|j| j.get("schema")),
            }
            .ok_or_else(|| ApiError::bad_field(param, "the schema is missing"))?;
            let pattern = schema_to_regex(schema).map_err(|e| {
                ApiError::bad_field(param, format!("the JSON Schema cannot be used: {e}"))
            })?;
            (param, "json_schema", pattern)
        }
    };
    let regex = FullMatchRegex::new(&pattern).map_err(|e| {
        ApiError::bad_field(
            param,
            format!("the JSON Schema makes an expression the matcher cannot build: {e}"),
        )
    })?;
    Ok(Some(JsonConstraint {
        label: kind.to_string(),
        regex: Arc::new(regex),
    }))
}

/// `response_format.schema`, when there is one.
fn format_schema(value: &Value) -> Option<&Value> {
    value
        .get("response_format")
        .and_then(|r| r.get("schema"))
        .filter(|s| !s.is_null())
}

/// What a `response_format` object asks for: `None` for plain text.
fn format_kind(format: &Value) -> Result<Option<SchemaAt>, ApiError> {
    let bad = |msg: &str| ApiError::bad_field("response_format", msg.to_string());
    let Some(obj) = format.as_object() else {
        return Err(bad(
            "`response_format` must be an object such as {\"type\": \"json_object\"}",
        ));
    };
    match obj.get("type").and_then(Value::as_str) {
        Some("text") => Ok(None),
        Some("json_object") => Ok(Some(SchemaAt::FormatSchema)),
        Some("json_schema") => match obj.get("json_schema") {
            Some(Value::Object(js)) => match js.get("schema") {
                Some(Value::Object(_)) | Some(Value::Bool(_)) => Ok(Some(SchemaAt::FormatJsonSchema)),
                _ => Err(bad(
                    "`response_format.json_schema.schema` must be a JSON Schema object",
                )),
            },
            _ => Err(bad(
                "`response_format` of type `json_schema` needs a `json_schema` object with a `schema`",
            )),
        },
        Some(other) => Err(ApiError::bad_field(
            "response_format",
            format!(
                "unknown `response_format.type` `{other}` (known: text, json_object, json_schema)"
            ),
        )),
        None => Err(bad("`response_format.type` must be a string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn constraint(body: Value) -> Result<Option<JsonConstraint>, ApiError> {
        let text = serde_json::to_vec(&body).unwrap();
        from_request(&body, &text)
    }

    fn raw(text: &str) -> Result<Option<JsonConstraint>, ApiError> {
        let value: Value = serde_json::from_str(text).unwrap();
        from_request(&value, text.as_bytes())
    }

    fn matches(c: &JsonConstraint, text: &str) -> bool {
        c.regex.is_full_match(text.as_bytes())
    }

    #[test]
    fn text_and_absent_formats_ask_for_nothing() {
        assert!(constraint(json!({})).unwrap().is_none());
        let text = json!({"response_format": {"type": "text"}});
        assert!(constraint(text).unwrap().is_none());
        assert!(constraint(json!({"response_format": null}))
            .unwrap()
            .is_none());
    }

    #[test]
    fn json_object_allows_any_object_only() {
        let c = constraint(json!({"response_format": {"type": "json_object"}}))
            .unwrap()
            .unwrap();
        assert_eq!(c.label, "json_object");
        assert!(matches(&c, r#"{"a": [1, {"b": null}], "c": "d"}"#));
        assert!(matches(&c, "{}"));
        assert!(!matches(&c, "[1]"));
        assert!(!matches(&c, r#""text""#));
    }

    #[test]
    fn schemas_keep_the_order_of_their_properties() {
        // Written out of alphabetical order: the sorted parse would put `age` first.
        let body = r#"{"response_format": {"type": "json_schema", "json_schema": {"name": "pet",
            "schema": {"type": "object", "properties": {"name": {"type": "string"},
            "age": {"type": "integer", "minimum": 0, "maximum": 30}},
            "required": ["name", "age"]}}}}"#;
        let c = raw(body).unwrap().unwrap();
        assert_eq!(c.label, "json_schema");
        assert!(matches(&c, r#"{"name": "Rex", "age": 3}"#));
        assert!(!matches(&c, r#"{"age": 3, "name": "Rex"}"#));
        assert!(!matches(&c, r#"{"name": "Rex", "age": 31}"#));
        // llama-server's forms: a schema beside `json_object`, and the top-level field.
        let beside = r#"{"response_format": {"type": "json_object",
            "schema": {"type": "array", "items": {"type": "boolean"}, "maxItems": 2}}}"#;
        let c = raw(beside).unwrap().unwrap();
        assert!(matches(&c, "[true, false]") && !matches(&c, "[true, false, true]"));
        let top = r#"{"prompt": "x", "json_schema": {"enum": ["red", "green"]}}"#;
        let c = raw(top).unwrap().unwrap();
        assert!(matches(&c, r#""green""#) && !matches(&c, r#""blue""#));
    }

    #[test]
    fn bad_formats_name_the_field_and_the_fault() {
        let cases = [
            (json!({"response_format": "json"}), "must be an object"),
            (json!({"response_format": {"type": "xml"}}), "unknown"),
            (json!({"response_format": {}}), "must be a string"),
            (
                json!({"response_format": {"type": "json_schema"}}),
                "needs a `json_schema` object",
            ),
            (
                json!({"response_format": {"type": "json_schema", "json_schema": {"schema": 3}}}),
                "must be a JSON Schema object",
            ),
            (
                json!({"response_format": {"type": "json_schema",
                    "json_schema": {"schema": {"type": "string", "pattern": "a+"}}}}),
                "pattern",
            ),
            (
                json!({"response_format": {"type": "json_object"}, "json_schema": {}}),
                "not both",
            ),
            (json!({"json_schema": "string"}), "JSON Schema object"),
        ];
        for (body, fault) in cases {
            let e = constraint(body.clone()).unwrap_err();
            assert!(e.message.contains(fault), "{body}: {}", e.message);
            assert!(e.param.is_some(), "{body}: no param");
        }
    }
}
