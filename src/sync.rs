//! Locks that survive a panic in another thread.

#![forbid(unsafe_code)]

use std::sync::{Mutex, MutexGuard};

/// Locks a mutex, going on with the data if another thread panicked with it:
/// every value the crate keeps behind a mutex (caches, jars, flags) stays
/// valid whatever a panicking thread did halfway.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
