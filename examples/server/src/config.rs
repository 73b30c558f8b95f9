//! The example server's configuration file: a `[server]` section and the rampart `[stack]`.

use rampart::breaker::{BreakerConfig, Window};
use rampart::concurrency::{LimitConfig, RouteConcurrencyConfig};
use rampart::config::{ConfigError, RouteConfig, RouteGroupConfig, StackConfig, from_toml_str};
use rampart::{CacheRedisConfig, KeyConfig, PolicyConfig, RedisConfig, RouteCacheConfig};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use crate::database::DatabaseSection;

/// Everything the example server reads from `--config FILE`.
///
/// Without a file (or without a `[stack]` table in it), the stack gets the example's defaults:
/// the default `StackConfig`, plus 100 requests per second (burst 100) per client address on
/// every route but `/metrics`, `/health/*` and `/admin/*`, the response cache (32 MiB) on
/// `/api/items/{id}` and `/api/report`, and a circuit breaker on
/// `/api/upstream` (count window 20, minimum 10 calls, 50 % failures or 80 % calls slower than
/// 2 s, open 5 s, 3 probes), and an adaptive concurrency limit (group `database`, within
/// `[3, 1000]`) on `/api/work`. A `[stack]` table replaces all of that;
/// `examples/server/rampart.toml` spells it out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// `[server]`: how the process runs.
    pub server: ServerSection,
    /// `[database]`: the simulated pool behind `/api/work`.
    pub database: DatabaseSection,
    /// `[stack]`: the rampart stack in front of every route.
    pub stack: StackConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        let mut stack = StackConfig::default();
        let mut per_ip =
            PolicyConfig::new("per_ip", 100, Duration::from_secs(1), KeyConfig::ClientIp);
        per_ip.burst = Some(100);
        stack.ratelimit.policies.push(per_ip);
        // Operations endpoints stay reachable whatever a client did. The admin routes share one
        // quota per client, which bounds token guessing across all of them, and are not under
        // the API's 1 s deadline: a purge waits up to 2 s for the shared tier before a 202.
        // The request histograms' label sets, sized for this server's fifteen routes: what its
        // clients make, twice over, and no more whatever an anonymous client combines.
        stack.metrics.max_label_sets = 32;
        stack.metrics.max_label_sets_per_route = 8;
        let mut operations = RouteGroupConfig::default();
        operations.routes = strings(&["/metrics", "/health/live", "/health/ready"]);
        operations.settings.ratelimit = Some(Vec::new());
        stack
            .route_groups
            .insert("operations".to_owned(), operations);
        let mut admin = RouteGroupConfig::default();
        admin.routes = strings(&[
            "/admin/chaos",
            "/admin/breakers",
            "/admin/cache",
            "/admin/cache/purge",
        ]);
        admin.settings.ratelimit = Some(vec![admin_attempts()]);
        admin.settings.timeout = Some(ADMIN_DEADLINE);
        stack.route_groups.insert("admin".to_owned(), admin);
        let mut route = |template: &str, set: &dyn Fn(&mut RouteConfig)| {
            set(stack.routes.entry(template.to_owned()).or_default());
        };
        // The two routes whose responses say they may be cached.
        for cached in ["/api/items/{id}", "/api/report"] {
            route(cached, &|config| {
                config.cache = Some(RouteCacheConfig::default())
            });
        }
        // Uploads stream larger bodies than the 2 MiB every other route accepts.
        route("/api/upload", &|config| {
            config.body_limit = Some(UPLOAD_LIMIT)
        });
        route("/api/upstream", &|config| {
            config.breaker = Some(upstream_breaker())
        });
        // Every route that queries the database shares one limit: the pool is the resource.
        route("/api/work", &|config| {
            let mut concurrency = RouteConcurrencyConfig::default();
            concurrency.group = Some("database".to_owned());
            config.concurrency = Some(concurrency);
        });
        stack.cache.max_bytes = 32 * 1024 * 1024;
        stack
            .concurrency
            .groups
            .insert("database".to_owned(), LimitConfig::default());
        Self {
            server: ServerSection::default(),
            database: DatabaseSection::default(),
            stack,
        }
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|&item| item.to_owned()).collect()
}

/// The shortest admin token the server starts with.
pub const MIN_ADMIN_TOKEN_CHARS: usize = 16;

