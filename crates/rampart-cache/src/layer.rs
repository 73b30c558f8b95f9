use http::HeaderName;
use rampart_core::coding::ContentCodings;
use rampart_core::{MetricsRecorder, RouteTable};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Once};
use std::time::Duration;
use tower_layer::Layer;

use crate::clock::Clock;
use crate::copies::InFlightCopies;
use crate::flight::Flights;
use crate::store::Store;
use crate::telemetry::Telemetry;
use crate::{
    Cache, CacheHandle, CacheRule, DEFAULT_COALESCE_WAIT, DEFAULT_MAX_BYTES,
    DEFAULT_MAX_ENTRY_BYTES, DEFAULT_TAG_HEADER, Purge, PurgeJob, PurgeReport, RedisTier,
    SharedTierError,
};

/// Settings every request reads.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) max_entry_bytes: usize,
    pub(crate) coalesce_wait: Duration,
    pub(crate) tag_header: HeaderName,
    pub(crate) encodings: ContentCodings,
}

/// The state one cache shares between its services, its handle and its background tasks.
pub(crate) struct Shared {
    pub(crate) store: Store,
    pub(crate) flights: Arc<Flights>,
    pub(crate) telemetry: Arc<Telemetry>,
    pub(crate) clock: Clock,
    pub(crate) settings: Settings,
    pub(crate) tier: Option<RedisTier>,
    /// Copies of bodies still streaming to their clients, bounded by a quarter of the store's
    /// budget.
    pub(crate) copies: Arc<InFlightCopies>,
    listening: Once,
    /// Purges started, for their ids.
    purges: AtomicU64,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("settings", &self.settings)
            .field("tier", &self.tier)
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// Starts listening for other instances' purges, once, from inside the runtime.
    pub(crate) fn listen(self: &Arc<Self>) {
        if let Some(tier) = &self.tier {
            self.listening
                .call_once(|| tier.listen(Arc::downgrade(self)));
        }
    }

    /// Purges the local tier at once, then, in a task of its own, the shared tier and the
    /// other instances.
    pub(crate) fn start_purge(self: &Arc<Self>, purge: Purge) -> PurgeJob {
        self.store.purge(&purge);
        let id = self.purges.fetch_add(1, Ordering::Relaxed) + 1;
        let Some(tier) = self.tier.clone() else {
            return PurgeJob::finished(id, Ok(PurgeReport::default()));
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            let error = SharedTierError("no tokio runtime to run the purge on".to_owned());
            return PurgeJob::finished(id, Err(error));
        };
        let shared = Arc::clone(self);
        PurgeJob::running(
            id,
            runtime.spawn(async move {
                let outcome = tier.purge(&shared, &purge).await;
                match &outcome {
                    Ok(report) => tracing::info!(purge_id = id, ?purge, ?report, "purge finished"),
                    Err(error) => tracing::warn!(purge_id = id, ?purge, %error, "purge incomplete"),
                }
                outcome
            }),
        )
    }
}

/// Caches responses of the routes it is given a [`CacheRule`] for. Made by
/// [`CacheLayer::builder`] (or [`CacheLayer::new`] for every route with the default rule).
///
/// # Example
///
/// ```
/// use axum::{Router, routing::get};
/// use rampart_cache::{CacheLayer, CacheRule};
/// use std::time::Duration;
///
/// let cache = CacheLayer::builder()
///     .max_bytes(32 * 1024 * 1024)
///     .route("/api/items/{id}", CacheRule::new().default_ttl(Duration::from_secs(30)))
///     .build();
/// let app: Router = Router::new()
///     .route("/api/items/{id}", get(|| async { "item" }))
///     .layer(cache);
/// ```
#[derive(Debug, Clone)]
pub struct CacheLayer {
    pub(crate) routes: Arc<RouteTable<Option<CacheRule>>>,
    pub(crate) shared: Arc<Shared>,
}

impl Default for CacheLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl CacheLayer {
    /// Caches every route under the default [`CacheRule`] (RFC 9111 semantics only), in
    /// 64 MiB.
    pub fn new() -> Self {
        Self::builder().default_rule(CacheRule::new()).build()
    }

    /// A builder, with no route cached until one is given a rule (or a default rule).
    pub fn builder() -> CacheLayerBuilder {
        CacheLayerBuilder::default()
    }

    /// The rule of each route template; `None` where nothing is stored.
    ///
    /// # Example
    ///
    /// ```
    /// use rampart_cache::{CacheLayer, CacheRule};
    ///
    /// let layer = CacheLayer::builder().route("/api/report", CacheRule::new()).build();
    /// assert!(layer.rules().get_for_route("/api/report").is_some());
    /// assert!(layer.rules().get_for_route("/api/hello").is_none());
    /// ```
    pub fn rules(&self) -> &RouteTable<Option<CacheRule>> {
        &self.routes
    }

