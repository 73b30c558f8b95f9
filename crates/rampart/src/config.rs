//! The serde configuration of a [`Stack`](crate::Stack), loadable from TOML.

#[cfg(feature = "breaker")]
use rampart_breaker::BreakerConfig;
#[cfg(feature = "cache")]
use rampart_cache::{CacheConfig, RouteCacheConfig};
use rampart_compression::CompressionConfig;
use rampart_concurrency::{ConcurrencyConfig, Limit, RouteConcurrencyConfig};
use rampart_metrics::MetricsConfig;
#[cfg(feature = "ratelimit")]
use rampart_ratelimit::{Policy, PolicyConfig, RateLimitConfig};
#[cfg(feature = "toml")]
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
#[cfg(feature = "toml")]
use std::path::Path;
use std::time::Duration;

pub use rampart_core::ConfigError;

use crate::RoutePolicy;

/// The whole configuration of a [`Stack`](crate::Stack). Every field has a default, unknown
/// fields are errors, and [`StackConfig::validate`] rejects values that cannot work.
///
/// # Example
///
/// ```
/// use rampart::StackConfig;
/// use std::time::Duration;
///
/// let config = StackConfig::from_toml_str(
///     r#"
///     [timeout]
///     default = "750ms"
///
///     [compression]
///     min_size = 2048
///     deflate = false
///
///     [routes."/api/slow"]
///     timeout = "5s"
///     "#,
/// )
/// .unwrap();
/// assert_eq!(config.timeout.default, Duration::from_millis(750));
/// assert_eq!(config.routes["/api/slow"].timeout, Some(Duration::from_secs(5)));
///
/// let error = StackConfig::from_toml_str("[timeout]\ndefault = \"0s\"").unwrap_err();
/// assert_eq!(error.field(), "timeout.default");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct StackConfig {
    /// Request deadlines.
    pub timeout: TimeoutConfig,
    /// Request body limits.
    pub body_limit: BodyLimitConfig,
    /// Response compression.
    pub compression: CompressionConfig,
    /// Rate limits (feature `ratelimit`).
    #[cfg(feature = "ratelimit")]
    pub ratelimit: RateLimitConfig,
    /// The response cache's store (routes opt in with `[routes."/x".cache]`; feature `cache`).
    #[cfg(feature = "cache")]
    pub cache: CacheConfig,
    /// Concurrency limits: defaults, groups and `Retry-After` (routes opt in with
    /// `[routes."/x".concurrency]`).
    pub concurrency: ConcurrencyConfig,
    /// The metrics registry's histogram buckets, and the routes the request metrics leave
    /// out or group.
    pub metrics: MetricsConfig,
    /// Per-route overrides, keyed by route template (`/api/items/{id}`).
    pub routes: BTreeMap<String, RouteConfig>,
    /// Sets of routes that get the same settings, by group name; their rate-limit quota is
    /// one for the whole group.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub route_groups: BTreeMap<String, RouteGroupConfig>,
}

/// `[body_limit]`: how long a request body may be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct BodyLimitConfig {
    /// The limit of a route without one of its own, in bytes. Default: 2 MiB, as axum's
    /// `DefaultBodyLimit`.
    pub default: u64,
}

impl Default for BodyLimitConfig {
    fn default() -> Self {
        Self {
            default: rampart_limit::DEFAULT_LIMIT,
        }
    }
}

/// `[timeout]`: request deadlines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct TimeoutConfig {
    /// The deadline of a request whose route has none of its own (`"1s"`, `"250ms"`).
    /// Default: 1 s.
    #[serde(with = "humantime_serde")]
    pub default: Duration,
    /// How long a request may wait for the client to send more of its body before it is
    /// answered `408` (the deadline does not run meanwhile). Default: 30 s.
    #[serde(with = "humantime_serde")]
    pub request_body: Duration,
}

impl Default for TimeoutConfig {
    fn default() -> Self {
        Self {
            default: Duration::from_secs(1),
            request_body: rampart_timeout::DEFAULT_BODY_TIMEOUT,
        }
    }
}

