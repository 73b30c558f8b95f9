//! The response fields http-cache-semantics reads, rewritten into the one form it parses as the
//! standard means them, for the policy's eyes only (clients get the origin's fields as sent).
//!
//! Found by the RFC 9111 test suite (cache-tests.fyi):
//! - `Cache-Control` directive names are case-insensitive (RFC 9111 5.2): `No-CaChE` was
//!   ignored and the stored response reused.
//! - `Age` (RFC 9111 5.1): a list uses its first member, a parameter is dropped, anything but a
//!   non-negative integer is ignored, and a value past 2^31 is 2^31 (stale, whatever the
//!   freshness).
//! - `Expires` (RFC 9111 5.3, RFC 9110 5.6.7): the two obsolete date forms are valid; anything
//!   else that is not an IMF-fixdate (`0`, extra spaces) means already expired.
//! - Targeted fields (RFC 9213): the first valid one of `Rampart-Cache-Control` and
//!   `CDN-Cache-Control` replaces `Cache-Control` and `Expires` for this cache, so an origin can
//!   tell rampart (or every CDN-class cache) something else than browsers.

use http::header::{AGE, CACHE_CONTROL, EXPIRES};
use http::{HeaderMap, HeaderName, HeaderValue};
use std::borrow::Cow;
use std::time::SystemTime;

use crate::directives;
use crate::targeted::{self, CDN_CACHE_CONTROL, RAMPART_CACHE_CONTROL};

/// The largest age a cache must handle, and what a larger one becomes (RFC 9111 1.2.2).
const MAX_AGE: u64 = 1 << 31;

/// `headers` as the policy should read them; borrowed when they already read right.
pub(crate) fn for_policy(headers: &HeaderMap) -> Cow<'_, HeaderMap> {
    if let Some(targeted) = targeted::cache_control(headers) {
        let mut view = headers.clone();
        view.remove(EXPIRES);
        view.insert(CACHE_CONTROL, targeted);
        // Read once: the view carries the targeted value as its `Cache-Control`.
        view.remove(RAMPART_CACHE_CONTROL);
        view.remove(CDN_CACHE_CONTROL);
        let normalised = match for_policy(&view) {
            Cow::Owned(normalised) => Some(normalised),
            Cow::Borrowed(_) => None,
        };
        return Cow::Owned(normalised.unwrap_or(view));
    }
    let cache_control = cache_control_change(headers);
    let age = age_change(headers);
    let expires = expires_change(headers);
    if cache_control.is_none() && age.is_none() && expires.is_none() {
        return Cow::Borrowed(headers);
    }
    let mut view = headers.clone();
    if let Some(values) = cache_control {
        view.remove(CACHE_CONTROL);
        for value in values {
            view.append(CACHE_CONTROL, value);
        }
    }
    match age {
        Some(Some(age)) => {
            view.insert(AGE, age);
        }
        Some(None) => {
            view.remove(AGE);
        }
        None => {}
    }
    if let Some(expires) = expires {
        view.insert(EXPIRES, expires);
    }
    Cow::Owned(view)
}

/// The `Cache-Control` values as the policy should read them, or `None` when they already
/// read right: directive names in lower case, and the qualified forms of `no-cache` and
/// `private` (`no-cache="set-cookie"`) dropped, since they withhold the fields they list
/// rather than the response ([`withheld_fields`]).
fn cache_control_change(headers: &HeaderMap) -> Option<Vec<HeaderValue>> {
    let values = headers.get_all(CACHE_CONTROL);
    let reads_right = values.iter().all(|value| {
        !value.as_bytes().iter().any(u8::is_ascii_uppercase)
            && value.to_str().map_or(true, |text| {
                directives::split(text).all(|d| qualified(d).is_none())
            })
    });
    if reads_right {
        return None;
    }
    values
        .iter()
        .map(|value| {
            let text = value.to_str().ok()?;
            let kept: Vec<String> = directives::split(text)
                .filter(|directive| qualified(directive).is_none())
                .map(|directive| match directive.split_once('=') {
                    Some((name, argument)) => format!("{}={argument}", name.to_ascii_lowercase()),
                    None => directive.to_ascii_lowercase(),
                })
                .collect();
            HeaderValue::from_str(&kept.join(", ")).ok()
        })
        .collect()
}

