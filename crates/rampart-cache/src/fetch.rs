//! Everything that is not a fresh local hit: stale entries, misses, coalescing, revalidation,
//! storing, the shared tier. One boxed future per such request; hits never come here.

use bytes::{Bytes, BytesMut};
use http::header::{AGE, CONTENT_LENGTH, IF_MODIFIED_SINCE, IF_NONE_MATCH};
use http::{HeaderMap, Method, Request, Response, StatusCode, request, response};
use http_body::{Body, Frame};
use rampart_core::deadline::Deadline;
use rampart_core::{Problem, codes};
use std::collections::VecDeque;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use tokio::time::{Instant, sleep_until, timeout_at};
use tower_service::Service;

use crate::OnlyIfCachedMiss;
use crate::body::CacheBody;
use crate::conditional::not_modified;
use crate::directives::RequestDirectives;
use crate::entry::{Admitted, Stored, admit, age_value};
use crate::flight::{FlightGuard, Landing, Role, landed};
use crate::key::{encoding_flight_key, variant_key};
use crate::layer::Shared;
use crate::range;
use crate::status::{CacheStatus, Forward};
use crate::store::{Lookup, Placement};
use crate::storing::{Pending, store};
use crate::{CacheRule, Purge};

/// What every step of a request's way through the cache needs.
pub(crate) struct Ctx {
    pub(crate) shared: Arc<Shared>,
    pub(crate) rule: CacheRule,
    pub(crate) resource: String,
    pub(crate) directives: RequestDirectives,
}

/// The answer of a stored entry to a client: `304` when the client's validators match, `206`
/// when it asks for one byte range of a stored `200`.
pub(crate) fn answer<B: Body>(
    entry: &Stored,
    method: &Method,
    headers: &HeaderMap,
    now: std::time::SystemTime,
    status: CacheStatus,
) -> Response<CacheBody<B>> {
    if not_modified(headers, entry.status, &entry.headers) {
        return entry.respond_not_modified(now, status);
    }
    if *method == Method::GET
        && entry.status == StatusCode::OK
        && let Some(bytes) = range::requested(headers, &entry.headers, entry.body.len())
    {
        return entry.respond_range(bytes, now, status);
    }
    entry.respond(method, now, status)
}

/// [`answer`] for the client whose request parts are at hand.
fn answer_client<B: Body>(
    entry: &Stored,
    client: &request::Parts,
    now: std::time::SystemTime,
    status: CacheStatus,
) -> Response<CacheBody<B>> {
    answer(entry, &client.method, &client.headers, now, status)
}

/// A GET or HEAD the local tier could not answer from a fresh entry.
pub(crate) async fn lookup_miss<S, ReqBody, ResBody>(
    ctx: Ctx,
    inner: S,
    request: Request<ReqBody>,
    lookup: Lookup,
) -> Result<Response<CacheBody<ResBody>>, S::Error>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Send,
    ReqBody: Default + Send + 'static,
    ResBody: Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Send,
{
    let shared = Arc::clone(&ctx.shared);
    let (parts, body) = request.into_parts();
    let now = shared.clock.now();
    let (mut stale, forward, mut flight_key) = match lookup {
        Lookup::Found(entry) => {
            if !ctx.directives.no_cache
                && !ctx.directives.only_if_cached
                && entry.serves_while_revalidating(now)
            {
                refresh_in_background(&ctx, inner, &parts, Arc::clone(&entry));
                shared.telemetry.stale.increment(1);
                return Ok(answer_client(&entry, &parts, now, CacheStatus::HIT));
            }
            let forward = if entry.is_fresh(now) {
                Forward::Request
            } else {
                Forward::Stale
            };
            let flight_key = variant_key(&ctx.resource, &entry.vary, &parts.headers);
            (Some(entry), forward, flight_key)
        }
        Lookup::UriMiss => (
            None,
            Forward::UriMiss,
            encoding_flight_key(&ctx.resource, &parts.headers),
        ),
        Lookup::VaryMiss(vary) => (
            None,
            Forward::VaryMiss,
            variant_key(&ctx.resource, &vary, &parts.headers),
        ),
    };
    if ctx.directives.only_if_cached {
        // RFC 9111 5.2.1.7: nothing stored satisfies the request, and it forbids asking.
        let mut response = problem(
            Problem::new(StatusCode::GATEWAY_TIMEOUT, codes::CACHE_ONLY_IF_CACHED)
                .with_detail(OnlyIfCachedMiss.to_string()),
        );
        response.extensions_mut().insert(OnlyIfCachedMiss);
        return Ok(response);
    }
    if parts.method == Method::HEAD || ctx.directives.no_cache {
        // Nothing to share with others: HEAD answers are not stored, and a client asking for
        // no-cache must reach the origin itself.
        return lead(&ctx, inner, Miss::new(parts, stale, forward, None), body).await;
    }
    let give_up_waiting = Instant::now() + shared.settings.coalesce_wait;
    loop {
        let waiting = match shared.flights.join(&flight_key) {
            Role::Leader(guard) => {
                let miss = Miss::new(parts, stale, forward, Some(guard));
                return lead(&ctx, inner, miss, body).await;
            }
            Role::Follower(waiting) => waiting,
        };
        match timeout_at(give_up_waiting, landed(waiting)).await {
            Ok(Landing::Abandoned) => {}
            Ok(Landing::Stored) => {
                let now = shared.clock.now();
                match shared.store.lookup(&ctx.resource, &parts.headers) {
                    // Fresh from the origin a moment ago, fetched on behalf of this request too.
                    Lookup::Found(entry) => {
                        shared.telemetry.hit.increment(1);
                        return Ok(answer_client(&entry, &parts, now, CacheStatus::HIT));
                    }
                    // Stored under another variant: this one has a flight of its own.
                    Lookup::VaryMiss(vary) => {
                        flight_key = variant_key(&ctx.resource, &vary, &parts.headers);
                    }
                    Lookup::UriMiss => {}
                }
            }
            // Not storable, or the leader is too slow: go on alone rather than wait longer.
            Ok(Landing::NotStored) | Err(_) => break,
        }
        stale = stale.filter(|entry| entry.serves_on_error(shared.clock.now()));
    }
    lead(&ctx, inner, Miss::new(parts, stale, forward, None), body).await
}