/// `[routes."/template"]`: what one route gets that differs from the defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct RouteConfig {
    /// The route's own request deadline.
    #[serde(with = "humantime_serde", skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// The route's own request body limit, in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_limit: Option<u64>,
    /// `[routes."/template".breaker]`: a circuit breaker for the route; fields left out take
    /// [`BreakerConfig`]'s defaults (feature `breaker`).
    #[cfg(feature = "breaker")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breaker: Option<BreakerConfig>,
    /// The route's own rate-limit policies, with state of their own; `[]` for none at all.
    /// Left out: the `[ratelimit]` policies (feature `ratelimit`).
    #[cfg(feature = "ratelimit")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratelimit: Option<Vec<PolicyConfig>>,
    /// `[routes."/template".cache]`: caches the route's responses (feature `cache`).
    #[cfg(feature = "cache")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache: Option<RouteCacheConfig>,
    /// `[routes."/template".concurrency]`: a concurrency limit for the route, of its own or
    /// its group's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<RouteConcurrencyConfig>,
}

impl RouteConfig {
    /// The policy of the routes this section is for; `section` is where it is in the file
    /// (for errors), `name` names a concurrency limit of its own, and `groups` are the shared
    /// limits of `[concurrency.groups]`, made once for all routes.
    pub(crate) fn policy(
        &self,
        section: &str,
        name: &str,
        stack: &StackConfig,
        groups: &BTreeMap<String, Limit>,
    ) -> Result<RoutePolicy, ConfigError> {
        let field = |field: &str| format!("{section}.{field}");
        let mut policy = RoutePolicy::new();
        #[cfg(feature = "ratelimit")]
        if let Some(limits) = &self.ratelimit {
            let policies = stack
                .ratelimit
                .try_policies_of(limits)
                .map_err(|error| error.in_section(&field("ratelimit")))?;
            policy = policy.rate_limit(policies);
        }
        if let Some(deadline) = self.timeout {
            positive(&field("timeout"), deadline)?;
            policy = policy.timeout(deadline);
        }
        if let Some(bytes) = self.body_limit {
            policy = policy.body_limit(bytes);
        }
        #[cfg(feature = "breaker")]
        if let Some(breaker) = &self.breaker {
            breaker
                .validate()
                .map_err(|error| error.in_section(&field("breaker")))?;
            policy = policy.breaker(breaker.clone());
        }
        #[cfg(feature = "cache")]
        if let Some(cache) = &self.cache {
            let rule = cache
                .try_rule()
                .map_err(|error| error.in_section(&field("cache")))?;
            policy = policy.cache(rule);
        }
        if let Some(concurrency) = &self.concurrency {
            concurrency
                .validate(&stack.concurrency)
                .map_err(|error| error.in_section(&field("concurrency")))?;
            policy = policy.concurrency(concurrency.route_limit(name, &stack.concurrency, groups));
        }
        Ok(policy)
    }
}

/// `[route_groups.<name>]`: routes that get the same settings, written once.
///
/// Each route in `routes` gets `settings` as if they were written under its own
/// `[routes."/template"]`, except that the group's routes count against one rate-limit quota
/// together (the group's `ratelimit` policies have one state for the group: an admin API's
/// routes bound token guessing across all of them), and a concurrency limit of the group's own
/// is one limit for them all, named after the group. A route is in at most one group, and a
/// route in a group has no `[routes."/template"]` of its own.
///
/// # Example
///
/// ```
/// use rampart::StackConfig;
///
/// let config = StackConfig::from_toml_str(
///     r#"
///     [[ratelimit.policies]]
///     name = "per_ip"
///     limit = 100
///     period = "1s"
///     key = "client_ip"
///
///     [route_groups.operations]
///     routes = ["/metrics", "/health/live", "/health/ready"]
///     settings = { ratelimit = [] }
///     "#,
/// )
/// .unwrap();
/// let operations = &config.route_groups["operations"];
/// assert_eq!(operations.routes.len(), 3);
/// assert_eq!(operations.settings.ratelimit, Some(vec![]));
///
/// let error = StackConfig::from_toml_str(
///     "[route_groups.a]\nroutes = [\"/x\"]\n[route_groups.b]\nroutes = [\"/x\"]\n",
/// )
/// .unwrap_err();
/// assert_eq!(error.field(), "route_groups.b.routes[0]");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct RouteGroupConfig {
    /// The route templates in the group.
    pub routes: Vec<String>,
    /// What each of them gets.
    pub settings: RouteConfig,
}

impl RouteGroupConfig {
    /// The one policy every route of the group gets, its rate limit shared by them all.
    pub(crate) fn policy(
        &self,
        name: &str,
        stack: &StackConfig,
        groups: &BTreeMap<String, Limit>,
    ) -> Result<RoutePolicy, ConfigError> {
        let section = format!("route_groups.{}.settings", toml_key(name));
        let policy = self.settings.policy(&section, name, stack, groups)?;
        #[cfg(feature = "ratelimit")]
        let policy = policy
            .shared_by_its_routes()
            .map_err(|error| error.in_section(&format!("{section}.ratelimit")))?;
        Ok(policy)
    }
}

