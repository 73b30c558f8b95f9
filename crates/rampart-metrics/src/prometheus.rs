use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder as ExporterBuilder, PrometheusHandle, PrometheusRecorder,
};
use rampart_core::{ConfigError, MetricsRecorder};
use std::fmt;
use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::MetricsEndpoint;
use rampart_core::names;

/// How often recorded histogram samples are folded into their buckets.
///
/// The exporter keeps raw samples until then; at 50 000 requests per second, 5 seconds of
/// samples of three histograms hold about 6 MB.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// A Prometheus registry that renders the text exposition format 0.0.4.
///
/// Each `Prometheus` owns its registry: give its [`recorder`](Prometheus::recorder) to the layers
/// that should record into it and serve its [`endpoint`](Prometheus::endpoint). Every histogram
/// has explicit buckets ([`names::DURATION_BUCKETS`] for durations, [`names::SIZE_BUCKETS`] for
/// sizes, the duration buckets for any other histogram), so it renders as a Prometheus
/// histogram, never as a summary.
///
/// Clones share the registry. A background thread folds samples into buckets every few seconds
/// and stops once the last clone is dropped. [`Prometheus::builder`] sets buckets of your own.
///
/// # Example
///
/// ```
/// use rampart_metrics::Prometheus;
///
/// let prometheus = Prometheus::new();
/// prometheus
///     .recorder()
///     .counter("rampart_example_total", &[])
///     .increment(3);
/// assert!(prometheus.render().contains("rampart_example_total 3"));
/// ```
#[derive(Clone)]
pub struct Prometheus {
    recorder: Arc<PrometheusRecorder>,
    handle: PrometheusHandle,
}

impl Prometheus {
    /// A new, empty registry with rampart's buckets.
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A builder, to choose the buckets.
    pub fn builder() -> PrometheusBuilder {
        PrometheusBuilder::default()
    }

    /// A [`MetricsRecorder`] that records into this registry, for rampart's layers.
    pub fn recorder(&self) -> MetricsRecorder {
        MetricsRecorder::from_arc(self.recorder.clone())
    }

    /// Installs this registry as the process-wide `metrics` recorder too, so that the
    /// application's own `metrics::counter!` calls appear on the same endpoint.
    ///
    /// Returns `false`, and changes nothing, when a global recorder is already installed (as
    /// happens when a second stack is built in the same process): this never panics.
    pub fn install_global(&self) -> bool {
        metrics::set_global_recorder(SharedRecorder(Arc::clone(&self.recorder))).is_ok()
    }

    /// The exposition text of everything recorded so far.
    pub fn render(&self) -> String {
        self.handle.render()
    }

    /// A Tower service that answers `GET` with the exposition text.
    pub fn endpoint(&self) -> MetricsEndpoint {
        MetricsEndpoint::new(self.handle.clone())
    }
}

impl Default for Prometheus {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Prometheus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prometheus").finish_non_exhaustive()
    }
}

/// Builds a [`Prometheus`] registry with buckets of your own: a latency objective is exact only
/// at a bucket's edge.
///
/// # Example
///
/// ```
/// use rampart_metrics::Prometheus;
///
/// let prometheus = Prometheus::builder()
///     .duration_buckets([0.005, 0.05, 0.3, 1.0])
///     .try_build()
///     .unwrap();
/// let recorder = prometheus.recorder();
/// recorder
///     .histogram("http_server_request_duration_seconds", &[])
///     .record(0.2);
/// assert!(prometheus.render().contains("le=\"0.3\"} 1"));
///
/// let error = Prometheus::builder().size_buckets([10.0, 5.0]).try_build().unwrap_err();
/// assert_eq!(error.field(), "size_buckets");
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct PrometheusBuilder {
    duration_buckets: Vec<f64>,
    size_buckets: Vec<f64>,
}

impl Default for PrometheusBuilder {
    fn default() -> Self {
        Self {
            duration_buckets: names::DURATION_BUCKETS.to_vec(),
            size_buckets: names::SIZE_BUCKETS.to_vec(),
        }
    }
}

impl PrometheusBuilder {
    /// Bucket bounds, in seconds, of every histogram that is not a size (default
    /// [`names::DURATION_BUCKETS`]); the upgraded connections' lifetimes keep theirs.
    pub fn duration_buckets(mut self, bounds: impl Into<Vec<f64>>) -> Self {
        self.duration_buckets = bounds.into();
        self
    }