/// A request the origin must answer (the shared tier first), and what the cache knows of it.
struct Miss {
    client: request::Parts,
    /// The stored entry it may revalidate, or answer with when the origin fails.
    stale: Option<Arc<Stored>>,
    forward: Forward,
    /// Set when the request leads a flight other requests for the key wait on.
    guard: Option<FlightGuard>,
}

impl Miss {
    const fn new(
        client: request::Parts,
        stale: Option<Arc<Stored>>,
        forward: Forward,
        guard: Option<FlightGuard>,
    ) -> Self {
        Self {
            client,
            stale,
            forward,
            guard,
        }
    }

    /// Tells the requests waiting on this one's flight how it ended.
    fn land(&self, landing: Landing) {
        if let Some(guard) = &self.guard {
            guard.land(landing);
        }
    }
}

/// A fresh entry in the shared tier, copied into the local one, answers a plain miss.
async fn from_shared_tier<B: Body>(ctx: &Ctx, miss: &Miss) -> Option<Response<CacheBody<B>>> {
    let shared = &ctx.shared;
    if miss.stale.is_some() || miss.client.method != Method::GET {
        return None;
    }
    let tier = shared.tier.as_ref()?;
    let (entry, found) = tier
        .fetch(&ctx.resource, &miss.client.headers, shared)
        .await?;
    let now = shared.clock.now();
    if !entry.satisfies(&ctx.directives, now) {
        return None;
    }
    for (key, slot) in found {
        shared.store.insert_slot(key, slot);
    }
    miss.land(Landing::Stored);
    shared.telemetry.hit.increment(1);
    let status = CacheStatus {
        detail: Some("shared"),
        ..CacheStatus::HIT
    };
    Some(answer_client(&entry, &miss.client, now, status))
}

/// Asks the origin (the shared tier first), stores what may be stored, answers the client.
async fn lead<S, ReqBody, ResBody>(
    ctx: &Ctx,
    inner: S,
    miss: Miss,
    body: ReqBody,
) -> Result<Response<CacheBody<ResBody>>, S::Error>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send,
    ReqBody: Default,
    ResBody: Body<Data = Bytes> + Send,
{
    if let Some(hit) = from_shared_tier(ctx, &miss).await {
        return Ok(hit);
    }
    match ask_origin(ctx, inner, &miss, body).await? {
        Asked::Answered(response) => Ok(response),
        Asked::Response(response) => Ok(pass_on(ctx, miss, *response).await),
    }
}

/// What the origin's answer to a miss came to.
enum Asked<B: Body> {
    /// The client's answer, made from the stale entry: revalidated by a `304`, or served
    /// instead of an error, a 5xx or the deadline.
    Answered(Response<CacheBody<B>>),
    /// A response to pass on, and store if it may be.
    Response(Box<Origin<B>>),
}

/// The origin's response to a miss, with the request it answers.
struct Origin<B> {
    /// The request as the origin was asked (the client's conditions taken out).
    upstream: request::Parts,
    parts: response::Parts,
    body: B,
    status: CacheStatus,
}

