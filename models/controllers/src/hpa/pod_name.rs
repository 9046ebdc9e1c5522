//! [`PodName`]: a pod name stored inline when it is short.
//!
//! The replica calculator joins every target pod with its metric sample by name, every sync
//! (15 s) of every HPA. A `String` keeps its bytes in a separate heap block, so each comparison
//! was a cache miss on each side; names of Deployment pods (the Deployment's name plus 17
//! characters) fit in the value itself, which is then read together with the rest of the sample.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use arrayvec::ArrayString;

/// Names up to this many bytes are stored inline.
pub const INLINE_NAME_BYTES: usize = 47;

/// A pod name: inline up to [`INLINE_NAME_BYTES`] bytes, on the heap beyond. Behaves as the
/// `str` it holds (comparison, ordering, hashing, display); how it is stored is invisible.
#[derive(Clone)]
pub enum PodName {
    /// Short names.
    Inline(ArrayString<INLINE_NAME_BYTES>),
    /// Longer names (up to the 253 characters Kubernetes allows).
    Heap(String),
}

impl PodName {
    /// The name.
    pub fn as_str(&self) -> &str {
        match self {
            PodName::Inline(s) => s,
            PodName::Heap(s) => s,
        }
    }
}

impl Default for PodName {
    fn default() -> Self {
        PodName::Inline(ArrayString::new())
    }
}

impl From<&str> for PodName {
    fn from(name: &str) -> Self {
        ArrayString::from(name).map_or_else(|_| PodName::Heap(name.to_string()), PodName::Inline)
    }
}

impl From<String> for PodName {
    fn from(name: String) -> Self {
        match ArrayString::from(&name) {
            Ok(inline) => PodName::Inline(inline),
            Err(_) => PodName::Heap(name),
        }
    }
}

impl From<&String> for PodName {
    fn from(name: &String) -> Self {
        PodName::from(name.as_str())
    }
}

impl Deref for PodName {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for PodName {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for PodName {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for PodName {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for PodName {}

impl PartialEq<str> for PodName {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for PodName {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for PodName {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialOrd for PodName {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PodName {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Hash for PodName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for PodName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for PodName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_inline_long_ones_on_the_heap_and_both_behave_as_their_str() {
        let short = PodName::from("web-5f7d8c9b4d-x7k2p");
        assert!(matches!(short, PodName::Inline(_)));
        let long_text = "a".repeat(INLINE_NAME_BYTES + 1);
        let long = PodName::from(long_text.clone());
        assert!(matches!(long, PodName::Heap(_)));
        assert_eq!(long, long_text);
        assert_eq!(short, "web-5f7d8c9b4d-x7k2p");
        assert_eq!(format!("{short:?} {short}"), "\"web-5f7d8c9b4d-x7k2p\" web-5f7d8c9b4d-x7k2p");
        // Ordered as the strings are, across the two forms.
        assert!(long < short);
        assert_eq!(PodName::from("a".repeat(INLINE_NAME_BYTES)).len(), INLINE_NAME_BYTES);
    }
}
