//! Helpers for the black-box tests: a server on a free loopback port, a client that never goes
//! through a proxy, and readers for the Prometheus text and for encoded bodies.

mod flood;
mod proxy;

pub use flood::{Flood, FloodAnswers, flood, resident_bytes};
pub use proxy::SilentProxy;
pub use rampart_test_support::{RedisServer, series, series_lines};

use example_server::{RunningServer, ServerConfig};
use std::io::Read;
use std::time::Duration;

/// Starts the example server on a free port of 127.0.0.1 with `toml` as its configuration, and
/// its operations listener (`/metrics`, `/health/*`, `/admin/*`) on another unless `toml` puts
/// them on the public one (`ops_listen = "public"`).
///
/// # Panics
///
/// When the configuration is invalid or no port can be bound: the test cannot run.
pub async fn start(toml: &str) -> RunningServer {
    let mut config = ServerConfig::from_toml_str(toml).expect("valid test configuration");
    config.server.listen = ([127, 0, 0, 1], 0).into();
    if config.server.ops_listen.is_some() {
        config.server.ops_listen = Some(([127, 0, 0, 1], 0).into());
    }
    example_server::start(config)
        .await
        .expect("bind a loopback port")
}

/// An HTTP client for loopback tests: no proxy, no automatic decompression, bounded waits.
///
/// # Panics
///
/// When the client cannot be built.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("build client")
}

/// The server's `/metrics` page.
///
/// # Panics
///
/// When the page cannot be fetched: the test cannot go on.
pub async fn metrics_text(server: &RunningServer) -> String {
    client()
        .get(server.ops_url("/metrics"))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .expect("GET /metrics")
        .text()
        .await
        .expect("a text page")
}

/// Decodes a body sent with `Content-Encoding: encoding` (`None` for identity).
///
/// # Panics
///
/// When the body is not valid in that encoding, or the encoding is unknown.
pub fn decode(encoding: Option<&str>, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let result = match encoding {
        None => {
            out.extend_from_slice(body);
            Ok(0)
        }
        Some("gzip") => flate2::read::GzDecoder::new(body).read_to_end(&mut out),
        Some("deflate") => flate2::read::ZlibDecoder::new(body).read_to_end(&mut out),
        Some("br") => brotli::Decompressor::new(body, 4096).read_to_end(&mut out),
        Some("zstd") => zstd::stream::read::Decoder::new(body)
            .and_then(|mut decoder| decoder.read_to_end(&mut out)),
        Some(other) => panic!("unexpected content-encoding {other}"),
    };
    result.expect("a body valid in its encoding");
    out
}