    /// A handle to purge the cache and read its size, for an admin endpoint.
    pub fn handle(&self) -> CacheHandle {
        CacheHandle {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<S> Layer<S> for CacheLayer {
    type Service = Cache<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Cache {
            inner,
            // One reference for the service to clone: axum clones a route's service stack
            // for every request.
            layer: Arc::new(self.clone()),
        }
    }
}

/// Builds a [`CacheLayer`].
///
/// # Example
///
/// ```
/// use rampart_cache::{CacheLayer, CacheRule};
/// use std::time::Duration;
///
/// let layer = CacheLayer::builder()
///     .default_rule(CacheRule::new())
///     .max_bytes(16 * 1024 * 1024)
///     .max_entry_bytes(256 * 1024)
///     .coalesce_wait(Duration::from_secs(2))
///     .build();
/// assert_eq!(layer.handle().usage().bytes, 0);
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct CacheLayerBuilder {
    default_rule: Option<CacheRule>,
    routes: Vec<(String, Option<CacheRule>)>,
    max_bytes: u64,
    settings: Settings,
    recorder: MetricsRecorder,
    tier: Option<RedisTier>,
}

impl Default for CacheLayerBuilder {
    fn default() -> Self {
        Self {
            default_rule: None,
            routes: Vec::new(),
            max_bytes: DEFAULT_MAX_BYTES,
            settings: Settings {
                max_entry_bytes: DEFAULT_MAX_ENTRY_BYTES,
                coalesce_wait: DEFAULT_COALESCE_WAIT,
                tag_header: HeaderName::from_static(DEFAULT_TAG_HEADER),
                encodings: ContentCodings::ALL,
            },
            recorder: MetricsRecorder::global(),
            tier: None,
        }
    }
}

impl CacheLayerBuilder {
    /// The rule of every route without one of its own (default: such routes are not cached).
    pub fn default_rule(mut self, rule: CacheRule) -> Self {
        self.default_rule = Some(rule);
        self
    }

    /// The rule of one route, by its template (`/api/items/{id}`).
    pub fn route(mut self, template: impl Into<String>, rule: CacheRule) -> Self {
        self.routes.push((template.into(), Some(rule)));
        self
    }

    /// Leaves one route uncached even when there is a default rule.
    pub fn route_uncached(mut self, template: impl Into<String>) -> Self {
        self.routes.push((template.into(), None));
        self
    }

    /// The most bytes the local tier holds, bodies, headers and keys counted (default 64 MiB).
    /// Beyond it, moka evicts by TinyLFU: entries used rarely go first.
    pub const fn max_bytes(mut self, bytes: u64) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// Responses with larger bodies are passed through, never buffered whole (default 1 MiB).
    pub const fn max_entry_bytes(mut self, bytes: usize) -> Self {
        self.settings.max_entry_bytes = bytes;
        self
    }

    /// How long concurrent misses for one key wait for the first one's response before going
    /// to the origin themselves (default 5 s).
    pub const fn coalesce_wait(mut self, wait: Duration) -> Self {
        self.settings.coalesce_wait = wait;
        self
    }

    /// The response header the origin tags responses with, for purges by tag (default
    /// `Cache-Tag`). The cache removes it from what clients see.
    pub fn tag_header(mut self, name: HeaderName) -> Self {
        self.settings.tag_header = name;
        self
    }

    /// The content codings the encoder below offers (default: all four, as
    /// `rampart_compression::CompressionLayer` does; `CompressionLayer::codings` says which).
    /// A request's `Accept-Encoding` is reduced to the one of them it prefers before the lookup
    /// and on the way to the origin, so a URL has at most one variant per coding, whatever
    /// weights clients send.
    pub const fn encodings(mut self, offered: ContentCodings) -> Self {
        self.settings.encodings = offered;
        self
    }

    /// Records metrics into `recorder` instead of the global recorder.
    pub fn with_recorder(mut self, recorder: MetricsRecorder) -> Self {
        self.recorder = recorder;
        self
    }

    /// Adds a shared tier in Redis behind the local one (feature `redis`).
    #[cfg(feature = "redis")]
    pub fn shared_tier(mut self, tier: RedisTier) -> Self {
        self.tier = Some(tier);
        self
    }

    /// The layer.
    pub fn build(self) -> CacheLayer {
        let routes = self.routes.into_iter().fold(
            RouteTable::new(self.default_rule),
            |table, (template, rule)| table.with_route(template, rule),
        );
        let telemetry = Arc::new(Telemetry::new(self.recorder));
        let shared = Arc::new(Shared {
            store: Store::new(self.max_bytes, Arc::clone(&telemetry)),
            copies: InFlightCopies::new(self.max_bytes, self.settings.max_entry_bytes),
            flights: Arc::new(Flights::default()),
            telemetry,
            clock: Clock::new(),
            settings: self.settings,
            tier: self.tier,
            listening: Once::new(),
            purges: AtomicU64::new(0),
        });
        CacheLayer {
            routes: Arc::new(routes),
            shared,
        }
    }
}
