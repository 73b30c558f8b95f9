//! A stored response, and everything decided from it: freshness, stale windows, the answer.

use bytes::Bytes;
use http::header::{self, HeaderName};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, request, response};
use http_cache_semantics::{AfterResponse, CacheOptions, CachePolicy, ResponseLike};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::CacheRule;
use crate::body::CacheBody;
use crate::directives::{self, RequestDirectives, StaleWindows};
use crate::normalise;
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

/// What one header costs besides its name and value: its slot in the map's entries and index.
const HEADER_OVERHEAD: usize = 48;

/// What a response costs besides its body, headers and tags: the `Stored` itself with its
/// policy (two header maps, two parsed `Cache-Control`s) in an `Arc`, and the allocator's
/// rounding. `tests/resident.rs` holds the weighed total against the allocator's count.
const ENTRY_OVERHEAD: usize = 768;

/// Request headers that carry a client's credentials. Their values are never kept, in memory or
/// in Redis: a response that varies on one of them is not stored.
const CREDENTIALS: [HeaderName; 3] = [
    header::AUTHORIZATION,
    header::COOKIE,
    header::PROXY_AUTHORIZATION,
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
    /// `Vary` names a credential header: storing the variant would keep the credential.
    VaryOnCredentials,
    /// Stale at once and nothing to revalidate it with.
    Useless,
}

impl NotStored {
    /// The reason as `Cache-Status` says it (`detail=…`), so that a developer can see why a
    /// response they expected to be cached was not.
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Self::Policy => "not-storable",
            Self::SetCookie => "set-cookie",
            Self::Authorization => "authorization",
            Self::VaryStar => "vary-star",
            Self::VaryOnCredentials => "vary-credentials",
            Self::Useless => "stale-at-once",
        }
    }
}

/// A response the cache may store: its policy, and its headers copied out of the buffers they
/// arrived in.
#[derive(Debug)]
pub(crate) struct Admitted {
    policy: CachePolicy,
    headers: HeaderMap,
}

impl Admitted {
    /// The request headers the response varies on, as the stored entry will read them.
    pub(crate) fn vary(&self) -> Arc<[HeaderName]> {
        vary_names(&self.headers).unwrap_or_else(|| Arc::from([]))
    }

    /// The response's age now (its `Age`, plus time in transit), before it is stored.
    pub(crate) fn age(&self, now: SystemTime) -> Duration {
        self.policy.age(now)
    }

    /// Whole seconds of freshness left (RFC 9211 `ttl`), before it is stored.
    pub(crate) fn ttl_seconds(&self, now: SystemTime) -> i64 {
        i64::try_from(self.policy.time_to_live(now).as_secs()).unwrap_or(i64::MAX)
    }
}

/// Decides whether a response may be stored and, if so, under which policy.
///
/// Nothing of the request is kept: the policy is built from the method alone. Variants are
/// told apart by the entry's key (which holds the values `Vary` names), never by the policy, and
/// a client's `Cache-Control: no-store` and `Authorization` are decided here.
pub(crate) fn admit(
    request: &request::Parts,
    response: &response::Parts,
    rule: &CacheRule,
    now: SystemTime,
) -> Result<Admitted, NotStored> {
    if response.headers.contains_key(header::SET_COOKIE) {
        return Err(NotStored::SetCookie);
    }
    if directives::has_directive(&request.headers, "no-store") {
        return Err(NotStored::Policy);
    }
    let Some(vary) = vary_names(&response.headers) else {
        return Err(NotStored::VaryStar);
    };
    if vary.iter().any(|name| CREDENTIALS.contains(name)) {
        return Err(NotStored::VaryOnCredentials);
    }
    let headers = owned_copy(&response.headers);
    // What this cache obeys: a targeted field instead of `Cache-Control`, read as the standard
    // says (see `normalise`).
    let mut view_headers = normalise::for_policy(&headers);
    if request.headers.contains_key(header::AUTHORIZATION)
        && !directives::has_directive(&view_headers, "public")
        && !directives::has_directive(&view_headers, "s-maxage")
    {
        return Err(NotStored::Authorization);
    }
    if directives::has_directive(&view_headers, "must-understand")
        && UNDERSTOOD.contains(&response.status.as_u16())
    {
        // RFC 9111 5.2.2.3: `no-store` is there for caches that do not understand the status.
        let without = without_no_store(&view_headers);
        *view_headers.to_mut() = without;
    }
    if let Some(ttl) = rule.default_ttl
        && !directives::has_freshness(&view_headers)
    {
        view_headers
            .to_mut()
            .insert(header::CACHE_CONTROL, s_maxage(ttl));
    }
    let windows = StaleWindows::of(&view_headers);
    let view = PolicyView {
        status: policy_status(response.status, &view_headers),
        headers: &view_headers,
    };
    let policy = CachePolicy::new_options(
        &policy_request(&request.method),
        &view,
        now,
        CacheOptions::default(),
    );
    if !policy.is_storable() {
        return Err(NotStored::Policy);
    }
    let has_validator =
        headers.contains_key(header::ETAG) || headers.contains_key(header::LAST_MODIFIED);
    if policy.time_to_live(now).is_zero() && !has_validator && windows.longest().is_zero() {
        return Err(NotStored::Useless);
    }
    Ok(Admitted { policy, headers })
}

