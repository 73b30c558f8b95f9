//! The serde configuration: `[concurrency]` for the defaults and the groups, and one
//! `[routes."/x".concurrency]` per limited route.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

use rampart_core::ConfigError;

use crate::{GradientLimit, Limit, RouteLimit};

/// `[concurrency]`: what every limit gets unless its group or route says otherwise, and the
/// groups of routes that share one limit. Routes are limited only when they say so.
///
/// # Example
///
/// ```
/// use rampart_concurrency::{ConcurrencyConfig, LimitConfig, RouteConcurrencyConfig};
/// use std::time::Duration;
///
/// let mut config = ConcurrencyConfig::default();
/// assert_eq!((config.min, config.max, config.fixed), (3, 1000, None));
/// assert_eq!(config.retry_after, Duration::from_secs(1));
/// let mut database = LimitConfig::default();
/// database.max = Some(64);
/// config.groups.insert("database".into(), database);
/// assert!(config.validate().is_ok());
/// let groups = config.group_limits();
///
/// // The config structs are `#[non_exhaustive]`: start from `default()` and set fields.
/// let mut work = RouteConcurrencyConfig::default();
/// work.group = Some("database".into());
/// assert!(work.validate(&config).is_ok());
/// let limit = work.route_limit("/api/work", &config, &groups);
/// assert_eq!(limit.limit().name(), "database");
///
/// let mut own = RouteConcurrencyConfig::default();
/// own.fixed = Some(16);
/// assert_eq!(own.route_limit("/api/search", &config, &groups).limit().name(), "/api/search");
///
/// let mut typo = RouteConcurrencyConfig::default();
/// typo.group = Some("databse".into());
/// assert_eq!(typo.validate(&config).unwrap_err().field(), "group");
/// config.max = 2;
/// assert_eq!(config.validate().unwrap_err().field(), "max");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct ConcurrencyConfig {
    /// What `Retry-After` tells a refused client. Default: 1 s.
    #[serde(with = "humantime_serde")]
    pub retry_after: Duration,
    /// A fixed limit for every limit without one of its own; left out, limits are adaptive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed: Option<usize>,
    /// The lowest an adaptive limit goes, and how many calls run while it measures the
    /// unloaded latency. Default: 3.
    pub min: usize,
    /// The highest an adaptive limit goes. Default: 1000.
    pub max: usize,
    /// `[concurrency.groups.name]`: limits shared by the routes that name them.
    pub groups: BTreeMap<String, LimitConfig>,
}

impl Default for ConcurrencyConfig {
    fn default() -> Self {
        Self {
            retry_after: Duration::from_secs(1),
            fixed: None,
            min: 3,
            max: 1000,
            groups: BTreeMap::new(),
        }
    }
}

/// The settings of one limit that differ from `[concurrency]`'s.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct LimitConfig {
    /// A fixed limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed: Option<usize>,
    /// The lowest the adaptive limit goes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<usize>,
    /// The highest the adaptive limit goes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<usize>,
}

/// `[routes."/x".concurrency]`: the route is limited, by its group's limit or by its own.
///
/// Its own settings are [`LimitConfig`]'s three, spelled out: serde cannot flatten a struct
/// into one that refuses unknown fields, and a typo here must be an error.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct RouteConcurrencyConfig {
    /// The group whose limit the route shares (one of `[concurrency.groups]`); left out, the
    /// route has a limit of its own, named after its template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Never refused, but counted (health checks, `/metrics`, admin). Default: false.
    pub critical: bool,
    /// The route's own fixed limit (not with `group`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed: Option<usize>,
    /// The lowest the route's own adaptive limit goes (not with `group`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<usize>,
    /// The highest the route's own adaptive limit goes (not with `group`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<usize>,
}

impl ConcurrencyConfig {
    /// Checks the defaults and every group.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the field (`max`, `groups.database.min`).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.retry_after.is_zero() {
            return Err(ConfigError::new("retry_after", "must be more than zero"));
        }
        self.check("", &LimitConfig::default())?;
        for (name, group) in &self.groups {
            self.check(&format!("groups.{name}."), group)?;
        }
        Ok(())
    }

    /// One [`Limit`] per group, named after it, for the routes that share it.
    #[must_use]
    pub fn group_limits(&self) -> BTreeMap<String, Limit> {
        self.groups
            .iter()
            .map(|(name, group)| (name.clone(), self.limit(name, group)))
            .collect()
    }

    fn check(&self, prefix: &str, own: &LimitConfig) -> Result<(), ConfigError> {
        let field = |name: &str| format!("{prefix}{name}");
        if own.fixed.or(self.fixed) == Some(0) {
            return Err(ConfigError::new(
                field("fixed"),
                "a limit of 0 refuses every call; at least 1",
            ));
        }
        let min = own.min.unwrap_or(self.min);
        if min == 0 {
            return Err(ConfigError::new(field("min"), "at least 1"));
        }
        if own.max.unwrap_or(self.max) < min {
            return Err(ConfigError::new(field("max"), format!("below min ({min})")));
        }
        Ok(())
    }

    fn limit(&self, name: &str, own: &LimitConfig) -> Limit {
        match own.fixed.or(self.fixed) {
            Some(fixed) => Limit::fixed(name, fixed),
            None => Limit::adaptive(
                name,
                GradientLimit::new()
                    .min(own.min.unwrap_or(self.min))
                    .max(own.max.unwrap_or(self.max)),
            ),
        }
    }
}

impl RouteConcurrencyConfig {
    /// Checks the route's settings against `[concurrency]`.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the field: a group that `[concurrency.groups]`
    /// does not declare (a typo would otherwise make a limit of its own), settings of its own
    /// beside a group, or settings that cannot work.
    pub fn validate(&self, defaults: &ConcurrencyConfig) -> Result<(), ConfigError> {
        let own = self.own();
        match &self.group {
            Some(group) if !defaults.groups.contains_key(group) => Err(ConfigError::new(
                "group",
                format!("no group `{group}` in [concurrency.groups]"),
            )),
            Some(_) if own != LimitConfig::default() => Err(ConfigError::new(
                "group",
                "a group's limit is set in [concurrency.groups], not on its routes",
            )),
            Some(_) => Ok(()),
            None => defaults.check("", &own),
        }
    }

    /// How the route is limited: by its group's limit (from
    /// [`ConcurrencyConfig::group_limits`]) or by one of its own named `template`. A group
    /// missing from `groups` (unchecked configuration) gets a limit of its own too.
    pub fn route_limit(
        &self,
        template: &str,
        defaults: &ConcurrencyConfig,
        groups: &BTreeMap<String, Limit>,
    ) -> RouteLimit {
        let limit = match self.group.as_ref().and_then(|group| groups.get(group)) {
            Some(shared) => shared.clone(),
            None => defaults.limit(template, &self.own()),
        };
        RouteLimit::new(limit).critical(self.critical)
    }

    const fn own(&self) -> LimitConfig {
        LimitConfig {
            fixed: self.fixed,
            min: self.min,
            max: self.max,
        }
    }
}
