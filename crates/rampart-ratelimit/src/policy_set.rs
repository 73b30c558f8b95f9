use rampart_core::ConfigError;
use std::fmt;
use std::sync::Arc;

use crate::Policy;
use crate::layer::RouteLimit;

/// Policies with their state, ready to be given to routes. Clones share the state: routes given
/// clones of one set count against one quota together (an admin API's routes, so that guessing
/// a token is bounded across all of them, not per route).
///
/// # Example
///
/// ```
/// use rampart_core::RouteTable;
/// use rampart_ratelimit::{KeySource, PolicySet, Policy, Quota, RateLimitLayer};
///
/// let admin = PolicySet::try_new(vec![Policy::new(
///     "admin",
///     Quota::per_minute(60),
///     KeySource::Global,
/// )])
/// .unwrap();
/// assert_eq!(admin.policies().len(), 1);
/// let layer = RateLimitLayer::from_sets(
///     RouteTable::new(None)
///         .with_route("/admin/cache", Some(admin.clone()))
///         .with_route("/admin/chaos", Some(admin)),
/// );
/// ```
#[derive(Clone)]
pub struct PolicySet {
    pub(crate) limit: Arc<RouteLimit>,
}

impl PolicySet {
    /// The policies, checked in order, with fresh state.
    ///
    /// # Errors
    ///
    /// When there is no policy, a quota admits nothing or a policy name cannot go in a header.
    pub fn try_new(policies: Vec<Policy>) -> Result<Self, ConfigError> {
        Ok(Self {
            limit: Arc::new(RouteLimit::new(policies)?),
        })
    }

    /// The policies, in the order they are checked.
    pub fn policies(&self) -> &[Policy] {
        &self.limit.policies
    }
}

impl fmt::Debug for PolicySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicySet")
            .field("policies", &self.limit.policies)
            .finish_non_exhaustive()
    }
}