    /// Bucket bounds, in bytes, of the histograms whose name ends in `_bytes` (default
    /// [`names::SIZE_BUCKETS`]).
    pub fn size_buckets(mut self, bounds: impl Into<Vec<f64>>) -> Self {
        self.size_buckets = bounds.into();
        self
    }

    /// The registry.
    ///
    /// # Panics
    ///
    /// When a bucket list is empty, not increasing or not finite; [`PrometheusBuilder::try_build`]
    /// returns that instead.
    pub fn build(self) -> Prometheus {
        match self.try_build() {
            Ok(prometheus) => prometheus,
            Err(error) => panic!("{error}"),
        }
    }

    /// The registry, or the bucket list that cannot work.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for `duration_buckets` or `size_buckets` when the list is empty, not
    /// strictly increasing, or holds a value that is not finite and positive.
    pub fn try_build(self) -> Result<Prometheus, ConfigError> {
        check_buckets("duration_buckets", &self.duration_buckets)?;
        check_buckets("size_buckets", &self.size_buckets)?;
        let invalid = |error: metrics_exporter_prometheus::BuildError| {
            ConfigError::new("", error.to_string())
        };
        let recorder = ExporterBuilder::new()
            .set_buckets(&self.duration_buckets)
            .and_then(|builder| {
                builder.set_buckets_for_metric(
                    Matcher::Suffix("_bytes".to_owned()),
                    &self.size_buckets,
                )
            })
            .and_then(|builder| {
                builder.set_buckets_for_metric(
                    Matcher::Full(names::UPGRADED_CONNECTION_DURATION.to_owned()),
                    names::LIFETIME_BUCKETS,
                )
            })
            .map_err(invalid)?
            .build_recorder();
        let handle = recorder.handle();
        let recorder = Arc::new(recorder);
        spawn_upkeep(Arc::downgrade(&recorder));
        Ok(Prometheus { recorder, handle })
    }
}

/// Bucket bounds Prometheus can use: some, finite, positive, strictly increasing.
pub(crate) fn check_buckets(field: &str, bounds: &[f64]) -> Result<(), ConfigError> {
    if bounds.is_empty() {
        return Err(ConfigError::new(field, "list at least one bucket bound"));
    }
    if !bounds.iter().all(|bound| bound.is_finite() && *bound > 0.0) {
        return Err(ConfigError::new(
            field,
            "bucket bounds are finite and positive",
        ));
    }
    if !bounds.windows(2).all(|pair| pair[0] < pair[1]) {
        return Err(ConfigError::new(
            field,
            "bucket bounds are strictly increasing",
        ));
    }
    Ok(())
}

fn spawn_upkeep(recorder: Weak<PrometheusRecorder>) {
    let spawned = std::thread::Builder::new()
        .name("rampart-metrics-upkeep".to_owned())
        .spawn(move || {
            loop {
                // A plain thread, not a task: the registry may be built outside any runtime,
                // and the upkeep must go on while the runtime's workers are busy.
                #[allow(clippy::disallowed_methods)]
                std::thread::sleep(UPKEEP_INTERVAL);
                let Some(recorder) = recorder.upgrade() else {
                    return;
                };
                recorder.handle().run_upkeep();
            }
        });
    if let Err(error) = spawned {
        // Rendering folds samples too, so metrics stay correct; only memory between scrapes grows.
        tracing_fallback(&error);
    }
}

fn tracing_fallback(error: &std::io::Error) {
    eprintln!("rampart-metrics: cannot start the upkeep thread: {error}");
}

/// Lets the global recorder and the layers share one registry.
struct SharedRecorder(Arc<PrometheusRecorder>);

impl Recorder for SharedRecorder {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.0.describe_counter(key, unit, description);
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.0.describe_gauge(key, unit, description);
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.0.describe_histogram(key, unit, description);
    }

    fn register_counter(&self, key: &Key, metadata: &Metadata<'_>) -> Counter {
        self.0.register_counter(key, metadata)
    }

    fn register_gauge(&self, key: &Key, metadata: &Metadata<'_>) -> Gauge {
        self.0.register_gauge(key, metadata)
    }

    fn register_histogram(&self, key: &Key, metadata: &Metadata<'_>) -> Histogram {
        self.0.register_histogram(key, metadata)
    }
}