/// The fields a stored response must not keep: those the qualified `no-cache` and `private`
/// directives of the cache control this cache obeys list (RFC 9111 5.2.2.4, 5.2.2.7). The rest
/// of the response may be stored and reused.
pub(crate) fn withheld_fields(headers: &HeaderMap) -> Vec<HeaderName> {
    let targeted = targeted::cache_control(headers);
    let values: Vec<&HeaderValue> = match &targeted {
        Some(value) => vec![value],
        None => headers.get_all(CACHE_CONTROL).iter().collect(),
    };
    values
        .into_iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(directives::split)
        .filter_map(qualified)
        .flat_map(|list| list.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect()
}

/// The field list of a qualified `no-cache="..."` or `private="..."`, else `None`.
fn qualified(directive: &str) -> Option<&str> {
    let (name, argument) = directive.split_once('=')?;
    let name = name.trim();
    let list = argument.trim().trim_matches('"');
    ((name.eq_ignore_ascii_case("no-cache") || name.eq_ignore_ascii_case("private"))
        && !list.trim().is_empty())
    .then_some(list)
}

/// `None` when `Age` reads right as it is (absent, or one plain number); else the value the
/// policy should see, `Some(None)` to ignore the field.
fn age_change(headers: &HeaderMap) -> Option<Option<HeaderValue>> {
    let mut values = headers.get_all(AGE).iter();
    let first = values.next()?;
    let wanted = age(first);
    let fine = values.next().is_none() && wanted.as_ref() == Some(first);
    (!fine).then_some(wanted)
}

/// The `Age` the policy should see: the first member, without parameters, at most 2^31;
/// `None` to ignore the field.
fn age(value: &HeaderValue) -> Option<HeaderValue> {
    let text = value.to_str().ok()?;
    let first = text.split(',').next()?;
    let number = first.split(';').next()?.trim();
    if number.is_empty() || !number.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let seconds = number.parse::<u64>().unwrap_or(MAX_AGE).min(MAX_AGE);
    Some(HeaderValue::from(seconds))
}

/// `None` when `Expires` reads right as it is (absent, or one IMF-fixdate); else the
/// IMF-fixdate the policy should see, the epoch for an invalid date.
fn expires_change(headers: &HeaderMap) -> Option<HeaderValue> {
    let mut values = headers.get_all(EXPIRES).iter();
    let first = values.next()?;
    let at = if values.next().is_some() {
        None
    } else {
        first.to_str().ok().and_then(http_date)
    };
    let wanted = HeaderValue::from_str(&httpdate::fmt_http_date(
        at.unwrap_or(SystemTime::UNIX_EPOCH),
    ))
    .ok()?;
    (wanted != *first).then_some(wanted)
}

/// A date in one of the three forms of RFC 9110 5.6.7, and nothing looser: the only run of two
/// spaces allowed is asctime's before a one-digit day (`Sun Nov  6 08:49:37 1994`). Names are
/// read whatever their case (`THU`, `aug`, `gMT`), and the day of the week, which the date
/// already says, may be wrong (`Thu Aug  8 2050` was a Monday): httpdate rejects both.
fn http_date(text: &str) -> Option<SystemTime> {
    let mut doubles = text.match_indices("  ").map(|(at, _)| at);
    let spaced_right = match (doubles.next(), doubles.next()) {
        (None, _) => true,
        (Some(7), None) => text.len() == 24,
        _ => false,
    };
    if !spaced_right {
        return None;
    }
    if let Ok(at) = httpdate::parse_http_date(text) {
        return Some(at);
    }
    let named = title_case_names(text);
    let weekday = named.find(|c: char| !c.is_ascii_alphabetic())?;
    let days: &[&str] = if weekday > 3 { &LONG_DAYS } else { &SHORT_DAYS };
    days.iter()
        .find_map(|day| httpdate::parse_http_date(&format!("{day}{}", &named[weekday..])).ok())
}

const SHORT_DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const LONG_DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// `text` with every run of letters as the date forms write it: `GMT`, else `Aug`, `Thursday`.
fn title_case_names(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(|c: char| c.is_ascii_alphabetic()) {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let end = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let (name, after) = rest.split_at(end);
        if name.eq_ignore_ascii_case("gmt") {
            out.push_str("GMT");
        } else {
            out.push_str(&name[..1].to_ascii_uppercase());
            out.push_str(&name[1..].to_ascii_lowercase());
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(fields: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in fields {
            headers.append(*name, HeaderValue::from_static(value));
        }
        for_policy(&headers).into_owned()
    }

    fn ages(fields: &[(&'static str, &'static str)]) -> Option<String> {
        view(fields)
            .get(AGE)
            .map(|v| v.to_str().expect("ascii").to_owned())
    }

    #[test]
    fn age_reads_as_rfc_9111_says() {
        assert_eq!(ages(&[("age", "7200, 0")]).as_deref(), Some("7200"));
        assert_eq!(ages(&[("age", "0, 7200")]).as_deref(), Some("0"));
        assert_eq!(
            ages(&[("age", "7200"), ("age", "0")]).as_deref(),
            Some("7200")
        );
        assert_eq!(ages(&[("age", "7200;foo=bar")]).as_deref(), Some("7200"));
        assert_eq!(
            ages(&[("age", "2147483649")]).as_deref(),
            Some("2147483648")
        );
        assert_eq!(
            ages(&[("age", "99999999999999999999999")]).as_deref(),
            Some("2147483648")
        );
        for ignored in ["abc", "-7200", "7200.0", ""] {
            assert_eq!(ages(&[("age", ignored)]), None, "{ignored}");
        }
    }

    #[test]
    fn directive_names_are_lower_cased() {
        let headers = view(&[("cache-control", "No-CaChE, MaX-AgE=60")]);
        assert_eq!(headers[CACHE_CONTROL], "no-cache, max-age=60");
    }

    #[test]
    fn expires_accepts_the_three_date_forms_and_nothing_else() {
        let imf = "Sun, 06 Nov 1994 08:49:37 GMT";
        for valid in [
            imf,
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "SUN, 06 nov 1994 08:49:37 gMT",
            "Thu, 06 Nov 1994 08:49:37 GMT",
            "Monday, 06-NOV-94 08:49:37 GMT",
            "Fri Nov  6 08:49:37 1994",
        ] {
            assert_eq!(view(&[("expires", valid)])[EXPIRES], imf, "{valid}");
        }
        for invalid in [
            "0",
            "Thu, 18  Aug  2050 02:01:18 GMT",
            "Thu 18 Aug 2050 02:01:18 GMT",
            "Thu, 18 Aug 2050 2:01:18 GMT",
            "soon",
        ] {
            assert_eq!(
                view(&[("expires", invalid)])[EXPIRES],
                "Thu, 01 Jan 1970 00:00:00 GMT",
                "{invalid}"
            );
        }
    }

    #[test]
    fn qualified_no_cache_and_private_withhold_fields_not_the_response() {
        let headers = view(&[
            ("cache-control", r#"no-cache="a, B", max-age=3600"#),
            ("cache-control", r#"Private="c""#),
        ]);
        let policy: Vec<&HeaderValue> = headers.get_all(CACHE_CONTROL).iter().collect();
        assert_eq!(policy, ["max-age=3600", ""]);
        let mut origin = HeaderMap::new();
        origin.append(
            CACHE_CONTROL,
            HeaderValue::from_static(r#"no-cache="a, B", max-age=3600"#),
        );
        origin.append(CACHE_CONTROL, HeaderValue::from_static(r#"Private="c""#));
        assert_eq!(withheld_fields(&origin), ["a", "b", "c"]);
        let unqualified = view(&[("cache-control", "no-cache, private")]);
        assert_eq!(unqualified[CACHE_CONTROL], "no-cache, private");
    }

    #[test]
    fn a_targeted_field_replaces_cache_control_and_expires() {
        let headers = view(&[
            ("cache-control", "no-store"),
            ("expires", "0"),
            ("cdn-cache-control", "max-age=60"),
        ]);
        assert_eq!(headers[CACHE_CONTROL], "max-age=60");
        assert!(!headers.contains_key(EXPIRES));
        assert!(
            !headers.contains_key(CDN_CACHE_CONTROL),
            "read once, then gone"
        );
        let ours = view(&[
            ("cache-control", "max-age=5"),
            ("cdn-cache-control", "max-age=60"),
            ("rampart-cache-control", "no-cache"),
        ]);
        assert_eq!(
            ours[CACHE_CONTROL], "no-cache",
            "the most specific field wins"
        );
        let empty = view(&[("cache-control", "max-age=5"), ("cdn-cache-control", " ")]);
        assert_eq!(
            empty[CACHE_CONTROL], "max-age=5",
            "an empty field is no field"
        );
    }

    #[test]
    fn fields_that_read_right_are_not_copied() {
        let mut headers = HeaderMap::new();
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("max-age=60"));
        headers.insert(AGE, HeaderValue::from_static("5"));
        headers.insert(
            EXPIRES,
            HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"),
        );
        assert!(matches!(for_policy(&headers), Cow::Borrowed(_)));
    }
}
