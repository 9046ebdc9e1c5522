//! Per-cycle plugin state (upstream `framework.CycleState`).
//!
//! Each plugin stores at most one value per type; the key is the value's `TypeId`, so a plugin
//! reads back exactly what it wrote: `state.write(MyState { .. })`, `state.read::<MyState>()`.
//! Entries live in a small `Vec` (a profile has about a dozen plugins), looked up linearly: no
//! hashing, no iteration-order dependence. States must be `Clone` because preemption clones the
//! whole `CycleState` before simulating victim removal on a node.

use std::any::{Any, TypeId};
use std::fmt::Debug;

/// A value a plugin keeps in the [`CycleState`]. Implemented for every `Clone + Debug + 'static`
/// type; plugins never implement it by hand.
pub trait StateData: Any + Debug + Send + Sync {
    /// Clones into a box (upstream `StateData.Clone`).
    fn clone_box(&self) -> Box<dyn StateData>;
    /// Upcast for downcasting.
    fn as_any(&self) -> &dyn Any;
    /// Upcast for downcasting.
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<T: Any + Clone + Debug + Send + Sync> StateData for T {
    fn clone_box(&self) -> Box<dyn StateData> {
        Box::new(self.clone())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// State shared between the extension points of one scheduling cycle.
#[derive(Debug, Default)]
pub struct CycleState {
    entries: Vec<(TypeId, Box<dyn StateData>)>,
    /// Bit `i` set: the plugin at profile slot `i` returned Skip from PreFilter (its Filter is skipped).
    pub(crate) skip_filter: u64,
    /// Bit `i` set: the plugin at profile slot `i` returned Skip from PreScore (its Score is skipped).
    pub(crate) skip_score: u64,
}

impl Clone for CycleState {
    fn clone(&self) -> Self {
        CycleState {
            entries: self.entries.iter().map(|(t, v)| (*t, (**v).clone_box())).collect(),
            skip_filter: self.skip_filter,
            skip_score: self.skip_score,
        }
    }
}

impl CycleState {
    /// An empty state.
    pub fn new() -> Self {
        CycleState::default()
    }

    /// Stores `value`, replacing any earlier value of the same type.
    pub fn write<T: StateData>(&mut self, value: T) {
        let id = TypeId::of::<T>();
        match self.entries.iter_mut().find(|(t, _)| *t == id) {
            Some(e) => e.1 = Box::new(value),
            None => self.entries.push((id, Box::new(value))),
        }
    }

    /// The value of type `T`, if written this cycle.
    pub fn read<T: StateData>(&self) -> Option<&T> {
        let id = TypeId::of::<T>();
        self.entries.iter().find(|(t, _)| *t == id).and_then(|(_, v)| (**v).as_any().downcast_ref::<T>())
    }

    /// Mutable access to the value of type `T` (PreFilter extensions AddPod/RemovePod use it).
    pub fn read_mut<T: StateData>(&mut self) -> Option<&mut T> {
        let id = TypeId::of::<T>();
        self.entries
            .iter_mut()
            .find(|(t, _)| *t == id)
            .and_then(|(_, v)| (**v).as_any_mut().downcast_mut::<T>())
    }

    /// Removes the value of type `T`.
    pub fn delete<T: StateData>(&mut self) {
        let id = TypeId::of::<T>();
        self.entries.retain(|(t, _)| *t != id);
    }

    /// True if the plugin at `slot` skipped Filter this cycle.
    pub fn filter_skipped(&self, slot: usize) -> bool {
        self.skip_filter & (1u64 << slot) != 0
    }

    /// True if the plugin at `slot` skipped Score this cycle.
    pub fn score_skipped(&self, slot: usize) -> bool {
        self.skip_score & (1u64 << slot) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, PartialEq)]
    struct A(i64);
    #[derive(Clone, Debug, PartialEq)]
    struct B(&'static str);

    #[test]
    fn each_type_reads_back_what_was_written_and_clones_are_independent() {
        let mut s = CycleState::new();
        s.write(A(1));
        s.write(B("x"));
        s.write(A(2));
        assert_eq!(s.read::<A>(), Some(&A(2)));
        let mut c = s.clone();
        c.read_mut::<A>().unwrap().0 = 5;
        assert_eq!(s.read::<A>(), Some(&A(2)));
        assert_eq!(c.read::<A>(), Some(&A(5)));
        c.delete::<B>();
        assert!(c.read::<B>().is_none() && s.read::<B>().is_some());
    }
}
