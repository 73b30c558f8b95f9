//! Cache keys: what makes two requests "the same resource" and "the same variant".

use http::header::{ACCEPT_ENCODING, ACCEPT_LANGUAGE, HOST};
use http::{HeaderMap, HeaderName, HeaderValue, Request};
use std::fmt::Write;

use crate::CacheRule;
use crate::directives;

/// Separates the parts of a key; escaped wherever it could appear in a part.
const PART: char = '#';
/// Starts the variant part of a key (the values of the headers named by `Vary`).
pub(crate) const VARIANT: char = '|';

/// The key of a resource: path, normalised query, host and the route's key headers.
///
/// It starts with the path so that a purge by path prefix is a prefix match on keys.
pub(crate) fn resource_key<B>(request: &Request<B>, rule: &CacheRule) -> String {
    let uri = request.uri();
    let mut key = String::with_capacity(uri.path().len() + 48);
    key.push_str(uri.path());
    if let Some(query) = uri.query() {
        push_query(&mut key, query, rule);
    }
    key.push(PART);
    let host = uri
        .authority()
        .map(|authority| authority.as_str().as_bytes())
        .or_else(|| request.headers().get(HOST).map(HeaderValue::as_bytes))
        .unwrap_or_default();
    push_escaped_lowercase(&mut key, host);
    for name in rule.key_headers.iter() {
        key.push(PART);
        key.push_str(name.as_str());
        key.push('=');
        push_values(&mut key, request.headers(), name);
    }
    key
}

/// A purge target (`/path?b=2&a=1`) in the form [`same_resource`] compares: escaped as keys
/// are, query parameters sorted.
pub(crate) fn purge_target(path_and_query: &str) -> String {
    let (path, query) = path_and_query
        .split_once('?')
        .map_or((path_and_query, None), |(path, query)| (path, Some(query)));
    let mut target = String::from(path);
    if let Some(query) = query {
        push_query(&mut target, query, &CacheRule::default());
    }
    target
}

/// Whether `key` is a key of the resource `target` (from [`purge_target`]), on any host, in
/// any variant, whatever the order of its query parameters.
pub(crate) fn same_resource(key: &str, target: &str) -> bool {
    let head = key.split(PART).next().unwrap_or_default();
    let (path, query) = head.split_once('?').unwrap_or((head, ""));
    let (target_path, target_query) = target.split_once('?').unwrap_or((target, ""));
    if path != target_path || query.len() != target_query.len() {
        return false;
    }
    let mut pairs: Vec<&str> = query.split('&').collect();
    pairs.sort_unstable();
    pairs.join("&") == target_query
}

/// The key of one variant of a resource: the resource key and the request's values of the
/// headers the response named in `Vary`.
pub(crate) fn variant_key(resource: &str, vary: &[HeaderName], headers: &HeaderMap) -> String {
    let mut key = String::with_capacity(resource.len() + 16 * vary.len());
    write_variant_key(&mut key, resource, vary, headers);
    key
}

/// [`variant_key`] into `key`, which is cleared first: lookups reuse one buffer per thread.
pub(crate) fn write_variant_key(
    key: &mut String,
    resource: &str,
    vary: &[HeaderName],
    headers: &HeaderMap,
) {
    key.clear();
    key.push_str(resource);
    key.push(VARIANT);
    for name in vary {
        key.push_str(name.as_str());
        key.push('=');
        push_values(key, headers, name);
        key.push(VARIANT);
    }
}

/// The flight key for a miss before the resource's `Vary` is known: most responses vary on
/// `Accept-Encoding` only, so concurrent misses that would get different encodings do not wait
/// for each other.
pub(crate) fn encoding_flight_key(resource: &str, headers: &HeaderMap) -> String {
    variant_key(resource, &[ACCEPT_ENCODING], headers)
}

fn push_query(key: &mut String, query: &str, rule: &CacheRule) {
    let mut pairs: Vec<&str> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter(|pair| {
            let name = pair.split_once('=').map_or(*pair, |(name, _)| name);
            !rule
                .ignored_query_params
                .iter()
                .any(|ignored| **ignored == *name)
        })
        .collect();
    if rule.sort_query {
        pairs.sort_unstable();
    }
    for (index, pair) in pairs.iter().enumerate() {
        key.push(if index == 0 { '?' } else { '&' });
        push_escaped(key, pair.as_bytes());
    }
}

/// The values of `name` as one list whose spelling does not matter: members trimmed, empty
/// ones dropped, several field lines the same as one (RFC 9110 5.3, 5.6.1); `Accept-Language`
/// also ignores case and the order of equally preferred languages. `1,2` and ` 1 , 2` select
/// the same variant (cache-tests.fyi `vary-normalise-*`).
fn push_values(key: &mut String, headers: &HeaderMap, name: &HeaderName) {
    if *name == ACCEPT_LANGUAGE {
        push_languages(key, headers);
        return;
    }
    let mut first = true;
    let mut push = |member: &[u8]| {
        if !first {
            key.push(',');
        }
        first = false;
        push_escaped(key, member);
    };
    for value in headers.get_all(name) {
        match value.to_str() {
            // One member (`br`, `en`): the common case, without the list machinery.
            Ok(text) if !text.contains([',', '"']) => {
                let member = text.trim();
                if !member.is_empty() {
                    push(member.as_bytes());
                }
            }
            Ok(text) => directives::split(text).for_each(|member| push(member.as_bytes())),
            Err(_) => push(value.as_bytes()),
        }
    }
}

