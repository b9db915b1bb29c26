//! Read-ahead for `git add`: git sends the clean filter one file at a time and waits for each
//! answer, so while git reads and pipes one file, a worker thread stores the next files of
//! the same directory in the cache. When git then sends one of them, the filter only compares
//! git's bytes with the stored ones: the cache write is off git's path, on the idle core.
//!
//! Invariants: read-ahead never decides a pointer. Its result for a file is used only when
//! the file's stat is the one the worker saw before and after reading it (taken once the file
//! had settled, as for the stat cache) and git sends exactly the bytes the worker stored;
//! anything else is cleaned as usual. The worker starts in a directory only after git sent
//! two of its files in name order (git walks paths in sorted order), reads only regular files with an
//! extension git has sent, larger than a pointer and at most [`MAX_FILE`] bytes, skips files
//! the stat cache knows, and stays at most [`WINDOW`] files and [`WINDOW_BYTES`] ahead of git,
//! which bounds the work (and the unreferenced objects) a wrong guess can cost. Its errors are
//! dropped: the filter then meets them itself and reports them.

use crate::fs::stat::FileStat;
use crate::oid::Oid;
use crate::pointer::MAX_POINTER_SIZE;
use crate::store::Store;
use crate::store::state::statcache::StatCache;
use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::SystemTime;

/// Largest file read ahead (larger files overlap hashing and writing on their own).
pub(crate) const MAX_FILE: u64 = 4 << 20;
/// Most files read ahead and not yet asked for.
const WINDOW: usize = 32;
/// Most bytes read ahead and not yet asked for.
const WINDOW_BYTES: u64 = 16 << 20;
/// Most buffers kept for reuse.
const SPARE: usize = 4;

/// A file the worker stored: its stat when read, the object it holds, and its bytes.
#[derive(Debug)]
pub struct Ahead {
    pub stat: FileStat,
    pub oid: Oid,
    pub bytes: Vec<u8>,
}

#[derive(Default)]
struct State {
    /// git's current directory (repository path, "" for the top) and latest name in it.
    dir: String,
    last: String,
    /// Requests in `dir` so far, each in name order after the one before.
    run: u32,
    /// Bumped when git moves to another directory.
    generation: u64,
    /// Extensions of the files git sent.
    extensions: HashSet<String>,
    /// The name the worker is reading now, with its generation.
    busy: Option<(u64, String)>,
    /// Stored files of `dir`, by name, not yet asked for.
    done: BTreeMap<String, Ahead>,
    done_bytes: u64,
    /// Buffers given back, for the worker to read into (no allocation churn across threads).
    spare: Vec<Vec<u8>>,
    /// Who sleeps on the condition variable (so that nobody wakes it for nothing).
    worker_waits: bool,
    git_waits: bool,
    stop: bool,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wait<'a>(&self, st: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        self.wake.wait(st).unwrap_or_else(|e| e.into_inner())
    }
}

/// The read-ahead of one filter session.
pub struct ReadAhead {
    shared: Arc<Shared>,
    work_tree: PathBuf,
    store_root: PathBuf,
    stat_cache: PathBuf,
    worker: Option<JoinHandle<()>>,
}

fn split(path: &str) -> (&str, &str) {
    path.rsplit_once('/').unwrap_or(("", path))
}

fn extension(name: &str) -> &str {
    name.rsplit_once('.').map(|(_, e)| e).unwrap_or("")
}

impl ReadAhead {
    /// Read-ahead for the work tree `work_tree`, storing into the cache at `store_root`; the
    /// worker starts at the first run of requests.
    pub fn new(work_tree: PathBuf, store_root: PathBuf, stat_cache: PathBuf) -> Self {
        let shared = Arc::new(Shared { state: Mutex::new(State::default()), wake: Condvar::new() });
        ReadAhead { shared, work_tree, store_root, stat_cache, worker: None }
    }

