//! Progress reporting: a byte bar with rate and ETA on a terminal, nothing in pipes, CI or
//! hooks unless asked. Output goes to stderr only, never to stdout (git may be reading it).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// Whether progress should be drawn: `forced` (from `--progress`/`GIT_DATA_PROGRESS`) wins,
/// otherwise only when stderr is a terminal and not in CI.
pub(crate) fn enabled(forced: Option<bool>) -> bool {
    forced.unwrap_or_else(|| std::io::stderr().is_terminal() && std::env::var_os("CI").is_none())
}

/// The total of sizes for a bar, saturating at `u64::MAX` (a pointer can declare any size).
pub(crate) fn total_of(sizes: impl IntoIterator<Item = u64>) -> u64 {
    sizes.into_iter().fold(0, u64::saturating_add)
}

/// A cheap, cloneable handle; a disabled one does nothing.
#[derive(Clone)]
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    pub(crate) fn hidden() -> Self {
        Progress { bar: None }
    }

    /// A byte-counting bar labelled `what` for `total` bytes over `count` files.
    pub(crate) fn bytes(enabled: bool, what: &str, total: u64, count: usize) -> Self {
        if !enabled {
            return Self::hidden();
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        let template =
            "{prefix} {wide_bar} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}";
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(format!("{what} {count} file{}", if count == 1 { "" } else { "s" }));
        Progress { bar: Some(bar) }
    }

    pub(crate) fn inc(&self, bytes: u64) {
        if let Some(b) = &self.bar {
            b.inc(bytes);
        }
    }

    pub(crate) fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }

    /// Prints a line above the bar (or plainly when there is no bar).
    pub(crate) fn println(&self, line: &str) {
        match &self.bar {
            Some(b) => b.println(line),
            None => eprintln!("{line}"),
        }
    }
}

/// A reader that reports bytes read to a [`Progress`].
pub(crate) struct CountingReader<'a, R> {
    pub inner: R,
    pub progress: &'a Progress,
}

impl<R: std::io::Read> std::io::Read for CountingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.inc(n as u64);
        Ok(n)
    }
}
