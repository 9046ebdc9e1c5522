//! [`Name`]: an object's name, namespace or uid, shared rather than copied.
//!
//! Every status write makes a new version of a pod in the API store, and each version, each key
//! that names the pod (the store's, the scheduler's, the metrics pipeline's) and each record that
//! outlives a version carries its name, namespace and uid. Held as `String`s, each copy is three
//! allocations of its own (≈ 100 bytes per running pod at 150,000 pods). A `Name` is an
//! `Arc<str>`: copying it is a reference-count increment, and it never changes once made, as an
//! object's name never does.
//!
//! It is transparent to everything that observes values: `Debug`, `Display`, equality, ordering
//! and hashing are those of the `str`, so digests, maps keyed by names and lookups by `&str`
//! (through [`Borrow<str>`]) are unchanged.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, OnceLock};

/// An immutable, shared string: an object's name, namespace or uid.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(Arc<str>);

impl Name {
    /// The empty name (cluster-scoped objects' namespace), shared by all.
    pub fn empty() -> Self {
        static EMPTY: OnceLock<Name> = OnceLock::new();
        EMPTY.get_or_init(|| Name(Arc::from(""))).clone()
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when both hold the same allocation (not merely equal text).
    pub fn ptr_eq(this: &Self, other: &Self) -> bool {
        Arc::ptr_eq(&this.0, &other.0)
    }
}

impl Default for Name {
    fn default() -> Self {
        Name::empty()
    }
}

impl Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Name {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Self {
        if s.is_empty() {
            Name::empty()
        } else {
            Name(Arc::from(s))
        }
    }
}

impl From<String> for Name {
    fn from(s: String) -> Self {
        if s.is_empty() {
            Name::empty()
        } else {
            Name(Arc::from(s))
        }
    }
}

impl From<&String> for Name {
    fn from(s: &String) -> Self {
        Name::from(s.as_str())
    }
}

impl From<&Name> for Name {
    fn from(s: &Name) -> Self {
        s.clone()
    }
}

impl From<Name> for String {
    fn from(s: Name) -> Self {
        s.0.to_string()
    }
}

impl From<&Name> for String {
    fn from(s: &Name) -> Self {
        s.0.to_string()
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for Name {
    fn eq(&self, other: &String) -> bool {
        &*self.0 == other.as_str()
    }
}

impl PartialEq<Name> for str {
    fn eq(&self, other: &Name) -> bool {
        self == &*other.0
    }
}

impl PartialEq<Name> for &str {
    fn eq(&self, other: &Name) -> bool {
        *self == &*other.0
    }
}

impl PartialEq<Name> for String {
    fn eq(&self, other: &Name) -> bool {
        self.as_str() == &*other.0
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::hash::{BuildHasher, RandomState};

    use super::*;

    #[test]
    fn a_name_compares_orders_and_hashes_as_its_text() {
        let (a, b) = (Name::from("app-1"), Name::from(String::from("app-2")));
        let owned = String::from("app-1");
        assert!(a < b);
        assert_eq!(a, "app-1");
        assert_eq!("app-2", b);
        assert_eq!(a, owned);
        assert_eq!(owned, a);
        // Any hasher will do (a seeded one included): the test asserts only that a `Name` and its
        // text hash alike, which lookups by `&str` rely on; nothing is iterated in hash order.
        let hasher = RandomState::new();
        assert_eq!(hasher.hash_one(&a), hasher.hash_one("app-1"), "HashMap<Name, _> finds by &str");
        let map: BTreeMap<Name, u32> = [(b.clone(), 2), (a.clone(), 1)].into_iter().collect();
        assert_eq!(map.get("app-2"), Some(&2));
        assert_eq!(format!("{a} {a:?}"), "app-1 \"app-1\"", "Display and Debug are the text's");
    }

    #[test]
    fn copies_share_one_allocation_and_every_empty_name_is_the_same() {
        let a = Name::from("pod-xyz");
        assert!(Name::ptr_eq(&a, &a.clone()));
        assert!(!Name::ptr_eq(&a, &Name::from("pod-xyz")), "equal text, made apart");
        assert!(Name::ptr_eq(&Name::default(), &Name::from(String::new())));
        assert!(Name::default().is_empty());
    }
}
