use http::{HeaderMap, Response, header};
use http_body::Body;
use tower_http::compression::Predicate;
use tower_http::compression::predicate::SizeAbove;

/// Content types whose bodies are already compressed, or must not be buffered.
///
/// Each entry is a prefix of the lower-cased media type.
const INCOMPRESSIBLE: &[&str] = &[
    "image/",
    "audio/",
    "video/",
    "font/woff",
    "application/octet-stream",
    "application/zip",
    "application/gzip",
    "application/x-gzip",
    "application/zstd",
    "application/x-bzip2",
    "application/x-xz",
    "application/x-7z-compressed",
    "application/vnd.rar",
    "application/x-rar-compressed",
    "application/grpc",
    "text/event-stream",
];

/// Image types that are text and compress well.
const COMPRESSIBLE_EXCEPTIONS: &[&str] = &["image/svg+xml", "application/grpc-web"];

/// Decides which responses are worth compressing. See the [crate docs](crate) for the rules.
///
/// # Example
///
/// ```
/// use http::Response;
/// use rampart_compression::CompressiblePredicate;
/// use tower_http::compression::Predicate;
///
/// let predicate = CompressiblePredicate::new(1024);
/// let small = Response::new("tiny".to_owned());
/// assert!(!predicate.should_compress(&small));
///
/// let big_json = Response::builder()
///     .header("content-type", "application/json")
///     .body("x".repeat(4096))
///     .unwrap();
/// assert!(predicate.should_compress(&big_json));
///
/// let png = Response::builder()
///     .header("content-type", "image/png")
///     .body("x".repeat(4096))
///     .unwrap();
/// assert!(!predicate.should_compress(&png));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct CompressiblePredicate {
    min_size: SizeAbove,
}

impl CompressiblePredicate {
    /// The default minimum size: 1 KiB.
    pub const DEFAULT_MIN_SIZE: u64 = 1024;

    /// Compresses bodies of at least `min_size` bytes (and bodies of unknown size).
    pub const fn new(min_size: u64) -> Self {
        Self {
            min_size: SizeAbove::new(min_size),
        }
    }
}

impl Default for CompressiblePredicate {
    fn default() -> Self {
        Self::new(Self::DEFAULT_MIN_SIZE)
    }
}

impl Predicate for CompressiblePredicate {
    fn should_compress<B>(&self, response: &Response<B>) -> bool
    where
        B: Body,
    {
        self.min_size.should_compress(response)
            && is_compressible(response.headers())
            && !forbids_transform(response.headers())
    }
}

fn is_compressible(headers: &HeaderMap) -> bool {
    let Some(content_type) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
    else {
        return true;
    };
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    COMPRESSIBLE_EXCEPTIONS
        .iter()
        .any(|exception| media_type.starts_with(exception))
        || !INCOMPRESSIBLE
            .iter()
            .any(|prefix| media_type.starts_with(prefix))
}

/// `Cache-Control: no-transform` (RFC 9111 §5.2.2.6) forbids intermediaries, this layer
/// included, from changing the representation.
fn forbids_transform(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|directive| directive.trim().eq_ignore_ascii_case("no-transform"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(headers: &[(&str, &str)]) -> Response<String> {
        let mut builder = Response::builder();
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body("x".repeat(2048)).unwrap_or_default()
    }

    fn compresses(headers: &[(&str, &str)]) -> bool {
        CompressiblePredicate::default().should_compress(&response(headers))
    }

    #[test]
    fn text_and_json_compress() {
        assert!(compresses(&[("content-type", "application/json")]));
        assert!(compresses(&[("content-type", "text/html; charset=utf-8")]));
        assert!(compresses(&[("content-type", "image/svg+xml")]));
        assert!(compresses(&[]));
    }

    #[test]
    fn already_compressed_types_do_not() {
        for media_type in [
            "image/png",
            "IMAGE/JPEG",
            "video/mp4",
            "audio/ogg",
            "font/woff2",
            "application/zip",
            "application/gzip",
            "application/octet-stream",
            "text/event-stream",
            "application/grpc",
        ] {
            assert!(
                !compresses(&[("content-type", media_type)]),
                "{media_type} was compressed"
            );
        }
    }

    #[test]
    fn no_transform_is_honoured_in_any_position_and_case() {
        assert!(!compresses(&[("cache-control", "no-transform")]));
        assert!(!compresses(&[(
            "cache-control",
            "public, No-Transform, max-age=60"
        )]));
        assert!(compresses(&[("cache-control", "public, max-age=60")]));
    }

    #[test]
    fn small_bodies_do_not_compress() {
        let small = Response::new("x".repeat(1023));
        assert!(!CompressiblePredicate::default().should_compress(&small));
        let exact = Response::new("x".repeat(1024));
        assert!(CompressiblePredicate::default().should_compress(&exact));
    }
}
