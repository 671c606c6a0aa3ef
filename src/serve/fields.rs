//! Typed reads of a request's JSON fields, each failure a 400 that names the field: a client
//! that sends `"top_k": "forty"` learns which field and what was expected.
use serde_json::{Map, Value};

use super::error::ApiError;

/// A request body's top-level object.
pub struct Fields<'a> {
    obj: &'a Map<String, Value>,
}

impl<'a> Fields<'a> {
    /// The body parsed: malformed JSON, or anything but an object, is a 400.
    pub fn parse(body: &[u8]) -> Result<Value, ApiError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))?;
        if !value.is_object() {
            return Err(ApiError::bad_request("the body must be a JSON object"));
        }
        Ok(value)
    }

    pub fn of(value: &'a Value) -> Self {
        Self {
            obj: value
                .as_object()
                .expect("Fields::parse checked for an object"),
        }
    }

    /// The field's value; JSON `null` counts as absent, as in OpenAI's API.
    pub fn get(&self, name: &str) -> Option<&'a Value> {
        self.obj.get(name).filter(|v| !v.is_null())
    }

    pub fn f32(&self, name: &str) -> Result<Option<f32>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => match v.as_f64() {
                Some(x) if x.is_finite() => Ok(Some(x as f32)),
                _ => Err(ApiError::bad_field(
                    name,
                    format!("`{name}` must be a number, got {v}"),
                )),
            },
        }
    }

    pub fn i64(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                // 40.0 is an integer to JavaScript clients.
                .or_else(|| {
                    v.as_f64()
                        .filter(|x| x.fract() == 0.0 && x.abs() < 9e15)
                        .map(|x| x as i64)
                })
                .map(Some)
                .ok_or_else(|| {
                    ApiError::bad_field(name, format!("`{name}` must be an integer, got {v}"))
                }),
        }
    }

    /// A non-negative integer.
    pub fn usize(&self, name: &str) -> Result<Option<usize>, ApiError> {
        match self.i64(name)? {
            None => Ok(None),
            Some(n) if n >= 0 => Ok(Some(n as usize)),
            Some(n) => Err(ApiError::bad_field(
                name,
                format!("`{name}` must not be negative, got {n}"),
            )),
        }
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(ApiError::bad_field(
                name,
                format!("`{name}` must be true or false, got {v}"),
            )),
        }
    }

    pub fn str(&self, name: &str) -> Result<Option<&'a str>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(ApiError::bad_field(
                name,
                format!("`{name}` must be a string, got {v}"),
            )),
        }
    }

    /// A string or an array of strings (`stop`, `samplers`).
    pub fn strings(&self, name: &str) -> Result<Option<Vec<String>>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(vec![s.clone()])),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(ApiError::bad_field(
                        name,
                        format!("`{name}` must hold strings only, got {other}"),
                    )),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(v) => Err(ApiError::bad_field(
                name,
                format!("`{name}` must be a string or an array of strings, got {v}"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn typed_reads_name_the_field() {
        let v =
            json!({"a": 1.5, "b": 40.0, "c": "x", "d": -1, "e": null, "f": ["p", "q"], "g": [1]});
        let f = Fields::of(&v);
        assert_eq!(f.f32("a").unwrap(), Some(1.5));
        assert_eq!(f.usize("b").unwrap(), Some(40));
        assert_eq!(f.str("c").unwrap(), Some("x"));
        assert_eq!(f.usize("e").unwrap(), None);
        assert_eq!(f.strings("c").unwrap(), Some(vec!["x".to_string()]));
        assert_eq!(f.strings("f").unwrap().unwrap().len(), 2);
        assert_eq!(f.usize("d").unwrap_err().param.as_deref(), Some("d"));
        assert_eq!(f.f32("c").unwrap_err().param.as_deref(), Some("c"));
        assert_eq!(f.usize("a").unwrap_err().param.as_deref(), Some("a"));
        assert_eq!(f.bool("a").unwrap_err().param.as_deref(), Some("a"));
        assert_eq!(f.strings("g").unwrap_err().param.as_deref(), Some("g"));
        assert_eq!(f.f32("missing").unwrap(), None);
    }

    #[test]
    fn malformed_bodies_are_refused() {
        assert!(Fields::parse(b"{not json")
            .unwrap_err()
            .message
            .contains("not valid JSON"));
        assert!(Fields::parse(b"[1, 2]")
            .unwrap_err()
            .message
            .contains("object"));
        assert!(Fields::parse(b"{}").is_ok());
    }
}
