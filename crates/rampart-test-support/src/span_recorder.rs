//! A `tracing` layer that keeps every span, its fields and the events recorded inside it, for
//! tests that assert on what a request's span says.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// One span as a subscriber saw it.
#[derive(Debug, Default, Clone)]
pub struct RecordedSpan {
    /// The span's name (`request` for rampart's request span).
    pub name: &'static str,
    /// Its fields, as text, once recorded.
    pub fields: BTreeMap<String, String>,
    /// The fields of each event recorded inside it, in order.
    pub events: Vec<BTreeMap<String, String>>,
    /// Whether it has closed.
    pub closed: bool,
}

impl RecordedSpan {
    /// A field's value, as text.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

/// Every span (in the order they were made), with its fields and events: add it to a
/// `tracing_subscriber::registry()`.
#[derive(Clone, Default, Debug)]
pub struct SpanRecorder(Arc<Mutex<Vec<RecordedSpan>>>);

impl SpanRecorder {
    /// What has been recorded so far.
    pub fn spans(&self) -> Vec<RecordedSpan> {
        self.lock().clone()
    }

    fn lock(&self) -> MutexGuard<'_, Vec<RecordedSpan>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn with_span<S>(&self, id: &Id, ctx: &Context<'_, S>, f: impl FnOnce(&mut RecordedSpan))
    where
        S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    {
        let index = ctx
            .span(id)
            .and_then(|span| span.extensions().get::<Index>().map(|index| index.0));
        if let Some(index) = index {
            if let Some(span) = self.lock().get_mut(index) {
                f(span);
            }
        }
    }
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

struct Index(usize);

impl<S> tracing_subscriber::Layer<S> for SpanRecorder
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut recorded = RecordedSpan {
            name: attrs.metadata().name(),
            ..RecordedSpan::default()
        };
        attrs.record(&mut Fields(&mut recorded.fields));
        let mut spans = self.lock();
        spans.push(recorded);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(Index(spans.len() - 1));
        }
    }
    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        self.with_span(id, &ctx, |span| {
            values.record(&mut Fields(&mut span.fields))
        });
    }
    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        if let Some(id) = ctx.event_span(event).map(|span| span.id()) {
            let mut fields = BTreeMap::new();
            event.record(&mut Fields(&mut fields));
            self.with_span(&id, &ctx, |span| span.events.push(fields));
        }
    }
    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        self.with_span(&id, &ctx, |span| span.closed = true);
    }
}