/// The statuses http-cache-semantics knows the semantics of.
const UNDERSTOOD: [u16; 14] = [
    200, 203, 204, 300, 301, 302, 303, 307, 308, 404, 405, 410, 414, 501,
];

/// `headers` with `no-store` taken out of `Cache-Control`.
fn without_no_store(headers: &HeaderMap) -> HeaderMap {
    let mut view = headers.clone();
    view.remove(header::CACHE_CONTROL);
    for value in headers.get_all(header::CACHE_CONTROL) {
        let Ok(text) = value.to_str() else {
            view.append(header::CACHE_CONTROL, value.clone());
            continue;
        };
        let kept: Vec<&str> = directives::split(text)
            .filter(|directive| !directive.eq_ignore_ascii_case("no-store"))
            .collect();
        if let Ok(kept) = HeaderValue::from_str(&kept.join(", ")) {
            view.append(header::CACHE_CONTROL, kept);
        }
    }
    view
}

/// The status the policy should judge. http-cache-semantics stores only the statuses it
/// "understands" (200, 301, 404, ...), but RFC 9111 3 lets a cache store any final status
/// whose response gives its freshness explicitly (`max-age`, `s-maxage`, `Expires`) or says
/// `public` (which also allows heuristic freshness, RFC 9111 4.2.2): a `500` with `max-age=60`
/// is reused for a minute (cache-tests.fyi `status-*-fresh`, `heuristic-599-cached`). Such a
/// response is judged as a `200`; it keeps its own status. Otherwise, or for `206` (ranges are
/// not stored) and `304`, the status stands.
fn policy_status(status: StatusCode, headers: &HeaderMap) -> StatusCode {
    let final_status = (200..600).contains(&status.as_u16());
    let stands = UNDERSTOOD.contains(&status.as_u16())
        || !final_status
        || status == StatusCode::PARTIAL_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    let cacheable = headers.contains_key(header::EXPIRES)
        || ["max-age", "s-maxage", "public"]
            .iter()
            .any(|directive| directives::has_directive(headers, directive));
    if stands || !cacheable {
        status
    } else {
        StatusCode::OK
    }
}

/// The request as the policy sees it: the method, nothing the client wrote.
fn policy_request(method: &Method) -> request::Parts {
    let mut parts = Request::new(()).into_parts().0;
    parts.method = method.clone();
    parts
}

