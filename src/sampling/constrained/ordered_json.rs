//! JSON text parsed into a `serde_json::Value` that remembers the order of each object's keys.
//!
//! serde_json's map sorts keys (its insertion-order feature would change every JSON the program
//! writes), but a schema's `properties` order is the order a reply should write them in. Each
//! object parsed here carries its keys, in the text's order, under [`KEY_ORDER`].
use std::fmt;

use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

/// The hidden entry holding an object's keys in order (no schema keyword starts with NUL).
pub const KEY_ORDER: &str = "\u{0}key order";

/// Parses JSON text, recording each object's key order.
pub fn parse(text: &str) -> Result<Value, serde_json::Error> {
    serde_json::from_str::<Ordered>(text).map(|o| o.0)
}

/// The keys of `map` in the order the text had them (the map's own order when it was not parsed
/// by [`parse`]), without [`KEY_ORDER`].
pub fn keys_in_order(map: &Map<String, Value>) -> Vec<&str> {
    match map.get(KEY_ORDER) {
        Some(Value::Array(keys)) => keys.iter().filter_map(Value::as_str).collect(),
        _ => map
            .keys()
            .map(String::as_str)
            .filter(|k| *k != KEY_ORDER)
            .collect(),
    }
}

/// `value` without the recorded key orders (to write it back as JSON).
pub fn strip(value: &Value) -> Value {
    match value {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| *k != KEY_ORDER)
                .map(|(k, v)| (k.clone(), strip(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip).collect()),
        other => other.clone(),
    }
}

struct Ordered(Value);

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(OrderedVisitor).map(Ordered)
    }
}

struct OrderedVisitor;

impl<'de> Visitor<'de> for OrderedVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Ordered(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        let mut order = Vec::new();
        while let Some((k, Ordered(v))) = map.next_entry::<String, Ordered>()? {
            if !out.contains_key(&k) {
                order.push(Value::String(k.clone()));
            }
            out.insert(k, v);
        }
        out.insert(KEY_ORDER.to_string(), Value::Array(order));
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_text_order_and_strips_back_to_plain_json() {
        let v = parse(r#"{"z": 1, "a": {"y": [true, null], "b": "s"}, "m": 2.5}"#).unwrap();
        let m = v.as_object().unwrap();
        assert_eq!(keys_in_order(m), ["z", "a", "m"]);
        assert_eq!(keys_in_order(m["a"].as_object().unwrap()), ["y", "b"]);
        assert_eq!(
            strip(&v),
            serde_json::json!({"z": 1, "a": {"y": [true, null], "b": "s"}, "m": 2.5})
        );
        assert!(parse("{").is_err());
    }
}
