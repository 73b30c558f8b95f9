//! The rate limiter's serde configuration, as the `rampart` facade reads it from `[ratelimit]`
//! and a route's `ratelimit = [...]`.

use http::{HeaderName, StatusCode};
use rampart_core::ConfigError;
use serde::{Deserialize, Serialize};
use std::time::Duration;

use crate::{
    ClientIp, DEFAULT_REDIS_DEADLINE, DEFAULT_REDIS_PREFIX, FailMode, KeySource, OnMissingKey,
    Policy, Quota,
};

/// The policies every route gets unless it lists its own, and how keys and quotas are kept.
/// Errors name fields relative to this section.
///
/// ```toml
/// [ratelimit]
/// headers = true
/// limit_preflights = false
/// client_ip = { trusted_proxies = ["10.0.0.0/8"], header = "x-forwarded-for", ipv6_prefix = 64 }
///
/// [[ratelimit.policies]]
/// name = "per_ip"
/// limit = 100
/// period = "1s"
/// burst = 100
/// key = "client_ip"
/// ```
///
/// # Example
///
/// ```
/// use rampart_ratelimit::RateLimitConfig;
///
/// let config: RateLimitConfig = serde_json::from_str(
///     r#"{ "policies": [{ "name": "per_ip", "limit": 100, "period": "1s", "key": "client_ip" }] }"#,
/// )
/// .unwrap();
/// assert!(config.headers);
/// assert_eq!(config.try_policies().unwrap()[0].name(), "per_ip");
///
/// let config: RateLimitConfig = serde_json::from_str(
///     r#"{ "policies": [{ "name": "per ip", "limit": 100, "period": "1s", "key": "global" }] }"#,
/// )
/// .unwrap();
/// assert_eq!(config.validate().unwrap_err().field(), "policies[0].name");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct RateLimitConfig {
    /// Send `RateLimit-Policy` and `RateLimit` on responses of limited routes. Default: true.
    pub headers: bool,
    /// Count CORS preflights against the route's quota. Default: false (they pass free).
    pub limit_preflights: bool,
    /// How client addresses are found behind proxies (for `key = "client_ip"`).
    pub client_ip: ClientIp,
    /// Policies for every route that does not list its own; empty: no limit.
    pub policies: Vec<PolicyConfig>,
    /// `redis`: keep the quotas in Redis, shared by every instance (feature `redis`; a build
    /// without it refuses the section by name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis: Option<RedisConfig>,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            headers: true,
            limit_preflights: false,
            client_ip: ClientIp::default(),
            policies: Vec::new(),
            redis: None,
        }
    }
}

impl RateLimitConfig {
    /// Checks the values that parse but cannot work, without connecting anywhere.
    ///
    /// Proxies and the header they report clients in go together: trusted proxies without a
    /// header would key every client behind them on the proxy (one quota for all), and a header
    /// without trusted proxies would never be read.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first invalid field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.try_policies().map(drop)
    }

    /// The default policies, after every other check of [`RateLimitConfig::validate`];
    /// `policies[i]` is the field at fault in a policy.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first invalid field.
    pub fn try_policies(&self) -> Result<Vec<Policy>, ConfigError> {
        let client_ip = &self.client_ip;
        match (client_ip.trusted_proxies.is_empty(), client_ip.header) {
            (false, None) => {
                return Err(ConfigError::new(
                    "client_ip.header",
                    "name the header your trusted proxies set (x-forwarded-for, forwarded, \
                     x-real-ip, cf-connecting-ip, true-client-ip or fly-client-ip)",
                ));
            }
            (true, Some(header)) => {
                return Err(ConfigError::new(
                    "client_ip.header",
                    format!(
                        "`{}` is read only from trusted proxies: list them in trusted_proxies",
                        header.name()
                    ),
                ));
            }
            _ => {}
        }
        if let Some(redis) = &self.redis {
            redis
                .validate()
                .map_err(|error| error.in_section("redis"))?;
        }
        self.try_policies_of(&self.policies)
            .map_err(|error| error.in_section("policies"))
    }

    /// Policies listed elsewhere (a route's own), keyed with this section's `client_ip`; the
    /// field at fault is `[i].name` …, which [`ConfigError::in_section`] puts under the list's
    /// own field (`routes."/x".ratelimit[0].name`).
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for the first policy that cannot work.
    pub fn try_policies_of(&self, configs: &[PolicyConfig]) -> Result<Vec<Policy>, ConfigError> {
        configs
            .iter()
            .enumerate()
            .map(|(index, config)| {
                config
                    .try_policy(&self.client_ip)
                    .map_err(|error| error.in_section(&format!("[{index}]")))
            })
            .collect()
    }
}

/// Quotas in Redis (feature `redis` to use them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RedisConfig {
    /// `redis://host:port/db`.
    pub url: String,
    /// How long a decision may wait for Redis. Default: 50 ms.
    #[serde(default = "default_deadline", with = "humantime_serde")]
    pub deadline: Duration,
    /// `"open"` (decide locally, the default) or `"closed"` (503) when Redis fails.
    #[serde(default)]
    pub fail_mode: FailMode,
    /// Key namespace. Default: `rampart:rl`.
    #[serde(default = "default_prefix")]
    pub prefix: String,
}

