//! A stored response, and everything decided from it: freshness, stale windows, the answer.

use bytes::Bytes;
use http::header::{self, HeaderName};
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, request, response};
use http_cache_semantics::{AfterResponse, CacheOptions, CachePolicy, ResponseLike};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::CacheRule;
use crate::body::CacheBody;
use crate::directives::{self, RequestDirectives, StaleWindows};
use crate::status::CacheStatus;

/// How long an entry with a validator is kept past its stale windows, so that a later request
/// can still revalidate it with a cheap conditional request instead of a full fetch.
const REVALIDATION_GRACE: Duration = Duration::from_secs(300);

/// Headers that describe one hop, never stored (RFC 9110 7.6.1), plus `Age`, which the cache
/// recomputes on every answer.
const NOT_STORED: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::PROXY_AUTHENTICATE,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::AGE,
];

/// Headers a 304 answer carries from the stored response (RFC 9110 15.4.5).
const NOT_MODIFIED_HEADERS: [HeaderName; 6] = [
    header::CACHE_CONTROL,
    header::CONTENT_LOCATION,
    header::DATE,
    header::ETAG,
    header::EXPIRES,
    header::VARY,
];

/// One stored response.
#[derive(Debug)]
pub(crate) struct Stored {
    pub(crate) status: StatusCode,
    /// The response's headers as served, without hop-by-hop fields, `Age` and the tag header.
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    pub(crate) policy: CachePolicy,
    pub(crate) fresh_until: SystemTime,
    pub(crate) windows: StaleWindows,
    pub(crate) tags: Box<[Box<str>]>,
    /// The request headers that select this response among its variants (`Vary`).
    pub(crate) vary: Arc<[HeaderName]>,
    /// The response's age when stored (its `Age` plus time in transit), and when that was:
    /// age later is this plus the time since, without asking the policy on every hit.
    age_at_store: Duration,
    stored_at: SystemTime,
    /// How long the store keeps the entry: freshness, then the stale windows, then a grace to
    /// revalidate with a validator.
    pub(crate) keep: Duration,
}

/// The response as the policy reads it: with the route's default freshness when the response
/// gives none.
struct PolicyView<'a> {
    status: StatusCode,
    headers: &'a HeaderMap,
}

impl ResponseLike for PolicyView<'_> {
    fn status(&self) -> StatusCode {
        self.status
    }
    fn headers(&self) -> &HeaderMap {
        self.headers
    }
}

/// Why a response is not stored; each is a rule a user relies on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotStored {
    /// RFC 9111 rules (method, status, `no-store`, `private`, nothing to say it is reusable).
    Policy,
    /// `Set-Cookie`: one client's session must never reach another.
    SetCookie,
    /// `Authorization` on the request without `public` or `s-maxage` on the response.
    Authorization,
    /// `Vary: *`: no later request can be shown to match.
    VaryStar,
    /// Stale at once and nothing to revalidate it with.
    Useless,
}

/// Decides whether a response may be stored and, if so, under which policy.
pub(crate) fn admit(
    request: &request::Parts,
    response: &response::Parts,
    rule: &CacheRule,
    now: SystemTime,
) -> Result<CachePolicy, NotStored> {
    let headers = &response.headers;
    if headers.contains_key(header::SET_COOKIE) {
        return Err(NotStored::SetCookie);
    }
    if request.headers.contains_key(header::AUTHORIZATION)
        && !directives::has_directive(headers, "public")
        && !directives::has_directive(headers, "s-maxage")
    {
        return Err(NotStored::Authorization);
    }
    if vary_names(headers).is_none() {
        return Err(NotStored::VaryStar);
    }
    let with_default;
    let view_headers = match rule.default_ttl {
        Some(ttl) if !directives::has_freshness(headers) => {
            let mut copy = headers.clone();
            copy.insert(header::CACHE_CONTROL, s_maxage(ttl));
            with_default = copy;
            &with_default
        }
        _ => headers,
    };
    let view = PolicyView {
        status: response.status,
        headers: view_headers,
    };
    let policy = CachePolicy::new_options(request, &view, now, CacheOptions::default());
    if !policy.is_storable() {
        return Err(NotStored::Policy);
    }
    let has_validator =
        headers.contains_key(header::ETAG) || headers.contains_key(header::LAST_MODIFIED);
    if policy.time_to_live(now).is_zero()
        && !has_validator
        && StaleWindows::of(headers).longest().is_zero()
    {
        return Err(NotStored::Useless);
    }
    Ok(policy)
}