/// Asks the origin about a miss: the whole response, or, with a stale entry, whether that
/// entry is still good (again for the whole response when the `304` is about another version).
/// With a stale entry allowed on error, answers with it instead of an error, a 5xx or the
/// deadline.
async fn ask_origin<S, ReqBody, ResBody>(
    ctx: &Ctx,
    inner: S,
    miss: &Miss,
    body: ReqBody,
) -> Result<Asked<ResBody>, S::Error>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send,
    ReqBody: Default,
    ResBody: Body<Data = Bytes> + Send,
{
    let shared = &ctx.shared;
    let (client, stale, forward) = (&miss.client, &miss.stale, miss.forward);
    // With a stale entry the origin is asked a conditional question, and may have to be asked
    // again for the whole response.
    let again = stale.as_ref().map(|_| inner.clone());

    let mut upstream = client.clone();
    // The cache answers the client's own conditions from what it stores; the origin is asked
    // for the full response (or, with a stale entry, about that entry).
    upstream.headers.remove(IF_NONE_MATCH);
    upstream.headers.remove(IF_MODIFIED_SINCE);
    if let Some(entry) = stale {
        for (name, value) in entry.validators() {
            upstream.headers.insert(name, value);
        }
    }
    let deadline = client.extensions.get::<Deadline>().map(Deadline::at);
    let fallback = stale
        .as_ref()
        .filter(|entry| entry.serves_on_error(shared.clock.now()));
    let request = Request::from_parts(upstream.clone(), body);
    let outcome = match (fallback, deadline) {
        // The timeout layer above answers 504 at the deadline; with a stale entry allowed on
        // error, this answer comes first.
        (Some(entry), Some(deadline)) => tokio::select! {
            biased;
            result = call(inner, request) => Ok(result),
            () = sleep_until(deadline) => Err(entry),
        },
        _ => Ok(call(inner, request).await),
    };
    let now = shared.clock.now();
    let mut status = CacheStatus::forwarded(forward);
    let response = match outcome {
        Ok(Ok(response)) => response,
        Ok(Err(error)) => match fallback {
            Some(entry) => {
                return Ok(Asked::Answered(serve_stale(
                    shared, entry, client, status, None,
                )));
            }
            None => return Err(error),
        },
        Err(entry) => {
            let timed_out = Some(StatusCode::GATEWAY_TIMEOUT.as_u16());
            return Ok(Asked::Answered(serve_stale(
                shared, entry, client, status, timed_out,
            )));
        }
    };
    let (mut parts, mut body) = response.into_parts();
    status.forward_status = Some(parts.status.as_u16());

    if let Some(entry) = stale {
        if parts.status == StatusCode::NOT_MODIFIED {
            if let Some(refreshed) = entry.revalidated(&upstream.method, &parts, now) {
                let refreshed = Arc::new(refreshed);
                let placement = Placement::new(
                    &ctx.resource,
                    Arc::clone(&refreshed.vary),
                    &upstream.headers,
                );
                store(shared, &placement, Arc::clone(&refreshed));
                miss.land(Landing::Stored);
                shared.telemetry.revalidated.increment(1);
                return Ok(Asked::Answered(answer_client(
                    &refreshed, client, now, status,
                )));
            }
            // A 304 about another version than the one stored selects nothing, and the client,
            // who asked for nothing conditional, must not see it: ask for the whole response.
            if let Some(again) = again {
                upstream.headers.remove(IF_NONE_MATCH);
                upstream.headers.remove(IF_MODIFIED_SINCE);
                let request = Request::from_parts(upstream.clone(), ReqBody::default());
                (parts, body) = call(again, request).await?.into_parts();
                status.forward_status = Some(parts.status.as_u16());
            }
        }
        if parts.status.is_server_error()
            && let Some(entry) = fallback
        {
            let failed = Some(parts.status.as_u16());
            return Ok(Asked::Answered(serve_stale(
                shared, entry, client, status, failed,
            )));
        }
    }
    Ok(Asked::Response(Box::new(Origin {
        upstream,
        parts,
        body,
        status,
    })))
}

