//! [`Shared`]: a copy-on-write value, so the many pods stamped from one template hold one copy of
//! what they all have in common (labels, containers) instead of one each.
//!
//! Every pod a ReplicaSet creates carries the template's labels and containers, and every status
//! write makes a new version of the pod in the API store. Held as plain `BTreeMap`/`Vec`, each of
//! those versions is a deep copy (about 2 KB for three labels and one container with probes).
//! `Shared<T>` wraps the value in an [`Arc`]: cloning it is a reference-count increment, reading it
//! goes through [`Deref`], and writing it through [`DerefMut`] copies the value first only if
//! another holder still shares it ([`Arc::make_mut`]), so code that mutates a pod's labels in place
//! keeps working and never changes what another pod sees.
//!
//! It is transparent to everything that observes values: `Debug`, equality, ordering and hashing
//! are those of `T`, so digests and debug-based hashes (`template_hash`) are unchanged.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

/// A copy-on-write value: cheap to clone, copied on the first write while shared.
pub struct Shared<T>(Arc<T>);

impl<T> Shared<T> {
    /// Wraps `value` (one allocation, not shared yet).
    pub fn new(value: T) -> Self {
        Shared(Arc::new(value))
    }

    /// True when both hold the same allocation (not merely equal values).
    pub fn ptr_eq(this: &Self, other: &Self) -> bool {
        Arc::ptr_eq(&this.0, &other.0)
    }
}

impl<T: Clone> Shared<T> {
    /// The value, copied only if it is still shared.
    pub fn into_inner(this: Self) -> T {
        Arc::try_unwrap(this.0).unwrap_or_else(|arc| T::clone(&arc))
    }
}

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared(Arc::clone(&self.0))
    }
}

impl<T> Deref for Shared<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Clone> DerefMut for Shared<T> {
    fn deref_mut(&mut self) -> &mut T {
        Arc::make_mut(&mut self.0)
    }
}

impl<T> AsRef<T> for Shared<T> {
    fn as_ref(&self) -> &T {
        &self.0
    }
}

impl<T> Borrow<T> for Shared<T> {
    fn borrow(&self) -> &T {
        &self.0
    }
}

impl<T: fmt::Debug> fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        T::fmt(&self.0, f)
    }
}

impl<T: Default> Default for Shared<T> {
    fn default() -> Self {
        Shared::new(T::default())
    }
}

impl<T> From<T> for Shared<T> {
    fn from(value: T) -> Self {
        Shared::new(value)
    }
}

/// Equality of the values, with a pointer fast path: the values are `Eq` (reflexive), so one
/// allocation always equals itself and pods stamped from one template compare without a walk.
impl<T: Eq> PartialEq for Shared<T> {
    fn eq(&self, other: &Self) -> bool {
        Shared::ptr_eq(self, other) || *self.0 == *other.0
    }
}

impl<T: Eq> PartialEq<T> for Shared<T> {
    fn eq(&self, other: &T) -> bool {
        *self.0 == *other
    }
}

impl<T: Eq> Eq for Shared<T> {}

impl<T: PartialOrd + Eq> PartialOrd for Shared<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        T::partial_cmp(&self.0, &other.0)
    }
}

impl<T: Ord> Ord for Shared<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        T::cmp(&self.0, &other.0)
    }
}

impl<T: Hash> Hash for Shared<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        T::hash(&self.0, state);
    }
}

impl<T: FromIterator<A>, A> FromIterator<A> for Shared<T> {
    fn from_iter<I: IntoIterator<Item = A>>(iter: I) -> Self {
        Shared::new(T::from_iter(iter))
    }
}

impl<'a, T> IntoIterator for &'a Shared<T>
where
    &'a T: IntoIterator,
{
    type Item = <&'a T as IntoIterator>::Item;
    type IntoIter = <&'a T as IntoIterator>::IntoIter;
    fn into_iter(self) -> Self::IntoIter {
        (&*self.0).into_iter()
    }
}

impl<'a, T: Clone> IntoIterator for &'a mut Shared<T>
where
    &'a mut T: IntoIterator,
{
    type Item = <&'a mut T as IntoIterator>::Item;
    type IntoIter = <&'a mut T as IntoIterator>::IntoIter;
    fn into_iter(self) -> Self::IntoIter {
        Arc::make_mut(&mut self.0).into_iter()
    }
}

impl<T: Clone + Extend<A>, A> Extend<A> for Shared<T> {
    fn extend<I: IntoIterator<Item = A>>(&mut self, iter: I) {
        Arc::make_mut(&mut self.0).extend(iter);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn labels() -> Shared<BTreeMap<String, String>> {
        [("app".to_string(), "web".to_string()), ("tier".to_string(), "front".to_string())]
            .into_iter()
            .collect()
    }

    #[test]
    fn a_clone_shares_the_allocation_until_one_side_writes() {
        let a = labels();
        let mut b = a.clone();
        assert!(Shared::ptr_eq(&a, &b));
        b.insert("version".into(), "v2".into());
        assert!(!Shared::ptr_eq(&a, &b), "the write copied");
        assert_eq!(a.len(), 2, "the other holder still sees the old value");
        assert_eq!(b.len(), 3);
    }

    #[test]
    fn a_write_to_an_unshared_value_does_not_copy() {
        let mut a = labels();
        let before: *const BTreeMap<String, String> = &*a;
        a.insert("version".into(), "v2".into());
        let after: *const BTreeMap<String, String> = &*a;
        assert_eq!(before, after, "sole owner mutates in place");
    }

    #[test]
    fn debug_prints_exactly_as_the_inner_value() {
        let shared = labels();
        let plain: BTreeMap<String, String> = (*shared).clone();
        assert_eq!(format!("{shared:?}"), format!("{plain:?}"));
        assert_eq!(format!("{shared:#?}"), format!("{plain:#?}"));
        let v: Shared<Vec<i32>> = vec![1, 2].into();
        assert_eq!(format!("{v:?}"), "[1, 2]");
    }

    #[test]
    fn equality_and_order_are_the_inner_values() {
        let a = labels();
        let separate = Shared::new((*a).clone());
        assert!(!Shared::ptr_eq(&a, &separate));
        assert_eq!(a, separate, "equal values in different allocations are equal");
        assert_eq!(a, a.clone());
        let mut c = a.clone();
        c.insert("x".into(), "y".into());
        assert_ne!(a, c);
        let one: Shared<Vec<i32>> = vec![1].into();
        let two: Shared<Vec<i32>> = vec![2].into();
        assert!(one < two);
        assert_eq!(one.cmp(&two), Ordering::Less);
        assert_eq!(one, vec![1]);
    }

    #[test]
    fn iteration_indexing_and_extend_work_through_the_wrapper() {
        let mut v: Shared<Vec<i32>> = vec![1, 2, 3].into();
        let shared_copy = v.clone();
        assert_eq!((&v).into_iter().sum::<i32>(), 6);
        assert_eq!(v[0], 1);
        for x in &mut v {
            *x *= 10;
        }
        v.extend([40]);
        assert_eq!(*v, vec![10, 20, 30, 40]);
        assert_eq!(*shared_copy, vec![1, 2, 3], "the shared copy is untouched");
        assert_eq!(Shared::into_inner(shared_copy), vec![1, 2, 3]);
        let d: Shared<Vec<i32>> = Shared::default();
        assert!(d.is_empty());
    }
}
