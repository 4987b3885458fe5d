//! Tables built ahead, in a second thread. A run that knows which tables it will read (the
//! executive report runs a dozen queries over one model) hands the model the ones that are
//! polars plans over the lake alone; one worker thread builds them, latest-needed first, while
//! the run's own thread builds the Rust model, which mostly keeps one core busy.
//!
//! Each table has a slot. The run's thread that reaches a table first takes it: a table the
//! worker has not started is built by the run's thread (the worker skips it), one it is
//! building is waited for, one it has built is taken as is. So a table is built once, by
//! whichever thread gets there first, and the answer is the same either way.

use crate::error::Result;
use polars::prelude::DataFrame;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

enum State {
    Queued,
    Running,
    Done(Result<DataFrame>),
    /// Taken by the run's thread, or given up (a build that panicked is built again there).
    Taken,
}

/// One table's place in the worker's queue.
pub(crate) struct Slot {
    state: Mutex<State>,
    done: Condvar,
}

impl Slot {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The table if the worker built it (waiting while it builds); `None` if it was not
    /// started (the worker will now skip it) or already taken.
    pub fn take(&self) -> Option<Result<DataFrame>> {
        let mut state = self.lock();
        loop {
            match std::mem::replace(&mut *state, State::Taken) {
                State::Running => {
                    *state = State::Running;
                    state = self
                        .done
                        .wait(state)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                State::Done(r) => return Some(r),
                State::Queued | State::Taken => return None,
            }
        }
    }

    fn finish(&self, state: State) {
        *self.lock() = state;
        self.done.notify_all();
    }
}

/// The tables being built ahead, by key, and the worker building them.
pub(crate) struct Ahead<K> {
    slots: HashMap<K, Arc<Slot>>,
    worker: Option<JoinHandle<()>>,
    /// Work not yet handed to a worker (while held).
    pending: Vec<Box<dyn FnOnce() + Send>>,
    held: bool,
}

impl<K> Default for Ahead<K> {
    fn default() -> Self {
        Ahead {
            slots: HashMap::new(),
            worker: None,
            pending: Vec::new(),
            held: false,
        }
    }
}

impl<K: Eq + Hash + Clone + Send + 'static> Ahead<K> {
    /// Start a worker building `jobs` in order (keys already queued are skipped): `build`
    /// makes a table from its job. Returns at once; the worker starts on its jobs when the
    /// worker of the call before has finished (one at a time); while the worker is held
    /// ([`Ahead::hold`]), when it is released.
    pub fn start<J: Send + 'static>(
        &mut self,
        jobs: Vec<(K, J)>,
        build: impl Fn(&J) -> Result<DataFrame> + Send + 'static,
    ) {
        let mut queue = Vec::with_capacity(jobs.len());
        for (key, job) in jobs {
            if self.slots.contains_key(&key) {
                continue;
            }
            let slot = Arc::new(Slot {
                state: Mutex::new(State::Queued),
                done: Condvar::new(),
            });
            self.slots.insert(key, slot.clone());
            queue.push((slot, job));
        }
        if queue.is_empty() {
            return;
        }
        self.pending.push(Box::new(move || {
            for (slot, job) in queue {
                {
                    let mut state = slot.lock();
                    if !matches!(*state, State::Queued) {
                        continue;
                    }
                    *state = State::Running;
                }
                let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| build(&job)));
                slot.finish(match built {
                    Ok(r) => State::Done(r),
                    Err(_) => State::Taken,
                });
            }
        }));
        if !self.held {
            self.spawn();
        }
    }

    /// Whether `key` was asked for (built, building, queued or taken).
    pub fn has(&self, key: &K) -> bool {
        self.slots.contains_key(key)
    }

    /// The table for `key` if the worker has finished building it, without waiting; `None`
    /// (and the work left as it is: the worker still builds it) if it was not asked for, is
    /// not built yet, or was already taken.
    pub fn take_if_done(&self, key: &K) -> Option<Result<DataFrame>> {
        let slot = self.slots.get(key)?;
        let mut state = slot.lock();
        match std::mem::replace(&mut *state, State::Taken) {
            State::Done(r) => Some(r),
            other => {
                *state = other;
                None
            }
        }
    }

    /// The table for `key` if the worker built it (waiting while it builds); `None` if it was
    /// not asked for, not started (the worker will now skip it) or already taken.
    #[cfg(test)]
    pub fn take(&self, key: &K) -> Option<Result<DataFrame>> {
        self.slot(key)?.take()
    }

    /// The slot of `key`, if it was asked for: its table is taken from it ([`Slot::take`])
    /// without holding the `Ahead`, which threads of a run share behind a lock.
    pub fn slot(&self, key: &K) -> Option<Arc<Slot>> {
        self.slots.get(key).cloned()
    }
}

