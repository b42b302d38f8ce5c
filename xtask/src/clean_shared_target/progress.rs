//! The progress of the scan and the deletion on stderr.

use std::{
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use crate::output::human_bytes;
use crate::secrets::{err, errln};

/// Files scanned or removed, from every thread, on stderr: refreshed in place on a terminal, a line
/// now and then otherwise, and nothing for a directory done in under half a second.
pub(crate) struct Progress {
    pub(super) terminal: bool,
    pub(super) scanned: AtomicU64,
    pub(super) bytes: AtomicU64,
    pub(super) removed: AtomicU64,
    /// When the phase started and when a line was last shown.
    pub(super) shown: Mutex<(Instant, Option<Instant>)>,
}

impl Progress {
    pub(super) fn new() -> Progress {
        Progress {
            terminal: std::io::IsTerminal::is_terminal(&std::io::stderr()),
            scanned: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            removed: AtomicU64::new(0),
            shown: Mutex::new((Instant::now(), None)),
        }
    }

    /// One more entry scanned, of `bytes` (apparent).
    pub(crate) fn scanned(&self, bytes: u64) {
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.tick(self.scanned.fetch_add(1, Ordering::Relaxed));
    }

    pub(crate) fn removed(&self) {
        self.tick(self.removed.fetch_add(1, Ordering::Relaxed));
    }

    /// Every 1024 entries, a look at the clock and perhaps a line.
    fn tick(&self, count: u64) {
        if count % 1024 != 1023 {
            return;
        }
        let Ok(mut shown) = self.shown.try_lock() else { return };
        let (started, last) = &mut *shown;
        let now = Instant::now();
        let every = if self.terminal { Duration::from_millis(100) } else { Duration::from_secs(5) };
        if now - *started < Duration::from_millis(500) || last.is_some_and(|last| now - last < every) {
            return;
        }
        *last = Some(now);
        let [scanned, bytes, removed] =
            [&self.scanned, &self.bytes, &self.removed].map(|count| count.load(Ordering::Relaxed));
        let text = match removed {
            0 => format!("scanned {scanned} entries, {}", human_bytes(bytes)),
            removed => format!("removed {removed} files"),
        };
        if self.terminal {
            err!("\r\x1b[K{text}");
        } else {
            errln!("{text}");
        }
    }

    /// Ends a phase: clears the progress line.
    pub(super) fn finish(&self) {
        let mut shown = self.shown.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if self.terminal && shown.1.is_some() {
            err!("\r\x1b[K");
        }
        *shown = (Instant::now(), None);
    }
}
