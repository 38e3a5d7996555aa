//! Cancelling a call that has requests in flight. A whole-image call runs
//! each blob's work under its [`Stop`] ([`within`]); the transport asks
//! [`stopped`] before each try and retry, and every connection registers
//! itself with the work's `Stop` while it reads or writes, so that
//! [`Stop::stop`] shuts down the sockets it finds busy: a request waiting on
//! a server that stalls (or that stopped reading an upload) is abandoned at
//! once. A TCP connect under way is not: it ends at the connect timeout.

#![forbid(unsafe_code)]

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, Either, NextTimeout, ShutdownHandle, TcpConnector,
    Transport,
};

use crate::error::{Error, ErrorKind};
use crate::sync::lock;

/// The longest [`sleep`] waits before it looks at the stop flag again.
const SLICE: Duration = Duration::from_millis(100);

/// One call's stop flag, and the sockets its work is reading or writing.
#[derive(Default)]
pub(crate) struct Stop {
    flag: AtomicBool,
    busy: Mutex<Vec<Weak<dyn ShutdownHandle>>>,
}

impl Stop {
    /// Tells the work to stop, and shuts down every socket it is blocked on.
    /// The list stays locked meanwhile, so that no socket goes back to the
    /// pool (and to another call) before its shutdown: a worker leaves
    /// [`Stop::busy`] only through that lock.
    pub fn stop(&self) {
        self.flag.store(true, Ordering::SeqCst);
        let busy = lock(&self.busy);
        for socket in busy.iter().filter_map(Weak::upgrade) {
            socket.shutdown();
        }
    }

    /// Whether [`Stop::stop`] was called.
    pub fn is_stopped(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Runs `io` on `socket` while `stop` can shut it down; refuses to start
    /// once stopped. (`socket` is registered before the flag is read, and
    /// `stop` sets the flag before it takes the list: one of the two sees
    /// the other.)
    fn busy<T>(
        &self,
        socket: &Weak<dyn ShutdownHandle>,
        io: impl FnOnce() -> std::result::Result<T, ureq::Error>,
    ) -> std::result::Result<T, ureq::Error> {
        lock(&self.busy).push(socket.clone());
        let result = if self.is_stopped() {
            Err(interrupted())
        } else {
            io()
        };
        lock(&self.busy).retain(|s| !Weak::ptr_eq(s, socket));
        result
    }
}

thread_local! {
    /// The stop of the work this thread is doing, if it can be stopped.
    static CURRENT: RefCell<Option<Arc<Stop>>> = const { RefCell::new(None) };
}

/// Runs `work` on this thread under `stop` (the one before comes back
/// afterwards).
pub(crate) fn within<T>(stop: &Arc<Stop>, work: impl FnOnce() -> T) -> T {
    within_option(Some(stop.clone()), work)
}

fn within_option<T>(stop: Option<Arc<Stop>>, work: impl FnOnce() -> T) -> T {
    let before = CURRENT.with(|c| c.replace(stop));
    struct Restore(Option<Arc<Stop>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let before = self.0.take();
            CURRENT.with(|c| *c.borrow_mut() = before);
        }
    }
    let _restore = Restore(before);
    work()
}

/// Runs `work` on this thread outside any stop (a cleanup that must go out
/// after a cancel, under a deadline of its own).
pub(crate) fn outside<T>(work: impl FnOnce() -> T) -> T {
    within_option(None, work)
}

fn current() -> Option<Arc<Stop>> {
    CURRENT.with(|c| c.borrow().clone())
}

/// Whether the work this thread is doing was told to stop.
pub(crate) fn stopped() -> bool {
    current().is_some_and(|s| s.is_stopped())
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

/// The TCP connector, whose sockets a [`Stop`] can shut down: it keeps a
/// handle on each socket it opens (the one it registers with the agent).
/// A connection an earlier connector made (a proxy's) passes through as it is.
#[derive(Debug, Default)]
pub(crate) struct StopConnector;

impl<In: Transport> Connector<In> for StopConnector {
    type Out = Stopping<Either<In, <TcpConnector as Connector>::Out>>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> std::result::Result<Option<Self::Out>, ureq::Error> {
        if let Some(inner) = chained {
            return Ok(Some(Stopping {
                inner: Either::A(inner),
                socket: None,
            }));
        }
        if stopped() {
            return Err(interrupted());
        }
        // (A connect under way is not interrupted: it ends at the connect
        // timeout, and the stop is seen by the first read or write.)
        let kept: Arc<Mutex<Option<Weak<dyn ShutdownHandle>>>> = Arc::default();
        let (keep, register) = (kept.clone(), details.register_shutdown.clone());
        let ours = ConnectionDetails {
            uri: details.uri,
            addrs: details.addrs.clone(),
            config: details.config,
            request_level: details.request_level,
            resolver: details.resolver,
            now: details.now,
            timeout: details.timeout,
            current_time: details.current_time.clone(),
            run_connector: details.run_connector.clone(),
            register_shutdown: Arc::new(move |socket: Weak<dyn ShutdownHandle>| {
                *lock(&keep) = Some(socket.clone());
                register(socket)
            }),
        };
        let made = Connector::<()>::connect(&TcpConnector::default(), &ours, None)?;
        let socket = lock(&kept).take();
        Ok(made.map(|tcp| Stopping {
            inner: Either::B(tcp),
            socket,
        }))
    }
}

/// A connection that the work using it can stop (see [`Stop`]).
#[derive(Debug)]
pub(crate) struct Stopping<T> {
    inner: T,
    socket: Option<Weak<dyn ShutdownHandle>>,
}

/// The I/O error a stopped connection answers with: of a kind no reader or
/// writer retries (`Interrupted` is retried by `write_all`, `read_to_end`
/// and rustls, forever once the connection refuses every call) and no body
/// reader takes for the end of a body (`UnexpectedEof`, resets).
fn interrupted() -> ureq::Error {
    ureq::Error::Io(std::io::Error::other("the call was cancelled"))
}

impl<T: Transport> Stopping<T> {
    /// Runs `io` on the connection, under the current work's stop if any.
    fn guard<R>(
        &mut self,
        io: impl FnOnce(&mut T) -> std::result::Result<R, ureq::Error>,
    ) -> std::result::Result<R, ureq::Error> {
        match (current(), &self.socket) {
            (Some(stop), Some(socket)) => {
                let inner = &mut self.inner;
                stop.busy(socket, || io(inner))
            }
            (Some(stop), None) if stop.is_stopped() => Err(interrupted()),
            _ => io(&mut self.inner),
        }
    }
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
        self.guard(|t| t.transmit_output(amount, timeout))
    }

    fn await_input(&mut self, timeout: NextTimeout) -> std::result::Result<bool, ureq::Error> {
        self.guard(|t| t.await_input(timeout))
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
        let stop = Arc::new(Stop::default());
        within(&stop, || {
            assert!(!stopped());
            let setter = {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(50));
                    stop.stop();
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
