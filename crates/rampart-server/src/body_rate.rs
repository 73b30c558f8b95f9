//! The minimum rate at which a client must send a request body the application is waiting for
//! (Kestrel's `MinRequestBodyDataRate`).
//!
//! The timeout layer's body timeout restarts at every byte, so a client that sends one byte
//! every 20 s holds its request, and its connection, for as long as it likes. Here the time the
//! application spends waiting for the body is added up, and once it is past a grace period the
//! body must have come at `bytes_per_second` on average over that time, or the body ends with
//! [`RequestBodyTooSlow`] and the request is answered `408`. Time the application spends on
//! its own work (not polling the body) is not counted: a slow handler is not a slow client.

use bytes::Buf;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::time::{Instant, Sleep, sleep_until};

/// The slowest a client may send a request body: `bytes_per_second` on average, once the
/// application has waited for it longer than `grace`.
///
/// ```
/// use rampart_server::MinDataRate;
/// use std::time::Duration;
///
/// let rate = MinDataRate::new(240, Duration::from_secs(5));
/// assert_eq!(rate.bytes_per_second(), 240);
/// assert_eq!(rate.grace(), Duration::from_secs(5));
/// assert_eq!(MinDataRate::default(), rate);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinDataRate {
    bytes_per_second: u64,
    grace: Duration,
}

impl MinDataRate {
    /// `bytes_per_second` on average after `grace` (a rate of 0 is read as 1).
    pub const fn new(bytes_per_second: u64, grace: Duration) -> Self {
        Self {
            bytes_per_second: if bytes_per_second == 0 {
                1
            } else {
                bytes_per_second
            },
            grace,
        }
    }

    /// The average rate required.
    pub const fn bytes_per_second(&self) -> u64 {
        self.bytes_per_second
    }

    /// How long the application may wait for the body before the rate applies.
    pub const fn grace(&self) -> Duration {
        self.grace
    }

    /// How long the application may have waited in all, once `received` bytes have come.
    fn allowed_wait(&self, received: u64) -> Duration {
        let earned = Duration::from_secs(received / self.bytes_per_second)
            + Duration::from_nanos(
                (received % self.bytes_per_second).saturating_mul(1_000_000_000)
                    / self.bytes_per_second,
            );
        self.grace.max(earned)
    }
}

/// Kestrel's default: 240 bytes per second after 5 seconds.
impl Default for MinDataRate {
    fn default() -> Self {
        Self::new(240, Duration::from_secs(5))
    }
}

/// The request body came slower than the server's [`MinDataRate`]: what the application reads
/// from the body instead of the rest of it. The server answers the request `408`
/// (`request_body_too_slow`) whatever the application answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestBodyTooSlow {
    rate: MinDataRate,
}

impl RequestBodyTooSlow {
    pub(crate) const fn new(rate: MinDataRate) -> Self {
        Self { rate }
    }

    /// The rate the body did not keep up.
    pub const fn rate(&self) -> MinDataRate {
        self.rate
    }
}

impl fmt::Display for RequestBodyTooSlow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the client sent the request body slower than {} bytes per second",
            self.rate.bytes_per_second
        )
    }
}

impl std::error::Error for RequestBodyTooSlow {}

/// Set by a body cut for being too slow; read when the application has answered.
#[derive(Debug)]
pub(crate) struct Cut {
    happened: AtomicBool,
    rate: MinDataRate,
}

impl Cut {
    pub(crate) const fn new(rate: MinDataRate) -> Self {
        Self {
            happened: AtomicBool::new(false),
            rate,
        }
    }

    pub(crate) fn happened(&self) -> bool {
        self.happened.load(Ordering::Relaxed)
    }

    /// The rate the body did not keep up.
    pub(crate) const fn rate(&self) -> MinDataRate {
        self.rate
    }
}

pin_project! {
    /// A request body held to a [`MinDataRate`].
    pub(crate) struct RateCheckedBody<B> {
        #[pin]
        inner: B,
        rate: MinDataRate,
        received: u64,
        // Time waited in earlier waits, and when the current one began.
        waited: Duration,
        waiting_since: Option<Instant>,
        // Made on the first wait: a body that arrives with its head never needs a timer.
        timer: Option<Pin<Box<Sleep>>>,
        cut: Arc<Cut>,
    }
}

impl<B> RateCheckedBody<B> {
    pub(crate) const fn new(inner: B, rate: MinDataRate, cut: Arc<Cut>) -> Self {
        Self {
            inner,
            rate,
            received: 0,
            waited: Duration::ZERO,
            waiting_since: None,
            timer: None,
            cut,
        }
    }
}

