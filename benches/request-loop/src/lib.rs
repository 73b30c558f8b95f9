//! The request loop that `scripts/bench-load.sh` counts instructions in: N requests for one
//! path through a router, in-process, without a socket.

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use http::Request;
use http_body_util::BodyExt;
use std::net::SocketAddr;
use tower::{Service, ServiceExt};

/// Sends `count` `GET path` requests through `app` one after the other and reads every body;
/// returns the body bytes read.
///
/// The measured part: `bench-load.sh` counts instructions only inside this function
/// (`--toggle-collect=*drive_requests*`), so set-up such as the metrics clock's calibration stays
/// out. Not inlined, so that callgrind sees it.
///
/// # Errors
///
/// When a request cannot be built or the router or a body fails.
///
/// # Example
///
/// ```
/// use axum::{Router, routing::get};
///
/// let runtime = tokio::runtime::Builder::new_current_thread().build()?;
/// let mut app = Router::new().route("/", get(|| async { "hi" }));
/// assert_eq!(request_loop::drive_requests(&runtime, &mut app, "/", 3)?, 6);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[inline(never)]
pub fn drive_requests(
    runtime: &tokio::runtime::Runtime,
    app: &mut Router,
    path: &str,
    count: usize,
) -> Result<usize, Box<dyn std::error::Error>> {
    runtime.block_on(async {
        // Rate limiters (rampart's and tower_governor) key on the peer address, which a socket
        // would provide.
        let peer = ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000)));
        let mut bytes = 0;
        for _ in 0..count {
            let mut request = Request::get(path).body(Body::empty())?;
            request.extensions_mut().insert(peer);
            let response = ServiceExt::<Request<Body>>::ready(&mut *app)
                .await?
                .call(request)
                .await?;
            bytes += response.into_body().collect().await?.to_bytes().len();
        }
        Ok(bytes)
    })
}
