//! The cache's serde configuration: the store ([`CacheConfig`]) and one route's rule
//! ([`RouteCacheConfig`]), as the `rampart` facade reads them from `[cache]` and
//! `[routes."/x".cache]`.

use http::HeaderName;
use rampart_core::ConfigError;
use serde::{Deserialize, Serialize};
use std::time::Duration;

use crate::{
    CacheLayer, CacheLayerBuilder, CacheRule, DEFAULT_COALESCE_WAIT, DEFAULT_MAX_BYTES,
    DEFAULT_MAX_ENTRY_BYTES, DEFAULT_REDIS_DEADLINE, DEFAULT_REDIS_MAX_BYTES,
    DEFAULT_REDIS_MAX_ENTRIES, DEFAULT_REDIS_MAX_ENTRY_BYTES, DEFAULT_REDIS_PREFIX,
    DEFAULT_TAG_HEADER,
};

/// The store every cached route shares; routes are cached only when given a rule
/// ([`RouteCacheConfig`]). Errors name fields relative to this section.
///
/// # Example
///
/// ```
/// use rampart_cache::CacheConfig;
///
/// let config: CacheConfig = serde_json::from_str(r#"{ "max_bytes": 33554432 }"#).unwrap();
/// assert_eq!(config.max_bytes, 32 * 1024 * 1024);
/// assert_eq!(config.tag_header, "cache-tag");
/// let _builder = config.try_builder().unwrap();
///
/// let config: CacheConfig = serde_json::from_str(r#"{ "tag_header": "a tag" }"#).unwrap();
/// assert_eq!(config.validate().unwrap_err().field(), "tag_header");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct CacheConfig {
    /// Bytes the local tier may hold. Default: 64 MiB.
    pub max_bytes: u64,
    /// Larger responses stream through, never stored. Default: 1 MiB.
    pub max_entry_bytes: u64,
    /// How long concurrent misses wait for the first one. Default: 5 s.
    #[serde(with = "humantime_serde")]
    pub coalesce_wait: Duration,
    /// The response header with tags for purges. Default: `cache-tag`.
    pub tag_header: String,
    /// `redis`: a shared tier behind the local one (feature `redis`; a build without it
    /// refuses the section by name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis: Option<CacheRedisConfig>,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            max_bytes: DEFAULT_MAX_BYTES,
            max_entry_bytes: DEFAULT_MAX_ENTRY_BYTES as u64,
            coalesce_wait: DEFAULT_COALESCE_WAIT,
            tag_header: String::from(DEFAULT_TAG_HEADER),
            redis: None,
        }
    }
}

impl CacheConfig {
    /// Checks the values that parse but cannot work, without connecting anywhere.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first invalid field (`max_bytes`, `redis.url` …).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_bytes == 0 {
            return Err(ConfigError::new("max_bytes", "must be at least 1 byte"));
        }
        self.tag_header()?;
        if let Some(redis) = &self.redis {
            redis
                .validate()
                .map_err(|error| error.in_section("redis"))?;
        }
        Ok(())
    }

    /// A [`CacheLayer`] builder with these store settings; routes are added to it. Needs a
    /// tokio runtime when there is a Redis tier.
    ///
    /// # Errors
    ///
    /// As [`CacheConfig::validate`].
    pub fn try_builder(&self) -> Result<CacheLayerBuilder, ConfigError> {
        self.validate()?;
        let builder = CacheLayer::builder()
            .max_bytes(self.max_bytes)
            .max_entry_bytes(usize::try_from(self.max_entry_bytes).unwrap_or(usize::MAX))
            .coalesce_wait(self.coalesce_wait)
            .tag_header(self.tag_header()?);
        #[cfg(feature = "redis")]
        if let Some(redis) = &self.redis {
            return Ok(
                builder.shared_tier(redis.tier().map_err(|error| error.in_section("redis"))?)
            );
        }
        Ok(builder)
    }

    fn tag_header(&self) -> Result<HeaderName, ConfigError> {
        HeaderName::from_bytes(self.tag_header.as_bytes())
            .map_err(|_| ConfigError::new("tag_header", "not a valid header name"))
    }
}

