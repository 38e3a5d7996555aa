//! Progress on stderr: on a terminal, a live line per blob, named by its
//! 12-hex short digest, with bytes, total and rate (as docker's pull shows);
//! otherwise one line per blob once it is done.

#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::io::IsTerminal;
use std::time::Instant;

use indicatif::{BinaryBytes, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::args::{Global, ProgressArg};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Live bars (stderr is a terminal).
    Bars,
    /// One line per blob when it is done.
    Lines,
    /// Nothing.
    Off,
}

impl Mode {
    pub fn of(g: &Global) -> Mode {
        match (g.quiet, g.progress) {
            (true, _) | (_, ProgressArg::None) => Mode::Off,
            (_, ProgressArg::Plain) => Mode::Lines,
            (_, ProgressArg::Auto) if std::io::stderr().is_terminal() => Mode::Bars,
            (_, ProgressArg::Auto) => Mode::Lines,
        }
    }
}

/// What is being done to the blobs, for the display.
#[derive(Debug, Clone, Copy)]
pub struct Verbs {
    /// While bytes move: "Downloading".
    pub moving: &'static str,
    /// Once done: "Pull complete".
    pub done: &'static str,
}

pub const PULL: Verbs = Verbs {
    moving: "Downloading",
    done: "Pull complete",
};
pub const PUSH: Verbs = Verbs {
    moving: "Pushing",
    done: "Pushed",
};
pub const COPY: Verbs = Verbs {
    moving: "Copying",
    done: "Copied",
};

struct Entry {
    bar: Option<ProgressBar>,
    started: Instant,
    finished: bool,
}

/// The display of one command's transfers.
pub struct Display {
    mode: Mode,
    verbs: Verbs,
    multi: Option<MultiProgress>,
    entries: HashMap<String, Entry>,
}

/// The 12-hex short form docker shows: the hex of a digest (or a v1 image
/// id), cut to 12 characters.
pub fn short(digest: &str) -> &str {
    let hex = digest.split_once(':').map_or(digest, |(_, h)| h);
    &hex[..hex.len().min(12)]
}

impl Display {
    pub fn new(mode: Mode, verbs: Verbs) -> Display {
        let multi = (mode == Mode::Bars)
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Display {
            mode,
            verbs,
            multi,
            entries: HashMap::new(),
        }
    }

    /// A report from the library: `done` of `total` bytes (0: unknown) of
    /// `digest`; the last report, `done == total`, completes it. Always goes
    /// on (returns true).
    pub fn update(&mut self, digest: &str, done: u64, total: u64) -> bool {
        let is_new = !self.entries.contains_key(digest);
        self.moved(digest, done, total);
        if done == total && (total > 0 || !is_new) {
            self.complete(digest, done);
        }
        true
    }

    /// `done` of `total` bytes of `label` moved; it is not complete yet.
    pub fn moved(&mut self, label: &str, done: u64, total: u64) {
        if self.mode == Mode::Off {
            return;
        }
        let entry = self.entries.entry(label.to_string()).or_insert_with(|| {
            let bar = self.multi.as_ref().map(|m| {
                let bar = m.add(ProgressBar::new(total));
                bar.set_style(style(total));
                bar.set_prefix(short(label).to_string());
                bar.set_message(self.verbs.moving);
                bar
            });
            Entry {
                bar,
                started: Instant::now(),
                finished: false,
            }
        });
        if entry.finished {
            return;
        }
        if let Some(bar) = &entry.bar {
            if bar.length() != Some(total) {
                bar.set_length(total);
            }
            bar.set_position(done);
        }
    }

    /// `label` is complete (and verified) at `done` bytes: its bar says so,
    /// or its one line is printed.
    pub fn complete(&mut self, label: &str, done: u64) {
        self.moved(label, done, done);
        let Some(entry) = self.entries.get_mut(label) else {
            return;
        };
        if entry.finished {
            return;
        }
        entry.finished = true;
        match &entry.bar {
            Some(bar) => bar.finish_with_message(self.verbs.done),
            None => {
                let secs = entry.started.elapsed().as_secs_f64();
                let rate = if secs > 0.0 {
                    (done as f64 / secs) as u64
                } else {
                    done
                };
                eprintln!(
                    "{}: {} {} in {:.1}s ({}/s)",
                    short(label),
                    self.verbs.done,
                    BinaryBytes(done),
                    secs,
                    BinaryBytes(rate)
                );
            }
        }
    }

    /// Stops drawing; bars that are done stay on the screen.
    pub fn finish(self) {
        for entry in self.entries.values() {
            if let Some(bar) = &entry.bar {
                if !bar.is_finished() {
                    bar.abandon();
                }
            }
        }
    }
}

fn style(total: u64) -> ProgressStyle {
    let template = if total > 0 {
        "{prefix}: {msg:13} [{wide_bar}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec}"
    } else {
        "{prefix}: {msg:13} {binary_bytes:>10} {binary_bytes_per_sec}"
    };
    ProgressStyle::with_template(template)
        .expect("the template is valid")
        .progress_chars("=> ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_digests() {
        let d = format!("sha256:{}", "0123456789abcdef".repeat(4));
        assert_eq!(short(&d), "0123456789ab");
        assert_eq!(short("abc"), "abc");
    }
}
