//! Idle timeouts of running transfers as a min-heap, so that a wake of the
//! event loop costs O(log n) for them, not a scan of every transfer. A
//! transfer's deadline moves later with every byte; its entry is not
//! updated then but checked when it comes due, and queued again at the
//! moved deadline (one extra wake per idle period of a busy transfer).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

/// A running transfer: its slot in the loop's table, and which admission
/// into that slot (slots are reused).
pub(crate) type TransferId = (usize, u64);

#[derive(Default)]
pub(crate) struct IdleTimers {
    heap: BinaryHeap<Reverse<(Instant, TransferId)>>,
}

impl IdleTimers {
    pub fn watch(&mut self, id: TransferId, deadline: Instant) {
        self.heap.push(Reverse((deadline, id)));
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// The earliest deadline queued (maybe since moved later, or of a
    /// transfer that ended: waking for it is harmless).
    pub fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((deadline, _))| *deadline)
    }

    /// Takes the transfers whose idle timeout expired by `now`.
    /// `deadline_of` says a running transfer's current deadline, or `None`
    /// for one that is no longer running (its entry is dropped).
    pub fn expired(
        &mut self,
        now: Instant,
        deadline_of: impl Fn(TransferId) -> Option<Instant>,
    ) -> Vec<TransferId> {
        let mut expired = Vec::new();
        while let Some(&Reverse((queued, id))) = self.heap.peek() {
            if queued > now {
                break;
            }
            self.heap.pop();
            match deadline_of(id) {
                Some(deadline) if deadline <= now => expired.push(id),
                Some(deadline) => self.watch(id, deadline),
                None => {}
            }
        }
        expired
    }
}

/// When each socket last had bytes to read, indexed by descriptor: the
/// bytes that libcurl's callbacks do not show (a response head arriving
/// one byte at a time hands over no line), for the idle timeouts.
#[derive(Default)]
pub(crate) struct SocketReads {
    last: Vec<Option<Instant>>,
}

impl SocketReads {
    pub fn record(&mut self, fd: usize, at: Instant) {
        if fd >= self.last.len() {
            self.last.resize(fd + 1, None);
        }
        self.last[fd] = Some(at);
    }

    pub fn last(&self, fd: usize) -> Option<Instant> {
        self.last.get(fd).copied().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::time::Duration;

    #[test]
    fn expires_only_what_is_due_now_and_requeues_moved_deadlines() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut timers = IdleTimers::default();
        let mut live: HashMap<TransferId, Instant> = HashMap::new();
        for (id, deadline) in [((0, 1), ms(10)), ((1, 2), ms(20)), ((2, 3), ms(30))] {
            timers.watch(id, deadline);
            live.insert(id, deadline);
        }
        assert_eq!(timers.next(), Some(ms(10)));
        // Transfer 0 received bytes: its deadline moved to 40. Transfer 1
        // ended, and its slot runs a new admission.
        live.insert((0, 1), ms(40));
        live.remove(&(1, 2));
        live.insert((1, 4), ms(100));
        let deadline_of = |id| live.get(&id).copied();
        assert!(timers.expired(ms(5), deadline_of).is_empty());
        assert!(timers.expired(ms(25), deadline_of).is_empty());
        assert_eq!(timers.next(), Some(ms(30)));
        assert_eq!(timers.expired(ms(35), deadline_of), vec![(2, 3)]);
        assert_eq!(timers.expired(ms(45), deadline_of), vec![(0, 1)]);
        assert_eq!(timers.next(), None);
    }
}
