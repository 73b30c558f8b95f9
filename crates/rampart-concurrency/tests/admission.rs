//! The layer around a service, on tokio's paused clock: slots, refusals, what dropped calls
//! teach, and a simulated connection pool behind it.

#![allow(clippy::unwrap_used)]

use axum::body::Body;
use http::{Request, Response, StatusCode};
use proptest::prelude::*;
use rampart_concurrency::{ConcurrencyLimitLayer, GradientLimit, Limit};
use rampart_core::deadline::Deadline;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tower::{Service, ServiceBuilder, ServiceExt, service_fn};

/// A handler that takes `hold` of one of `pool` connections, waiting for one as long as it
/// takes (a pool with no acquire timeout).
fn pooled(
    pool: Arc<Semaphore>,
    hold: Duration,
) -> impl Service<Request<Body>, Response = Response<Body>, Error = Infallible, Future: Send> + Clone
{
    service_fn(move |_request: Request<Body>| {
        let pool = Arc::clone(&pool);
        async move {
            let _connection = pool.acquire().await;
            tokio::time::sleep(hold).await;
            Ok::<_, Infallible>(Response::new(Body::empty()))
        }
    })
}

fn request_with_deadline(after: Duration) -> Request<Body> {
    let mut request = Request::new(Body::empty());
    request
        .extensions_mut()
        .insert(Deadline::new(Instant::now() + after));
    request
}

/// An adaptive limit that has measured its unloaded latency (one call) and adapts.
async fn adapting(limit: usize) -> Limit {
    let pool_limit = Limit::adaptive(
        "pool",
        GradientLimit::new()
            .min(1)
            .initial(limit)
            .min_rtt_samples(1),
    );
    let service = ServiceBuilder::new()
        .layer(ConcurrencyLimitLayer::new(pool_limit.clone()))
        .service(pooled(
            Arc::new(Semaphore::new(1)),
            Duration::from_millis(10),
        ));
    service.oneshot(Request::new(Body::empty())).await.unwrap();
    assert_eq!(pool_limit.limit(), limit);
    pool_limit
}

#[tokio::test(start_paused = true)]
async fn a_client_that_goes_away_returns_its_slot_and_teaches_nothing() {
    let pool_limit = adapting(10).await;
    let mut service = ServiceBuilder::new()
        .layer(ConcurrencyLimitLayer::new(pool_limit.clone()))
        .service(pooled(Arc::new(Semaphore::new(1)), Duration::from_secs(5)));
    let call = service.call(request_with_deadline(Duration::from_secs(10)));
    assert_eq!(pool_limit.in_flight(), 1);
    tokio::time::sleep(Duration::from_secs(1)).await;
    drop(call);
    assert_eq!(pool_limit.in_flight(), 0);
    assert_eq!(pool_limit.limit(), 10);
}

#[tokio::test(start_paused = true)]
async fn a_call_the_deadline_drops_returns_its_slot_and_lowers_the_limit() {
    let pool_limit = adapting(10).await;
    let mut service = ServiceBuilder::new()
        .layer(ConcurrencyLimitLayer::new(pool_limit.clone()))
        .service(pooled(Arc::new(Semaphore::new(1)), Duration::from_secs(5)));
    let call = service.call(request_with_deadline(Duration::from_millis(100)));
    // As the timeout layer above would: the deadline passes, the call is dropped.
    let _ = tokio::time::timeout(Duration::from_millis(100), call).await;
    assert_eq!(pool_limit.in_flight(), 0);
    assert_eq!(pool_limit.limit(), 9);
}

#[tokio::test(start_paused = true)]
async fn a_refusal_is_immediate_and_never_reaches_the_service() {
    let reached = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = Arc::clone(&reached);
    let pool_limit = Limit::fixed("pool", 2);
    let service = ServiceBuilder::new()
        .layer(ConcurrencyLimitLayer::new(pool_limit.clone()))
        .service(service_fn(move |_request: Request<Body>| {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async {
                tokio::time::sleep(Duration::from_secs(1)).await;
                Ok::<_, Infallible>(Response::new(Body::empty()))
            }
        }));
    let held: Vec<_> = (0..2)
        .map(|_| tokio::spawn(service.clone().oneshot(Request::new(Body::empty()))))
        .collect();
    tokio::task::yield_now().await;
    let started = Instant::now();
    let refused = service
        .clone()
        .oneshot(Request::new(Body::empty()))
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert_eq!(reached.load(std::sync::atomic::Ordering::SeqCst), 2);
    for call in held {
        assert_eq!(call.await.unwrap().unwrap().status(), StatusCode::OK);
    }
    assert_eq!(pool_limit.in_flight(), 0);
}