impl<K> Ahead<K> {
    /// Start nothing until [`Ahead::release`]: the run's own thread is about to keep every
    /// core busy. (At 10 M incidents the report's first step, loading incidents and customers
    /// side by side, took 12 s instead of 4 s with a table being built beside them: three
    /// threads on two cores, each faulting in fresh memory.) Tables still queued meanwhile are
    /// built by the run's thread if it needs them first, as always.
    pub fn hold(&mut self) {
        self.held = true;
    }

    /// Start the work held back by [`Ahead::hold`].
    pub fn release(&mut self) {
        self.held = false;
        self.spawn();
    }

    /// A worker for the pending work, after the worker before it.
    fn spawn(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let runs = std::mem::take(&mut self.pending);
        let previous = self.worker.take();
        let work = move || {
            // One worker at a time: the machine has few cores and each build uses them all.
            if let Some(w) = previous {
                let _ = w.join();
            }
            for run in runs {
                run();
            }
        };
        // Without a thread, nothing is built ahead: each table is then built when taken.
        self.worker = super::thread("tables").spawn(work).ok();
    }

    /// Wait until the worker has built (or given up) everything queued (released first, if
    /// held).
    pub fn wait(&mut self) {
        self.held = false;
        self.spawn();
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

impl<K> Drop for Ahead<K> {
    /// Give up what the worker has not started, and wait for the build it is in.
    fn drop(&mut self) {
        self.pending.clear();
        for slot in self.slots.values() {
            let mut state = slot.lock();
            if matches!(*state, State::Queued) {
                *state = State::Taken;
            }
        }
        self.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::*;
    use std::sync::mpsc;

    fn frame(n: i64) -> Result<DataFrame> {
        Ok(df!("n" => [n]).unwrap())
    }

    fn value(r: Option<Result<DataFrame>>) -> Option<i64> {
        r.map(|r| {
            r.unwrap()
                .column("n")
                .unwrap()
                .i64()
                .unwrap()
                .get(0)
                .unwrap()
        })
    }

    #[test]
    fn built_tables_are_taken_once_and_unknown_keys_are_not_there() {
        let mut ahead: Ahead<&'static str> = Ahead::default();
        let (tx, rx) = mpsc::channel();
        ahead.start(vec![("a", 1), ("b", 2)], move |&n| {
            tx.send(n).unwrap();
            frame(n * 10)
        });
        // Both built, in the order given.
        assert_eq!((rx.recv().unwrap(), rx.recv().unwrap()), (1, 2));
        assert_eq!(value(ahead.take(&"b")), Some(20));
        assert_eq!(value(ahead.take(&"a")), Some(10));
        assert_eq!(value(ahead.take(&"a")), None);
        assert_eq!(value(ahead.take(&"c")), None);
    }

    /// `ahead` building "slow" (1), which waits until the test sends on the first channel, then
    /// "next" (2); the second channel tells which build started.
    fn slow_then_next(ahead: &mut Ahead<&'static str>) -> (mpsc::Sender<()>, mpsc::Receiver<i64>) {
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let (started_tx, started_rx) = mpsc::channel();
        let go_rx = Mutex::new(go_rx);
        ahead.start(vec![("slow", 1), ("next", 2)], move |&n| {
            started_tx.send(n).unwrap();
            if n == 1 {
                go_rx.lock().unwrap().recv().unwrap();
            }
            frame(n)
        });
        (go_tx, started_rx)
    }

    #[test]
    fn a_table_not_yet_started_is_left_to_the_caller_and_a_running_one_is_waited_for() {
        let mut ahead: Ahead<&'static str> = Ahead::default();
        // The first build waits until the test lets it go, so the second is still queued.
        let (go_tx, started_rx) = slow_then_next(&mut ahead);
        assert_eq!(started_rx.recv().unwrap(), 1);
        // "next" has not started: the caller builds it, and the worker must not.
        assert_eq!(value(ahead.take(&"next")), None);
        // "slow" is running: take waits for it (let go only later, so that take finds it
        // running; a take that did not wait would return None and fail below).
        let waiter = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(100));
            go_tx.send(()).unwrap();
        });
        assert_eq!(value(ahead.take(&"slow")), Some(1));
        waiter.join().unwrap();
        drop(ahead);
        // The worker never started "next".
        assert!(started_rx.try_recv().is_err());
    }

