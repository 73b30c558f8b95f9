//! Export over OTLP/HTTP (feature `otlp`), configured as every OpenTelemetry SDK is.
//!
//! The exporter is `opentelemetry-otlp`'s, the batching is the SDK's `BatchSpanProcessor`
//! (a thread of its own, a bounded queue, never a wait on the request path). What is added
//! here is the accounting the SDK keeps to itself: every span lost, to a full queue or a
//! failed export, is counted and said once in the log, so that a collector that is down costs
//! spans, visibly, and never requests.

use opentelemetry::Context;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SdkTracer, SdkTracerProvider, Span, SpanData,
    SpanExporter, SpanProcessor,
};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use tracing::Level;
use tracing_opentelemetry::OpenTelemetryLayer;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{Filtered, Targets};
use tracing_subscriber::registry::LookupSpan;

/// The variables that turn export on, as the OpenTelemetry specification names them.
const ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
const TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
const TRACES_EXPORTER: &str = "OTEL_TRACES_EXPORTER";
const SERVICE_NAME: &str = "OTEL_SERVICE_NAME";
/// The SDK's default queue, read from `OTEL_BSP_MAX_QUEUE_SIZE` when set.
const QUEUE_SIZE: &str = "OTEL_BSP_MAX_QUEUE_SIZE";
const DEFAULT_QUEUE_SIZE: usize = 2048;

/// Spans exported over OTLP/HTTP in batches.
///
/// [`OtlpExport::from_env`] reads the standard variables: `OTEL_EXPORTER_OTLP_ENDPOINT` (or
/// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) turns it on, `OTEL_EXPORTER_OTLP_PROTOCOL`
/// (`http/protobuf`, the default; `grpc` is refused, it is not built in),
/// `OTEL_EXPORTER_OTLP_HEADERS` and `_TIMEOUT`, `OTEL_SERVICE_NAME` and
/// `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG` (default
/// `parentbased_always_on`), and the batch settings `OTEL_BSP_*` (default: a queue of 2048
/// spans, sent every 5 s or per 512).
///
/// Put [`OtlpExport::layer`] in the application's `tracing` subscriber, with its own filter
/// ([`OtlpExport::targets`]) so that the log's filter does not decide what is exported; call
/// [`OtlpExport::shutdown`] before the process exits, to send what is queued.
///
/// # Example
///
/// ```
/// use rampart_trace::OtlpExport;
/// use tracing_subscriber::layer::SubscriberExt;
///
/// let export = OtlpExport::to_endpoint("http://127.0.0.1:4318", "my-service").unwrap();
/// let subscriber = tracing_subscriber::registry().with(export.layer(OtlpExport::targets()));
/// tracing::subscriber::with_default(subscriber, || {
///     tracing::info_span!("work").in_scope(|| {});
/// });
/// assert_eq!(export.lost_spans(), 0);
/// export.shutdown();
/// ```
#[derive(Clone)]
pub struct OtlpExport {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
    accounts: Arc<Accounts>,
}

/// Why export could not be set up.
#[derive(Debug)]
pub struct OtlpError(String);

impl fmt::Display for OtlpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OTLP export: {}", self.0)
    }
}

impl std::error::Error for OtlpError {}

impl OtlpExport {
    /// Export as the `OTEL_*` variables say, or `None` when no endpoint is set or
    /// `OTEL_TRACES_EXPORTER` is `none`. `service` names the service when `OTEL_SERVICE_NAME`
    /// does not.
    ///
    /// # Errors
    ///
    /// When the variables ask for what cannot be built (the `grpc` protocol, a bad header).
    pub fn from_env(service: &str) -> Result<Option<Self>, OtlpError> {
        let set = |name| std::env::var_os(name).is_some_and(|value| !value.is_empty());
        let disabled = std::env::var(TRACES_EXPORTER).is_ok_and(|value| value == "none");
        if disabled || !(set(ENDPOINT) || set(TRACES_ENDPOINT)) {
            return Ok(None);
        }
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .build()
            .map_err(|error| OtlpError(error.to_string()))?;
        Ok(Some(Self::with_exporter(exporter, service)))
    }

    /// Export to the collector at `endpoint` (its base URL: `/v1/traces` is added), the rest
    /// as the `OTEL_*` variables say.
    ///
    /// # Errors
    ///
    /// When the variables ask for what cannot be built.
    pub fn to_endpoint(endpoint: &str, service: &str) -> Result<Self, OtlpError> {
        use opentelemetry_otlp::WithExportConfig;
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
            .build()
            .map_err(|error| OtlpError(error.to_string()))?;
        Ok(Self::with_exporter(exporter, service))
    }

