//! The metrics' serde configuration, as the `rampart` facade reads it from `[metrics]`.

use rampart_core::{ConfigError, names};
use serde::{Deserialize, Serialize};

use crate::Prometheus;
use crate::prometheus::check_buckets;

/// The registry's histogram buckets. Errors name fields relative to this section.
///
/// ```toml
/// [metrics]
/// duration_buckets = [0.005, 0.01, 0.05, 0.1, 0.2, 0.5, 1.0, 5.0]
/// ```
///
/// # Example
///
/// ```
/// use rampart_metrics::MetricsConfig;
///
/// let config: MetricsConfig = serde_json::from_str(r#"{ "duration_buckets": [0.1, 0.3, 1] }"#).unwrap();
/// assert!(config.try_prometheus().is_ok());
///
/// let config: MetricsConfig = serde_json::from_str(r#"{ "size_buckets": [] }"#).unwrap();
/// assert_eq!(config.validate().unwrap_err().field(), "size_buckets");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct MetricsConfig {
    /// Bucket bounds, in seconds, of the request duration and every other non-size histogram.
    /// Default: [`names::DURATION_BUCKETS`] (OpenTelemetry's, with 1 ms, 2.5 ms and 200 ms).
    pub duration_buckets: Vec<f64>,
    /// Bucket bounds, in bytes, of the body size histograms. Default: [`names::SIZE_BUCKETS`].
    pub size_buckets: Vec<f64>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            duration_buckets: names::DURATION_BUCKETS.to_vec(),
            size_buckets: names::SIZE_BUCKETS.to_vec(),
        }
    }
}

impl MetricsConfig {
    /// Checks the bucket lists.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for `duration_buckets` or `size_buckets`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_buckets("duration_buckets", &self.duration_buckets)?;
        check_buckets("size_buckets", &self.size_buckets)
    }

    /// A registry with these buckets.
    ///
    /// # Errors
    ///
    /// As [`MetricsConfig::validate`].
    pub fn try_prometheus(&self) -> Result<Prometheus, ConfigError> {
        Prometheus::builder()
            .duration_buckets(self.duration_buckets.clone())
            .size_buckets(self.size_buckets.clone())
            .try_build()
    }
}
