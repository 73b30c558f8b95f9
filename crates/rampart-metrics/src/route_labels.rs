//! Which routes the request metrics leave out, which share one `http_route` label, and how many
//! label sets one route may have.

use std::collections::HashMap;
use std::sync::Arc;

/// How routes appear in the request metrics: some left out (`/metrics` itself, health
/// probes), some sharing one label (twenty admin routes as `/admin`).
///
/// Matched on route templates, as axum's `MatchedPath` gives them, once per route and kind of
/// request (never per request: the result is kept with the route's metric handles). Only the
/// request metrics of [`MetricsLayer`](crate::MetricsLayer) read it; the request span keeps
/// the route's own template, and the other layers' metrics keep theirs.
///
/// A template given twice takes the last setting.
///
/// The request histograms have at most [`RouteLabels::max_label_sets`] label sets in all
/// (default [`DEFAULT_MAX_LABEL_SETS`]) and [`RouteLabels::max_label_sets_per_route`] per route
/// label (default [`DEFAULT_MAX_LABEL_SETS_PER_ROUTE`]): method × status × protocol × error
/// type. Every value is from a closed set, but their product is not small: an anonymous client
/// combining methods, HTTP versions and the statuses it can provoke multiplied the example
/// server's page by 112. Past either bound an answer is recorded in the overflow series,
/// `otel_metric_overflow="true"`, as OpenTelemetry SDKs' cardinality limit does: one per
/// status class (`2xx`, `4xx`; exact for a 5xx, which the server chose) and error type, with
/// no route, method or version (the client's choices). Failures still count in an SLO that
/// matches `http_response_status_code=~"5.."` or reads `error_type`. One WARN says when the
/// overflow is first used.
///
/// # Example
///
/// ```
/// use rampart_metrics::RouteLabels;
///
/// let labels = RouteLabels::new()
///     .ignore("/metrics")
///     .group("/admin", ["/admin/users", "/admin/users/{id}"]);
/// assert!(labels.is_ignored("/metrics"));
/// assert_eq!(labels.label("/admin/users/{id}"), Some("/admin"));
/// assert_eq!(labels.label("/api/items/{id}"), Some("/api/items/{id}"));
/// assert_eq!(labels.label("/metrics"), None);
/// assert_eq!(labels.bounds(), (128, 16));
/// assert_eq!(labels.max_label_sets(200).max_label_sets_per_route(20).bounds(), (200, 20));
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct RouteLabels {
    /// Template to its label; `None` for a template left out.
    by_template: HashMap<Box<str>, Option<Arc<str>>>,
    max_label_sets: usize,
    max_label_sets_per_route: usize,
}

/// Label sets the request histograms may have in all, by default: some forty routes each with
/// a few answers. Each set is three histograms, about 8.6 KB of `/metrics` with the default
/// buckets, so the page's request histograms stay under about 1.1 MB. A service with more
/// routes raises it (the WARN says when the overflow is first used); one with fewer lowers it.
pub const DEFAULT_MAX_LABEL_SETS: usize = 128;

/// Label sets one route label may have, by default: a busy route's answers (`GET` and `HEAD`,
/// HTTP/1.1 and 2, a handful of statuses), so one route cannot take every set.
pub const DEFAULT_MAX_LABEL_SETS_PER_ROUTE: usize = 16;

impl Default for RouteLabels {
    fn default() -> Self {
        Self {
            by_template: HashMap::new(),
            max_label_sets: DEFAULT_MAX_LABEL_SETS,
            max_label_sets_per_route: DEFAULT_MAX_LABEL_SETS_PER_ROUTE,
        }
    }
}

impl RouteLabels {
    /// Every route under its own template.
    pub fn new() -> Self {
        Self::default()
    }

    /// At most `max` label sets in all (at least 1); further answers go to the overflow
    /// series.
    pub fn max_label_sets(mut self, max: usize) -> Self {
        self.max_label_sets = max.max(1);
        self
    }

    /// At most `max` label sets per route label (at least 1).
    pub fn max_label_sets_per_route(mut self, max: usize) -> Self {
        self.max_label_sets_per_route = max.max(1);
        self
    }

    /// The bounds: label sets in all, and per route label.
    pub const fn bounds(&self) -> (usize, usize) {
        (self.max_label_sets, self.max_label_sets_per_route)
    }

    /// Leaves `template` out of the request metrics: no duration, size or in-flight series.
    pub fn ignore(mut self, template: impl Into<String>) -> Self {
        self.by_template
            .insert(template.into().into_boxed_str(), None);
        self
    }

    /// Records every route of `templates` under the one label `label`.
    pub fn group<T: Into<String>>(
        mut self,
        label: impl Into<String>,
        templates: impl IntoIterator<Item = T>,
    ) -> Self {
        let label: Arc<str> = label.into().into();
        for template in templates {
            self.by_template
                .insert(template.into().into_boxed_str(), Some(Arc::clone(&label)));
        }
        self
    }

    /// Whether `template` is left out.
    pub fn is_ignored(&self, template: &str) -> bool {
        matches!(self.by_template.get(template), Some(None))
    }

    /// The label the route `template` is recorded under; `None` when it is left out.
    pub fn label<'a>(&'a self, template: &'a str) -> Option<&'a str> {
        match self.by_template.get(template) {
            Some(label) => label.as_deref(),
            None => Some(template),
        }
    }
}