    fn with_exporter(exporter: opentelemetry_otlp::SpanExporter, service: &str) -> Self {
        let queue = std::env::var(QUEUE_SIZE)
            .ok()
            .and_then(|size| size.parse().ok())
            .unwrap_or(DEFAULT_QUEUE_SIZE);
        let accounts = Arc::new(Accounts {
            queue,
            ..Accounts::default()
        });
        let batches = BatchSpanProcessor::builder(CountedExporter {
            inner: exporter,
            accounts: Arc::clone(&accounts),
        })
        .with_batch_config(
            BatchConfigBuilder::default()
                .with_max_queue_size(queue)
                .build(),
        )
        .build();
        let resource = Resource::builder();
        let resource = if std::env::var_os(SERVICE_NAME).is_some() {
            resource
        } else {
            resource.with_service_name(service.to_owned())
        };
        let provider = SdkTracerProvider::builder()
            .with_span_processor(CountedProcessor {
                inner: batches,
                accounts: Arc::clone(&accounts),
            })
            .with_resource(resource.build())
            .build();
        let tracer = provider.tracer("rampart");
        Self {
            provider,
            tracer,
            accounts,
        }
    }

    /// What is exported unless told otherwise: spans and events at `INFO` and above, and
    /// rampart's own decisions (`rampart*` targets) at `DEBUG`, whatever the log shows.
    ///
    /// A span turned off here is skipped, not lost: what happens inside it belongs to the
    /// nearest exported span around it. Turn off spans of your own that only serve the log
    /// (an access-log span inside the request span) to keep rampart's decisions on the
    /// request span.
    pub fn targets() -> Targets {
        Targets::new()
            .with_default(Level::INFO)
            .with_target("rampart", Level::DEBUG)
    }

    /// The `tracing` layer that turns the spans and events `filter` lets through (usually
    /// [`OtlpExport::targets`]) into OpenTelemetry spans for this export.
    pub fn layer<S>(
        &self,
        filter: Targets,
    ) -> Filtered<OpenTelemetryLayer<S, SdkTracer>, Targets, S>
    where
        S: tracing::Subscriber + for<'span> LookupSpan<'span>,
    {
        // Off: source locations, thread ids and names, targets, busy/idle times. Each costs
        // allocations or clock reads per span (and per poll), and an HTTP server span is read
        // by its semantic-convention attributes.
        tracing_opentelemetry::layer()
            .with_tracer(self.tracer.clone())
            .with_location(false)
            .with_threads(false)
            .with_target(false)
            .with_tracked_inactivity(false)
            .with_filter(filter)
    }

    /// Spans lost so far: dropped because the queue was full, or in a batch the collector did
    /// not take (unreachable, refusing, too slow).
    pub fn lost_spans(&self) -> u64 {
        self.accounts.lost.load(Ordering::Relaxed)
    }

    /// Sends what is queued, waiting at most the export timeout, and stops exporting.
    pub fn shutdown(&self) {
        if let Err(error) = self.provider.shutdown() {
            tracing::warn!(%error, "OTLP export did not shut down cleanly");
        }
    }
}

impl fmt::Debug for OtlpExport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtlpExport")
            .field("lost_spans", &self.lost_spans())
            .finish_non_exhaustive()
    }
}

/// The spans in the processor's hands, and those lost.
#[derive(Debug, Default)]
struct Accounts {
    queue: usize,
    queued: AtomicUsize,
    lost: AtomicU64,
}

impl Accounts {
    fn lose(&self, spans: usize, why: &'static str) {
        let before = self.lost.fetch_add(spans as u64, Ordering::Relaxed);
        // Said once, when the first span is lost: a down collector must not flood the log.
        if before == 0 {
            tracing::warn!(
                spans,
                why,
                "OTLP export lost spans; requests are unaffected"
            );
        }
    }
}

/// The SDK's batch processor, with a bound it enforces first: the SDK drops a span that finds
/// its queue full without saying how many; here it is counted.
#[derive(Debug)]
struct CountedProcessor {
    inner: BatchSpanProcessor,
    accounts: Arc<Accounts>,
}

impl SpanProcessor for CountedProcessor {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        // The batch processor discards unsampled spans without queueing them.
        if !span.span_context.is_sampled() {
            return;
        }
        let queued = self.accounts.queued.fetch_add(1, Ordering::Relaxed);
        if queued >= self.accounts.queue {
            self.accounts.queued.fetch_sub(1, Ordering::Relaxed);
            self.accounts.lose(1, "queue full");
            return;
        }
        self.inner.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// The OTLP exporter, telling the accounts what left the queue and what was lost on the way.
#[derive(Debug)]
struct CountedExporter {
    inner: opentelemetry_otlp::SpanExporter,
    accounts: Arc<Accounts>,
}

impl SpanExporter for CountedExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans = batch.len();
        let result = self.inner.export(batch).await;
        self.accounts.queued.fetch_sub(spans, Ordering::Relaxed);
        if result.is_err() {
            self.accounts.lose(spans, "export failed");
        }
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}
