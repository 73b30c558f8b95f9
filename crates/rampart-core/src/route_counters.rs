use metrics::{Counter, Unit};
use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

use crate::MetricsRecorder;
use crate::names::ROUTE_LABEL;

/// One counter per route template, registered the first time its route counts something.
///
/// For events that are rare next to requests (timeouts, panics), where the registration on
/// first use does not matter and registering every route up front would be waste.
///
/// # Example
///
/// ```
/// use rampart_core::{MetricsRecorder, RouteCounters};
///
/// let timeouts = RouteCounters::new(
///     MetricsRecorder::global(),
///     "rampart_timeouts_total",
///     "Requests answered with 504.",
/// );
/// timeouts.increment("/api/slow");
/// ```
#[derive(Debug)]
pub struct RouteCounters {
    recorder: MetricsRecorder,
    name: &'static str,
    help: &'static str,
    by_route: RwLock<HashMap<Box<str>, Counter>>,
}

impl RouteCounters {
    /// Counters named `name`, described with `help`, recorded into `recorder`. Nothing is
    /// registered or described until the first count.
    pub fn new(recorder: MetricsRecorder, name: &'static str, help: &'static str) -> Self {
        Self {
            recorder,
            name,
            help,
            by_route: RwLock::new(HashMap::new()),
        }
    }

    /// Adds one to the counter of the route a request matched, or of [`UNMATCHED_ROUTE`].
    ///
    /// [`UNMATCHED_ROUTE`]: crate::UNMATCHED_ROUTE
    pub fn increment_matched(&self, route: Option<&axum::extract::MatchedPath>) {
        self.increment(route.map_or(crate::UNMATCHED_ROUTE, axum::extract::MatchedPath::as_str));
    }

    /// Adds one to the counter of `route` (a template, or [`UNMATCHED_ROUTE`]).
    ///
    /// [`UNMATCHED_ROUTE`]: crate::UNMATCHED_ROUTE
    pub fn increment(&self, route: &str) {
        if let Some(counter) = self
            .by_route
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(route)
        {
            counter.increment(1);
            return;
        }
        let mut by_route = self
            .by_route
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if by_route.is_empty() {
            self.recorder
                .describe_counter(self.name, Unit::Count, self.help);
        }
        by_route
            .entry(route.into())
            .or_insert_with(|| {
                self.recorder
                    .counter(self.name, &[(ROUTE_LABEL, route.to_owned())])
            })
            .increment(1);
    }
}