fn s_maxage(ttl: Duration) -> HeaderValue {
    HeaderValue::from_str(&format!("s-maxage={}", ttl.as_secs()))
        .unwrap_or_else(|_| HeaderValue::from_static("s-maxage=0"))
}

/// The header names of `Vary`, lower-cased, sorted and deduplicated; `None` for `Vary: *`.
pub(crate) fn vary_names(headers: &HeaderMap) -> Option<Arc<[HeaderName]>> {
    let mut names = Vec::new();
    for value in headers.get_all(header::VARY) {
        let Ok(text) = value.to_str() else {
            return None;
        };
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if name == "*" {
                return None;
            }
            names.push(HeaderName::from_bytes(name.as_bytes()).ok()?);
        }
    }
    names.sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
    names.dedup();
    Some(names.into())
}

impl Stored {
    /// A stored response made of `response` (its headers) and its whole `body`.
    pub(crate) fn new(
        policy: CachePolicy,
        response: &response::Parts,
        body: Bytes,
        tag_header: &HeaderName,
        now: SystemTime,
    ) -> Self {
        let mut headers = response.headers.clone();
        for name in &NOT_STORED {
            headers.remove(name);
        }
        let tags = headers
            .remove(tag_header)
            .and_then(|value| value.to_str().ok().map(parse_tags))
            .unwrap_or_default();
        Self::from_parts(response.status, headers, body, policy, tags, now)
    }

    pub(crate) fn from_parts(
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
        policy: CachePolicy,
        tags: Box<[Box<str>]>,
        now: SystemTime,
    ) -> Self {
        let fresh_for = policy.time_to_live(now);
        let age_at_store = policy.age(now);
        let windows = StaleWindows::of(&headers);
        let vary = vary_names(&headers).unwrap_or_else(|| Arc::from([]));
        let has_validator =
            headers.contains_key(header::ETAG) || headers.contains_key(header::LAST_MODIFIED);
        let grace = if has_validator {
            REVALIDATION_GRACE
        } else {
            Duration::ZERO
        };
        Self {
            status,
            headers,
            body,
            policy,
            fresh_until: now + fresh_for,
            windows,
            tags,
            vary,
            age_at_store,
            stored_at: now,
            keep: (fresh_for + windows.longest() + grace).max(Duration::from_secs(1)),
        }
    }

    /// The entry refreshed by a `304 Not Modified` from the origin, or `None` when the 304 does
    /// not match it (RFC 9111 4.3.4) and the body cannot be reused.
    pub(crate) fn revalidated(
        &self,
        request: &request::Parts,
        not_modified: &response::Parts,
        now: SystemTime,
    ) -> Option<Self> {
        match self.policy.after_response(request, not_modified, now) {
            AfterResponse::NotModified(policy, _) => {
                let mut headers = self.headers.clone();
                for (name, value) in &not_modified.headers {
                    let body_metadata = matches!(
                        *name,
                        header::CONTENT_LENGTH
                            | header::CONTENT_ENCODING
                            | header::TRANSFER_ENCODING
                            | header::CONTENT_RANGE
                    );
                    if !body_metadata && !NOT_STORED.contains(name) {
                        headers.insert(name.clone(), value.clone());
                    }
                }
                let body = self.body.clone();
                let tags = self.tags.clone();
                Some(Self::from_parts(
                    self.status,
                    headers,
                    body,
                    policy,
                    tags,
                    now,
                ))
            }
            AfterResponse::Modified(..) => None,
        }
    }

    /// The entry's age now (RFC 9111 4.2.3), as `Age` reports it.
    pub(crate) fn age(&self, now: SystemTime) -> Duration {
        self.age_at_store + now.duration_since(self.stored_at).unwrap_or_default()
    }

    pub(crate) fn is_fresh(&self, now: SystemTime) -> bool {
        now < self.fresh_until
    }

    /// How long past freshness the entry is (zero while fresh).
    pub(crate) fn staleness(&self, now: SystemTime) -> Duration {
        now.duration_since(self.fresh_until).unwrap_or_default()
    }

