//! The listeners of one event: deduplicated, ordered, safe to change while
//! they are being called.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::util::lock;

/// Identifies a listener for dedupe and removal. For C listeners it is the
/// pair (callback address, user_data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenerKey(pub usize, pub usize);

struct Entry<F: ?Sized> {
    key: ListenerKey,
    callback: Arc<F>,
}

impl<F: ?Sized> Clone for Entry<F> {
    fn clone(&self) -> Self {
        Entry {
            key: self.key,
            callback: Arc::clone(&self.callback),
        }
    }
}

/// A copy-on-write list: dispatch clones one `Arc` (no allocation per
/// event), changes replace the list, and no lock is held while a listener
/// runs, so listeners may add or remove listeners, themselves included.
/// An empty set holds no list, so sets nobody listens on cost nothing.
pub struct ListenerSet<F: ?Sized> {
    entries: Mutex<Option<Arc<[Entry<F>]>>>,
    /// Bumped on every change, so dispatch notices removals cheaply.
    generation: AtomicU64,
    /// Whether `entries` holds a list: events nobody listens to cost one
    /// atomic load, not a lock.
    listened: AtomicBool,
}

type Guard<'a, F> = MutexGuard<'a, Option<Arc<[Entry<F>]>>>;

impl<F: ?Sized> Default for ListenerSet<F> {
    fn default() -> Self {
        ListenerSet {
            entries: Mutex::new(None),
            generation: AtomicU64::new(0),
            listened: AtomicBool::new(false),
        }
    }
}

fn entries<'a, F: ?Sized>(guard: &'a Guard<'_, F>) -> &'a [Entry<F>] {
    guard.as_deref().unwrap_or(&[])
}

impl<F: ?Sized> ListenerSet<F> {
    fn lock(&self) -> Guard<'_, F> {
        lock(&self.entries)
    }

    fn replace(&self, guard: &mut Guard<'_, F>, list: Arc<[Entry<F>]>) {
        self.listened.store(!list.is_empty(), Ordering::SeqCst);
        **guard = (!list.is_empty()).then_some(list);
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Adds a listener at the end; does nothing if `key` is already there.
    pub fn add(&self, key: ListenerKey, callback: Arc<F>) {
        let mut guard = self.lock();
        if entries(&guard).iter().any(|e| e.key == key) {
            return;
        }
        // One allocation of exactly the room needed: most sets hold one
        // listener for good.
        let new = std::iter::once(Entry { key, callback });
        let list = entries(&guard).iter().cloned().chain(new).collect();
        self.replace(&mut guard, list);
    }

    /// Removes the listener with this key, if present.
    pub fn remove(&self, key: ListenerKey) {
        let mut guard = self.lock();
        if entries(&guard).iter().any(|e| e.key == key) {
            let list = entries(&guard)
                .iter()
                .filter(|e| e.key != key)
                .cloned()
                .collect();
            self.replace(&mut guard, list);
        }
    }

    /// Removes every listener.
    pub fn clear(&self) {
        if !self.listened.load(Ordering::SeqCst) {
            return;
        }
        let mut guard = self.lock();
        if guard.is_some() {
            self.replace(&mut guard, Arc::new([]));
        }
    }

    /// Lock-free: the write path asks before every body piece.
    pub fn is_empty(&self) -> bool {
        !self.listened.load(Ordering::SeqCst)
    }

    fn contains(&self, key: ListenerKey) -> bool {
        entries(&self.lock()).iter().any(|e| e.key == key)
    }

    /// Calls `call` with each listener in registration order until it
    /// returns `false`. A listener removed during the dispatch (from this
    /// thread, e.g. by an earlier listener) is not called; one added during
    /// it is called from the next event on.
    pub fn dispatch(&self, call: impl FnMut(&F) -> bool) {
        self.batch().dispatch(call);
    }

    /// A dispatcher for many events in a row (the server-sent events of one
    /// body piece): it takes one snapshot of the set, and another only when
    /// the set changes, instead of one (a lock and a reference count) per
    /// event.
    pub fn batch(&self) -> Batch<'_, F> {
        Batch {
            set: self,
            generation: u64::MAX,
            snapshot: None,
        }
    }
}