impl StackConfig {
    /// Parses and validates a TOML document (feature `toml`).
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the field that is unknown, of the wrong type, or invalid.
    #[cfg(feature = "toml")]
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        let config: Self = from_toml_str(text)?;
        config.validate()?;
        Ok(config)
    }

    /// Reads, parses and validates a TOML file (feature `toml`).
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] when the file cannot be read or its content is invalid.
    #[cfg(feature = "toml")]
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|error| {
            ConfigError::new("", format!("cannot read {}: {error}", path.display()))
        })?;
        Self::from_toml_str(&text)
    }

    /// Checks the values that parse but cannot work.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first invalid field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.checked().map(drop)
    }

    /// The configuration checked, with what checking it computed: the stack is built from
    /// this, so nothing is computed twice.
    pub(crate) fn checked(&self) -> Result<Checked, ConfigError> {
        positive("timeout.default", self.timeout.default)?;
        positive("timeout.request_body", self.timeout.request_body)?;
        #[cfg(feature = "ratelimit")]
        let rate_limit = self
            .ratelimit
            .try_policies()
            .map_err(|error| error.in_section("ratelimit"))?;
        #[cfg(feature = "cache")]
        self.cache
            .validate()
            .map_err(|error| error.in_section("cache"))?;
        self.concurrency
            .validate()
            .map_err(|error| error.in_section("concurrency"))?;
        let groups = self.concurrency.group_limits();
        self.compression
            .validate()
            .map_err(|error| error.in_section("compression"))?;
        self.metrics
            .validate()
            .map_err(|error| error.in_section("metrics"))?;
        let mut routes = Vec::new();
        for (template, route) in &self.routes {
            let section = route_field(template, "");
            check_template(&section, template)?;
            routes.push((
                template.clone(),
                route.policy(&section, template, self, &groups)?,
            ));
        }
        let mut grouped: BTreeMap<&str, &str> = BTreeMap::new();
        for (name, group) in &self.route_groups {
            let field = |field: &str| format!("route_groups.{}.{field}", toml_key(name));
            if group.routes.is_empty() {
                return Err(ConfigError::new(
                    field("routes"),
                    "a route group lists at least one route",
                ));
            }
            for (index, template) in group.routes.iter().enumerate() {
                let at = field(&format!("routes[{index}]"));
                check_template(&at, template)?;
                if self.routes.contains_key(template) {
                    return Err(ConfigError::new(
                        at,
                        format!(
                            "`{template}` also has a `[routes.{}]` section: a route in a group \
                             takes the group's settings only",
                            toml_key(template)
                        ),
                    ));
                }
                if let Some(other) = grouped.insert(template, name) {
                    return Err(ConfigError::new(
                        at,
                        format!("`{template}` is in route group `{other}` already"),
                    ));
                }
            }
            let policy = group.policy(name, self, &groups)?;
            routes.extend(
                group
                    .routes
                    .iter()
                    .map(|template| (template.clone(), policy.clone())),
            );
        }
        Ok(Checked {
            #[cfg(feature = "ratelimit")]
            rate_limit,
            routes,
        })
    }
}

/// What checking a [`StackConfig`] computed, for building its stack.
pub(crate) struct Checked {
    /// The `[ratelimit]` policies.
    #[cfg(feature = "ratelimit")]
    pub(crate) rate_limit: Vec<Policy>,
    /// Every configured route's policy, by template; a group's routes share theirs.
    pub(crate) routes: Vec<(String, RoutePolicy)>,
}

/// A route key that cannot name an axum route: `field` is where it is.
fn check_template(field: &str, template: &str) -> Result<(), ConfigError> {
    if !template.starts_with('/') {
        return Err(ConfigError::new(field, "a route template starts with `/`"));
    }
    if let Some(axum_08) = axum_07_template(template) {
        return Err(ConfigError::new(
            field,
            format!(
                "axum 0.8 writes path parameters as `{{id}}` and wildcards as `{{*rest}}`, so \
                 this template matches no route; write `{axum_08}`"
            ),
        ));
    }
    Ok(())
}

