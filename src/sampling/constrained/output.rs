//! What a reply must be, compiled: the `json_schema` / `regex` keys of a profile or a template,
//! the dashboard's `/json` and `/regex`, and the server's `response_format` all become one
//! [`OutputConstraint`], which the sampling side turns into a [`Constraint`] per reply.
//!
//! [`Constraint`]: super::Constraint
use std::fmt;
use std::sync::Arc;

use super::full_match::FullMatchRegex;
use super::schema::{any_object_regex, schema_text_to_regex, ANY_DEPTH};

/// A compiled reply constraint and a name for it ("JSON Schema (profile extract)").
#[derive(Clone)]
pub struct OutputConstraint {
    pub label: String,
    pub regex: Arc<FullMatchRegex>,
}

impl OutputConstraint {
    /// The reply is one JSON value valid under the schema in `text` (JSON, properties in order).
    pub fn json_schema(text: &str, label: impl Into<String>) -> Result<Self, String> {
        let pattern = schema_text_to_regex(text)
            .map_err(|e| format!("the JSON Schema cannot be used: {e}"))?;
        Self::compile(&pattern, label).map_err(|e| {
            format!("the JSON Schema makes an expression the matcher cannot build: {e}")
        })
    }

    /// The whole reply matches `pattern`.
    pub fn regex(pattern: &str, label: impl Into<String>) -> Result<Self, String> {
        Self::compile(pattern, label).map_err(|e| format!("bad regex `{pattern}`: {e}"))
    }

    /// The reply is one JSON object (OpenAI's `json_object`).
    pub fn any_object(label: impl Into<String>) -> Self {
        Self::compile(&any_object_regex(ANY_DEPTH + 1), label)
            .expect("the any-object expression compiles")
    }

    /// From a profile's or a template's keys: `json_schema` (JSON text) or `regex`, empty for
    /// none; giving both is an error. The error names the key.
    pub fn from_keys(
        json_schema: &str,
        regex: &str,
        label: &str,
    ) -> Result<Option<Self>, (&'static str, String)> {
        match (json_schema.trim().is_empty(), regex.is_empty()) {
            (true, true) => Ok(None),
            (false, false) => Err((
                "regex",
                "give either `json_schema` or `regex`, not both".into(),
            )),
            (false, true) => Self::json_schema(json_schema, format!("JSON Schema ({label})"))
                .map(Some)
                .map_err(|e| ("json_schema", e)),
            (true, false) => Self::regex(regex, format!("regex ({label})"))
                .map(Some)
                .map_err(|e| ("regex", e)),
        }
    }

    fn compile(pattern: &str, label: impl Into<String>) -> Result<Self, String> {
        Ok(Self {
            label: label.into(),
            regex: Arc::new(FullMatchRegex::new(pattern)?),
        })
    }
}

impl PartialEq for OutputConstraint {
    fn eq(&self, other: &Self) -> bool {
        self.label == other.label && self.regex.pattern() == other.regex.pattern()
    }
}

impl fmt::Debug for OutputConstraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutputConstraint")
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_compile_into_a_constraint_or_name_their_fault() {
        assert!(OutputConstraint::from_keys("", "", "p").unwrap().is_none());
        let schema = r#"{"type": "object", "properties": {"b": {"type": "boolean"},
            "a": {"type": "integer", "minimum": 0, "maximum": 9}}, "required": ["b", "a"]}"#;
        let c = OutputConstraint::from_keys(schema, "", "extract")
            .unwrap()
            .unwrap();
        assert_eq!(c.label, "JSON Schema (extract)");
        assert!(c.regex.is_full_match(br#"{"b": true, "a": 3}"#));
        assert!(!c.regex.is_full_match(br#"{"a": 3, "b": true}"#));
        let r = OutputConstraint::from_keys("", "(yes|no)", "p")
            .unwrap()
            .unwrap();
        assert!(r.regex.is_full_match(b"no") && !r.regex.is_full_match(b"nope"));
        let both = OutputConstraint::from_keys(schema, "x", "p").unwrap_err();
        assert_eq!(both.0, "regex");
        let bad = OutputConstraint::from_keys(r#"{"type": "string", "pattern": "a"}"#, "", "p");
        let (key, msg) = bad.unwrap_err();
        assert_eq!(key, "json_schema");
        assert!(msg.contains("pattern"), "{msg}");
        let (key, msg) = OutputConstraint::from_keys("", "(unclosed", "p").unwrap_err();
        assert_eq!(key, "regex");
        assert!(msg.contains("(unclosed"), "{msg}");
        let any = OutputConstraint::any_object("JSON");
        assert!(any.regex.is_full_match(br#"{"k": [1, {"x": null}]}"#));
        assert!(!any.regex.is_full_match(b"[1]"));
    }
}