/// Passes the origin's response to a miss on to the client, storing it on the way when it may
/// be stored.
async fn pass_on<ResBody>(
    ctx: &Ctx,
    miss: Miss,
    origin: Origin<ResBody>,
) -> Response<CacheBody<ResBody>>
where
    ResBody: Body<Data = Bytes> + Send,
{
    let Origin {
        upstream,
        parts,
        body,
        mut status,
    } = origin;
    let shared = &ctx.shared;
    let client = &miss.client;
    let now = shared.clock.now();
    status.forward_status = None;
    shared.telemetry.miss.increment(1);
    let passthrough = |body: CacheBody<ResBody>, status: CacheStatus| {
        let mut response = Response::from_parts(parts.clone(), body);
        response.headers_mut().remove(&shared.settings.tag_header);
        status.append(response.headers_mut(), None);
        response
    };
    if client.method != Method::GET {
        return passthrough(CacheBody::inner(body), status);
    }
    let admitted = match admit(&upstream, &parts, &ctx.rule, now) {
        Ok(admitted) => admitted,
        Err(reason) => {
            miss.land(Landing::NotStored);
            status.detail = Some(reason.as_str());
            return passthrough(CacheBody::inner(body), status);
        }
    };
    let limit = shared.settings.max_entry_bytes;
    let length = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .or_else(|| body.size_hint().exact());
    if length.is_some_and(|length| length > limit as u64) {
        // Too big to store: streams through untouched, never copied.
        miss.land(Landing::NotStored);
        status.detail = Some("too-large");
        return passthrough(CacheBody::inner(body), status);
    }
    let placement = Placement::new(&ctx.resource, admitted.vary(), &upstream.headers);
    if not_modified(&client.headers, parts.status, &parts.headers) {
        // The client already holds this response: it gets a 304 once the body is stored.
        return read_then_answer(ctx, &miss, parts, body, admitted, placement, status).await;
    }
    // Headers go out now and the body streams to the client, copied on its way. `stored` says
    // the response was admitted and is being stored: only a body that then outgrows the limit,
    // carries trailers or fails is not (compressed bodies, the usual case, have no length yet).
    status.stored = true;
    let ttl = admitted.ttl_seconds(now);
    let age = age_value(admitted.age(now));
    let length = length.and_then(|length| usize::try_from(length).ok());
    let pending = Pending::new(
        Arc::clone(shared),
        placement,
        admitted,
        parts.status,
        now,
        miss.guard,
        length,
    );
    let mut response = Response::from_parts(parts, CacheBody::storing(body, pending));
    let headers = response.headers_mut();
    headers.remove(&shared.settings.tag_header);
    headers.insert(AGE, age);
    status.append_to(headers, ttl);
    response
}

/// A miss whose client gets a `304`: the body is read (within the entry limit) and stored
/// first; one that cannot be stored goes to the client whole, as a `200`.
async fn read_then_answer<B>(
    ctx: &Ctx,
    miss: &Miss,
    parts: response::Parts,
    body: B,
    admitted: Admitted,
    placement: Placement,
    mut status: CacheStatus,
) -> Response<CacheBody<B>>
where
    B: Body<Data = Bytes>,
{
    let shared = &ctx.shared;
    let now = shared.clock.now();
    match read_body(body, shared.settings.max_entry_bytes).await {
        ReadBody::Complete(bytes) => {
            let tag_header = &shared.settings.tag_header;
            let entry = Arc::new(Stored::new(admitted, parts.status, bytes, tag_header, now));
            store(shared, &placement, Arc::clone(&entry));
            miss.land(Landing::Stored);
            status.stored = true;
            answer_client(&entry, &miss.client, now, status)
        }
        ReadBody::Partial {
            frames,
            rest,
            error,
        } => {
            miss.land(Landing::NotStored);
            let mut response =
                Response::from_parts(parts, CacheBody::read_ahead(frames, rest, error));
            response.headers_mut().remove(&shared.settings.tag_header);
            status.append(response.headers_mut(), None);
            response
        }
    }
}

fn serve_stale<B: Body>(
    shared: &Shared,
    entry: &Stored,
    client: &request::Parts,
    mut status: CacheStatus,
    forward_status: Option<u16>,
) -> Response<CacheBody<B>> {
    shared.telemetry.stale.increment(1);
    status.forward_status = forward_status;
    answer_client(entry, client, shared.clock.now(), status)
}