/// The shared tier in Redis (feature `redis` to use it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CacheRedisConfig {
    /// `redis://host:port/db`.
    pub url: String,
    /// Key and channel prefix; instances share entries only under one prefix.
    #[serde(default = "default_prefix")]
    pub prefix: String,
    /// Deadline of each Redis read or write. Default: 50 ms.
    #[serde(default = "default_deadline", with = "humantime_serde")]
    pub deadline: Duration,
    /// Larger serialized entries stay local. Default: 1 MiB.
    #[serde(default = "default_redis_entry")]
    pub max_entry_bytes: u64,
    /// What the tier may hold in Redis, weighed as Redis spends it (keys, values, the tier's
    /// own books). Keep it under the server's `maxmemory`. Default: 256 MiB.
    #[serde(default = "default_redis_bytes")]
    pub max_bytes: u64,
    /// How many entries the tier may hold in Redis. Default: 1 000 000.
    #[serde(default = "default_redis_entries")]
    pub max_entries: u64,
}

impl CacheRedisConfig {
    /// The shared tier at `url`, every other setting at its default.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            prefix: default_prefix(),
            deadline: default_deadline(),
            max_entry_bytes: default_redis_entry(),
            max_bytes: default_redis_bytes(),
            max_entries: default_redis_entries(),
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
        if self.max_bytes < self.max_entry_bytes {
            return Err(ConfigError::new(
                "max_bytes",
                "must be at least max_entry_bytes, or no such entry could be shared",
            ));
        }
        if self.max_entries == 0 {
            return Err(ConfigError::new("max_entries", "must be at least 1"));
        }
        Ok(())
    }

    #[cfg(feature = "redis")]
    fn tier(&self) -> Result<crate::RedisTier, ConfigError> {
        Ok(crate::RedisTier::try_new(&self.url)?
            .prefix(&self.prefix)
            .deadline(self.deadline)
            .max_entry_bytes(usize::try_from(self.max_entry_bytes).unwrap_or(usize::MAX))
            .max_bytes(self.max_bytes)
            .max_entries(self.max_entries))
    }
}

fn default_prefix() -> String {
    String::from(DEFAULT_REDIS_PREFIX)
}

const fn default_deadline() -> Duration {
    DEFAULT_REDIS_DEADLINE
}

const fn default_redis_entry() -> u64 {
    DEFAULT_REDIS_MAX_ENTRY_BYTES as u64
}

const fn default_redis_bytes() -> u64 {
    DEFAULT_REDIS_MAX_BYTES
}

const fn default_redis_entries() -> u64 {
    DEFAULT_REDIS_MAX_ENTRIES
}

/// One route's rule: how its responses are keyed and how long those without caching headers
/// stay fresh.
///
/// # Example
///
/// ```
/// use rampart_cache::RouteCacheConfig;
///
/// let config: RouteCacheConfig =
///     serde_json::from_str(r#"{ "default_ttl": "30s", "key_headers": ["x-tenant"] }"#).unwrap();
/// assert!(config.sort_query);
/// let _rule = config.try_rule().unwrap();
///
/// let config: RouteCacheConfig = serde_json::from_str(r#"{ "key_headers": ["a b"] }"#).unwrap();
/// assert_eq!(config.try_rule().unwrap_err().field(), "key_headers[0]");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct RouteCacheConfig {
    /// Freshness for responses that carry no caching headers (`"30s"`). Default: none, such
    /// responses are not stored.
    #[serde(with = "humantime_serde", skip_serializing_if = "Option::is_none")]
    pub default_ttl: Option<Duration>,
    /// Request headers that are part of the key.
    pub key_headers: Vec<String>,
    /// Query parameters left out of the key.
    pub ignore_query_params: Vec<String>,
    /// Sort query parameters in the key. Default: true.
    pub sort_query: bool,
}

impl Default for RouteCacheConfig {
    fn default() -> Self {
        Self {
            default_ttl: None,
            key_headers: Vec::new(),
            ignore_query_params: Vec::new(),
            sort_query: true,
        }
    }
}

impl RouteCacheConfig {
    /// The rule this describes.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for `key_headers[i]` when it is not a header name.
    pub fn try_rule(&self) -> Result<CacheRule, ConfigError> {
        let mut rule = CacheRule::new().sort_query(self.sort_query);
        if let Some(ttl) = self.default_ttl {
            rule = rule.default_ttl(ttl);
        }
        for (index, name) in self.key_headers.iter().enumerate() {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                ConfigError::new(format!("key_headers[{index}]"), "not a valid header name")
            })?;
            rule = rule.key_header(name);
        }
        for name in &self.ignore_query_params {
            rule = rule.ignore_query_param(name.as_str());
        }
        Ok(rule)
    }
}