    /// Seconds of freshness left, negative once stale (RFC 9211 `ttl`).
    pub(crate) fn ttl_seconds(&self, now: SystemTime) -> i64 {
        match self.fresh_until.duration_since(now) {
            Ok(left) => i64::try_from(left.as_secs()).unwrap_or(i64::MAX),
            Err(past) => {
                let past = past.duration();
                let whole = past.as_secs() + u64::from(past.subsec_nanos() > 0);
                -i64::try_from(whole).unwrap_or(i64::MAX)
            }
        }
    }

    /// Whether this entry answers a request with `directives` without asking the origin
    /// (RFC 9111 4.2 and 5.2.1).
    pub(crate) fn satisfies(&self, directives: &RequestDirectives, now: SystemTime) -> bool {
        if directives.no_cache {
            return false;
        }
        if directives
            .max_age
            .is_some_and(|max_age| self.age(now) > max_age)
        {
            return false;
        }
        let left = self.fresh_until.duration_since(now).unwrap_or_default();
        if directives
            .min_fresh
            .is_some_and(|min_fresh| left < min_fresh)
        {
            return false;
        }
        if self.is_fresh(now) {
            return true;
        }
        !self.windows.forbidden
            && directives
                .max_stale
                .is_some_and(|limit| limit.is_none_or(|limit| self.staleness(now) <= limit))
    }

    /// Whether the stale entry may answer at once while it is refreshed in the background.
    pub(crate) fn serves_while_revalidating(&self, now: SystemTime) -> bool {
        !self.is_fresh(now) && self.staleness(now) < self.windows.while_revalidate
    }

    /// Whether the stale entry may answer when the origin fails.
    pub(crate) fn serves_on_error(&self, now: SystemTime) -> bool {
        self.staleness(now) < self.windows.if_error
    }

    /// `ETag` and `Last-Modified`, for a conditional request to the origin.
    pub(crate) fn validators(&self) -> impl Iterator<Item = (HeaderName, HeaderValue)> + '_ {
        let etag = self.headers.get(header::ETAG).cloned();
        let last_modified = self.headers.get(header::LAST_MODIFIED).cloned();
        etag.map(|etag| (header::IF_NONE_MATCH, etag))
            .into_iter()
            .chain(last_modified.map(|lm| (header::IF_MODIFIED_SINCE, lm)))
    }

    /// Bytes the entry holds: body, headers (twice: the policy keeps its own copy) and key.
    pub(crate) fn weight(&self, key: &str) -> u32 {
        let headers: usize = self
            .headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 32)
            .sum();
        let total = self.body.len() + 2 * headers + 2 * key.len() + 512;
        u32::try_from(total).unwrap_or(u32::MAX)
    }

    /// The stored response, for `method` (HEAD gets no body), with `Age` and `Cache-Status`.
    pub(crate) fn respond<B: http_body::Body>(
        &self,
        method: &Method,
        now: SystemTime,
        status: CacheStatus,
    ) -> Response<CacheBody<B>> {
        let body = if *method == Method::HEAD {
            Bytes::new()
        } else {
            self.body.clone()
        };
        let mut response = Response::new(CacheBody::stored(body));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.clone_from(&self.headers);
        headers.insert(header::AGE, age_value(self.age(now)));
        status.append_to(headers, self.ttl_seconds(now));
        response
    }

    /// `304 Not Modified` for a client whose validators match the entry.
    pub(crate) fn respond_not_modified<B: http_body::Body>(
        &self,
        now: SystemTime,
        status: CacheStatus,
    ) -> Response<CacheBody<B>> {
        let mut response = Response::new(CacheBody::stored(Bytes::new()));
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        let headers = response.headers_mut();
        for name in &NOT_MODIFIED_HEADERS {
            for value in self.headers.get_all(name) {
                headers.append(name.clone(), value.clone());
            }
        }
        headers.insert(header::AGE, age_value(self.age(now)));
        status.append_to(headers, self.ttl_seconds(now));
        response
    }
}

fn age_value(age: Duration) -> HeaderValue {
    HeaderValue::from(age.as_secs())
}

/// Tags from a `Cache-Tag` style header: separated by commas or spaces.
fn parse_tags(text: &str) -> Box<[Box<str>]> {
    text.split([',', ' '])
        .map(str::trim)
        .filter(|tag| !tag.is_empty())
        .map(Box::from)
        .collect()
}