/// 64 clients without pause for 20 s: calls answered `200`, and the slowest of them over the
/// last 10 s. A refused client comes back 5 ms later.
async fn drive<S>(service: S) -> (u32, Duration)
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
{
    let until = Instant::now() + Duration::from_secs(20);
    let clients: Vec<_> = (0..64)
        .map(|_| {
            let service = service.clone();
            tokio::spawn(async move {
                let (mut admitted, mut slowest) = (0u32, Duration::ZERO);
                while Instant::now() < until {
                    let started = Instant::now();
                    let response = service.clone().oneshot(Request::new(Body::empty())).await;
                    if response.unwrap().status() == StatusCode::OK {
                        admitted += 1;
                        if until - Instant::now() < Duration::from_secs(10) {
                            slowest = slowest.max(started.elapsed());
                        }
                    } else {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                }
                (admitted, slowest)
            })
        })
        .collect();
    let (mut admitted, mut slowest) = (0, Duration::ZERO);
    for client in clients {
        let (a, s) = client.await.unwrap();
        admitted += a;
        slowest = slowest.max(s);
    }
    (admitted, slowest)
}

/// A pool of 8 connections held 10 ms each (capacity 800 calls/s, 16 000 in 20 s) under 64
/// clients. Without a limit every call queues for the pool: 80 ms each. With the adaptive
/// limit, it finds the pool (measured: 11), admits nearly the whole capacity (15 918), and
/// admitted calls take 20 ms at most; the rest are refused at once.
#[tokio::test(start_paused = true)]
async fn behind_a_saturated_pool_the_limit_finds_the_pool() {
    let pool = || pooled(Arc::new(Semaphore::new(8)), Duration::from_millis(10));
    let (_, unlimited) = drive(pool()).await;
    assert_eq!(unlimited, Duration::from_millis(80));

    let pool_limit = Limit::adaptive("pool", GradientLimit::new());
    let limited = ServiceBuilder::new()
        .layer(ConcurrencyLimitLayer::new(pool_limit.clone()))
        .service(pool())
        .map_response(|response| response.map(Body::new));
    let (admitted, slowest) = drive(limited).await;
    let limit = pool_limit.limit();
    assert!((8..=24).contains(&limit), "limit {limit} for a pool of 8");
    assert!(admitted >= 15_000, "{admitted} calls admitted");
    assert!(
        slowest <= Duration::from_millis(25),
        "slowest admitted call {slowest:?}"
    );
    assert_eq!(pool_limit.in_flight(), 0);
}

#[derive(Debug, Clone)]
enum Step {
    Start,
    Finish(usize),
    Abandon(usize),
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        prop_oneof![
            Just(Step::Start),
            (0usize..16).prop_map(Step::Finish),
            (0usize..16).prop_map(Step::Abandon),
        ],
        0..200,
    )
}

proptest! {
    /// Calls started, finished and abandoned in any order: never more in flight than the
    /// limit, and every slot back once they are all over.
    #[test]
    fn slots_are_never_lost_or_exceeded(steps in steps(), limit in 1usize..8) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        runtime.block_on(async {
            let pool_limit = Limit::fixed("pool", limit);
            let gate = Arc::new(Semaphore::new(0));
            let opener = Arc::clone(&gate);
            let mut service = ServiceBuilder::new().layer(ConcurrencyLimitLayer::new(pool_limit.clone())).service(service_fn(
                move |_request: Request<Body>| {
                    let gate = Arc::clone(&gate);
                    async move {
                        let _ = gate.acquire().await;
                        Ok::<_, Infallible>(Response::new(Body::empty()))
                    }
                },
            ));
            let mut calls = Vec::new();
            for step in steps {
                match step {
                    Step::Start => calls.push(Box::pin(service.call(Request::new(Body::empty())))),
                    Step::Finish(i) if !calls.is_empty() => {
                        let call = calls.remove(i % calls.len());
                        // Refused calls answer at once; admitted ones once let through.
                        opener.add_permits(1);
                        let _ = tokio::time::timeout(Duration::from_millis(1), call).await;
                    }
                    Step::Abandon(i) if !calls.is_empty() => {
                        drop(calls.remove(i % calls.len()));
                    }
                    _ => {}
                }
                prop_assert!(pool_limit.in_flight() <= limit);
            }
            drop(calls);
            prop_assert_eq!(pool_limit.in_flight(), 0);
            Ok(())
        })?;
    }
}

