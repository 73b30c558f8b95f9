//! One connection: hyper-util's builder with timers, a deadline on the first request head, and
//! the client's address in every request.

use axum::Router;
use axum::extract::ConnectInfo;
use http::StatusCode;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::Watcher;
use rampart_core::upgrade::UpgradeGuard;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio::sync::{Notify, OwnedSemaphorePermit};
use tower_service::Service;

use crate::Server;
use crate::activity::{Activity, CountedBody};
use crate::slotted::SlottedStream;
use crate::waiting::Place;

/// Serves one connection while it holds `slot`; `place` marks it as waiting for its first
/// request head, during which a newcomer at the cap may close it.
pub(crate) async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    // Held by the socket until it closes, upgraded or not: the cap counts it.
    slot: OwnedSemaphorePermit,
    place: Place,
    app: Router,
    settings: Arc<Server>,
    watcher: Watcher,
) {
    let header_read_timeout = settings.header_read_timeout;
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // The watchdog below bounds heads; hyper's own timeout costs a timer per request.
    builder.http1().header_read_timeout(None);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(settings.http2_max_concurrent_streams)
        .keep_alive_interval(settings.http2_keep_alive)
        .keep_alive_timeout(settings.http2_keep_alive);

    let first_request = Arc::new(Notify::new());
    let seen = Arc::clone(&first_request);
    let activity = Arc::new(Activity::default());
    let counted = Arc::clone(&activity);
    let service = hyper::service::service_fn(move |request: http::Request<Incoming>| {
        seen.notify_one();
        let answering = counted.start();
        let mut request = request.map(axum::body::Body::new);
        request.extensions_mut().insert(ConnectInfo(peer));
        let answer = app.clone().call(request);
        async move {
            let mut response = answer.await?;
            if response.status() == StatusCode::SWITCHING_PROTOCOLS {
                if let Some(guard) = response.extensions_mut().remove::<UpgradeGuard>() {
                    answering.keep_until_closed(guard);
                }
            }
            Ok::<_, std::convert::Infallible>(
                response.map(|body| CountedBody::new(body, answering)),
            )
        }
    });
    let connection = builder
        .serve_connection_with_upgrades(
            TokioIo::new(SlottedStream::new(stream, slot, Arc::clone(&activity))),
            service,
        )
        .into_owned();
    let connection = watcher.watch(connection);
    tokio::pin!(connection);

    // The first head, protocol sniffing included, within the timeout; or a newcomer at the
    // cap takes the slot.
    tokio::select! {
        result = &mut connection => return finished(result),
        () = first_request.notified() => drop(place),
        () = place.evicted.notified() => {
            tracing::debug!(%peer, "no request head yet, and a newcomer needs the slot; closing");
            return;
        }
        () = tokio::time::sleep(header_read_timeout) => {
            tracing::debug!(%peer, ?header_read_timeout, "no request head in time; closing");
            return;
        }
    }
    // Then a request started in every period, unless an answer is still going out.
    let mut watchdog = tokio::time::interval_at(
        tokio::time::Instant::now() + header_read_timeout,
        header_read_timeout,
    );
    let mut last_seen = activity.started();
    loop {
        tokio::select! {
            result = &mut connection => return finished(result),
            _ = watchdog.tick() => {
                let started = activity.started();
                if started == last_seen && !activity.is_answering() {
                    tracing::debug!(%peer, ?header_read_timeout, "no request in a period; closing");
                    return;
                }
                last_seen = started;
            }
        }
    }
}

fn finished(result: Result<(), Box<dyn std::error::Error + Send + Sync>>) {
    if let Err(error) = result {
        tracing::debug!(%error, "connection ended with an error");
    }
}
