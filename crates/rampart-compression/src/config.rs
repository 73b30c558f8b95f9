use rampart_core::ConfigError;
use serde::{Deserialize, Serialize};

use crate::{CompressiblePredicate, CompressionLayer, CompressionLevel};

/// `[compression]`: which responses are compressed, and how. Every field has a default.
///
/// # Example
///
/// ```
/// use rampart_compression::{CompressionConfig, CompressionLevel};
///
/// let config: CompressionConfig =
///     serde_json::from_str(r#"{ "min_size": 2048, "deflate": false, "level": "fastest" }"#).unwrap();
/// assert_eq!(config.min_size, 2048);
/// assert_eq!(config.level, CompressionLevel::Fastest);
/// assert!(config.validate().is_ok());
/// let layer = config.layer();
/// assert!(!layer.codings().contains(rampart_core::coding::ContentCoding::Deflate));
///
/// let mut none = CompressionConfig::default();
/// none.min_size = 0;
/// assert_eq!(none.validate().unwrap_err().field(), "min_size");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct CompressionConfig {
    /// Compress at all. Default: true.
    pub enabled: bool,
    /// Smallest body worth compressing, in bytes. Default: 1024.
    pub min_size: u64,
    /// Offer gzip. Default: true.
    pub gzip: bool,
    /// Offer brotli (feature `br`). Default: true.
    pub br: bool,
    /// Offer zstd (feature `zstd`). Default: true.
    pub zstd: bool,
    /// Offer deflate (feature `deflate`). Default: true.
    pub deflate: bool,
    /// `"default"` (server levels per algorithm), `"fastest"`, `"best"`, or a number.
    pub level: CompressionLevel,
}

impl Default for CompressionConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            min_size: CompressiblePredicate::DEFAULT_MIN_SIZE,
            gzip: true,
            br: true,
            zstd: true,
            deflate: true,
            level: CompressionLevel::Default,
        }
    }
}

impl CompressionConfig {
    /// Checks the values that parse but cannot work; fields are named relative to
    /// `[compression]`.
    ///
    /// # Errors
    ///
    /// `min_size` of 0.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.min_size == 0 {
            return Err(ConfigError::new("min_size", "must be at least 1 byte"));
        }
        Ok(())
    }

    /// The layer this configures.
    pub fn layer(&self) -> CompressionLayer {
        let on = |algorithm: bool| self.enabled && algorithm;
        CompressionLayer::new()
            .min_size(self.min_size)
            .gzip(on(self.gzip))
            .br(on(self.br))
            .zstd(on(self.zstd))
            .deflate(on(self.deflate))
            .quality(self.level)
    }
}
