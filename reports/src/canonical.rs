//! JSON with sorted object keys, whatever cargo features are on.
//!
//! `serde_json::Value` objects iterate in key order, unless some crate in the build enables
//! serde_json's `preserve_order` feature, when they iterate in insertion order. Test builds of this
//! workspace do enable it (through a dev-dependency), so any output built from a `Value` must go
//! through [`Canonical`] to be the same bytes in every build.

use std::collections::BTreeMap;

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;

/// Serializes the wrapped value with every object's keys in sorted order.
#[derive(Debug, Clone, Copy)]
pub struct Canonical<'a>(pub &'a Value);

impl Serialize for Canonical<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(map) => {
                let sorted: BTreeMap<&str, &Value> = map.iter().map(|(k, v)| (k.as_str(), v)).collect();
                let mut m = s.serialize_map(Some(sorted.len()))?;
                for (k, v) in sorted {
                    m.serialize_entry(k, &Canonical(v))?;
                }
                m.end()
            }
            Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for v in items {
                    seq.serialize_element(&Canonical(v))?;
                }
                seq.end()
            }
            other => other.serialize(s),
        }
    }
}

/// Compact canonical JSON text.
pub fn to_string(value: &Value) -> String {
    serde_json::to_string(&Canonical(value)).expect("a Value always serializes")
}

/// Pretty canonical JSON text.
pub fn to_string_pretty(value: &Value) -> String {
    serde_json::to_string_pretty(&Canonical(value)).expect("a Value always serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_out_sorted_at_every_depth() {
        let mut inner = serde_json::Map::new();
        inner.insert("z".into(), Value::from(1));
        inner.insert("a".into(), Value::from(2));
        let mut outer = serde_json::Map::new();
        outer.insert("list".into(), Value::Array(vec![Value::Object(inner.clone())]));
        outer.insert("b".into(), Value::Object(inner));
        let v = Value::Object(outer);
        assert_eq!(to_string(&v), r#"{"b":{"a":2,"z":1},"list":[{"a":2,"z":1}]}"#);
    }
}
