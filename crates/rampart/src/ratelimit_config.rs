//! `[ratelimit]` and `[routes."/x"] ratelimit = [...]`: rate-limit policies in TOML.

use http::{HeaderName, StatusCode};
#[cfg(feature = "redis")]
use rampart_ratelimit::RedisBackend;
use rampart_ratelimit::{
    ClientIp, DEFAULT_REDIS_DEADLINE, DEFAULT_REDIS_PREFIX, FailMode, KeySource, OnMissingKey,
    Policy, Quota,
};
use serde::{Deserialize, Serialize};
use std::time::Duration;

use crate::ConfigError;

/// `[ratelimit]`: the policies every route gets unless it lists its own.
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
    /// `[ratelimit.redis]`: keep the quotas in Redis, shared by every instance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis: Option<RedisConfig>,
}

/// `[ratelimit.redis]`.
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

impl RateLimitConfig {
    /// Proxies and the header they report clients in go together: trusted proxies without a
    /// header would key every client behind them on the proxy (one quota for all), and a header
    /// without trusted proxies would never be read.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let client_ip = &self.client_ip;
        match (client_ip.trusted_proxies.is_empty(), client_ip.header) {
            (false, None) => Err(ConfigError::new(
                "ratelimit.client_ip.header",
                "name the header your trusted proxies set (x-forwarded-for, forwarded, \
                 x-real-ip, cf-connecting-ip, true-client-ip or fly-client-ip)",
            )),
            (true, Some(header)) => Err(ConfigError::new(
                "ratelimit.client_ip.header",
                format!(
                    "`{}` is read only from trusted proxies: list them in trusted_proxies",
                    header.name()
                ),
            )),
            _ => {
                #[cfg(not(feature = "redis"))]
                if self.redis.is_some() {
                    return Err(crate::config::without_redis("ratelimit.redis"));
                }
                Ok(())
            }
        }
    }
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

    /// The backend this configures (feature `redis`).
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for `ratelimit.redis.*` when the URL or the deadline cannot work.
    #[cfg(feature = "redis")]
    pub fn backend(&self) -> Result<RedisBackend, ConfigError> {
        if self.deadline.is_zero() {
            return Err(ConfigError::new(
                "ratelimit.redis.deadline",
                "must be greater than zero",
            ));
        }
        let backend = RedisBackend::try_new(&self.url)
            .map_err(|error| error.in_section("ratelimit.redis"))?;
        Ok(backend
            .deadline(self.deadline)
            .fail_mode(self.fail_mode)
            .prefix(&self.prefix))
    }
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

    /// The policy, or the field at fault (`field` is this policy's path).
    pub(crate) fn policy(&self, field: &str, client_ip: &ClientIp) -> Result<Policy, ConfigError> {
        let quota =
            Quota::new(self.limit, self.period).with_burst(self.burst.unwrap_or(self.limit));
        quota
            .validate()
            .map_err(|error| ConfigError::new(field, error.message()))?;
        let source = |key: &KeyConfig| -> Result<KeySource, ConfigError> {
            Ok(match key {
                KeyConfig::Global => KeySource::Global,
                KeyConfig::ClientIp => KeySource::ClientIp(client_ip.clone()),
                KeyConfig::Header(name) => {
                    KeySource::Header(HeaderName::try_from(name.as_str()).map_err(|_| {
                        ConfigError::new(
                            format!("{field}.key"),
                            format!("`{name}` is not a header name"),
                        )
                    })?)
                }
            })
        };
        let mut policy = Policy::new(self.name.as_str(), quota, source(&self.key)?);
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
        let valid_name = !self.name.is_empty()
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
        if !valid_name {
            return Err(ConfigError::new(
                format!("{field}.name"),
                "letters, digits, `_`, `-` and `.` only",
            ));
        }
        Ok(policy)
    }
}

/// Every policy of a list, or the first field at fault.
pub(crate) fn policies(
    configs: &[PolicyConfig],
    field: &str,
    client_ip: &ClientIp,
) -> Result<Vec<Policy>, ConfigError> {
    configs
        .iter()
        .enumerate()
        .map(|(index, config)| config.policy(&format!("{field}[{index}]"), client_ip))
        .collect()
}
