//! Reading W3C Trace Context (`traceparent`, `tracestate`) off a request.
//!
//! Whatever a client sends, the outcome is a valid parent or none: a malformed header is
//! ignored, as the Recommendation asks (section 3.2.1: "restart the trace"), never answered
//! with an error, and what is kept is printable ASCII that cannot break a log line.

use http::HeaderValue;
use http::header::{HeaderMap, HeaderName};

use crate::{SpanId, TraceId};

pub(crate) const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
pub(crate) const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");

/// `tracestate` may hold at most 32 list members (section 3.3.1.1).
const MAX_MEMBERS: usize = 32;
/// A vendor must propagate at least 512 bytes of `tracestate`; more is refused whole rather than
/// trimmed, so a client cannot make each request carry kilobytes into every span.
const MAX_STATE_LEN: usize = 512;

/// The caller's span, from a valid `traceparent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RemoteParent {
    pub(crate) trace_id: TraceId,
    pub(crate) span_id: SpanId,
    pub(crate) sampled: bool,
    pub(crate) trace_state: Option<HeaderValue>,
}

impl RemoteParent {
    /// The parent a request names, if its `traceparent` is valid. `tracestate` is read only
    /// then (section 3.3: without a valid `traceparent` it means nothing).
    pub(crate) fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let mut traceparents = headers.get_all(TRACEPARENT).iter();
        let traceparent = traceparents.next()?;
        // Two `traceparent` fields cannot both be right (section 3.2: a single field).
        if traceparents.next().is_some() {
            return None;
        }
        let (trace_id, span_id, flags) = parse_traceparent(traceparent.as_bytes())?;
        Some(Self {
            trace_id,
            span_id,
            sampled: flags & 1 == 1,
            trace_state: trace_state(headers),
        })
    }
}

/// `version "-" trace-id "-" parent-id "-" trace-flags`, as section 3.2.2 and 3.2.4 read it: a
/// version above `00` may add fields after a `-`, which are ignored; version `ff` is invalid.
fn parse_traceparent(value: &[u8]) -> Option<(TraceId, SpanId, u8)> {
    const LEN: usize = 55;
    let head = value.get(..LEN)?;
    let [version] = crate::id::lower_hex::<1>(head.get(..2)?)?;
    let exact = match version {
        0x00 => value.len() == LEN,
        0xff => false,
        _ => value.len() == LEN || value.get(LEN) == Some(&b'-'),
    };
    if !exact || head[2] != b'-' || head[35] != b'-' || head[52] != b'-' {
        return None;
    }
    let trace_id = TraceId::parse(&head[3..35])?;
    let span_id = SpanId::parse(&head[36..52])?;
    let [flags] = crate::id::lower_hex::<1>(&head[53..55])?;
    Some((trace_id, span_id, flags))
}

/// Every `tracestate` field joined by `,` (section 3.3.1.1 allows splitting it over fields), or
/// `None` when any member is malformed, a key repeats, or there are too many members or bytes.
fn trace_state(headers: &HeaderMap) -> Option<HeaderValue> {
    let mut joined = Vec::new();
    let mut keys: Vec<&[u8]> = Vec::new();
    for field in headers.get_all(TRACESTATE) {
        for member in field.as_bytes().split(|&b| b == b',') {
            let member = member.trim_ascii();
            // Empty members are allowed and mean nothing.
            if member.is_empty() {
                continue;
            }
            let key = valid_member(member)?;
            if keys.contains(&key) || keys.len() == MAX_MEMBERS {
                return None;
            }
            keys.push(key);
            if !joined.is_empty() {
                joined.push(b',');
            }
            joined.extend_from_slice(member);
            if joined.len() > MAX_STATE_LEN {
                return None;
            }
        }
    }
    if joined.is_empty() {
        return None;
    }
    HeaderValue::from_bytes(&joined).ok()
}

/// The key of a `key=value` member (section 3.3.1.3), if both parts are well formed.
fn valid_member(member: &[u8]) -> Option<&[u8]> {
    let equals = member.iter().position(|&b| b == b'=')?;
    let (key, value) = (&member[..equals], &member[equals + 1..]);
    valid_key(key).then_some(())?;
    let value_ok = !value.is_empty()
        && value.len() <= 256
        && value
            .iter()
            .all(|&b| (0x20..=0x7e).contains(&b) && b != b',' && b != b'=')
        && value.last() != Some(&b' ');
    value_ok.then_some(key)
}

