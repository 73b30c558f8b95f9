//! The accept loop: a connection, its address's share, then a slot for it; at the cap, a
//! connection chosen by the [`Registry`] makes room, or (when every connection is busy and none
//! may be taken) the next accept waits and new connections queue in the kernel's backlog.

use axum::Router;
use hyper_util::server::graceful::GracefulShutdown;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::Server;
use crate::connection::{Admitted, serve_connection};
use crate::registry::{Registry, Room};
use crate::telemetry::Telemetry;

/// How long the loop pauses when the process is out of file descriptors.
const OUT_OF_FILES_PAUSE: Duration = Duration::from_millis(50);

impl Server {
    /// Serves `app` on `listener` until `shutdown` completes, then shuts down gracefully within
    /// the grace period.
    ///
    /// # Errors
    ///
    /// Never today: accept errors (a connection reset before it was accepted, the process out
    /// of file descriptors) are logged and the loop goes on. The `Result` leaves room for
    /// listener errors that cannot be recovered.
    pub async fn serve(
        self,
        listener: TcpListener,
        app: Router,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> io::Result<()> {
        let settings = Arc::new(self);
        let slots = Arc::new(Semaphore::new(settings.max_connections));
        let per_address = settings.per_address_share();
        let registry = Arc::new(Registry::new(
            per_address,
            settings.trusted_proxies.clone(),
            Telemetry::new(&settings.recorder),
        ));
        let graceful = GracefulShutdown::new();
        let mut out_of_files = OutOfFiles::default();
        tracing::info!(
            max_connections = settings.max_connections,
            max_connections_per_address = per_address,
            header_read_timeout = ?settings.header_read_timeout,
            idle_timeout = ?settings.idle_timeout,
            "serving"
        );
        tokio::pin!(shutdown);
        loop {
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        out_of_files.handle(&error).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let Some(tenancy) = registry.admit(peer.ip()) else {
                registry.telemetry.refused_share.increment(1);
                tracing::debug!(%peer, per_address, "the address holds its share of connections; refused");
                continue;
            };
            let slot = tokio::select! {
                slot = slot(&slots, &registry, peer) => slot,
                () = &mut shutdown => break,
            };
            let Some(slot) = slot else {
                registry.telemetry.refused_capacity.increment(1);
                tracing::debug!(%peer, "at the cap, and the address holds connections already; refused");
                continue;
            };
            let _ = stream.set_nodelay(true);
            let admitted = Admitted {
                slot,
                tenancy,
                registry: Arc::clone(&registry),
            };
            tokio::spawn(serve_connection(
                stream,
                peer,
                admitted,
                app.clone(),
                Arc::clone(&settings),
                graceful.watcher(),
            ));
        }
        drop(listener);
        tracing::info!(
            connections = graceful.count(),
            "shutting down: draining in-flight requests"
        );
        tokio::select! {
            () = graceful.shutdown() => tracing::info!("stopped"),
            () = tokio::time::sleep(settings.shutdown_grace) => tracing::warn!(
                grace = ?settings.shutdown_grace,
                "requests still in flight after the grace period; closing"
            ),
        }
        Ok(())
    }
}

/// A free slot; at the cap, the one a connection closed for `peer` gives up, or the first one
/// any connection gives up; `None` when `peer` is refused.
async fn slot(
    slots: &Arc<Semaphore>,
    registry: &Registry,
    peer: SocketAddr,
) -> Option<OwnedSemaphorePermit> {
    if let Ok(permit) = Arc::clone(slots).try_acquire_owned() {
        return Some(permit);
    }
    if registry.make_room(peer.ip()) == Room::Refused {
        return None;
    }
    loop {
        // The semaphore is never closed.
        if let Ok(permit) = Arc::clone(slots).acquire_owned().await {
            return Some(permit);
        }
    }
}
/// Accept errors: out of file descriptors pauses the loop (the error would repeat at once) and
/// is logged once a minute; anything else (a connection reset before it was accepted) is not
/// the listener's fault.
#[derive(Default)]
struct OutOfFiles {
    warned_at: Option<Instant>,
}

impl OutOfFiles {
    async fn handle(&mut self, error: &io::Error) {
        // EMFILE (24) and ENFILE (23): the process or the system is out of descriptors.
        if !matches!(error.raw_os_error(), Some(23 | 24)) {
            tracing::debug!(%error, "accept failed");
            return;
        }
        let now = Instant::now();
        if self
            .warned_at
            .is_none_or(|at| now.duration_since(at) >= Duration::from_secs(60))
        {
            self.warned_at = Some(now);
            tracing::warn!(%error, "out of file descriptors; lower max_connections or raise the open-files limit");
        }
        tokio::time::sleep(OUT_OF_FILES_PAUSE).await;
    }
}
