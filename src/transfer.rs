//! Moving many blobs at once: up to N jobs run on worker threads, largest
//! first, while the calling thread hands their progress to the caller's
//! callback, one report at a time, in order per blob: first `done == 0`, then
//! as bytes move, last `done == total`, once, when the blob is done (its
//! digest checked, or found there already). While no job moves a byte, the
//! callback hears the last report of a job in flight again every
//! [`HEARTBEAT`], so that it can cancel a run that stalls. The callback may
//! cancel; then every job stops: no new request or retry, and the sockets
//! of requests in flight are shut down (see `cancel`); the run ends with
//! ABORTED. The
//! first job that fails stops the others the same way, and its error is the
//! run's.

#![forbid(unsafe_code)]

use std::collections::{HashMap, VecDeque};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(crate) use crate::cancel::aborted;
use crate::cancel::{self, Stop};
use crate::error::{Error, Result};
use crate::reference::Digest;
use crate::sync::lock;

/// How often a stalled run repeats a report to the callback.
pub(crate) const HEARTBEAT: Duration = Duration::from_millis(250);

/// The caller's progress callback: `(digest, done, total)`; false cancels.
pub type Progress<'a> = dyn FnMut(&Digest, u64, u64) -> bool + 'a;

/// One blob to move.
pub(crate) struct Job {
    pub digest: Digest,
    /// Its size in bytes (0 when unknown).
    pub size: u64,
}

/// A worker's side of the run: reports bytes moved and learns of a cancel.
pub(crate) struct Reporter<'r> {
    index: usize,
    /// The job's size: `done == total` is reported once, when the job is
    /// over (its bytes verified), not when the last byte moved.
    total: u64,
    events: mpsc::Sender<Event>,
    stop: &'r Stop,
}

enum Event {
    Moved { job: usize, done: u64 },
    Finished { job: usize, result: Result<()> },
}

impl Reporter<'_> {
    /// Reports `done` bytes of this job (`done == total` only once the job is
    /// over); ABORTED once the run is stopping.
    pub fn moved(&self, done: u64) -> Result<()> {
        self.check()?;
        if self.total == 0 || done < self.total {
            let _ = self.events.send(Event::Moved {
                job: self.index,
                done,
            });
        }
        Ok(())
    }

    /// ABORTED once the run is stopping (cancelled, or another job failed).
    pub fn check(&self) -> Result<()> {
        if self.stop.is_stopped() {
            return Err(aborted());
        }
        Ok(())
    }
}

