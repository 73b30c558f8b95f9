//! rampart as a caching reverse proxy: every request, whatever its method and path, goes to one
//! HTTP origin, through rampart's response cache with its default rule.
//!
//! For services that cannot take a Tower layer themselves (a legacy backend, another
//! language), and the harness of the RFC 9111 conformance run (`scripts/cache-tests.sh`).
//!
//! ```no_run
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let origin = "http://127.0.0.1:8000".parse().expect("an origin URL");
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! cache_proxy::serve(listener, cache_proxy::Origin::new(origin)?, std::future::pending()).await
//! # }
//! ```
//!
//! What a reverse proxy owes the messages it forwards (RFC 9110 §7.6): hop-by-hop fields
//! (`Connection` and the fields it names, `Keep-Alive`, `TE`, `Transfer-Encoding`, `Upgrade`,
//! `Proxy-Connection`) are dropped both ways; `Via` is added both ways; the origin's own
//! `Host` is sent. An origin that cannot be reached answers `502`, one that does not answer
//! within the origin timeout `504`, both `application/problem+json`.

mod forward;
mod hop;

pub use forward::{Origin, router, serve};
