//! Field paths (`spec.events[3].rollout.deployment`) and the line each one sits on.
//!
//! The YAML parser reports a location only with an error. To find the line of a field that
//! parsed fine but means something wrong (an unknown deployment), the text is parsed again with a
//! visitor that walks down the path and fails *on purpose* at the target node: the parser stamps
//! that error with the node's position. Errors are rare, so paying one extra parse each is fine.

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

/// A field path from the document root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldPath(pub Vec<Seg>);

impl FieldPath {
    /// The empty path (the document).
    pub fn root() -> Self {
        FieldPath(Vec::new())
    }

    /// Parses `spec.events[3].rollout` (keys may not contain `.` or `[`).
    pub fn parse(text: &str) -> Self {
        let mut segs = Vec::new();
        for part in text.split('.').filter(|p| !p.is_empty()) {
            let (key, rest) = part.split_once('[').map_or((part, ""), |(k, r)| (k, r));
            if !key.is_empty() {
                segs.push(Seg::Key(key.to_string()));
            }
            for index in rest.split('[') {
                if let Ok(i) = index.trim_end_matches(']').parse() {
                    segs.push(Seg::Index(i));
                }
            }
        }
        FieldPath(segs)
    }

    /// This path plus a key.
    pub fn key(&self, key: &str) -> Self {
        let mut p = self.clone();
        p.0.push(Seg::Key(key.to_string()));
        p
    }

    /// This path plus an index.
    pub fn index(&self, index: usize) -> Self {
        let mut p = self.clone();
        p.0.push(Seg::Index(index));
        p
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if i == 0 => write!(f, "{k}")?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

const MARKER: &str = "kubesim-locate-marker";

/// The 1-based line of the node at `path` in `text`, or of its deepest existing ancestor.
pub fn line_of(text: &str, path: &FieldPath) -> Option<usize> {
    for depth in (0..=path.0.len()).rev() {
        let de = yaml_serde::Deserializer::from_str(text);
        match (Seek { path: &path.0[..depth] }).deserialize(de) {
            Err(e) if e.to_string().contains(MARKER) => return e.location().map(|l| l.line()),
            _ => continue,
        }
    }
    None
}

struct Seek<'a> {
    path: &'a [Seg],
}

impl<'de> DeserializeSeed<'de> for Seek<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// A mapping key of any scalar type, as text.
struct AnyKey(String);

impl<'de> de::Deserialize<'de> for AnyKey {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = AnyKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E>(self, v: &str) -> Result<AnyKey, E> {
                Ok(AnyKey(v.to_string()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<AnyKey, E> {
                Ok(AnyKey(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<AnyKey, E> {
                Ok(AnyKey(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<AnyKey, E> {
                Ok(AnyKey(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<AnyKey, E> {
                Ok(AnyKey(v.to_string()))
            }
            fn visit_unit<E>(self) -> Result<AnyKey, E> {
                Ok(AnyKey(String::new()))
            }
        }
        d.deserialize_any(V)
    }
}

impl Seek<'_> {
    fn here<E: de::Error>(&self) -> Result<(), E> {
        if self.path.is_empty() {
            Err(E::custom(MARKER))
        } else {
            Ok(())
        }
    }
}

impl<'de> Visitor<'de> for Seek<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("anything")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.here()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.here()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.here()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.here()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.here()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.here()
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.here()
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_newtype_struct<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        // Tagged YAML values (`!Tag x`): treat as a leaf.
        if self.path.is_empty() {
            Err(de::Error::custom(MARKER))
        } else {
            Ok(())
        }
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some((first, rest)) = self.path.split_first() else {
            return Err(de::Error::custom(MARKER));
        };
        while let Some(AnyKey(key)) = map.next_key()? {
            if matches!(first, Seg::Key(k) if *k == key) {
                map.next_value_seed(Seek { path: rest })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Some((first, rest)) = self.path.split_first() else {
            return Err(de::Error::custom(MARKER));
        };
        let mut i = 0;
        loop {
            if matches!(first, Seg::Index(n) if *n == i) {
                if seq.next_element_seed(Seek { path: rest })?.is_none() {
                    return Ok(());
                }
            } else if seq.next_element::<IgnoredAny>()?.is_none() {
                return Ok(());
            }
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# header\napiVersion: kubesim/v1\nspec:\n  duration: 1h\n  events:\n    - {at: 10m, rollout: {deployment: web, image: \"web:v2\"}}\n    - at: 20m\n      scale:\n        deployment: api\n        replicas: 3\n";

    #[test]
    fn paths_print_and_parse_back() {
        let p = FieldPath::parse("spec.events[1].scale.deployment");
        assert_eq!(p.to_string(), "spec.events[1].scale.deployment");
        assert_eq!(FieldPath::root().key("spec").index(0).to_string(), "spec[0]");
    }

    #[test]
    fn block_and_flow_nodes_are_found_on_their_lines() {
        assert_eq!(line_of(TEXT, &FieldPath::parse("apiVersion")), Some(2));
        assert_eq!(line_of(TEXT, &FieldPath::parse("spec.duration")), Some(4));
        assert_eq!(line_of(TEXT, &FieldPath::parse("spec.events[0].rollout.deployment")), Some(6));
        assert_eq!(line_of(TEXT, &FieldPath::parse("spec.events[1].scale.deployment")), Some(9));
        assert_eq!(line_of(TEXT, &FieldPath::parse("spec.events[1].scale.replicas")), Some(10));
    }

    #[test]
    fn a_missing_field_points_at_its_nearest_ancestor() {
        // events[1] has no `rollout`: the event mapping itself starts on line 7.
        assert_eq!(line_of(TEXT, &FieldPath::parse("spec.events[1].rollout.image")), Some(7));
    }
}
