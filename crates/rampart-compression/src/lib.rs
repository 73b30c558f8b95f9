//! Response compression for servers: tower-http's encoders, with the decisions a server needs.
//!
//! [`CompressionLayer`] wraps [`tower_http::compression`] (gzip, br, zstd and deflate, chosen
//! from `Accept-Encoding` by q-value) and adds what it leaves to the user:
//!
//! - **What not to compress** ([`CompressiblePredicate`]): bodies under a minimum size (default
//!   1 KiB: below that, the encoder's framing and CPU cost more than the bytes saved),
//!   content that is already compressed (images other than SVG, audio, video, fonts, archives,
//!   `application/octet-stream`), `text/event-stream` (compression would buffer events), and
//!   responses marked `Cache-Control: no-transform`. Responses that already carry
//!   `Content-Encoding`, and ranges, are never touched.
//! - **Validators per representation**: a strong `ETag` on a response this layer compresses
//!   becomes weak (`"v1"` → `W/"v1"`). A strong validator promises byte-identical bodies, which
//!   the gzip and the identity representation are not; the weak one still matches
//!   `If-None-Match`, which compares weakly.
//! - **Small responses through the layers above**: tower-http's encoding body holds every
//!   encoder's state inline (about 6 KB) and each layer above moves the response; here it is
//!   boxed, and not created at all for a request without `Accept-Encoding`.
//! - **Streams that end cleanly**: tower-http's encoder polls a body once more after its end
//!   (tower-http #732), which panics a non-fused stream and truncates the response; the body
//!   it reads here is fused first.
//! - **Levels for servers, not archives**: [`CompressionLevel::Default`] is the one to use. In
//!   tower-http it means gzip 6, deflate 6, zstd 3 and brotli 4 (not brotli's own default of
//!   11, which is 20–50× slower). `docs/compression.md` has the measurement behind keeping
//!   these: see `benches/benches/compression_levels.rs`.
//!
//! # Features
//!
//! gzip is always built. `br`, `zstd` and `deflate` add those codings and are on by default;
//! zstd is a C library compiled from source, so `default-features = false, features = ["br"]`
//! builds without a C compiler. A coding whose feature is off is never offered, whatever the
//! setters or the configuration say.
//!
//! # Example
//!
//! ```
//! use axum::{Router, body::Body, routing::get};
//! use http::{Request, header};
//! use rampart_compression::CompressionLayer;
//! use tower::ServiceExt;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let report = "a report that compresses well. ".repeat(100);
//! let app = Router::new()
//!     .route("/report", get(move || async move { report }))
//!     .layer(CompressionLayer::new());
//!
//! let request = Request::get("/report")
//!     .header(header::ACCEPT_ENCODING, "gzip;q=0.5, br")
//!     .body(Body::empty())
//!     .unwrap();
//! let response = app.oneshot(request).await.unwrap();
//! assert_eq!(response.headers()[header::CONTENT_ENCODING], "br");
//! assert_eq!(response.headers()[header::VARY], "accept-encoding");
//! # }
//! ```

mod body;
mod config;
mod fuse;
mod future;
mod layer;
mod level;
mod mark;
mod predicate;
mod service;

#[doc(inline)]
pub use body::CompressedBody;
#[doc(inline)]
pub use config::CompressionConfig;
#[doc(inline)]
pub use future::ResponseFuture;
#[doc(inline)]
pub use layer::CompressionLayer;
#[doc(inline)]
pub use level::CompressionLevel;
#[doc(inline)]
pub use predicate::CompressiblePredicate;
#[doc(inline)]
pub use service::Compression;
