//! Cancelling a call that has requests in flight. A whole-image call runs
//! each blob's work under its stop flag ([`within`]); the transport asks
//! [`stopped`] before each try and retry, and every connection's reads wait
//! in slices of [`SLICE`], asking it between them, so that a request waiting
//! on a server that stalls is abandoned within a slice of the cancel.

#![forbid(unsafe_code)]

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ureq::unversioned::transport::{Buffers, ConnectionDetails, Connector, NextTimeout, Transport};

use crate::error::{Error, ErrorKind};

/// The longest a read waits before it looks at the stop flag again.
pub(crate) const SLICE: Duration = Duration::from_millis(100);

thread_local! {
    /// The stop flag of the work this thread is doing, if it can be stopped.
    static FLAG: RefCell<Option<Arc<AtomicBool>>> = const { RefCell::new(None) };
}

/// Runs `work` on this thread with `flag` as its stop flag (the one before
/// comes back afterwards).
pub(crate) fn within<T>(flag: &Arc<AtomicBool>, work: impl FnOnce() -> T) -> T {
    let before = FLAG.with(|f| f.replace(Some(flag.clone())));
    struct Restore(Option<Arc<AtomicBool>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let before = self.0.take();
            FLAG.with(|f| *f.borrow_mut() = before);
        }
    }
    let _restore = Restore(before);
    work()
}

/// Whether the work this thread is doing was told to stop.
pub(crate) fn stopped() -> bool {
    FLAG.with(|f| {
        f.borrow()
            .as_ref()
            .is_some_and(|s| s.load(Ordering::SeqCst))
    })
}

/// Sleeps for `wait`, or less once the work is told to stop.
pub(crate) fn sleep(wait: Duration) {
    let until = Instant::now() + wait;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() || stopped() {
            return;
        }
        std::thread::sleep(left.min(SLICE));
    }
}

/// A connector that makes every connection below it stoppable: put right
/// above the TCP connector, under TLS, so that every byte read waits in
/// slices (see the module doc).
#[derive(Debug, Default)]
pub(crate) struct StopConnector;

impl<In: Transport> Connector<In> for StopConnector {
    type Out = Stopping<In>;

    fn connect(
        &self,
        _: &ConnectionDetails,
        chained: Option<In>,
    ) -> std::result::Result<Option<Stopping<In>>, ureq::Error> {
        Ok(chained.map(|inner| Stopping { inner }))
    }
}

/// A connection whose reads give up once the work using it is told to stop.
#[derive(Debug)]
pub(crate) struct Stopping<T> {
    inner: T,
}

/// The I/O error a stopped connection answers with.
fn interrupted() -> ureq::Error {
    ureq::Error::Io(std::io::Error::new(
        std::io::ErrorKind::Interrupted,
        "the call was cancelled",
    ))
}

impl<T: Transport> Transport for Stopping<T> {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(
        &mut self,
        amount: usize,
        timeout: NextTimeout,
    ) -> std::result::Result<(), ureq::Error> {
        if stopped() {
            return Err(interrupted());
        }
        self.inner.transmit_output(amount, timeout)
    }

    /// Waits as `timeout` says, in slices of at most [`SLICE`], giving up
    /// between two once the work is told to stop.
    fn await_input(&mut self, timeout: NextTimeout) -> std::result::Result<bool, ureq::Error> {
        let budget = timeout.for_read();
        let until = match budget.after {
            ureq::unversioned::transport::time::Duration::Exact(d) => Some(Instant::now() + d),
            ureq::unversioned::transport::time::Duration::NotHappening => None,
        };
        loop {
            if stopped() {
                return Err(interrupted());
            }
            let left = until.map(|u| u.saturating_duration_since(Instant::now()));
            let slice = NextTimeout {
                after: left.map_or(SLICE, |l| l.min(SLICE)).into(),
                reason: budget.reason,
                per_read: None,
                per_write: timeout.per_write,
            };
            match self.inner.await_input(slice) {
                Err(ureq::Error::Timeout(_)) if left.is_none_or(|l| l > SLICE) => continue,
                other => return other,
            }
        }
    }

    fn is_open(&mut self) -> bool {
        self.inner.is_open()
    }

    fn is_tls(&self) -> bool {
        self.inner.is_tls()
    }
}

/// The error of a cancelled call.
pub(crate) fn aborted() -> Error {
    Error::new(ErrorKind::Aborted, "the transfer was cancelled")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flag_holds_for_its_work_and_a_sleep_ends_when_it_is_set() {
        assert!(!stopped(), "no flag: never stopped");
        let flag = Arc::new(AtomicBool::new(false));
        within(&flag, || {
            assert!(!stopped());
            let setter = {
                let flag = flag.clone();
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(50));
                    flag.store(true, Ordering::SeqCst);
                })
            };
            let started = Instant::now();
            sleep(Duration::from_secs(30));
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "woke on the stop"
            );
            assert!(stopped());
            setter.join().unwrap();
        });
        assert!(!stopped(), "the flag ends with its work");
    }
}
