//! The `Cache-Status` field (RFC 9211) this cache adds to every response it touches.

use http::{HeaderMap, HeaderName, HeaderValue};
use std::fmt::Write;

/// `Cache-Status`.
pub const CACHE_STATUS: HeaderName = HeaderName::from_static("cache-status");

/// The cache's name in `Cache-Status`.
const NAME: &str = "rampart";

/// Why the cache went to the origin (RFC 9211 2.2 `fwd`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Forward {
    /// Nothing stored for the resource.
    UriMiss,
    /// The resource is stored, but not the variant this request selects.
    VaryMiss,
    /// The stored response was stale.
    Stale,
    /// The request asked for it (`no-cache`, `max-age=0`, ...).
    Request,
    /// The request is not one the cache handles (method, route).
    Bypass,
}

impl Forward {
    const fn as_str(self) -> &'static str {
        match self {
            Self::UriMiss => "uri-miss",
            Self::VaryMiss => "vary-miss",
            Self::Stale => "stale",
            Self::Request => "request",
            Self::Bypass => "bypass",
        }
    }
}

/// One cache's member of `Cache-Status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CacheStatus {
    /// `None`: a hit, the origin was not asked.
    pub(crate) forward: Option<Forward>,
    /// The origin's status, when it answered something other than the response sent.
    pub(crate) forward_status: Option<u16>,
    /// The origin's response was stored.
    pub(crate) stored: bool,
    /// `detail`: where a hit came from when not the local store (`shared`), or why the
    /// origin's response was not stored (`set-cookie`, `authorization`, `too-large` …).
    pub(crate) detail: Option<&'static str>,
}

impl CacheStatus {
    pub(crate) const HIT: Self = Self {
        forward: None,
        forward_status: None,
        stored: false,
        detail: None,
    };

    pub(crate) const fn forwarded(forward: Forward) -> Self {
        Self {
            forward: Some(forward),
            ..Self::HIT
        }
    }

    /// Appends this member to `headers`, after any a cache nearer the origin wrote; `ttl` is
    /// left out when `None` (nothing stored).
    pub(crate) fn append(self, headers: &mut HeaderMap, ttl: Option<i64>) {
        let mut text = Member::default();
        text.push_str(NAME);
        match self.forward {
            None => text.push_str("; hit"),
            Some(forward) => {
                text.push_str("; fwd=");
                text.push_str(forward.as_str());
                if let Some(status) = self.forward_status {
                    let _ = write!(text, "; fwd-status={status}");
                }
                if self.stored {
                    text.push_str("; stored");
                }
            }
        }
        if let Some(ttl) = ttl {
            let _ = write!(text, "; ttl={ttl}");
        }
        if let Some(detail) = self.detail {
            text.push_str("; detail=");
            text.push_str(detail);
        }
        tracing::debug!(
            cache_status = std::str::from_utf8(text.as_bytes()).unwrap_or_default(),
            "cache answered"
        );
        if let Ok(value) = HeaderValue::from_bytes(text.as_bytes()) {
            headers.append(CACHE_STATUS, value);
        }
    }

    /// [`CacheStatus::append`] with the entry's freshness.
    pub(crate) fn append_to(self, headers: &mut HeaderMap, ttl: i64) {
        self.append(headers, Some(ttl));
    }
}

/// A member written on the stack: the header value is then the only allocation.
struct Member {
    bytes: [u8; 96],
    length: usize,
}

impl Default for Member {
    fn default() -> Self {
        Self {
            bytes: [0; 96],
            length: 0,
        }
    }
}

impl Member {
    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.length]
    }
}

impl Write for Member {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        let end = self.length + text.len();
        let room = self
            .bytes
            .get_mut(self.length..end)
            .ok_or(std::fmt::Error)?;
        room.copy_from_slice(text.as_bytes());
        self.length = end;
        Ok(())
    }
}

impl Member {
    fn push_str(&mut self, text: &str) {
        // The longest member (`fwd=vary-miss; fwd-status=…; stored; ttl=<i64>; detail=…`) fits.
        let _ = self.write_str(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(status: CacheStatus, ttl: Option<i64>) -> String {
        let mut headers = HeaderMap::new();
        headers.insert(CACHE_STATUS, HeaderValue::from_static("origin; fwd=bypass"));
        status.append(&mut headers, ttl);
        let values: Vec<_> = headers
            .get_all(CACHE_STATUS)
            .iter()
            .map(|v| v.to_str().expect("ascii").to_owned())
            .collect();
        values.join(", ")
    }

    #[test]
    fn members_follow_rfc_9211() {
        assert_eq!(
            render(CacheStatus::HIT, Some(30)),
            "origin; fwd=bypass, rampart; hit; ttl=30"
        );
        let stored = CacheStatus {
            stored: true,
            ..CacheStatus::forwarded(Forward::UriMiss)
        };
        assert_eq!(
            render(stored, Some(60)),
            "origin; fwd=bypass, rampart; fwd=uri-miss; stored; ttl=60"
        );
        let revalidated = CacheStatus {
            forward_status: Some(304),
            ..CacheStatus::forwarded(Forward::Stale)
        };
        assert_eq!(
            render(revalidated, Some(-2)),
            "origin; fwd=bypass, rampart; fwd=stale; fwd-status=304; ttl=-2"
        );
    }
}