/// The deadline of the admin routes by default.
pub const ADMIN_DEADLINE: Duration = Duration::from_secs(10);

/// The body limit of `/api/upload` by default: 10 MiB.
pub const UPLOAD_LIMIT: u64 = 10 * 1024 * 1024;

/// The admin routes' quota per client address: every attempt counts, right token or wrong, so
/// guessing gets one try a second after a burst of 20 (unlimited before: 28 000 a second), and a
/// correct guess is no faster to find than a wrong one. One state for all admin routes (the
/// `admin` route group), not the API's.
pub fn admin_attempts() -> PolicyConfig {
    let mut policy = PolicyConfig::new(
        "admin_per_ip",
        60,
        Duration::from_secs(60),
        KeyConfig::ClientIp,
    );
    policy.burst = Some(20);
    policy
}

/// The breaker the example puts on `/api/upstream` by default.
pub fn upstream_breaker() -> BreakerConfig {
    BreakerConfig::default()
        .window(Window::Count(20))
        .minimum_calls(10)
        .failure_rate_threshold(50.0)
        .slow_call(Duration::from_secs(2), 80.0)
        .wait_duration(Duration::from_secs(5))
        .permitted_calls_in_half_open(3)
}

/// `[server]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    /// Address to listen on. Default `127.0.0.1:3000`; `--listen` overrides it.
    pub listen: SocketAddr,
    /// Address for `/metrics`, `/health/*` and `/admin/*`, which are then not on `listen`:
    /// `127.0.0.1:9000` by default, in production an address the public cannot reach.
    /// `"public"` (`None`) serves them on `listen`, where any client can scrape `/metrics` and
    /// guess the admin token. `--ops-listen` overrides it.
    #[serde(with = "ops_address")]
    pub ops_listen: Option<SocketAddr>,
    /// Bearer token for `/admin/*`. `RAMPART_ADMIN_TOKEN` overrides it. Without a token the
    /// admin routes answer 404.
    pub admin_token: Option<String>,
    /// `text` or `json` log lines. `RAMPART_LOG_FORMAT` overrides it.
    pub log_format: LogFormat,
    /// How long a graceful shutdown waits for in-flight requests before closing anyway.
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
    /// How long a request head may take, from the connection or from its first byte (default
    /// 10 s).
    #[serde(with = "humantime_serde")]
    pub header_read_timeout: Duration,
    /// How long a keep-alive connection may sit between requests (default 75 s, above a load
    /// balancer's 60 s).
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// Connections open at once; at the cap, a connection of the address holding the most
    /// makes room. Default: the open-files limit minus `rampart::server::RESERVED_FILES`.
    pub max_connections: Option<usize>,
    /// Connections one client address may hold. Default: half of `max_connections`. The rate
    /// limiter's trusted proxies (`[ratelimit.client_ip] trusted_proxies`) have no share.
    pub max_connections_per_address: Option<usize>,
    /// The slowest a request body may come, in bytes per second, once the handler has waited
    /// `min_request_body_grace` for it (default 240, Kestrel's; 0: no minimum).
    pub min_request_body_rate: u64,
    /// How long a handler may wait for a request body before the rate applies (default 5 s).
    #[serde(with = "humantime_serde")]
    pub min_request_body_grace: Duration,
}

impl Default for ServerSection {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            ops_listen: Some(SocketAddr::from(([127, 0, 0, 1], 9000))),
            admin_token: None,
            log_format: LogFormat::Text,
            shutdown_grace: Duration::from_secs(30),
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(75),
            max_connections: None,
            max_connections_per_address: None,
            min_request_body_rate: 240,
            min_request_body_grace: Duration::from_secs(5),
        }
    }
}

/// `ops_listen`: an address, or `"public"` for the operations routes on the public listener.
mod ops_address {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serializer};
    use std::net::SocketAddr;

    /// What `ops_listen` says to keep the operations routes on the public listener.
    pub(crate) const PUBLIC: &str = "public";

    pub(crate) fn serialize<S: Serializer>(
        address: &Option<SocketAddr>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match address {
            Some(address) => serializer.collect_str(address),
            None => serializer.serialize_str(PUBLIC),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<SocketAddr>, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::parse_ops_address(&text).map_err(D::Error::custom)
    }
}

