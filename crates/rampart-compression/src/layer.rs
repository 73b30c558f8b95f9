use rampart_core::coding::{ContentCoding, ContentCodings};
use tower_layer::Layer;

use crate::mark::MarkEncoded;
use crate::{CompressiblePredicate, Compression, CompressionLevel};

type Inner = tower_http::compression::CompressionLayer<CompressiblePredicate>;

/// Compresses responses. See the [crate docs](crate) for what and how.
///
/// # Example
///
/// ```
/// use axum::{Router, routing::get};
/// use rampart_compression::{CompressionLayer, CompressionLevel};
///
/// let app: Router = Router::new()
///     .route("/", get(|| async { "hello" }))
///     .layer(
///         CompressionLayer::new()
///             .min_size(4096)
///             .deflate(false)
///             .quality(CompressionLevel::Default),
///     );
/// ```
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct CompressionLayer {
    gzip: bool,
    br: bool,
    zstd: bool,
    deflate: bool,
    quality: CompressionLevel,
    predicate: CompressiblePredicate,
}

impl CompressionLayer {
    /// gzip, br, zstd and deflate at server levels, for bodies of at least 1 KiB; br, zstd and
    /// deflate only when their Cargo features are on (as they are by default).
    pub fn new() -> Self {
        Self {
            gzip: true,
            br: true,
            zstd: true,
            deflate: true,
            quality: CompressionLevel::Default,
            predicate: CompressiblePredicate::default(),
        }
    }

    /// Compresses only bodies of at least `bytes` (bodies of unknown size always qualify).
    pub const fn min_size(mut self, bytes: u64) -> Self {
        self.predicate = CompressiblePredicate::new(bytes);
        self
    }

    /// Offers gzip or not.
    pub const fn gzip(mut self, enable: bool) -> Self {
        self.gzip = enable;
        self
    }

    /// Offers brotli or not (feature `br`; without it, never).
    pub const fn br(mut self, enable: bool) -> Self {
        self.br = enable;
        self
    }

    /// Offers zstd or not (feature `zstd`; without it, never).
    pub const fn zstd(mut self, enable: bool) -> Self {
        self.zstd = enable;
        self
    }

    /// Offers deflate or not (feature `deflate`; without it, never).
    pub const fn deflate(mut self, enable: bool) -> Self {
        self.deflate = enable;
        self
    }

    /// Sets the level of every algorithm. Keep [`CompressionLevel::Default`] unless you have
    /// measured otherwise: it already maps to server levels per algorithm.
    pub const fn quality(mut self, quality: CompressionLevel) -> Self {
        self.quality = quality;
        self
    }

    /// The codings this layer offers, for a cache above it that keys variants on the coding
    /// used ([`rampart_core::coding`]).
    pub const fn codings(&self) -> ContentCodings {
        ContentCodings::NONE
            .with(ContentCoding::Br, self.br && cfg!(feature = "br"))
            .with(ContentCoding::Zstd, self.zstd && cfg!(feature = "zstd"))
            .with(ContentCoding::Gzip, self.gzip)
            .with(
                ContentCoding::Deflate,
                self.deflate && cfg!(feature = "deflate"),
            )
    }

    fn tower_http(&self) -> Inner {
        // tower-http offers every coding compiled into it (another crate may have turned on one
        // of ours is built without), so each one not offered here is turned off by name.
        let offered = self.codings();
        let mut layer =
            tower_http::compression::CompressionLayer::new().quality(self.quality.tower_http());
        if !offered.contains(ContentCoding::Gzip) {
            layer = layer.no_gzip();
        }
        if !offered.contains(ContentCoding::Br) {
            layer = layer.no_br();
        }
        if !offered.contains(ContentCoding::Zstd) {
            layer = layer.no_zstd();
        }
        if !offered.contains(ContentCoding::Deflate) {
            layer = layer.no_deflate();
        }
        layer.compress_when(self.predicate)
    }
}

impl Default for CompressionLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> Layer<S> for CompressionLayer {
    type Service = Compression<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Compression {
            inner: self.tower_http().layer(MarkEncoded { inner }),
            predicate: self.predicate,
        }
    }
}