/// Refreshes a stale entry off the request path; at most one refresh per key at a time.
fn refresh_in_background<S, ReqBody, ResBody>(
    ctx: &Ctx,
    inner: S,
    client: &request::Parts,
    entry: Arc<Stored>,
) where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Send,
    ReqBody: Default + Send + 'static,
    ResBody: Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Send,
{
    let flight_key = variant_key(&ctx.resource, &entry.vary, &client.headers);
    let Some(guard) = ctx.shared.flights.lead(&flight_key) else {
        return;
    };
    let refresh = Ctx {
        shared: Arc::clone(&ctx.shared),
        rule: ctx.rule.clone(),
        resource: ctx.resource.clone(),
        directives: RequestDirectives::default(),
    };
    let mut client = client.clone();
    // The refresh has no client waiting for it: no deadline to race, no conditions to answer.
    client.extensions.remove::<Deadline>();
    client.headers.remove(IF_NONE_MATCH);
    client.headers.remove(IF_MODIFIED_SINCE);
    tokio::spawn(async move {
        let miss = Miss::new(client, Some(entry), Forward::Stale, Some(guard));
        let result = lead(&refresh, inner, miss, ReqBody::default()).await;
        match result {
            // A body stores itself as it is read: read it to the end, with no one to send it to.
            Ok(response) => {
                let mut body = std::pin::pin!(response.into_body());
                while let Some(Ok(_)) = poll_fn(|cx| body.as_mut().poll_frame(cx)).await {}
            }
            Err(_) => tracing::debug!(key = %refresh.resource, "background refresh failed"),
        }
    });
}

/// Readies `inner`, then calls it (a clone taken for a background refresh may not be ready).
async fn call<S, Req>(mut inner: S, request: Req) -> Result<S::Response, S::Error>
where
    S: Service<Req>,
{
    poll_fn(|cx| inner.poll_ready(cx)).await?;
    inner.call(request).await
}

/// A body read up to a limit.
enum ReadBody<B: Body> {
    /// The whole body, within the limit and without trailers.
    Complete(Bytes),
    /// What was read, and the rest (over the limit, or trailers), or the error that ended it.
    Partial {
        frames: VecDeque<Frame<Bytes>>,
        rest: Option<Pin<Box<B>>>,
        error: Option<B::Error>,
    },
}

async fn read_body<B>(body: B, limit: usize) -> ReadBody<B>
where
    B: Body<Data = Bytes>,
{
    let mut body = Box::pin(body);
    let mut frames = VecDeque::new();
    let mut read = 0usize;
    loop {
        match poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
            None => return ReadBody::Complete(concat(frames)),
            Some(Err(error)) => {
                return ReadBody::Partial {
                    frames,
                    rest: None,
                    error: Some(error),
                };
            }
            Some(Ok(frame)) => {
                let trailers = frame.is_trailers();
                read += frame.data_ref().map_or(0, Bytes::len);
                frames.push_back(frame);
                if trailers || read > limit {
                    return ReadBody::Partial {
                        frames,
                        rest: Some(body),
                        error: None,
                    };
                }
            }
        }
    }
}

/// All data frames in one allocation of exactly their size. A single frame is copied too: it
/// may be a slice of a larger buffer (a client connection's read buffer, an encoder's output)
/// that the entry would keep whole while weighing only the slice.
fn concat(frames: VecDeque<Frame<Bytes>>) -> Bytes {
    let length = frames
        .iter()
        .filter_map(Frame::data_ref)
        .map(Bytes::len)
        .sum();
    let mut joined = BytesMut::with_capacity(length);
    for frame in frames {
        if let Ok(data) = frame.into_data() {
            joined.extend_from_slice(&data);
        }
    }
    joined.freeze()
}

/// A problem document as a cache response.
pub(crate) fn problem<B: Body>(problem: Problem) -> Response<CacheBody<B>> {
    let json = problem.to_json();
    let (parts, _) = problem.into_http_response::<B>().into_parts();
    Response::from_parts(parts, CacheBody::stored(json))
}

/// A request with a method other than GET and HEAD: forwarded. When the method changes state
/// and succeeds, the stored responses for its URI are invalidated (RFC 9111 4.4), here and,
/// with a shared tier, on every instance.
pub(crate) async fn other_method<S, ReqBody, ResBody>(
    shared: Arc<Shared>,
    mut inner: S,
    request: Request<ReqBody>,
    resource: String,
) -> Result<Response<CacheBody<ResBody>>, S::Error>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Body,
{
    let target = request.uri().path_and_query().map_or_else(
        || request.uri().path().to_owned(),
        |pq| pq.as_str().to_owned(),
    );
    shared.telemetry.bypass.increment(1);
    let method = request.method().clone();
    let response = inner.call(request).await?;
    let status = response.status();
    if !method.is_safe() && (status.is_success() || status.is_redirection()) {
        shared.store.invalidate_resource(&resource);
        if shared.tier.is_some()
            && let Err(error) = shared.start_purge(Purge::Key(target)).await
        {
            tracing::warn!(%error, "invalidation after an unsafe request stayed local");
        }
    }
    let mut response = response.map(CacheBody::inner);
    response.headers_mut().remove(&shared.settings.tag_header);
    CacheStatus::forwarded(Forward::Bypass).append(response.headers_mut(), None);
    Ok(response)
}