/// `ops_listen` (or `--ops-listen`) as written: an address, or `"public"`.
///
/// # Errors
///
/// A message naming what was written, when it is neither.
pub fn parse_ops_address(text: &str) -> Result<Option<SocketAddr>, String> {
    if text == ops_address::PUBLIC {
        return Ok(None);
    }
    text.parse()
        .map(Some)
        .map_err(|_| format!("`{text}` is neither an address like 127.0.0.1:9000 nor \"public\""))
}

/// The format of log lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl ServerConfig {
    /// Parses and validates a TOML document.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the field at fault.
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        let config: Self = from_toml_str(text)?;
        config.validate()?;
        Ok(config)
    }

    /// Reads, parses and validates a TOML file.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] when the file cannot be read or is invalid.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
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
        self.stack
            .validate()
            .map_err(|error| error.in_section("stack"))?;
        match self.server.admin_token.as_deref() {
            Some("") => Err(ConfigError::new(
                "server.admin_token",
                "must not be empty; leave it out to disable the admin routes",
            )),
            // Guessable tokens (`secret`, `admin`) open the admin routes to anyone who tries.
            Some(token) if token.chars().count() < MIN_ADMIN_TOKEN_CHARS => Err(ConfigError::new(
                "server.admin_token",
                format!(
                    "must be at least {MIN_ADMIN_TOKEN_CHARS} characters (set here or in \
                     RAMPART_ADMIN_TOKEN); a random one: `openssl rand -hex 16`"
                ),
            )),
            _ => Ok(()),
        }
    }

    /// Shares the rate-limit quotas and the response cache through Redis at `url`
    /// (`--redis-url`, `RAMPART_REDIS_URL`), keeping any other `[stack.ratelimit.redis]` and
    /// `[stack.cache.redis]` settings.
    #[must_use]
    pub fn with_redis_url(mut self, url: String) -> Self {
        let url_for_cache = url.clone();
        match &mut self.stack.ratelimit.redis {
            Some(redis) => redis.url = url,
            None => self.stack.ratelimit.redis = Some(RedisConfig::new(url)),
        }
        match &mut self.stack.cache.redis {
            Some(cache) => cache.url = url_for_cache,
            None => self.stack.cache.redis = Some(CacheRedisConfig::new(url_for_cache)),
        }
        self
    }

    /// Applies `RAMPART_ADMIN_TOKEN`, `RAMPART_LOG_FORMAT` and `RAMPART_REDIS_URL` from the
    /// environment.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] when a variable holds an invalid value.
    pub fn with_env(mut self) -> Result<Self, ConfigError> {
        if let Ok(token) = std::env::var("RAMPART_ADMIN_TOKEN") {
            self.server.admin_token = Some(token);
        }
        if let Ok(url) = std::env::var("RAMPART_REDIS_URL") {
            self = self.with_redis_url(url);
        }
        if let Ok(format) = std::env::var("RAMPART_LOG_FORMAT") {
            self.server.log_format = match format.as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                other => {
                    return Err(ConfigError::new(
                        "RAMPART_LOG_FORMAT",
                        format!("unknown format `{other}`, expected `text` or `json`"),
                    ));
                }
            };
        }
        self.validate()?;
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_config_file_spells_out_the_defaults() {
        let shipped = include_str!("../rampart.toml");
        let parsed = ServerConfig::from_toml_str(shipped).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(parsed, ServerConfig::default());
    }

    #[test]
    fn breaker_errors_name_their_field() {
        let error = ServerConfig::from_toml_str(
            "[stack.routes.\"/api/upstream\".breaker]\nminimum_calls = 0\n",
        )
        .unwrap_err();
        assert_eq!(
            error.field(),
            "stack.routes.\"/api/upstream\".breaker.minimum_calls"
        );
    }

    #[test]
    fn a_guessable_admin_token_is_refused_at_start_up() {
        for weak in ["secret", "admin", "fifteen-chars-x"] {
            let error =
                ServerConfig::from_toml_str(&format!("[server]\nadmin_token = \"{weak}\"\n"))
                    .unwrap_err();
            assert_eq!(error.field(), "server.admin_token", "{weak}");
            assert!(error.to_string().contains("at least 16"), "{error}");
        }
        let strong = "[server]\nadmin_token = \"0123456789abcdef\"\n";
        assert!(ServerConfig::from_toml_str(strong).is_ok());
    }
}