/// `Accept-Language` as its languages in lower case, most preferred first, equally preferred
/// ones in alphabetical order, each with its weight in thousandths unless it is 1.
fn push_languages(key: &mut String, headers: &HeaderMap) {
    let mut languages: Vec<(u16, String)> = headers
        .get_all(ACCEPT_LANGUAGE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(directives::split)
        .map(|member| {
            let mut parts = member.split(';');
            let tag = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let weight = parts
                .filter_map(|parameter| parameter.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .map_or(1000, |q| (q.clamp(0.0, 1.0) * 1000.0).round() as u16);
            (weight, tag)
        })
        .collect();
    languages.sort_unstable_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    for (index, (weight, tag)) in languages.iter().enumerate() {
        if index > 0 {
            key.push(',');
        }
        push_escaped(key, tag.as_bytes());
        if *weight != 1000 {
            let _ = write!(key, ";q={weight}");
        }
    }
}

/// Writes `bytes` so that no two inputs give the same text and no separator appears unescaped:
/// visible ASCII as is, everything else (and `%`, `#`, `|`, `,`) as `%XX`.
fn push_escaped(key: &mut String, bytes: &[u8]) {
    for &byte in bytes {
        push_escaped_byte(key, byte);
    }
}

/// [`push_escaped`] of the lower-cased bytes (host names compare case-insensitively).
fn push_escaped_lowercase(key: &mut String, bytes: &[u8]) {
    for &byte in bytes {
        push_escaped_byte(key, byte.to_ascii_lowercase());
    }
}

fn push_escaped_byte(key: &mut String, byte: u8) {
    if byte.is_ascii_graphic() && !matches!(byte, b'%' | b'#' | b'|' | b',') {
        key.push(char::from(byte));
    } else {
        let _ = write!(key, "%{byte:02X}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(uri: &str, headers: &[(&str, &str)]) -> Request<()> {
        let mut builder = Request::get(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).expect("valid request")
    }

    #[test]
    fn the_key_holds_path_sorted_query_and_host() {
        let rule = CacheRule::default();
        let key = resource_key(&request("/a?b=2&a=1", &[("host", "Example.COM")]), &rule);
        assert_eq!(key, "/a?a=1&b=2#example.com");
        let same = resource_key(&request("/a?a=1&&b=2", &[("host", "example.com")]), &rule);
        assert_eq!(key, same);
    }

    #[test]
    fn ignored_parameters_and_unsorted_queries() {
        let rule = CacheRule::default()
            .ignore_query_param("utm_source")
            .sort_query(false);
        let key = resource_key(&request("/a?z=1&utm_source=x&a=2", &[]), &rule);
        assert_eq!(key, "/a?z=1&a=2#");
    }

    #[test]
    fn key_headers_and_hosts_cannot_forge_each_other() {
        let rule = CacheRule::default().key_header(HeaderName::from_static("x-tenant"));
        let forged = resource_key(&request("/a", &[("host", "h#x-tenant=b")]), &rule);
        let real = resource_key(&request("/a", &[("host", "h"), ("x-tenant", "b")]), &rule);
        assert_ne!(forged, real);
        assert_eq!(real, "/a#h#x-tenant=b");
    }

    #[test]
    fn a_purge_by_key_matches_every_variant_on_every_host() {
        let rule = CacheRule::default().sort_query(false);
        let resource = resource_key(&request("/a?b=1&a=2", &[("host", "h")]), &rule);
        let variant = variant_key(&resource, &[ACCEPT_ENCODING], &HeaderMap::new());
        assert!(same_resource(&variant, &purge_target("/a?a=2&b=1")));
        assert!(same_resource(&resource, &purge_target("/a?b=1&a=2")));
        assert!(!same_resource(&variant, &purge_target("/a?a=2")));
        assert!(!same_resource(&variant, &purge_target("/ab?b=1&a=2")));
    }

    #[test]
    fn selecting_values_are_read_as_lists_not_as_text() {
        let key = |pairs: &[(&str, &str)]| {
            let request = request("/", pairs);
            variant_key(
                "/#h",
                &[ACCEPT_LANGUAGE, HeaderName::from_static("foo")],
                request.headers(),
            )
        };
        let plain = key(&[("foo", "1,2"), ("accept-language", "en, de")]);
        assert_eq!(plain, "/#h|accept-language=de,en|foo=1,2|");
        for same in [
            &[("foo", " 1 , 2 "), ("accept-language", "de, en")][..],
            &[
                ("foo", "1"),
                ("foo", "2"),
                ("accept-language", " eN ,   De"),
            ],
            &[("foo", "1,,2"), ("accept-language", "de;q=1.0, en")],
        ] {
            assert_eq!(key(same), plain, "{same:?}");
        }
        for different in [
            &[("foo", "2,1"), ("accept-language", "en, de")][..],
            &[("foo", "1,2"), ("accept-language", "en, de;q=0.5")],
            &[("foo", "1 2"), ("accept-language", "en, de")],
        ] {
            assert_ne!(key(different), plain, "{different:?}");
        }
    }

    #[test]
    fn variants_differ_by_the_named_values() {
        let mut gzip = HeaderMap::new();
        gzip.insert(ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
        let vary = [ACCEPT_ENCODING];
        assert_ne!(
            variant_key("/a#", &vary, &gzip),
            variant_key("/a#", &vary, &HeaderMap::new())
        );
    }
}
