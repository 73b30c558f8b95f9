//! The metrics' serde configuration, as the `rampart` facade reads it from `[metrics]`.

use rampart_core::{ConfigError, names};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};

use crate::prometheus::check_buckets;
use crate::{Prometheus, RouteLabels};

/// The registry's histogram buckets, and which routes the request metrics leave out or
/// group ([`RouteLabels`]). Errors name fields relative to this section.
///
/// ```toml
/// [metrics]
/// duration_buckets = [0.005, 0.01, 0.05, 0.1, 0.2, 0.5, 1.0, 5.0]
/// ignore_routes = ["/metrics", "/health/live"]
///
/// [metrics.grouped_routes]
/// "/admin" = ["/admin/users", "/admin/users/{id}"]
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
///
/// let config: MetricsConfig = serde_json::from_str(
///     r#"{ "ignore_routes": ["/metrics"], "grouped_routes": { "/admin": ["/admin/a", "/admin/b"] } }"#,
/// )
/// .unwrap();
/// let labels = config.route_labels();
/// assert!(labels.is_ignored("/metrics"));
/// assert_eq!(labels.label("/admin/b"), Some("/admin"));
///
/// let config: MetricsConfig = serde_json::from_str(
///     r#"{ "ignore_routes": ["/admin/a"], "grouped_routes": { "/admin": ["/admin/a"] } }"#,
/// )
/// .unwrap();
/// assert_eq!(config.validate().unwrap_err().field(), "grouped_routes./admin");
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
    /// Route templates left out of the request metrics ([`RouteLabels::ignore`]).
    pub ignore_routes: Vec<String>,
    /// Labels, each with the route templates recorded under it ([`RouteLabels::group`]).
    pub grouped_routes: BTreeMap<String, Vec<String>>,
    /// Label sets the request histograms may have in all before further answers go to the
    /// overflow series ([`RouteLabels::max_label_sets`]). Default
    /// [`DEFAULT_MAX_LABEL_SETS`](crate::DEFAULT_MAX_LABEL_SETS).
    pub max_label_sets: usize,
    /// Label sets one route may have ([`RouteLabels::max_label_sets_per_route`]). Default
    /// [`DEFAULT_MAX_LABEL_SETS_PER_ROUTE`](crate::DEFAULT_MAX_LABEL_SETS_PER_ROUTE).
    pub max_label_sets_per_route: usize,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            duration_buckets: names::DURATION_BUCKETS.to_vec(),
            size_buckets: names::SIZE_BUCKETS.to_vec(),
            ignore_routes: Vec::new(),
            grouped_routes: BTreeMap::new(),
            max_label_sets: crate::DEFAULT_MAX_LABEL_SETS,
            max_label_sets_per_route: crate::DEFAULT_MAX_LABEL_SETS_PER_ROUTE,
        }
    }
}

impl MetricsConfig {
    /// Checks the bucket lists, and that no route template is both left out and grouped, or
    /// in two groups.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for `duration_buckets`, `size_buckets`, or the group that names a
    /// template a second time.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_buckets("duration_buckets", &self.duration_buckets)?;
        check_buckets("size_buckets", &self.size_buckets)?;
        for (field, bound) in [
            ("max_label_sets", self.max_label_sets),
            ("max_label_sets_per_route", self.max_label_sets_per_route),
        ] {
            if bound == 0 {
                return Err(ConfigError::new(field, "at least one label set is needed"));
            }
        }
        let mut seen: HashSet<&str> = self.ignore_routes.iter().map(String::as_str).collect();
        for (label, templates) in &self.grouped_routes {
            let field = format!("grouped_routes.{label}");
            if label.is_empty() {
                return Err(ConfigError::new(field, "a group needs a label"));
            }
            if let Some(twice) = templates.iter().find(|t| !seen.insert(t.as_str())) {
                return Err(ConfigError::new(
                    field,
                    format!(
                        "`{twice}` is already ignored or in another group: a route is recorded \
                         under one label"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The routes to leave out and to group, as the request metrics read them.
    pub fn route_labels(&self) -> RouteLabels {
        let labels = self
            .ignore_routes
            .iter()
            .fold(RouteLabels::new(), |labels, template| {
                labels.ignore(template)
            });
        self.grouped_routes
            .iter()
            .fold(labels, |labels, (label, templates)| {
                labels.group(label, templates)
            })
            .max_label_sets(self.max_label_sets)
            .max_label_sets_per_route(self.max_label_sets_per_route)
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