/// `simple-key` or `tenant-id "@" system-id`.
fn valid_key(key: &[u8]) -> bool {
    let part = |part: &[u8], max: usize, first_may_be_digit: bool| {
        let first_ok = part
            .first()
            .is_some_and(|&b| b.is_ascii_lowercase() || (first_may_be_digit && b.is_ascii_digit()));
        first_ok
            && part.len() <= max
            && part
                .iter()
                .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-*/".contains(&b))
    };
    match key.iter().position(|&b| b == b'@') {
        None => part(key, 256, false),
        Some(at) => part(&key[..at], 241, true) && part(&key[at + 1..], 14, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    fn parent(fields: &[(&str, &str)]) -> Option<RemoteParent> {
        let mut headers = HeaderMap::new();
        for (name, value) in fields {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        RemoteParent::from_headers(&headers)
    }

    #[test]
    fn a_valid_traceparent_names_the_parent() {
        let parent = parent(&[("traceparent", VALID)]).unwrap();
        assert_eq!(
            parent.trace_id.to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(parent.span_id.to_string(), "00f067aa0ba902b7");
        assert!(parent.sampled);
        assert_eq!(parent.trace_state, None);
        let unsampled = VALID.replace("-01", "-00");
        assert!(
            !self::parent(&[("traceparent", &unsampled)])
                .unwrap()
                .sampled
        );
    }

    #[test]
    fn malformed_traceparents_are_ignored() {
        for bad in [
            "",
            "00",
            &VALID.to_uppercase(),
            &VALID.replace("00-4bf", "ff-4bf"),
            &format!("{VALID}-extra"),
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-011",
        ] {
            assert_eq!(parent(&[("traceparent", bad)]), None, "{bad:?}");
        }
        assert_eq!(
            parent(&[("traceparent", VALID), ("traceparent", VALID)]),
            None
        );
    }

    #[test]
    fn a_later_version_may_add_fields() {
        let later = VALID.replacen("00", "cc", 1);
        assert!(parent(&[("traceparent", &later)]).is_some());
        assert!(parent(&[("traceparent", &format!("{later}-what-follows"))]).is_some());
        assert_eq!(parent(&[("traceparent", &format!("{later}x"))]), None);
    }

    #[test]
    fn tracestate_is_joined_and_checked() {
        let state = |values: &[&str]| {
            let mut fields = vec![("traceparent", VALID)];
            fields.extend(values.iter().map(|value| ("tracestate", *value)));
            parent(&fields).unwrap().trace_state
        };
        assert_eq!(
            state(&[
                "rojo=00f067aa0ba902b7, ,congo=t61rcWkgMzE",
                "tenant@vendor=x"
            ]),
            Some(HeaderValue::from_static(
                "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE,tenant@vendor=x"
            ))
        );
        assert_eq!(state(&["rojo=1,rojo=2"]), None);
        assert_eq!(state(&["Rojo=1"]), None);
        assert_eq!(state(&["rojo"]), None);
        assert_eq!(state(&["rojo=a=b"]), None);
        assert_eq!(state(&[&"k=v,".repeat(2)]), None);
        let many: Vec<String> = (0..33).map(|i| format!("k{i}=v")).collect();
        assert_eq!(state(&[&many.join(",")]), None);
        assert!(state(&[&many[..32].join(",")]).is_some());
        let value = "v".repeat(256);
        assert!(state(&[&format!("k={value}")]).is_some());
        assert_eq!(state(&[&format!("k={value}v")]), None);
        assert_eq!(state(&[&format!("k={value}"), &format!("j={value}")]), None);
        // Without a valid traceparent, tracestate is not read at all.
        assert_eq!(parent(&[("tracestate", "rojo=1")]), None);
    }

    proptest! {
        #[test]
        fn any_header_bytes_give_a_valid_parent_or_none(
            traceparent in proptest::collection::vec(any::<u8>(), 0..80),
            tracestate in proptest::collection::vec(any::<u8>(), 0..600),
        ) {
            let mut headers = HeaderMap::new();
            if let Ok(value) = HeaderValue::from_bytes(&traceparent) {
                headers.insert(TRACEPARENT, value);
            }
            if let Ok(value) = HeaderValue::from_bytes(&tracestate) {
                headers.insert(TRACESTATE, value);
            }
            if let Some(parent) = RemoteParent::from_headers(&headers) {
                let state = parent.trace_state.as_ref().map_or(&[][..], HeaderValue::as_bytes);
                prop_assert!(state.len() <= MAX_STATE_LEN);
                prop_assert!(state.iter().all(|b| (0x20..=0x7e).contains(b)));
            }
        }

        #[test]
        fn every_well_formed_traceparent_is_read(
            trace in any::<[u8; 16]>(), span in any::<[u8; 8]>(), flags in any::<u8>(),
        ) {
            if let (Some(trace_id), Some(span_id)) =
                (TraceId::from_bytes(trace), SpanId::from_bytes(span))
            {
                let value = format!("00-{trace_id}-{span_id}-{flags:02x}");
                let parent = parent(&[("traceparent", &value)]).unwrap();
                prop_assert_eq!(parent.trace_id, trace_id);
                prop_assert_eq!(parent.span_id, span_id);
                prop_assert_eq!(parent.sampled, flags & 1 == 1);
            }
        }
    }
}