const fn default_deadline() -> Duration {
    DEFAULT_REDIS_DEADLINE
}

fn default_prefix() -> String {
    DEFAULT_REDIS_PREFIX.to_owned()
}

impl RedisConfig {
    /// Redis at `url`, with the default deadline, fail mode and prefix.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            deadline: default_deadline(),
            fail_mode: FailMode::default(),
            prefix: default_prefix(),
        }
    }

    #[cfg(not(feature = "redis"))]
    #[allow(clippy::unused_self)]
    fn validate(&self) -> Result<(), ConfigError> {
        Err(ConfigError::missing_feature("redis"))
    }

    #[cfg(feature = "redis")]
    fn validate(&self) -> Result<(), ConfigError> {
        rampart_core::redis_link::RedisLink::check_url(&self.url)?;
        if self.deadline.is_zero() {
            return Err(ConfigError::new("deadline", "must be greater than zero"));
        }
        Ok(())
    }

    /// The backend this configures (feature `redis`); it connects on first use.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for `url` or `deadline` when they cannot work.
    #[cfg(feature = "redis")]
    pub fn try_backend(&self) -> Result<crate::RedisBackend, ConfigError> {
        self.validate()?;
        Ok(crate::RedisBackend::try_new(&self.url)?
            .deadline(self.deadline)
            .fail_mode(self.fail_mode)
            .prefix(&self.prefix))
    }
}

/// One policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PolicyConfig {
    /// The name in headers and metrics: letters, digits, `_`, `-`, `.`.
    pub name: String,
    /// Requests per period.
    pub limit: u32,
    /// The period (`"1s"`, `"1m"`).
    #[serde(with = "humantime_serde")]
    pub period: Duration,
    /// The largest burst; default `limit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
    /// Whose quota: `"global"`, `"client_ip"`, or `{ header = "x-api-key" }`.
    pub key: KeyConfig,
    /// Without a key: `"reject"` (400), `"unauthorized"` (401), `"global"` or `"client_ip"`.
    /// Default: `"reject"`, or `"global"` for client addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_missing_key: Option<MissingKeyConfig>,
}

/// Where a policy's keys come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum KeyConfig {
    /// One quota for everybody.
    Global,
    /// The client address.
    ClientIp,
    /// A request header's value.
    Header(String),
}

/// What to do when a request has no key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MissingKeyConfig {
    /// 400 problem+json.
    Reject,
    /// 401 problem+json.
    Unauthorized,
    /// Count it under the global quota.
    Global,
    /// Count it under the client address.
    ClientIp,
}

impl PolicyConfig {
    /// `limit` requests per `period` for each key `key` names, under the name `name` (burst
    /// `limit`, missing keys as [`PolicyConfig::on_missing_key`] says by default).
    pub fn new(name: impl Into<String>, limit: u32, period: Duration, key: KeyConfig) -> Self {
        Self {
            name: name.into(),
            limit,
            period,
            burst: None,
            key,
            on_missing_key: None,
        }
    }

    /// The policy, client addresses found as `client_ip` says.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for `limit`, `period` or `burst` when the quota admits nothing, for
    /// `name` when it cannot go in a header, for `key` when it names no header.
    pub fn try_policy(&self, client_ip: &ClientIp) -> Result<Policy, ConfigError> {
        let quota =
            Quota::new(self.limit, self.period).with_burst(self.burst.unwrap_or(self.limit));
        quota.validate()?;
        let valid_name = !self.name.is_empty()
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
        if !valid_name {
            return Err(ConfigError::new(
                "name",
                "letters, digits, `_`, `-` and `.` only",
            ));
        }
        let mut policy = Policy::new(self.name.as_str(), quota, self.key.source(client_ip)?);
        if let Some(missing) = self.on_missing_key {
            policy = policy.on_missing_key(match missing {
                MissingKeyConfig::Reject => OnMissingKey::Reject(StatusCode::BAD_REQUEST),
                MissingKeyConfig::Unauthorized => OnMissingKey::Reject(StatusCode::UNAUTHORIZED),
                MissingKeyConfig::Global => OnMissingKey::Fallback(Box::new(KeySource::Global)),
                MissingKeyConfig::ClientIp => {
                    OnMissingKey::Fallback(Box::new(KeySource::ClientIp(client_ip.clone())))
                }
            });
        }
        Ok(policy)
    }
}

impl KeyConfig {
    fn source(&self, client_ip: &ClientIp) -> Result<KeySource, ConfigError> {
        Ok(match self {
            Self::Global => KeySource::Global,
            Self::ClientIp => KeySource::ClientIp(client_ip.clone()),
            Self::Header(name) => {
                KeySource::Header(HeaderName::try_from(name.as_str()).map_err(|_| {
                    ConfigError::new("key", format!("`{name}` is not a header name"))
                })?)
            }
        })
    }
}
