//! Which routes the request metrics leave out, and which share one `http_route` label.

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
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct RouteLabels {
    /// Template to its label; `None` for a template left out.
    by_template: HashMap<Box<str>, Option<Arc<str>>>,
}

impl RouteLabels {
    /// Every route under its own template.
    pub fn new() -> Self {
        Self::default()
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
