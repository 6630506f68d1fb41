//! How the async peers (reqwest, isahc) run many requests on their tokio
//! runtime: the same shapes for both, so that they differ only in their
//! client.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::task::JoinSet;

use crate::IN_FLIGHT;

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