    /// Notes that git asks to clean `path` and returns what the worker stored for it, waiting
    /// if the worker is reading it right now.
    pub fn request(&mut self, path: &str) -> Option<Ahead> {
        let (dir, name) = split(path);
        let mut st = self.shared.lock();
        if st.dir != dir {
            st.dir = dir.to_string();
            st.generation += 1;
            st.done.clear();
            st.done_bytes = 0;
            st.run = 1;
        } else {
            st.run = if name > st.last.as_str() { st.run + 1 } else { 1 };
            // git went past these names: it will not ask for them now.
            let later = st.done.split_off(name);
            let passed: u64 = st.done.values().map(|a| a.stat.size).sum();
            st.done_bytes -= passed;
            st.done = later;
        }
        st.last = name.to_string();
        if !st.extensions.contains(extension(name)) {
            st.extensions.insert(extension(name).to_string());
        }
        if self.worker.is_none() && st.run >= 2 {
            self.worker = self.start();
        }
        if st.worker_waits {
            self.shared.wake.notify_all();
        }
        loop {
            if let Some(found) = st.done.remove(name) {
                st.done_bytes -= found.stat.size;
                return Some(found);
            }
            let generation = st.generation;
            if !st.busy.as_ref().is_some_and(|(g, n)| *g == generation && n == name) {
                return None;
            }
            st.git_waits = true;
            st = self.shared.wait(st);
            st.git_waits = false;
        }
    }

    /// Gives a used buffer back to the worker.
    pub fn recycle(&mut self, mut bytes: Vec<u8>) {
        let mut st = self.shared.lock();
        if st.spare.len() < SPARE && bytes.capacity() as u64 <= MAX_FILE {
            bytes.clear();
            st.spare.push(bytes);
        }
    }

    fn start(&self) -> Option<JoinHandle<()>> {
        let worker = Worker {
            shared: Arc::clone(&self.shared),
            work_tree: self.work_tree.clone(),
            store: Store::new(self.store_root.clone()),
            known: StatCache::load(&self.stat_cache),
        };
        let shared = Arc::clone(&self.shared);
        let run = move || {
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| worker.run()));
            if ran.is_err() {
                // Nobody may wait for a file the worker will never finish.
                let mut st = shared.lock();
                st.busy = None;
                st.stop = true;
                shared.wake.notify_all();
            }
        };
        std::thread::Builder::new().name("git-data-readahead".into()).spawn(run).ok()
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.wake.notify_all();
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

struct Worker {
    shared: Arc<Shared>,
    work_tree: PathBuf,
    store: Store,
    known: StatCache,
}

impl Worker {
    fn run(self) {
        let mut generation = u64::MAX;
        let mut names: Vec<String> = Vec::new();
        let mut next = 0;
        let mut st = self.shared.lock();
        loop {
            if st.stop {
                return;
            }
            if st.generation != generation {
                generation = st.generation;
                let dir = self.work_tree.join(&st.dir);
                drop(st);
                names = list_files(&dir);
                next = 0;
                st = self.shared.lock();
                continue;
            }
            while names.get(next).is_some_and(|n| n.as_str() <= st.last.as_str()) {
                next += 1;
            }
            let room = st.done.len() < WINDOW && st.done_bytes < WINDOW_BYTES;
            let Some(name) = names.get(next).filter(|_| room).cloned() else {
                st.worker_waits = true;
                st = self.shared.wait(st);
                st.worker_waits = false;
                continue;
            };
            next += 1;
            if !st.extensions.contains(extension(&name)) {
                continue;
            }
            st.busy = Some((generation, name.clone()));
            let rel = if st.dir.is_empty() { name.clone() } else { format!("{}/{name}", st.dir) };
            let buf = st.spare.pop().unwrap_or_default();
            drop(st);
            let stored = self.store_one(&rel, buf);
            st = self.shared.lock();
            st.busy = None;
            match stored {
                Ok(found) if st.generation == generation && name.as_str() >= st.last.as_str() => {
                    st.done_bytes += found.stat.size;
                    st.done.insert(name, found);
                }
                Ok(Ahead { bytes: buf, .. }) | Err(buf) => {
                    if st.spare.len() < SPARE {
                        st.spare.push(buf);
                    }
                }
            }
            if st.git_waits {
                self.shared.wake.notify_all();
            }
        }
    }

    /// Stores the work-tree file `rel`, read into `buf`, if it qualifies and stays unchanged
    /// while read; gives the buffer back otherwise.
    fn store_one(&self, rel: &str, mut bytes: Vec<u8>) -> Result<Ahead, Vec<u8>> {
        let path = self.work_tree.join(rel);
        let at = SystemTime::now();
        let Ok(meta) = fs::symlink_metadata(&path) else { return Err(bytes) };
        let before = FileStat::from_metadata(&meta);
        if !meta.is_file()
            || before.size <= MAX_POINTER_SIZE as u64
            || before.size > MAX_FILE
            || !before.settled_at(at)
            || self.known.lookup(rel.as_bytes(), &before).is_some()
        {
            return Err(bytes);
        }
        bytes.clear();
        let read = fs::File::open(&path).and_then(|mut f| f.read_to_end(&mut bytes));
        let after = fs::symlink_metadata(&path).map(|m| FileStat::from_metadata(&m));
        let unchanged = matches!(&after, Ok(a) if a.same_content_stat(&before));
        if read.is_err() || bytes.len() as u64 != before.size || !unchanged {
            return Err(bytes);
        }
        match self.store.insert_bytes(&bytes) {
            Ok((oid, _)) => Ok(Ahead { stat: before, oid, bytes }),
            Err(_) => Err(bytes),
        }
    }
}

