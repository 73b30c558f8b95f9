//! One connection: hyper-util's builder with timers, a deadline on the first request head, a
//! watchdog between requests, request bodies held to the minimum data rate, and the client's
//! address in every request.

use axum::Router;
use axum::extract::ConnectInfo;
use http::{StatusCode, Version};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::Watcher;
use metrics::Counter;
use rampart_core::upgrade::UpgradeGuard;
use rampart_core::{Problem, codes};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio::sync::{Notify, OwnedSemaphorePermit};
use tower_service::Service;

use crate::Server;
use crate::activity::{Activity, CountedBody};
use crate::body_rate::{Cut, MinDataRate, RateCheckedBody, RequestBodyTooSlow};
use crate::registry::{Registry, Tenancy};
use crate::slotted::SlottedStream;
use crate::watchdog::{Verdict, Watchdog};

/// What a connection holds under the server's limits.
pub(crate) struct Admitted {
    /// Held by the socket until it closes, upgraded or not: the cap counts it.
    pub(crate) slot: OwnedSemaphorePermit,
    /// Held by the socket too: its address's share counts it.
    pub(crate) tenancy: Tenancy,
    pub(crate) registry: Arc<Registry>,
}

/// Serves one connection while it holds its slot; until it ends (or its socket is upgraded), a
/// newcomer at the cap may close it.
pub(crate) async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    admitted: Admitted,
    app: Router,
    settings: Arc<Server>,
    watcher: Watcher,
) {
    let Admitted {
        slot,
        tenancy,
        registry,
    } = admitted;
    let header_read_timeout = settings.header_read_timeout;
    let body_rate = settings.min_request_body_rate;
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
    let place = registry.enter(&tenancy, Arc::clone(&activity));
    let counted = Arc::clone(&activity);
    let too_slow_bodies = registry.telemetry.too_slow.clone();
    let service = hyper::service::service_fn(move |request: http::Request<Incoming>| {
        seen.notify_one();
        if request.version() == Version::HTTP_2 {
            counted.multiplexed();
        }
        let answering = counted.start();
        let mut cut = None;
        let mut request = request.map(|body| match body_rate {
            Some(rate) if !http_body::Body::is_end_stream(&body) => {
                held_to(body, rate, &too_slow_bodies, &mut cut)
            }
            _ => axum::body::Body::new(body),
        });
        request.extensions_mut().insert(ConnectInfo(peer));
        let answer = app.clone().call(request);
        async move {
            let mut response = answer.await?;
            if let Some((cut, counter)) = cut.filter(|(cut, _)| cut.happened()) {
                counter.increment(1);
                response = too_slow(cut.rate());
            }
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
            TokioIo::new(SlottedStream::new(
                stream,
                slot,
                tenancy,
                Arc::clone(&activity),
            )),
            service,
        )
        .into_owned();
    let connection = watcher.watch(connection);
    tokio::pin!(connection);

    // The first head, protocol sniffing included, within the timeout; or a newcomer at the
    // cap takes the slot.
    tokio::select! {
        result = &mut connection => return finished(result),
        () = first_request.notified() => {}
        () = place.eviction.evicted() => {
            tracing::debug!(%peer, "no request head yet, and a newcomer needs the slot; closing");
            return;
        }
        () = tokio::time::sleep(header_read_timeout) => {
            tracing::debug!(%peer, ?header_read_timeout, "no request head in time; closing");
            return;
        }
    }
    // Then the watchdog, between requests: a next head within the header-read timeout of its
    // first byte, a new request within the idle timeout.
    let mut watchdog = Watchdog::new(
        header_read_timeout,
        settings.idle_timeout,
        &activity,
        tokio::time::Instant::now(),
    );
    let period = watchdog.period();
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        tokio::select! {
            result = &mut connection => return finished(result),
            () = place.eviction.evicted() => {
                tracing::debug!(%peer, "a newcomer at the cap needs the slot; closing");
                return;
            }
            now = ticks.tick() => match watchdog.check(&activity, now) {
                Verdict::Keep => {}
                Verdict::HeadTooSlow => {
                    tracing::debug!(%peer, ?header_read_timeout, "next request head too slow; closing");
                    return;
                }
                Verdict::Idle => {
                    tracing::debug!(%peer, idle_timeout = ?settings.idle_timeout, "idle; closing");
                    return;
                }
            },
        }
    }
}

/// `body` held to `rate`, and in `cut` what tells whether it was cut, with the counter of cut
/// bodies. Out of line: most requests have no body, and inlined this path cost them 360
/// instructions (callgrind).
#[inline(never)]
fn held_to(
    body: Incoming,
    rate: MinDataRate,
    too_slow_bodies: &Counter,
    cut: &mut Option<(Arc<Cut>, Counter)>,
) -> axum::body::Body {
    let watched = Arc::new(Cut::new(rate));
    *cut = Some((Arc::clone(&watched), too_slow_bodies.clone()));
    axum::body::Body::new(RateCheckedBody::new(body, rate, watched))
}

/// `408` for a body that came too slowly, whatever the application made of the missing rest;
/// the connection closes, its remaining bytes unread (RFC 9110 15.5.9).
#[cold]
#[inline(never)]
fn too_slow(rate: MinDataRate) -> axum::response::Response {
    let reason = RequestBodyTooSlow::new(rate);
    tracing::debug!(%reason, "request body too slow");
    Problem::request_body_timeout::<axum::body::Body, _>(codes::REQUEST_BODY_TOO_SLOW, reason)
        .map(axum::body::Body::new)
}

fn finished(result: Result<(), Box<dyn std::error::Error + Send + Sync>>) {
    if let Err(error) = result {
        tracing::debug!(%error, "connection ended with an error");
    }
}
