//! How the async peers (reqwest, isahc) run many requests on their tokio
//! runtime: the same shapes for both, so that they differ only in their
//! client.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use std::time::{Duration, Instant};

use tokio::runtime::Runtime;
use tokio::task::JoinSet;

use crate::{IN_FLIGHT, IdleProbe, IdleStats, Silent};

/// `IN_FLIGHT` tasks, each taking the next request until `count` are taken.
pub async fn in_flight<F, Fut>(count: usize, get: F)
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = JoinSet::new();
    for _ in 0..IN_FLIGHT {
        let (get, next) = (get.clone(), Arc::clone(&next));
        workers.spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < count {
                get().await;
            }
        });
    }
    while let Some(done) = workers.join_next().await {
        done.unwrap();
    }
}

/// `total` requests, a task each, in batches of `IN_FLIGHT`.
pub async fn batches<F, Fut>(total: usize, get: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut done = 0;
    while done < total {
        let batch = IN_FLIGHT.min(total - done);
        let mut set = JoinSet::new();
        for _ in 0..batch {
            set.spawn(get());
        }
        while let Some(r) = set.join_next().await {
            r.unwrap();
        }
        done += batch;
    }
}

/// `count` requests against the silent server, a task each on `rt`,
/// measured as `IdleProbe` does; aborted by aborting the tasks, which drops
/// their requests (the only way either peer cancels one).
pub fn idle<F, Fut>(rt: &Runtime, silent: &Silent, count: usize, get: F) -> IdleStats
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let probe = IdleProbe::start();
    let tasks: Vec<_> = (0..count).map(|_| rt.spawn(get())).collect();
    // The bench thread drives a current-thread runtime only while it is in
    // block_on; a multi-thread one runs on its workers regardless.
    let pump = |d: Duration| rt.block_on(async { tokio::time::sleep(d).await });
    silent.wait_all(pump);
    let idle = crate::measure_idle(pump);
    let abort_started = Instant::now();
    for task in &tasks {
        task.abort();
    }
    rt.block_on(async {
        for task in tasks {
            let _ = task.await;
        }
    });
    probe.finish(silent, count, idle, abort_started, pump)
}
