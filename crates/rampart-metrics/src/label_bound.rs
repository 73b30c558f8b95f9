//! The bound on the request histograms' label sets, in all and per route, and the overflow
//! series' labels (OpenTelemetry's cardinality limit, with the server's own dimensions kept).

use rampart_core::names;
use rampart_core::semconv::ErrorType;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The label sets the whole layer may still register.
#[derive(Debug)]
pub(crate) struct LabelSets {
    left: AtomicUsize,
    per_route: usize,
}

/// The label sets one route label may still register.
#[derive(Debug)]
pub(crate) struct RouteSets {
    left: AtomicUsize,
}

impl LabelSets {
    pub(crate) const fn new((in_all, per_route): (usize, usize)) -> Self {
        Self {
            left: AtomicUsize::new(in_all),
            per_route,
        }
    }

    /// A fresh count for a route label.
    pub(crate) const fn route(&self) -> RouteSets {
        RouteSets {
            left: AtomicUsize::new(self.per_route),
        }
    }

    /// Takes one label set for `route`; `false` when either has none left (the route's is
    /// given back when the layer's is gone).
    pub(crate) fn take(&self, route: &RouteSets) -> bool {
        if !take_one(&route.left) {
            return false;
        }
        if take_one(&self.left) {
            return true;
        }
        route.left.fetch_add(1, Ordering::Relaxed);
        false
    }
}

fn take_one(left: &AtomicUsize) -> bool {
    left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
        left.checked_sub(1)
    })
    .is_ok()
}

/// Which overflow series an answer goes to: its status class, or its status when the server
/// failed (5xx: the server's choice, a closed set), and its error type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct OverflowKey {
    status: u16,
    error: Option<ErrorType>,
}

impl OverflowKey {
    pub(crate) fn of(status: u16, error: Option<ErrorType>) -> Self {
        let status = if (500..600).contains(&status) {
            status
        } else {
            status / 100
        };
        Self { status, error }
    }

    /// The overflow series' labels.
    pub(crate) fn labels(self) -> Vec<(&'static str, String)> {
        let status = if self.status < 10 {
            format!("{}xx", self.status)
        } else {
            self.status.to_string()
        };
        let mut labels = vec![
            (names::STATUS_LABEL, status),
            (names::OVERFLOW_LABEL, "true".to_owned()),
        ];
        if let Some(error) = self.error {
            labels.push((names::ERROR_TYPE_LABEL, error.as_str().to_owned()));
        }
        labels
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_needs_room_in_its_route_and_in_all() {
        let sets = LabelSets::new((3, 2));
        let (a, b) = (sets.route(), sets.route());
        assert!(sets.take(&a) && sets.take(&a));
        assert!(!sets.take(&a), "the route's two are taken");
        assert!(sets.take(&b));
        assert!(!sets.take(&b), "the layer's three are taken");
        assert_eq!(
            b.left.load(Ordering::Relaxed),
            1,
            "the route's share was given back"
        );
    }

    #[test]
    fn overflow_keeps_the_servers_dimensions_only() {
        let labels = |status, error| OverflowKey::of(status, error).labels();
        assert_eq!(OverflowKey::of(404, None), OverflowKey::of(405, None));
        assert_ne!(OverflowKey::of(502, None), OverflowKey::of(503, None));
        assert_eq!(
            labels(429, Some(ErrorType::Problem("rate_limited"))),
            [
                ("http_response_status_code", "4xx".to_owned()),
                ("otel_metric_overflow", "true".to_owned()),
                ("error_type", "rate_limited".to_owned()),
            ]
        );
        assert_eq!(labels(503, None)[0].1, "503");
    }
}
