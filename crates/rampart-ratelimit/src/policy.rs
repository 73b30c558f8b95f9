use http::{HeaderMap, HeaderName, Request, StatusCode};
use std::fmt;
use std::sync::Arc;

use crate::{ClientIp, Key, Quota};

/// A closure that finds a request's key, for [`KeySource::Custom`].
pub type KeyFn = Arc<dyn Fn(&HeaderMap, &http::Extensions) -> Option<Key> + Send + Sync>;

/// Where a policy finds the key a request is counted under.
#[derive(Clone)]
#[non_exhaustive]
pub enum KeySource {
    /// Everybody shares one quota.
    Global,
    /// The client address (see [`ClientIp`] for proxies and IPv6 grouping).
    ClientIp(ClientIp),
    /// The value of a request header, such as an API key.
    Header(HeaderName),
    /// A value an earlier layer put in the request extensions (an authenticated user). Made by
    /// [`KeySource::extension`].
    Extension {
        /// Finds the key.
        find: fn(&http::Extensions) -> Option<Key>,
        /// The extension's type, as the answer to a request without it names it.
        type_name: &'static str,
    },
    /// Anything else.
    Custom(KeyFn),
}

impl KeySource {
    /// The request extension of type `T`, as text.
    ///
    /// ```
    /// use rampart_ratelimit::KeySource;
    ///
    /// #[derive(Clone)]
    /// struct UserId(u64);
    /// impl std::fmt::Display for UserId {
    ///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    ///         write!(f, "user-{}", self.0)
    ///     }
    /// }
    /// let source = KeySource::extension::<UserId>();
    /// ```
    pub fn extension<T: fmt::Display + Send + Sync + 'static>() -> Self {
        let path = std::any::type_name::<T>();
        Self::Extension {
            find: |extensions| {
                extensions
                    .get::<T>()
                    .map(|value| Key::text(value.to_string()))
            },
            // The type's own name: its module path is the application's business.
            type_name: path.rsplit("::").next().unwrap_or(path),
        }
    }

    /// The key of `request`, if this source finds one.
    pub fn key<B>(&self, request: &Request<B>) -> Option<Key> {
        match self {
            Self::Global => Some(Key::Global),
            Self::ClientIp(client_ip) => client_ip
                .client(request)
                .map(|ip| Key::ip(ip, client_ip.ipv6_prefix)),
            Self::Header(name) => {
                let value = request.headers().get(name)?.to_str().ok()?.trim();
                // An absurdly long value is no key: refuse it rather than store it.
                (!value.is_empty() && value.len() <= 256).then(|| Key::text(value))
            }
            Self::Extension { find, .. } => find(request.extensions()),
            Self::Custom(find) => find(request.headers(), request.extensions()),
        }
    }
}

impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Global => f.write_str("Global"),
            Self::ClientIp(client_ip) => f.debug_tuple("ClientIp").field(client_ip).finish(),
            Self::Header(name) => f.debug_tuple("Header").field(name).finish(),
            Self::Extension { type_name, .. } => {
                f.debug_tuple("Extension").field(type_name).finish()
            }
            Self::Custom(_) => f.write_str("Custom"),
        }
    }
}

/// What to do when a request has no key for a policy (no API-key header, an unparsable one).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum OnMissingKey {
    /// Answer with this status (400 or 401) and a problem+json body.
    Reject(StatusCode),
    /// Count the request under another source's key instead.
    Fallback(Box<KeySource>),
}

/// A named quota, and where its keys come from.
///
/// # Example
///
/// ```
/// use rampart_ratelimit::{ClientIp, KeySource, Policy, Quota};
///
/// let per_client = Policy::new("per_client", Quota::per_second(20), KeySource::ClientIp(ClientIp::default()));
/// let everyone = Policy::new("everyone", Quota::per_minute(5_000), KeySource::Global);
/// ```
#[derive(Debug, Clone)]
pub struct Policy {
    pub(crate) name: Box<str>,
    pub(crate) quota: Quota,
    pub(crate) key: KeySource,
    pub(crate) on_missing: OnMissingKey,
}

/// A request's key under a policy: its own, or the policy's fallback.
#[derive(Debug)]
pub(crate) enum Keyed {
    Own(Key),
    Fallback(Key),
}

impl Policy {
    /// A policy; a request without a key is refused with 400, except for client addresses,
    /// which fall back to one global quota (a server started without connect info).
    pub fn new(name: impl Into<Box<str>>, quota: Quota, key: KeySource) -> Self {
        let on_missing = match key {
            KeySource::ClientIp(_) => OnMissingKey::Fallback(Box::new(KeySource::Global)),
            _ => OnMissingKey::Reject(StatusCode::BAD_REQUEST),
        };
        Self {
            name: name.into(),
            quota,
            key,
            on_missing,
        }
    }

    /// What to do when a request has no key.
    #[must_use]
    pub fn on_missing_key(mut self, on_missing: OnMissingKey) -> Self {
        self.on_missing = on_missing;
        self
    }

    /// The policy's name, used in headers and metrics.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its quota.
    pub const fn quota(&self) -> Quota {
        self.quota
    }

    /// The key of `request`, or what to answer instead.
    pub(crate) fn key<B>(&self, request: &Request<B>) -> Result<Keyed, StatusCode> {
        if let Some(key) = self.key.key(request) {
            return Ok(Keyed::Own(key));
        }
        match &self.on_missing {
            OnMissingKey::Reject(status) => Err(*status),
            OnMissingKey::Fallback(source) => {
                Ok(Keyed::Fallback(source.key(request).unwrap_or(Key::Global)))
            }
        }
    }

    /// Why a request has no key under this policy, and what to do about it: the detail of the
    /// answer that refuses it.
    /// What the policy counts by, for traces: `global`, `client_ip`, `header`, `extension` or
    /// `custom` (never the key itself, which may be a credential).
    pub(crate) const fn key_kind(&self) -> &'static str {
        match &self.key {
            KeySource::Global => "global",
            KeySource::ClientIp(_) => "client_ip",
            KeySource::Header(_) => "header",
            KeySource::Extension { .. } => "extension",
            KeySource::Custom(_) => "custom",
        }
    }

    pub(crate) fn missing_key_detail(&self) -> String {
        let policy = &self.name;
        match &self.key {
            KeySource::Header(name) => format!(
                "rate limit policy `{policy}` counts requests by their `{name}` header, and this \
                 request has none usable (1 to 256 bytes of visible text)"
            ),
            KeySource::Extension { type_name, .. } => format!(
                "rate limit policy `{policy}` counts requests by their `{type_name}` extension, \
                 and none was set before the rate limiter ran. The layer that sets it \
                 (authentication) must run first: add it with `Router::layer` after applying \
                 the stack, not with `Router::route_layer`, which runs after the stack"
            ),
            KeySource::Global | KeySource::ClientIp(_) | KeySource::Custom(_) => {
                format!("the request carries no usable key for rate limit policy `{policy}`")
            }
        }
    }

    /// What the log says when this policy first falls back.
    pub(crate) fn fallback_warning(&self) -> &'static str {
        match self.key {
            KeySource::ClientIp(_) => {
                "requests carry no client address (ConnectInfo): every client shares one quota. \
                 Serve with `into_make_service_with_connect_info::<SocketAddr>()` or \
                 `rampart::server::Server`"
            }
            _ => "requests lack this policy's key and share its fallback quota",
        }
    }
}