/// The axum 0.8 spelling of a template written in axum 0.7's syntax (`/users/:id`,
/// `/files/*path`), which axum 0.8 takes literally: such a key would never match a request.
fn axum_07_template(template: &str) -> Option<String> {
    let mut old = false;
    let rewritten: Vec<String> = template
        .split('/')
        .map(|segment| {
            if let Some(name) = segment.strip_prefix(':').filter(|name| !name.is_empty()) {
                old = true;
                format!("{{{name}}}")
            } else if let Some(name) = segment.strip_prefix('*').filter(|name| !name.is_empty()) {
                old = true;
                format!("{{*{name}}}")
            } else {
                segment.to_owned()
            }
        })
        .collect();
    old.then(|| rewritten.join("/"))
}

/// Parses any configuration type from TOML, with errors that name the field at fault.
///
/// This only parses: a type with rules of its own checks them afterwards, as
/// [`StackConfig::from_toml_str`] does. Applications embedding a [`StackConfig`] in a larger
/// file use this for the file, then validate the stack's section with
/// [`ConfigError::in_section`] for the field names.
///
/// # Errors
///
/// A [`ConfigError`] for malformed TOML, unknown fields and values of the wrong type.
///
/// # Example
///
/// ```
/// use rampart::config::{StackConfig, from_toml_str};
///
/// #[derive(serde::Deserialize)]
/// #[serde(deny_unknown_fields)]
/// struct AppConfig {
///     name: String,
///     stack: StackConfig,
/// }
///
/// let config: AppConfig = from_toml_str("name = \"shop\"\n[stack.timeout]\ndefault = \"2s\"").unwrap();
/// config.stack.validate().map_err(|error| error.in_section("stack")).unwrap();
///
/// let error = from_toml_str::<AppConfig>("name = 7").err().unwrap();
/// assert_eq!(error.field(), "name");
/// ```
#[cfg(feature = "toml")]
pub fn from_toml_str<T: DeserializeOwned>(text: &str) -> Result<T, ConfigError> {
    let deserializer = toml::de::Deserializer::parse(text)
        .map_err(|error| ConfigError::new("", error.message()))?;
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let field = toml_path(error.path());
        let message = error.inner().message();
        match left_out(message) {
            Some(feature) => ConfigError::missing_feature(feature).in_section(&field),
            None => ConfigError::new(field, explained(message)),
        }
    })
}

/// The Cargo feature that would have made `message`'s unknown field known: a section of a layer
/// this build leaves out is refused by name, not called a typo.
#[cfg(feature = "toml")]
fn left_out(message: &str) -> Option<&'static str> {
    const LAYERS: [(&str, bool); 3] = [
        ("ratelimit", cfg!(feature = "ratelimit")),
        ("cache", cfg!(feature = "cache")),
        ("breaker", cfg!(feature = "breaker")),
    ];
    let key = message.strip_prefix("unknown field `")?.split('`').next()?;
    LAYERS
        .into_iter()
        .find(|&(feature, built)| feature == key && !built)
        .map(|(feature, _)| feature)
}

/// serde's message, saying what a duration looks like where humantime-serde only says "a
/// duration".
#[cfg(feature = "toml")]
fn explained(message: &str) -> String {
    if message.ends_with("expected a duration") {
        format!("{message} such as \"250ms\", \"1.5s\" or \"2m\"")
    } else {
        message.to_owned()
    }
}

/// A field's path as TOML writes it: `routes."/v1/users/{id}".breaker.window`, keys quoted only
/// when TOML needs it, array items as `[0]`. Every configuration error names its field this way.
#[cfg(feature = "toml")]
fn toml_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut text = String::new();
    for segment in path {
        match segment {
            Segment::Seq { index } => text.push_str(&format!("[{index}]")),
            Segment::Map { key } => {
                if !text.is_empty() {
                    text.push('.');
                }
                text.push_str(&toml_key(key));
            }
            Segment::Enum { variant } => {
                if !text.is_empty() {
                    text.push('.');
                }
                text.push_str(&toml_key(variant));
            }
            Segment::Unknown => {}
        }
    }
    text
}

/// `key` as TOML writes it in a dotted path: bare when it can be, else quoted.
fn toml_key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-');
    if bare {
        key.to_owned()
    } else {
        format!("\"{}\"", key.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// The path of a field of a route's policy: `routes."/api/items/{id}".cache`.
pub(crate) fn route_field(template: &str, field: &str) -> String {
    let key = toml_key(template);
    if field.is_empty() {
        format!("routes.{key}")
    } else {
        format!("routes.{key}.{field}")
    }
}

fn positive(field: &str, duration: Duration) -> Result<(), ConfigError> {
    if duration.is_zero() {
        Err(ConfigError::new(field, "must be greater than zero"))
    } else {
        Ok(())
    }
}