/// `headers` with every value copied into an allocation of its own size. A value parsed by hyper
/// is a slice of the connection's read buffer: keeping it would keep the whole buffer, which
/// holds everything else the peer sent in the same head (a 64 KB junk header included).
fn owned_copy(headers: &HeaderMap) -> HeaderMap {
    let mut copy = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        // Cannot fail: the bytes come from a valid value.
        if let Ok(mut owned) = HeaderValue::from_bytes(value.as_bytes()) {
            owned.set_sensitive(value.is_sensitive());
            copy.append(name.clone(), owned);
        }
    }
    copy
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
    /// A stored response made of an admitted response and its whole `body`.
    pub(crate) fn new(
        admitted: Admitted,
        status: StatusCode,
        body: Bytes,
        tag_header: &HeaderName,
        now: SystemTime,
    ) -> Self {
        let Admitted {
            policy,
            mut headers,
        } = admitted;
        // Fields the origin named in `Connection` are for this hop only (RFC 9110 7.6.1).
        let listed: Vec<HeaderName> = headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|list| list.split(','))
            .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
            .collect();
        // Fields a qualified `no-cache` or `private` lists are not kept (RFC 9111 5.2.2.4).
        let withheld = normalise::withheld_fields(&headers);
        for name in listed.iter().chain(&withheld).chain(&NOT_STORED) {
            headers.remove(name);
        }
        let tags = headers
            .remove(tag_header)
            .and_then(|value| value.to_str().ok().map(parse_tags))
            .unwrap_or_default();
        Self::from_parts(status, headers, body, policy, tags, now)
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
        let windows = StaleWindows::of(&normalise::for_policy(&headers));
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
        method: &Method,
        not_modified: &response::Parts,
        now: SystemTime,
    ) -> Option<Self> {
        let mut headers = owned_copy(&not_modified.headers);
        if !headers.contains_key(header::ETAG) && !headers.contains_key(header::LAST_MODIFIED) {
            // A 304 without validators answers the conditional request the cache made about
            // this entry, and so selects it (RFC 9111 4.3.3); the policy would not match it.
            for name in [header::ETAG, header::LAST_MODIFIED] {
                if let Some(value) = self.headers.get(&name) {
                    headers.insert(name, value.clone());
                }
            }
        }
        let not_modified = PolicyView {
            status: not_modified.status,
            headers: &normalise::for_policy(&headers),
        };
        match self
            .policy
            .after_response(&policy_request(method), &not_modified, now)
        {
            AfterResponse::NotModified(policy, _) => {
                let mut headers = self.headers.clone();
                for (name, value) in not_modified.headers {
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
                -i64::try_from(rampart_core::whole_seconds_up(past.duration())).unwrap_or(i64::MAX)
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

    /// Bytes the response holds, counted on everything it keeps: the body; the headers twice
    /// (the policy keeps its own map of them and its parsed `Cache-Control`); tags; `Vary`
    /// names; and [`ENTRY_OVERHEAD`] for the structures around them. Every counted byte is the
    /// entry's alone: nothing it keeps is a slice of a larger buffer (see [`owned_copy`] and the
    /// body's copy). The store adds what its slot and key cost.
    pub(crate) fn weight(&self) -> usize {
        let headers: usize = self
            .headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + HEADER_OVERHEAD)
            .sum();
        let tags: usize = self.tags.iter().map(|tag| tag.len() + 16).sum();
        let vary: usize = self.vary.iter().map(|name| name.as_str().len() + 24).sum();
        self.body.len() + 2 * headers + tags + vary + ENTRY_OVERHEAD
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
        if *method == Method::HEAD {
            // RFC 9110 §9.3.2: the length a GET would be sent with; the empty body would
            // otherwise make the server say 0.
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(self.body.len()));
        }
        headers.insert(header::AGE, age_value(self.age(now)));
        status.append_to(headers, self.ttl_seconds(now));
        response
    }

    /// `206 Partial Content`: the `bytes` of the stored body a client asked for.
    pub(crate) fn respond_range<B: http_body::Body>(
        &self,
        bytes: std::ops::Range<usize>,
        now: SystemTime,
        status: CacheStatus,
    ) -> Response<CacheBody<B>> {
        let content_range = format!(
            "bytes {}-{}/{}",
            bytes.start,
            bytes.end - 1,
            self.body.len()
        );
        let mut response = self.respond(&Method::GET, now, status);
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
        *response.body_mut() = CacheBody::stored(self.body.slice(bytes.clone()));
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
        if let Ok(value) = HeaderValue::from_str(&content_range) {
            headers.insert(header::CONTENT_RANGE, value);
        }
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

pub(crate) fn age_value(age: Duration) -> HeaderValue {
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

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: SystemTime = SystemTime::UNIX_EPOCH;

    fn request(headers: &[(&str, &str)]) -> request::Parts {
        let mut builder = Request::get("/items/5?page=2").header("host", "shop.test");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).expect("valid request").into_parts().0
    }

    fn response(headers: &[(&str, &str)]) -> response::Parts {
        let mut builder = Response::builder().header("cache-control", "public, max-age=60");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).expect("valid response").into_parts().0
    }

    fn stored(request: &request::Parts, response: &response::Parts) -> Stored {
        let admitted = admit(request, response, &CacheRule::new(), NOW).expect("storable");
        let tag = HeaderName::from_static("cache-tag");
        Stored::new(
            admitted,
            response.status,
            Bytes::from_static(b"{}"),
            &tag,
            NOW,
        )
    }

    #[test]
    fn an_entry_keeps_nothing_the_client_sent() {
        let request = request(&[
            ("authorization", "Bearer token-8c1f"),
            ("cookie", "session=cookie-77aa"),
            ("proxy-authorization", "Basic proxy-41d2"),
            ("accept-language", "fr"),
            ("x-junk", "junk-09be"),
        ]);
        let entry = stored(&request, &response(&[("vary", "accept-language")]));
        let everything = format!("{entry:?}");
        for secret in [
            "token-8c1f",
            "cookie-77aa",
            "proxy-41d2",
            "junk-09be",
            "page=2",
        ] {
            assert!(!everything.contains(secret), "{secret} kept: {everything}");
        }
    }

    #[test]
    fn a_response_that_varies_on_credentials_is_not_stored() {
        for vary in ["cookie", "Authorization", "accept, proxy-authorization"] {
            let outcome = admit(
                &request(&[("cookie", "session=1"), ("authorization", "Bearer 2")]),
                &response(&[("vary", vary)]),
                &CacheRule::new(),
                NOW,
            );
            assert_eq!(
                outcome.map(drop),
                Err(NotStored::VaryOnCredentials),
                "vary: {vary}"
            );
        }
    }

    #[test]
    fn a_request_with_no_store_is_not_stored() {
        let outcome = admit(
            &request(&[("cache-control", "no-store")]),
            &response(&[]),
            &CacheRule::new(),
            NOW,
        );
        assert_eq!(outcome.map(drop), Err(NotStored::Policy));
    }

    #[test]
    fn stored_headers_are_copies_not_slices_of_the_buffer_they_came_in() {
        let buffer = Bytes::from(format!("public, max-age=60{}", "x".repeat(65_536)));
        let mut response = response(&[]);
        let cache_control = HeaderValue::from_maybe_shared(buffer.slice(..18)).expect("valid");
        response
            .headers
            .insert(header::CACHE_CONTROL, cache_control);
        let entry = stored(&request(&[]), &response);
        let within = buffer.as_ptr_range();
        let value = &entry.headers[header::CACHE_CONTROL];
        assert_eq!(value, "public, max-age=60");
        assert!(!within.contains(&value.as_bytes().as_ptr()));
    }

    #[test]
    fn fields_named_in_connection_are_not_stored() {
        let entry = stored(
            &request(&[]),
            &response(&[
                ("connection", "x-hop, X-Other"),
                ("x-hop", "1"),
                ("x-other", "2"),
                ("x-kept", "3"),
            ]),
        );
        assert!(!entry.headers.contains_key("x-hop"));
        assert!(!entry.headers.contains_key("x-other"));
        assert!(!entry.headers.contains_key("connection"));
        assert_eq!(entry.headers["x-kept"], "3");
    }

    /// `no-cache="a"` used to make the whole response uncacheable (it has no validator):
    /// RFC 9111 5.2.2.4 withholds the listed field only.
    #[test]
    fn fields_a_qualified_no_cache_or_private_lists_are_stored_without_them() {
        let entry = stored(
            &request(&[]),
            &response(&[
                ("cache-control", r#"no-cache="x-secret, x-user""#),
                ("cache-control", r#"private="x-private""#),
                ("x-secret", "1"),
                ("x-user", "2"),
                ("x-private", "3"),
                ("x-kept", "4"),
            ]),
        );
        for withheld in ["x-secret", "x-user", "x-private"] {
            assert!(!entry.headers.contains_key(withheld), "{withheld}");
        }
        assert_eq!(entry.headers["x-kept"], "4");
        assert!(entry.is_fresh(NOW));
    }

    #[test]
    fn must_understand_overrides_no_store_for_a_status_understood() {
        let mut parts = response(&[]);
        parts.headers.insert(
            "cache-control",
            HeaderValue::from_static("max-age=3600, no-store, must-understand"),
        );
        assert!(stored(&request(&[]), &parts).is_fresh(NOW));
        parts.status = StatusCode::from_u16(599).expect("a status");
        assert!(admit(&request(&[]), &parts, &CacheRule::new(), NOW).is_err());
    }

    #[test]
    fn any_final_status_with_explicit_freshness_is_stored() {
        for code in [299, 400, 500, 503, 599] {
            let mut parts = response(&[]);
            parts.status = StatusCode::from_u16(code).expect("a status");
            let entry = stored(&request(&[]), &parts);
            assert_eq!(entry.status.as_u16(), code);
            assert!(entry.is_fresh(NOW), "{code}");
        }
        let mut heuristic = Response::builder()
            .status(500)
            .header("last-modified", "Thu, 01 Jan 1970 00:00:00 GMT")
            .header("date", "Sun, 11 Jan 1970 00:00:00 GMT")
            .body(())
            .expect("valid")
            .into_parts()
            .0;
        assert!(admit(&request(&[]), &heuristic, &CacheRule::new(), NOW).is_err());
        heuristic
            .headers
            .insert("cache-control", HeaderValue::from_static("public"));
        assert!(
            stored(&request(&[]), &heuristic).is_fresh(NOW),
            "public allows heuristics"
        );
        heuristic.status = StatusCode::PARTIAL_CONTENT;
        heuristic
            .headers
            .insert("cache-control", HeaderValue::from_static("max-age=60"));
        assert!(admit(&request(&[]), &heuristic, &CacheRule::new(), NOW).is_err());
    }

    #[test]
    fn weight_counts_headers_and_tags() {
        let small = stored(&request(&[]), &response(&[]));
        let large = stored(
            &request(&[]),
            &response(&[("cache-tag", "a b c"), ("x-long", &"y".repeat(1000))]),
        );
        assert!(large.weight() >= small.weight() + 2 * 1000 + 3);
    }
}
