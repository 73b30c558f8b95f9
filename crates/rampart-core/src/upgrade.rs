//! The contract between a layer that watches upgraded connections (WebSockets) and the server
//! that keeps their sockets, as a type.
//!
//! A `101 Switching Protocols` answer ends the HTTP exchange at once, so a layer sees an open
//! WebSocket as a request of a few microseconds. The socket itself lives on in the handler.
//! A layer that wants to know how long it stays open puts an [`UpgradeGuard`] in the 101's
//! response extensions; a server that keeps upgraded sockets (`rampart::server::Server`) takes
//! it out and keeps it with the socket, dropping it when the socket closes. Without such a
//! server the guard is dropped with the response, and the connection looks closed at once.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

/// Lives as long as an upgraded connection's socket; whatever it holds is dropped when the
/// socket closes.
///
/// # Example
///
/// ```
/// use rampart_core::upgrade::UpgradeGuard;
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicBool, Ordering};
///
/// struct Closed(Arc<AtomicBool>);
/// impl Drop for Closed {
///     fn drop(&mut self) {
///         self.0.store(true, Ordering::SeqCst);
///     }
/// }
///
/// let closed = Arc::new(AtomicBool::new(false));
/// let mut response = http::Response::new(());
/// response
///     .extensions_mut()
///     .insert(UpgradeGuard::new(Closed(Arc::clone(&closed))));
/// // The server keeps the guard with the socket ...
/// let kept = response.extensions_mut().remove::<UpgradeGuard>();
/// drop(response);
/// assert!(!closed.load(Ordering::SeqCst));
/// // ... and drops it when the socket closes.
/// drop(kept);
/// assert!(closed.load(Ordering::SeqCst));
/// ```
#[derive(Clone)]
pub struct UpgradeGuard {
    // Never read: held only to be dropped with the socket.
    _held: Arc<dyn Any + Send + Sync>,
}

impl UpgradeGuard {
    /// A guard that drops `held` when the upgraded socket closes.
    pub fn new(held: impl Any + Send + Sync) -> Self {
        Self {
            _held: Arc::new(held),
        }
    }
}

impl fmt::Debug for UpgradeGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpgradeGuard").finish_non_exhaustive()
    }
}
