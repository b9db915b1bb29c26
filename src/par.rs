//! The one worker pool for work on many items at once (hashing files, storing blobs, reading
//! the index): scoped threads that take the next item from a shared counter, each with its
//! own state (a buffer, a `git cat-file` process, a repository handle).
//!
//! Invariants: results come back in the order of the items, whatever order they finished
//! in; after the first error no worker takes a new item, and that error is returned; a
//! worker that panics makes the whole call panic (as a plain loop would), never a lost item.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// How many workers to start for `items` items: the cores, at most `max`, at least one.
pub(crate) fn workers(items: usize, max: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    cores.min(max).min(items).max(1)
}

/// `work` applied to every item on `workers` threads; each thread first makes its state
/// with `init`.
pub(crate) fn map<T: Sync, S, R: Send>(
    items: &[T],
    workers: usize,
    init: impl Fn() -> S + Sync,
    work: impl Fn(&mut S, &T) -> R + Sync,
) -> Vec<R> {
    let all = try_map(
        items,
        workers,
        || Ok::<_, std::convert::Infallible>(init()),
        |s, t| Ok(work(s, t)),
    );
    match all {
        Ok(v) => v,
        Err(never) => match never {},
    }
}

/// [`map`] for work that can fail: stops at the first error (of `init` or `work`).
pub(crate) fn try_map<T: Sync, S, R: Send, E: Send>(
    items: &[T],
    workers: usize,
    init: impl Fn() -> Result<S, E> + Sync,
    work: impl Fn(&mut S, &T) -> Result<R, E> + Sync,
) -> Result<Vec<R>, E> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Mutex<Vec<(usize, R)>> = Mutex::new(Vec::with_capacity(items.len()));
    let first_error: Mutex<Option<E>> = Mutex::new(None);
    let fail = |e: E| {
        failed.store(true, Ordering::Relaxed);
        if let Ok(mut slot) = first_error.lock() {
            slot.get_or_insert(e);
        }
    };
    std::thread::scope(|scope| {
        for _ in 0..workers.clamp(1, items.len().max(1)) {
            scope.spawn(|| {
                let mut state = match init() {
                    Ok(s) => s,
                    Err(e) => return fail(e),
                };
                let mut mine = Vec::new();
                while !failed.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    match work(&mut state, item) {
                        Ok(r) => mine.push((i, r)),
                        Err(e) => fail(e),
                    }
                }
                if let Ok(mut all) = results.lock() {
                    all.append(&mut mine);
                }
            });
        }
    });
    if let Some(e) = first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    let mut all = results.into_inner().unwrap_or_else(|p| p.into_inner());
    all.sort_unstable_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, r)| r).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_items_order_and_each_worker_has_its_state() {
        let items: Vec<u64> = (0..1000).collect();
        let out = map(
            &items,
            4,
            || 0u64,
            |seen, x| {
                *seen += 1;
                x * 2
            },
        );
        assert_eq!(out, items.iter().map(|x| x * 2).collect::<Vec<_>>());
        assert!(map(&[] as &[u8], 4, || (), |_, x| *x).is_empty());
    }

    #[test]
    fn the_first_error_stops_the_workers_and_is_returned() {
        let items: Vec<u32> = (0..10_000).collect();
        let done = AtomicUsize::new(0);
        let out = try_map(
            &items,
            3,
            || Ok(()),
            |_, x| {
                done.fetch_add(1, Ordering::Relaxed);
                if *x == 10 { Err(format!("item {x}")) } else { Ok(*x) }
            },
        );
        assert_eq!(out, Err("item 10".to_string()));
        assert!(done.load(Ordering::Relaxed) < 10_000, "workers stopped early");
        let init_fails = try_map(&items, 2, || Err::<(), _>("no state"), |_, x| Ok::<_, &str>(*x));
        assert_eq!(init_fails, Err("no state"));
    }
}