#[tokio::test(start_paused = true)]
async fn metrics_count_admissions_refusals_and_the_limit() {
    let prometheus = rampart_metrics::Prometheus::new();
    let pool_limit = Limit::adaptive("database", GradientLimit::new().min(2).min_rtt_samples(1));
    assert!(
        !prometheus.render().contains("rampart_concurrency"),
        "nothing is registered before the first call"
    );
    let layer = ConcurrencyLimitLayer::new(pool_limit.clone()).with_recorder(prometheus.recorder());
    let service = ServiceBuilder::new().layer(layer).service(pooled(
        Arc::new(Semaphore::new(1)),
        Duration::from_millis(10),
    ));
    service
        .clone()
        .oneshot(Request::new(Body::empty()))
        .await
        .unwrap();
    // 25 at once against a limit of 20: 5 refused.
    let held: Vec<_> = (0..25)
        .map(|_| tokio::spawn(service.clone().oneshot(Request::new(Body::empty()))))
        .collect();
    tokio::task::yield_now().await;
    let in_flight = pool_limit.in_flight();
    assert_eq!(in_flight, 20);
    let text = prometheus.render();
    assert!(
        text.contains(&format!(
            "rampart_concurrency_in_flight{{limiter=\"database\"}} {in_flight}"
        )),
        "{text}"
    );
    assert!(
        text.contains("rampart_concurrency_limit{limiter=\"database\"} 20"),
        "{text}"
    );
    assert!(
        text.contains("rampart_concurrency_min_rtt_seconds{limiter=\"database\"} 0.01"),
        "{text}"
    );
    for call in held {
        call.await.unwrap().unwrap();
    }
    let text = prometheus.render();
    assert!(
        text.contains(
            "rampart_concurrency_requests_total{limiter=\"database\",outcome=\"admitted\"} 21"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "rampart_concurrency_requests_total{limiter=\"database\",outcome=\"refused\"} 5"
        ),
        "{text}"
    );
    assert!(
        text.contains("rampart_concurrency_in_flight{limiter=\"database\"} 0"),
        "{text}"
    );
}

/// Demand at half the pool's capacity, at a constant rate for over two minutes (two
/// measurements of the unloaded latency): nobody is ever refused, and the limit does not
/// climb towards its maximum for lack of demand.
#[tokio::test(start_paused = true)]
async fn below_capacity_nobody_is_refused_and_the_limit_stays_put() {
    let pool_limit = Limit::adaptive("pool", GradientLimit::new());
    let service = ServiceBuilder::new()
        .layer(ConcurrencyLimitLayer::new(pool_limit.clone()))
        .service(pooled(
            Arc::new(Semaphore::new(8)),
            Duration::from_millis(10),
        ));
    let mut calls = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_micros(2500));
    for _ in 0..(130 * 400) {
        tick.tick().await;
        calls.push(tokio::spawn(
            service.clone().oneshot(Request::new(Body::empty())),
        ));
        if calls.len() > 64 {
            for call in calls.drain(..32) {
                assert_eq!(call.await.unwrap().unwrap().status(), StatusCode::OK);
            }
        }
    }
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap().status(), StatusCode::OK);
    }
    assert_eq!(pool_limit.min_rtt(), Some(Duration::from_millis(10)));
    assert!(pool_limit.limit() <= 40, "limit {}", pool_limit.limit());
}

/// Thousands of calls a second fill every window long before it ends; the calls past what a
/// window keeps are mostly not timed, yet windows still close and the limit still follows
/// the resource when it slows down.
#[tokio::test(start_paused = true)]
async fn windows_full_of_samples_still_close_and_adapt() {
    let pool_limit = Limit::adaptive("fast", GradientLimit::new().max(64));
    let hold = Arc::new(std::sync::atomic::AtomicU64::new(1_000));
    let held = Arc::clone(&hold);
    let service = ServiceBuilder::new()
        .layer(ConcurrencyLimitLayer::new(pool_limit.clone()))
        .service(service_fn(move |_request: Request<Body>| {
            let micros = held.load(std::sync::atomic::Ordering::Relaxed);
            async move {
                tokio::time::sleep(Duration::from_micros(micros)).await;
                Ok::<_, Infallible>(Response::new(Body::empty()))
            }
        }));
    let run = |seconds: u64| {
        let service = service.clone();
        async move {
            let until = Instant::now() + Duration::from_secs(seconds);
            let clients: Vec<_> = (0..32)
                .map(|_| {
                    let service = service.clone();
                    tokio::spawn(async move {
                        while Instant::now() < until {
                            let response = service.clone().oneshot(Request::new(Body::empty()));
                            if response.await.unwrap().status() != StatusCode::OK {
                                tokio::time::sleep(Duration::from_micros(100)).await;
                            }
                        }
                    })
                })
                .collect();
            for client in clients {
                client.await.unwrap();
            }
        }
    };
    run(3).await;
    assert_eq!(pool_limit.min_rtt(), Some(Duration::from_millis(1)));
    let fast = pool_limit.limit();
    // The resource is now five times slower: every window's calls say so.
    hold.store(5_000, std::sync::atomic::Ordering::Relaxed);
    run(1).await;
    assert!(
        pool_limit.limit() < fast,
        "limit {} after slowing down, {fast} before",
        pool_limit.limit()
    );
}