/// See `ListenerSet::batch`; dispatches by the rules of `dispatch`.
pub struct Batch<'a, F: ?Sized> {
    set: &'a ListenerSet<F>,
    /// The set's generation the snapshot was taken at.
    generation: u64,
    snapshot: Option<Arc<[Entry<F>]>>,
}

impl<F: ?Sized> Batch<'_, F> {
    pub fn dispatch(&mut self, mut call: impl FnMut(&F) -> bool) {
        let set = self.set;
        if !set.listened.load(Ordering::SeqCst) {
            return;
        }
        let generation = set.generation.load(Ordering::SeqCst);
        if generation != self.generation {
            self.snapshot = set.lock().clone();
            self.generation = generation;
        }
        let Some(snapshot) = &self.snapshot else {
            return;
        };
        for entry in snapshot.iter() {
            if set.generation.load(Ordering::SeqCst) != generation && !set.contains(entry.key) {
                continue;
            }
            if !call(&entry.callback) {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// Listeners get a function that removes a listener.
    type Cb = dyn Fn(&dyn Fn(ListenerKey)) + Send + Sync;

    #[test]
    fn dedupe_order_and_removal_during_dispatch() {
        let set: Arc<ListenerSet<Cb>> = Arc::new(ListenerSet::default());
        let calls = Arc::new(Mutex::new(Vec::new()));
        let c1 = Arc::clone(&calls);
        set.add(
            ListenerKey(1, 0),
            Arc::new(move |remove: &dyn Fn(ListenerKey)| {
                c1.lock().unwrap().push(1);
                remove(ListenerKey(2, 0));
            }),
        );
        let c2 = Arc::clone(&calls);
        let f2: Arc<Cb> = Arc::new(move |_: &dyn Fn(ListenerKey)| c2.lock().unwrap().push(2));
        set.add(ListenerKey(2, 0), Arc::clone(&f2));
        set.add(ListenerKey(2, 0), f2);
        let c3 = Arc::clone(&calls);
        set.add(
            ListenerKey(3, 0),
            Arc::new(move |_: &dyn Fn(ListenerKey)| c3.lock().unwrap().push(3)),
        );
        set.dispatch(|f| {
            f(&|key| set.remove(key));
            true
        });
        assert_eq!(*calls.lock().unwrap(), vec![1, 3]);
    }

    #[test]
    fn a_batch_sees_changes_from_the_next_event_on() {
        let set: ListenerSet<dyn Fn() -> usize + Send + Sync> = ListenerSet::default();
        set.add(ListenerKey(1, 0), Arc::new(|| 1));
        let mut batch = set.batch();
        let mut seen = Vec::new();
        batch.dispatch(|f| {
            seen.push(f());
            true
        });
        set.add(ListenerKey(2, 0), Arc::new(|| 2));
        batch.dispatch(|f| {
            seen.push(f());
            true
        });
        set.remove(ListenerKey(1, 0));
        batch.dispatch(|f| {
            seen.push(f());
            true
        });
        assert_eq!(seen, [1, 1, 2, 2]);
    }

    #[test]
    fn dispatch_stops_when_told() {
        let set: ListenerSet<dyn Fn() + Send + Sync> = ListenerSet::default();
        let n = Arc::new(AtomicUsize::new(0));
        for i in 0..3 {
            let n = Arc::clone(&n);
            set.add(
                ListenerKey(i, 0),
                Arc::new(move || {
                    n.fetch_add(1, Ordering::SeqCst);
                }),
            );
        }
        set.dispatch(|f| {
            f();
            n.load(Ordering::SeqCst) < 2
        });
        assert_eq!(n.load(Ordering::SeqCst), 2);
        set.clear();
        assert!(set.is_empty());
    }
}
