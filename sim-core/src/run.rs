//! The run loop: pop an event, show it to the observers, hand it to the model.

use std::fmt;

use crate::queue::EventQueue;
use crate::time::SimTime;

/// The simulated world: receives each event with the time it fires and may schedule more.
pub trait Model<E> {
    /// Handles one event. `queue.now() == now`.
    fn handle(&mut self, now: SimTime, event: E, queue: &mut EventQueue<E>);
}

/// Something that watches events go by (the event log, metrics, progress). Observers see each
/// event just before the model handles it, in order, and cannot change it.
pub trait Observer<E> {
    /// Called once per event.
    fn on_event(&mut self, now: SimTime, event: &E);
}

impl<E, F: FnMut(SimTime, &E)> Observer<E> for F {
    fn on_event(&mut self, now: SimTime, event: &E) {
        self(now, event)
    }
}

/// Why a run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStop {
    /// No events are left.
    Drained,
    /// The horizon was reached; events after it stay pending.
    Horizon,
    /// The event budget ran out; the remaining events stay pending and the run can resume.
    BudgetExhausted,
}

/// Drives a [`Model`] over an [`EventQueue`].
///
/// ```
/// use sim_core::{EventQueue, Model, RunLoop, RunStop, SimDuration, SimTime};
///
/// struct Ticker { ticks: u32 }
/// impl Model<()> for Ticker {
///     fn handle(&mut self, _now: SimTime, _: (), q: &mut EventQueue<()>) {
///         self.ticks += 1;
///         q.schedule_in(SimDuration::from_secs(10), ()).unwrap();
///     }
/// }
///
/// let mut run = RunLoop::new(EventQueue::new());
/// run.queue_mut().schedule_at(SimTime::ZERO, ()).unwrap();
/// let mut model = Ticker { ticks: 0 };
/// assert_eq!(run.run_until(SimTime::from_secs(60), &mut model), RunStop::Horizon);
/// assert_eq!(model.ticks, 7); // t = 0, 10, …, 60
/// assert_eq!(run.queue().now(), SimTime::from_secs(60));
/// ```
pub struct RunLoop<'o, E> {
    queue: EventQueue<E>,
    observers: Vec<Box<dyn Observer<E> + 'o>>,
    processed: u64,
    budget: Option<u64>,
}

impl<E> fmt::Debug for RunLoop<'_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunLoop")
            .field("queue", &self.queue)
            .field("observers", &self.observers.len())
            .field("processed", &self.processed)
            .field("budget", &self.budget)
            .finish()
    }
}

impl<'o, E> RunLoop<'o, E> {
    /// A loop over `queue` with no budget and no observers.
    pub fn new(queue: EventQueue<E>) -> Self {
        RunLoop { queue, observers: Vec::new(), processed: 0, budget: None }
    }

    /// Caps the total number of events this loop will process (over all calls).
    pub fn with_budget(mut self, max_events: u64) -> Self {
        self.budget = Some(max_events);
        self
    }

    /// Attaches an observer; observers are called in the order they were added.
    pub fn observe(&mut self, observer: impl Observer<E> + 'o) {
        self.observers.push(Box::new(observer));
    }

    /// The queue (to inspect it).
    pub fn queue(&self) -> &EventQueue<E> {
        &self.queue
    }

    /// The queue (to schedule initial events).
    pub fn queue_mut(&mut self) -> &mut EventQueue<E> {
        &mut self.queue
    }

    /// Events processed so far.
    pub fn processed(&self) -> u64 {
        self.processed
    }

    /// Takes the queue back.
    pub fn into_queue(self) -> EventQueue<E> {
        self.queue
    }

    fn budget_left(&self) -> bool {
        self.budget.is_none_or(|b| self.processed < b)
    }

    /// Processes exactly one event, if any is pending and the budget allows. Returns its time.
    pub fn step<M: Model<E>>(&mut self, model: &mut M) -> Option<SimTime> {
        if !self.budget_left() {
            return None;
        }
        let (now, event) = self.queue.pop()?;
        self.dispatch(now, event, model);
        Some(now)
    }

    /// Processes every event due at or before `horizon`, then moves the clock to `horizon`
    /// (unless the budget stopped it first).
    pub fn run_until<M: Model<E>>(&mut self, horizon: SimTime, model: &mut M) -> RunStop {
        loop {
            if !self.budget_left() {
                return RunStop::BudgetExhausted;
            }
            match self.queue.pop_until(horizon) {
                Some((now, event)) => self.dispatch(now, event, model),
                None => {
                    if horizon != SimTime::MAX && horizon >= self.queue.now() {
                        // Cannot fail: nothing pending is due before the horizon.
                        let _ = self.queue.advance_to(horizon);
                    }
                    return if self.queue.is_empty() && horizon == SimTime::MAX {
                        RunStop::Drained
                    } else {
                        RunStop::Horizon
                    };
                }
            }
        }
    }

    /// Processes events until none is left or the budget runs out.
    pub fn run<M: Model<E>>(&mut self, model: &mut M) -> RunStop {
        self.run_until(SimTime::MAX, model)
    }

    fn dispatch<M: Model<E>>(&mut self, now: SimTime, event: E, model: &mut M) {
        for o in &mut self.observers {
            o.on_event(now, &event);
        }
        self.processed += 1;
        model.handle(now, event, &mut self.queue);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::SimDuration;

    struct Chain;
    impl Model<u32> for Chain {
        fn handle(&mut self, _now: SimTime, e: u32, q: &mut EventQueue<u32>) {
            if e > 0 {
                q.schedule_in(SimDuration::from_secs(1), e - 1).unwrap();
            }
        }
    }

    #[test]
    fn budget_stops_and_resumes() {
        let mut run = RunLoop::new(EventQueue::new()).with_budget(3);
        run.queue_mut().schedule_at(SimTime::ZERO, 10).unwrap();
        assert_eq!(run.run(&mut Chain), RunStop::BudgetExhausted);
        assert_eq!(run.processed(), 3);
        assert_eq!(run.step(&mut Chain), None);
        assert_eq!(run.queue().len(), 1);
    }

    #[test]
    fn observers_see_every_event_in_order() {
        let mut seen = Vec::new();
        {
            let mut run = RunLoop::new(EventQueue::new());
            run.observe(|t: SimTime, e: &u32| seen.push((t.as_secs(), *e)));
            run.queue_mut().schedule_at(SimTime::ZERO, 3).unwrap();
            assert_eq!(run.run(&mut Chain), RunStop::Drained);
        }
        assert_eq!(seen, vec![(0, 3), (1, 2), (2, 1), (3, 0)]);
    }

    #[test]
    fn step_returns_the_event_time() {
        let mut run = RunLoop::new(EventQueue::new());
        run.queue_mut().schedule_at(SimTime::from_secs(4), 0).unwrap();
        assert_eq!(run.step(&mut Chain), Some(SimTime::from_secs(4)));
        assert_eq!(run.step(&mut Chain), None);
    }
}