/// The names of the regular files in `dir`, in byte order (git's order).
fn list_files(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else { return Vec::new() };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort_unstable();
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::{Filter, ReadChunks};
    use crate::pointer::Pointer;
    use crate::store::state::pending::Journal;

    fn content(i: usize) -> Vec<u8> {
        (0..3000 + i * 7).map(|j| (j * 31 + i * 17) as u8).collect()
    }

    /// A work tree with `d/fNN.bin` (and `d/nNN.txt`, never sent), settled.
    fn work_tree(files: usize) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("wt/d")).unwrap();
        for i in 0..files {
            fs::write(dir.path().join(format!("wt/d/f{i:02}.bin")), content(i)).unwrap();
            fs::write(dir.path().join(format!("wt/d/n{i:02}.txt")), content(i + 100)).unwrap();
        }
        std::thread::sleep(
            crate::fs::stat::racy_margin() * 2 + std::time::Duration::from_millis(20),
        );
        dir
    }

    fn read_ahead(dir: &Path) -> ReadAhead {
        ReadAhead::new(dir.join("wt"), dir.join("cache"), dir.join("statcache.log"))
    }

    #[test]
    fn stores_the_next_files_of_the_directory_git_walks() {
        let dir = work_tree(8);
        let mut ra = read_ahead(dir.path());
        assert!(ra.request("d/f00.bin").is_none());
        assert!(ra.request("d/f01.bin").is_none(), "nothing is read before a run of two");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while ra.shared.lock().done.len() < 6 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let found = ra.request("d/f03.bin").expect("f03 was read ahead");
        assert_eq!(found.oid, Oid::of_bytes(&content(3)));
        assert_eq!(found.bytes, content(3));
        assert!(!ra.shared.lock().done.contains_key("f02.bin"), "passed names are dropped");
        drop(ra);
        let store = Store::new(dir.path().join("cache"));
        for i in 0..8 {
            assert!(store.contains(&Oid::of_bytes(&content(i)), content(i).len() as u64) || i < 2);
            let txt = content(i + 100);
            assert!(!store.contains(&Oid::of_bytes(&txt), txt.len() as u64), "n{i:02}.txt");
        }
    }

    #[test]
    fn what_git_sends_decides_the_pointer() {
        let dir = work_tree(6);
        let store = Store::new(dir.path().join("cache"));
        let mut filter = Filter {
            store: &store,
            journal: Journal::session(dir.path().join("pending")),
            inline_max: 0,
            work_tree: Some(dir.path().join("wt")),
            stat_cache: None,
            readahead: Some(read_ahead(dir.path())),
            delay: None,
            skip_smudge: false,
            chosen: Default::default(),
        };
        let mut clean = |i: usize, sent: &[u8]| {
            let path = format!("d/f{i:02}.bin");
            filter.clean(path.as_str().into(), &mut ReadChunks::new(sent)).unwrap().blob()
        };
        for i in 0..2 {
            assert_eq!(
                clean(i, &content(i)),
                Pointer::new(Oid::of_bytes(&content(i)), content(i).len() as u64)
                    .encode()
                    .into_bytes()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
        // Other bytes than the file's (as `git hash-object --path` may send), a prefix of
        // them, a longer stream, and the file itself.
        let mut other = content(2);
        other[1500] ^= 1;
        let prefix = content(3)[..2000].to_vec();
        let mut longer = content(4);
        longer.extend_from_slice(b"more");
        for (i, sent) in [(2, other), (3, prefix), (4, longer), (5, content(5))] {
            let pointer = Pointer::new(Oid::of_bytes(&sent), sent.len() as u64).encode();
            assert_eq!(clean(i, &sent), pointer.into_bytes(), "f{i:02}");
            let (mut file, _) =
                store.open_verified(&Oid::of_bytes(&sent), sent.len() as u64).unwrap();
            let mut stored = Vec::new();
            file.read_to_end(&mut stored).unwrap();
            assert!(stored == sent, "f{i:02}: the cache holds what git sent");
        }
    }
}