/// Runs `work` on every job with `parallel` workers (at least 1), reporting
/// to `progress` on the calling thread. Jobs start largest first.
pub(crate) fn run(
    parallel: usize,
    mut jobs: Vec<Job>,
    progress: &mut Option<&mut Progress<'_>>,
    work: impl Fn(&Job, &Reporter<'_>) -> Result<()> + Sync,
) -> Result<()> {
    jobs.sort_by_key(|j| std::cmp::Reverse(j.size));
    let queue: Mutex<VecDeque<usize>> = Mutex::new((0..jobs.len()).collect());
    let stop = Arc::new(Stop::default());
    let (tx, rx) = mpsc::channel::<Event>();
    let workers = parallel.clamp(1, jobs.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let (tx, queue, stop, jobs, work) = (tx.clone(), &queue, &stop, &jobs, &work);
            scope.spawn(move || {
                cancel::within(stop, || loop {
                    let Some(index) = lock(queue).pop_front() else {
                        return;
                    };
                    let reporter = Reporter {
                        index,
                        total: jobs[index].size,
                        events: tx.clone(),
                        stop,
                    };
                    let result = reporter
                        .check()
                        .and_then(|_| reporter.moved(0))
                        .and_then(|_| work(&jobs[index], &reporter));
                    let _ = tx.send(Event::Finished { job: index, result });
                })
            });
        }
        drop(tx);
        // The first error wins: a job's own, or the caller's cancel; the
        // jobs stopped by it then end with ABORTED, which changes nothing.
        let mut first_error: Option<Error> = None;
        let mut report = |job: &Job, done: u64| match progress.as_mut() {
            Some(p) => p(&job.digest, done, job.size),
            None => true,
        };
        // The last report of each job in flight, for the heartbeat.
        let mut in_flight: HashMap<usize, u64> = HashMap::new();
        loop {
            let event = match rx.recv_timeout(HEARTBEAT) {
                Ok(event) => event,
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    let last = in_flight.iter().min_by_key(|(job, _)| **job);
                    if let Some((&job, &done)) = last {
                        if !stop.is_stopped() && !report(&jobs[job], done) {
                            stop.stop();
                            first_error = Some(aborted());
                        }
                    }
                    continue;
                }
            };
            let (job, result) = match event {
                Event::Moved { job, done } => {
                    // A report of "done" (size unknown, or 0) is never repeated.
                    if done < jobs[job].size {
                        in_flight.insert(job, done);
                    }
                    (job, Ok(done))
                }
                Event::Finished { job, result } => {
                    in_flight.remove(&job);
                    (job, result.map(|()| jobs[job].size))
                }
            };
            match result {
                Ok(_) if stop.is_stopped() => {}
                Ok(done) => {
                    if !report(&jobs[job], done) {
                        stop.stop();
                        first_error = Some(aborted());
                    }
                }
                Err(e) => {
                    stop.stop();
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::reference::{Algorithm, Hasher};

    fn jobs(sizes: &[u64]) -> Vec<Job> {
        sizes
            .iter()
            .enumerate()
            .map(|(i, &size)| Job {
                digest: Hasher::digest(Algorithm::Sha256, &[i as u8]),
                size,
            })
            .collect()
    }

    /// Each job moves its bytes in steps of 10.
    fn steps(job: &Job, r: &Reporter<'_>) -> Result<()> {
        let mut done = 0;
        while done < job.size {
            done = (done + 10).min(job.size);
            r.moved(done)?;
        }
        Ok(())
    }

    #[test]
    fn every_job_reports_zero_first_and_its_total_last() {
        let mut seen: Vec<(Digest, u64, u64)> = Vec::new();
        let mut cb = |d: &Digest, done: u64, total: u64| {
            seen.push((d.clone(), done, total));
            true
        };
        let mut progress: Option<&mut Progress<'_>> = Some(&mut cb);
        run(3, jobs(&[35, 0, 100, 20]), &mut progress, steps).unwrap();
        let all = jobs(&[35, 0, 100, 20]);
        for j in &all {
            let mine: Vec<_> = seen.iter().filter(|e| e.0 == j.digest).collect();
            assert_eq!(mine.first().map(|e| e.1), Some(0), "first report is 0");
            assert_eq!(
                mine.last().map(|e| e.1),
                Some(j.size),
                "last report is the total"
            );
            assert!(mine.windows(2).all(|w| w[0].1 <= w[1].1), "in order");
            assert!(mine.iter().all(|e| e.2 == j.size));
        }
    }

    #[test]
    fn a_callback_that_returns_false_cancels() {
        let mut calls = 0;
        let mut cb = |_: &Digest, _: u64, _: u64| {
            calls += 1;
            calls < 5
        };
        let mut progress: Option<&mut Progress<'_>> = Some(&mut cb);
        let e = run(2, jobs(&[1000, 1000, 1000]), &mut progress, |j, r| {
            std::thread::sleep(std::time::Duration::from_millis(1));
            steps(j, r)
        })
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Aborted);
        assert!((5..20).contains(&calls), "{calls} reports after the cancel");
    }

    #[test]
    fn the_first_failure_is_the_error() {
        let mut progress: Option<&mut Progress<'_>> = None;
        let e = run(4, jobs(&[10, 20, 30]), &mut progress, |j, r| {
            if j.size == 20 {
                return Err(Error::new(ErrorKind::NotFound, "gone"));
            }
            steps(j, r)
        })
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
        let mut progress: Option<&mut Progress<'_>> = None;
        run(4, jobs(&[]), &mut progress, steps).unwrap();
    }
}