    #[test]
    fn take_if_done_neither_waits_nor_takes_unfinished_work() {
        let mut ahead: Ahead<&'static str> = Ahead::default();
        let (go_tx, started_rx) = slow_then_next(&mut ahead);
        assert_eq!(started_rx.recv().unwrap(), 1);
        // Running, and queued: nothing yet, and both stay the worker's.
        assert_eq!(value(ahead.take_if_done(&"slow")), None);
        assert_eq!(value(ahead.take_if_done(&"next")), None);
        assert_eq!(value(ahead.take_if_done(&"unknown")), None);
        go_tx.send(()).unwrap();
        // The worker still builds "next" (take_if_done left it queued).
        assert_eq!(started_rx.recv().unwrap(), 2);
        ahead.wait();
        assert_eq!(value(ahead.take_if_done(&"slow")), Some(1));
        assert_eq!(value(ahead.take_if_done(&"next")), Some(2));
        // Taken once.
        assert_eq!(value(ahead.take_if_done(&"next")), None);
        assert_eq!(value(ahead.take(&"next")), None);
    }

    #[test]
    fn an_error_is_handed_over_and_a_panic_leaves_the_table_to_the_caller() {
        let mut ahead: Ahead<&'static str> = Ahead::default();
        let (tx, rx) = mpsc::channel();
        ahead.start(vec![("bad", 1), ("boom", 2), ("after", 3)], move |&n| {
            let r = match n {
                1 => Err(crate::error::Error::Usage("no such table".into())),
                2 => panic!("a bug in a build"),
                _ => frame(n),
            };
            tx.send(n).unwrap();
            r
        });
        // The worker goes on after a panic.
        assert_eq!(rx.recv().unwrap(), 1);
        assert_eq!(rx.recv().unwrap(), 3);
        assert!(matches!(ahead.take(&"bad"), Some(Err(_))));
        assert_eq!(value(ahead.take(&"boom")), None);
        assert_eq!(value(ahead.take(&"after")), Some(3));
    }

    #[test]
    fn held_work_starts_on_release_and_a_table_taken_meanwhile_is_skipped() {
        let mut ahead: Ahead<&'static str> = Ahead::default();
        let (tx, rx) = mpsc::channel();
        ahead.hold();
        let tx2 = tx.clone();
        ahead.start(vec![("a", 1), ("b", 2)], move |&n| {
            tx.send(n).unwrap();
            frame(n)
        });
        ahead.start(vec![("c", 3)], move |&n| {
            tx2.send(n).unwrap();
            frame(n)
        });
        // Held: nothing built (a worker would have sent within the wait).
        assert!(
            rx.recv_timeout(std::time::Duration::from_millis(200))
                .is_err()
        );
        // Taken while held: the caller builds it, the worker must skip it.
        assert_eq!(value(ahead.take(&"a")), None);
        ahead.release();
        // The rest, in the order of the calls.
        assert_eq!((rx.recv().unwrap(), rx.recv().unwrap()), (2, 3));
        assert_eq!(value(ahead.take(&"b")), Some(2));
        assert_eq!(value(ahead.take(&"c")), Some(3));
        ahead.wait();
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn held_work_never_released_is_dropped_unbuilt() {
        let mut ahead: Ahead<&'static str> = Ahead::default();
        let (tx, rx) = mpsc::channel();
        ahead.hold();
        ahead.start(vec![("a", 1)], move |&n| {
            tx.send(n).unwrap();
            frame(n)
        });
        drop(ahead);
        // The build closure (and its sender) is gone without having run.
        assert!(matches!(rx.recv(), Err(mpsc::RecvError)));
    }
}
