use http::HeaderName;
use std::sync::Arc;
use std::time::Duration;

/// How one route is cached: its key and its default freshness.
///
/// # Example
///
/// ```
/// use http::HeaderName;
/// use rampart_cache::CacheRule;
/// use std::time::Duration;
///
/// let rule = CacheRule::new()
///     .default_ttl(Duration::from_secs(30))
///     .key_header(HeaderName::from_static("x-tenant"))
///     .ignore_query_param("utm_source");
/// assert_eq!(rule.default_ttl_value(), Some(Duration::from_secs(30)));
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct CacheRule {
    pub(crate) default_ttl: Option<Duration>,
    pub(crate) key_headers: Arc<[HeaderName]>,
    pub(crate) ignored_query_params: Arc<[Box<str>]>,
    pub(crate) sort_query: bool,
}

impl Default for CacheRule {
    fn default() -> Self {
        Self::new()
    }
}

impl CacheRule {
    /// Caches only what the response's headers allow, keys on method, host, path and the
    /// sorted query.
    pub fn new() -> Self {
        Self {
            default_ttl: None,
            key_headers: Arc::from([]),
            ignored_query_params: Arc::from([]),
            sort_query: true,
        }
    }

    /// Keeps responses that carry no freshness information of their own (no `Cache-Control`,
    /// no `Expires`) fresh for `ttl`, as if they said `s-maxage`. Responses that say anything
    /// about caching are taken at their word.
    pub const fn default_ttl(mut self, ttl: Duration) -> Self {
        self.default_ttl = Some(ttl);
        self
    }

    /// The default freshness set by [`CacheRule::default_ttl`].
    pub const fn default_ttl_value(&self) -> Option<Duration> {
        self.default_ttl
    }

    /// Makes a request header part of the key: requests differing in it never share an entry,
    /// whatever the response's `Vary` says. For headers that select content (a tenant id)
    /// when the application forgets to send `Vary`.
    pub fn key_header(mut self, name: HeaderName) -> Self {
        let mut names = self.key_headers.to_vec();
        if !names.contains(&name) {
            names.push(name);
        }
        self.key_headers = names.into();
        self
    }

    /// Leaves a query parameter out of the key (tracking parameters such as `utm_source`).
    pub fn ignore_query_param(mut self, name: impl Into<Box<str>>) -> Self {
        let mut names = self.ignored_query_params.to_vec();
        names.push(name.into());
        self.ignored_query_params = names.into();
        self
    }

    /// Sorts query parameters in the key, so `?a=1&b=2` and `?b=2&a=1` share an entry
    /// (default true). Turn off for applications where parameter order carries meaning.
    pub const fn sort_query(mut self, sort: bool) -> Self {
        self.sort_query = sort;
        self
    }
}
