use http::{HeaderName, Request, header};
use rampart_core::route_label;

/// Which calls share a breaker.
///
/// # Example
///
/// ```
/// use rampart_breaker::{BreakerConfig, BreakerScope, CircuitBreakerLayer};
///
/// // An outbound client: one breaker per upstream host.
/// let layer = CircuitBreakerLayer::new(BreakerConfig::default()).scope(BreakerScope::Host);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum BreakerScope {
    /// One breaker per route template (the default); `unmatched` for requests outside a route.
    #[default]
    Route,
    /// One breaker for everything the layer wraps, named `global`.
    Global,
    /// One breaker per host: the request URI's authority (outbound calls) or the `Host` header.
    Host,
    /// One breaker per value of a request header; requests without it share one, named `-`.
    Header(HeaderName),
}

impl BreakerScope {
    /// The name of the breaker that `request` belongs to.
    pub(crate) fn name<'a, B>(&self, request: &'a Request<B>) -> &'a str {
        match self {
            Self::Route => route_label(request),
            Self::Global => "global",
            Self::Host => request
                .uri()
                .authority()
                .map(http::uri::Authority::as_str)
                .or_else(|| header_str(request, &header::HOST))
                .unwrap_or("-"),
            Self::Header(name) => header_str(request, name).unwrap_or("-"),
        }
    }
}

fn header_str<'a, B>(request: &'a Request<B>, name: &HeaderName) -> Option<&'a str> {
    request.headers().get(name)?.to_str().ok()
}