impl<B> Body for RateCheckedBody<B>
where
    B: Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = B::Data;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        if this.cut.happened() {
            return Poll::Ready(None);
        }
        if let Poll::Ready(frame) = this.inner.poll_frame(cx) {
            if let Some(since) = this.waiting_since.take() {
                *this.waited += Instant::now().saturating_duration_since(since);
            }
            if let Some(Ok(data)) = frame
                .as_ref()
                .map(|frame| frame.as_ref().map(Frame::data_ref))
            {
                let received = data.map_or(0, |data| data.remaining() as u64);
                *this.received = this.received.saturating_add(received);
            }
            return Poll::Ready(frame.map(|frame| frame.map_err(Into::into)));
        }
        let now = Instant::now();
        let since = *this.waiting_since.get_or_insert(now);
        let allowed = this.rate.allowed_wait(*this.received);
        let due = since + allowed.saturating_sub(*this.waited);
        let timer = this.timer.get_or_insert_with(|| Box::pin(sleep_until(due)));
        if timer.deadline() != due {
            timer.as_mut().reset(due);
        }
        ready!(timer.as_mut().poll(cx));
        this.cut.happened.store(true, Ordering::Relaxed);
        Poll::Ready(Some(Err(Box::new(RequestBodyTooSlow::new(*this.rate)))))
    }

    fn is_end_stream(&self) -> bool {
        self.cut.happened() || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http_body_util::BodyExt;
    use http_body_util::channel::{Channel, Sender};

    type Watched = RateCheckedBody<Channel<Bytes>>;

    fn watched(rate: MinDataRate) -> (Sender<Bytes>, Watched, Arc<Cut>) {
        let (sender, body) = Channel::new(8);
        let cut = Arc::new(Cut::new(rate));
        (
            sender,
            RateCheckedBody::new(body, rate, Arc::clone(&cut)),
            cut,
        )
    }

    const RATE: MinDataRate = MinDataRate::new(100, Duration::from_secs(1));

    #[test]
    fn the_wait_allowed_grows_with_the_bytes_received() {
        let rate = MinDataRate::new(240, Duration::from_secs(5));
        assert_eq!(rate.allowed_wait(0), Duration::from_secs(5));
        assert_eq!(rate.allowed_wait(1_200), Duration::from_secs(5));
        assert_eq!(rate.allowed_wait(2_400), Duration::from_secs(10));
        assert_eq!(rate.allowed_wait(2_520), Duration::from_millis(10_500));
        assert!(rate.allowed_wait(u64::MAX) > Duration::from_secs(u64::MAX / 241));
        assert_eq!(MinDataRate::new(0, Duration::ZERO).bytes_per_second(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_slower_than_the_rate_is_cut_once_the_grace_is_over() {
        let (mut sender, mut body, cut) = watched(RATE);
        sender
            .send_data(Bytes::from(vec![b'x'; 50]))
            .await
            .unwrap_or(());
        let started = Instant::now();
        let first = body
            .frame()
            .await
            .and_then(Result::ok)
            .and_then(|f| f.into_data().ok());
        assert_eq!(first.map(|data| data.len()), Some(50));
        // 50 bytes earn 0.5 s; the grace is 1 s: cut after 1 s of waiting, not before.
        let error = body
            .frame()
            .await
            .and_then(Result::err)
            .map(|e| e.to_string());
        assert_eq!(Instant::now() - started, Duration::from_secs(1));
        assert_eq!(
            error.as_deref(),
            Some("the client sent the request body slower than 100 bytes per second")
        );
        assert!(cut.happened());
        assert!(body.is_end_stream());
        assert!(body.frame().await.is_none(), "nothing after the cut");
        drop(sender);
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_at_the_rate_is_never_cut() {
        let (mut sender, mut body, cut) = watched(RATE);
        let sending = tokio::spawn(async move {
            for _ in 0..40 {
                if sender.send_data(Bytes::from(vec![b'x'; 80])).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
        let mut received = 0;
        while let Some(frame) = body.frame().await {
            let data = frame.ok().and_then(|frame| frame.into_data().ok());
            received += data.map_or(0, |data| data.len());
        }
        assert_eq!(received, 3_200, "20 s at 160 bytes per second");
        assert!(!cut.happened());
        sending.await.unwrap_or(());
    }

    #[tokio::test(start_paused = true)]
    async fn time_the_application_spends_elsewhere_is_not_counted() {
        let (mut sender, mut body, cut) = watched(RATE);
        sender
            .send_data(Bytes::from_static(b"x"))
            .await
            .unwrap_or(());
        assert!(body.frame().await.is_some());
        // The application works for 10 s without reading; the client sent the rest meanwhile.
        sender
            .send_data(Bytes::from_static(b"y"))
            .await
            .unwrap_or(());
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert!(body.frame().await.is_some_and(|frame| frame.is_ok()));
        drop(sender);
        assert!(body.frame().await.is_none());
        assert!(!cut.happened());
    }
}
