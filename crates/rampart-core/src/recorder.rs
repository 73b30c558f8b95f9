use metrics::{
    Counter, Gauge, Histogram, Key, Label, Level, Metadata, Recorder, SharedString, Unit,
};
use std::fmt;
use std::sync::Arc;

static METADATA: Metadata<'static> = Metadata::new("rampart", Level::INFO, Some("rampart"));

/// Where a rampart layer records its metrics.
///
/// By default ([`MetricsRecorder::global`]) a layer records through the `metrics` facade's
/// process-wide recorder, as any library using `metrics` does. Handing a layer its own recorder
/// ([`MetricsRecorder::new`]) keeps two stacks in one process apart: each renders only what its
/// own layers recorded, and neither has to win the race to install the global recorder.
///
/// Layers register their metric handles the first time they use them (never when built, so the
/// global recorder may be installed after the router is built) and keep them, so recording on
/// the hot path is an atomic operation, never a key lookup.
///
/// # Example
///
/// ```
/// use metrics_util::debugging::DebuggingRecorder;
/// use rampart_core::MetricsRecorder;
///
/// let debugging = DebuggingRecorder::new();
/// let snapshotter = debugging.snapshotter();
/// let recorder = MetricsRecorder::new(debugging);
///
/// recorder
///     .counter("rampart_timeouts_total", &[("http_route", "/api/slow".into())])
///     .increment(1);
/// assert_eq!(snapshotter.snapshot().into_vec().len(), 1);
/// ```
#[derive(Clone, Default)]
pub struct MetricsRecorder {
    custom: Option<Arc<dyn Recorder + Send + Sync>>,
}

impl MetricsRecorder {
    /// Records through whatever recorder is installed globally when a metric is registered.
    pub const fn global() -> Self {
        Self { custom: None }
    }

    /// Records into `recorder`, whatever the global recorder is.
    pub fn new<R>(recorder: R) -> Self
    where
        R: Recorder + Send + Sync + 'static,
    {
        Self {
            custom: Some(Arc::new(recorder)),
        }
    }

    /// Records into a recorder that is shared with other owners.
    pub fn from_arc(recorder: Arc<dyn Recorder + Send + Sync>) -> Self {
        Self {
            custom: Some(recorder),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&dyn Recorder) -> T) -> T {
        match &self.custom {
            Some(recorder) => f(recorder.as_ref()),
            None => metrics::with_recorder(f),
        }
    }

    /// Registers a counter with the given labels and returns its handle.
    pub fn counter(&self, name: &'static str, labels: &[(&'static str, String)]) -> Counter {
        let key = key(name, labels);
        self.with(|recorder| recorder.register_counter(&key, &METADATA))
    }

    /// Registers a gauge with the given labels and returns its handle.
    pub fn gauge(&self, name: &'static str, labels: &[(&'static str, String)]) -> Gauge {
        let key = key(name, labels);
        self.with(|recorder| recorder.register_gauge(&key, &METADATA))
    }

    /// Registers a histogram with the given labels and returns its handle.
    pub fn histogram(&self, name: &'static str, labels: &[(&'static str, String)]) -> Histogram {
        let key = key(name, labels);
        self.with(|recorder| recorder.register_histogram(&key, &METADATA))
    }

    /// Describes a counter (its `# HELP` line and unit).
    pub fn describe_counter(&self, name: &'static str, unit: Unit, help: &'static str) {
        self.with(|recorder| {
            recorder.describe_counter(name.into(), Some(unit), SharedString::const_str(help));
        });
    }

    /// Describes a gauge (its `# HELP` line and unit).
    pub fn describe_gauge(&self, name: &'static str, unit: Unit, help: &'static str) {
        self.with(|recorder| {
            recorder.describe_gauge(name.into(), Some(unit), SharedString::const_str(help));
        });
    }

    /// Describes a histogram (its `# HELP` line and unit).
    pub fn describe_histogram(&self, name: &'static str, unit: Unit, help: &'static str) {
        self.with(|recorder| {
            recorder.describe_histogram(name.into(), Some(unit), SharedString::const_str(help));
        });
    }
}

fn key(name: &'static str, labels: &[(&'static str, String)]) -> Key {
    let labels: Vec<Label> = labels
        .iter()
        .map(|(label, value)| Label::new(*label, value.clone()))
        .collect();
    Key::from_parts(name, labels)
}

impl fmt::Debug for MetricsRecorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsRecorder")
            .field("global", &self.custom.is_none())
            .finish()
    }
}
