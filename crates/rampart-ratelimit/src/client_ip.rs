//! The client address behind trusted proxies.

use axum::extract::ConnectInfo;
use http::Request;
use rampart_core::address::canonical;
pub use rampart_core::address::{Cidr, InvalidCidr};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};

/// The one header a trusted proxy puts the client's address in. No other header is read, so a
/// client cannot pick whichever one the proxy does not overwrite.
///
/// | value | who sets it | proxy setting it matches |
/// |---|---|---|
/// | `x-forwarded-for` | appended to by each proxy | nginx `proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for`, AWS ALB, HAProxy `option forwardfor`, Traefik, Envoy (`use_remote_address: true`) |
/// | `forwarded` | appended to by each proxy (RFC 7239) | nginx with a `Forwarded` map, proxies that speak RFC 7239 |
/// | `x-real-ip` | replaced by the proxy | nginx `proxy_set_header X-Real-IP $remote_addr` |
/// | `cf-connecting-ip` | replaced by Cloudflare | Cloudflare |
/// | `true-client-ip` | replaced by the CDN | Akamai, Cloudflare Enterprise |
/// | `fly-client-ip` | replaced by Fly.io's proxy | Fly.io |
///
/// Name a header only if every trusted proxy sets it on every request: a header a proxy passes
/// through untouched is one the client writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ClientIpHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2`, walked from the right.
    XForwardedFor,
    /// `Forwarded: for=client, for=proxy1` (RFC 7239), walked from the right.
    Forwarded,
    /// `X-Real-IP: client`.
    XRealIp,
    /// `CF-Connecting-IP: client`.
    CfConnectingIp,
    /// `True-Client-IP: client`.
    TrueClientIp,
    /// `Fly-Client-IP: client`.
    FlyClientIp,
}

impl ClientIpHeader {
    /// The header's name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::XForwardedFor => "x-forwarded-for",
            Self::Forwarded => "forwarded",
            Self::XRealIp => "x-real-ip",
            Self::CfConnectingIp => "cf-connecting-ip",
            Self::TrueClientIp => "true-client-ip",
            Self::FlyClientIp => "fly-client-ip",
        }
    }
}

/// Finds the client's address: the TCP peer, or, when the peer is a trusted proxy, the address
/// it reports in the one [`ClientIpHeader`] the operator named.
///
/// By default no proxy is trusted and no header is read: a client cannot choose its own key by
/// sending `Forwarded`, `X-Forwarded-For` or `X-Real-IP`. Behind proxies, name both the
/// proxies and the header they set.
///
/// A chain (`X-Forwarded-For`, `Forwarded`) is walked from the right: each element was written
/// by the hop to its right, so the walk goes on only while the address it reached is a trusted
/// proxy, and the first untrusted address is the client. An element that is not an address
/// ends the walk: the request is keyed on the last address that was trusted to report it, never
/// on what a client wrote further left. Without the header, the request is keyed on the peer.
///
/// # Example
///
/// ```
/// use axum::extract::ConnectInfo;
/// use rampart_ratelimit::{ClientIp, ClientIpHeader};
/// use std::net::{IpAddr, SocketAddr};
///
/// let behind_lb = ClientIp::default()
///     .trust("10.0.0.0/8".parse().unwrap())
///     .header(ClientIpHeader::XForwardedFor);
///
/// let mut request = http::Request::new(());
/// request.extensions_mut().insert(ConnectInfo(SocketAddr::from(([10, 0, 0, 5], 4711))));
/// // The client wrote `Forwarded` and the left part of the chain; the proxy appended the rest.
/// request.headers_mut().insert("forwarded", "for=192.0.2.99".parse().unwrap());
/// request.headers_mut().insert("x-forwarded-for", "junk, 198.51.100.7".parse().unwrap());
/// assert_eq!(behind_lb.client(&request), Some(IpAddr::from([198, 51, 100, 7])));
/// assert_eq!(behind_lb.header, Some(ClientIpHeader::XForwardedFor));
/// assert_eq!(ClientIpHeader::XForwardedFor.name(), "x-forwarded-for");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct ClientIp {
    /// Proxies whose report of the client's address is believed.
    pub trusted_proxies: Vec<Cidr>,
    /// The header those proxies report it in; `None` reads no header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<ClientIpHeader>,
    /// IPv6 clients are grouped by this many leading bits. Default: 64.
    pub ipv6_prefix: u8,
}

impl Default for ClientIp {
    fn default() -> Self {
        Self {
            trusted_proxies: Vec::new(),
            header: None,
            ipv6_prefix: 64,
        }
    }
}

impl ClientIp {
    /// Believes `proxies` too.
    #[must_use]
    pub fn trust(mut self, proxies: Cidr) -> Self {
        self.trusted_proxies.push(proxies);
        self
    }

    /// Reads the client's address from `header` when the peer is trusted.
    #[must_use]
    pub fn header(mut self, header: ClientIpHeader) -> Self {
        self.header = Some(header);
        self
    }

    fn trusted(&self, address: IpAddr) -> bool {
        self.trusted_proxies
            .iter()
            .any(|cidr| cidr.contains(address))
    }

    /// The client address of `request`, or `None` without `ConnectInfo` (the server was not
    /// started with `into_make_service_with_connect_info`).
    pub fn client<B>(&self, request: &Request<B>) -> Option<IpAddr> {
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| canonical(info.0.ip()))?;
        let Some(header) = self.header.filter(|_| self.trusted(peer)) else {
            return Some(peer);
        };
        let mut values = request.headers().get_all(header.name()).iter();
        let client = match header {
            ClientIpHeader::XForwardedFor => {
                let chain = values.flat_map(|value| text(value).split(','));
                self.walk(peer, chain.map(parse_node))
            }
            ClientIpHeader::Forwarded => {
                let chain = values.flat_map(|value| text(value).split(','));
                self.walk(peer, chain.map(forwarded_for))
            }
            // Set, not appended to: the last line is the proxy's, one address.
            _ => values
                .next_back()
                .map(text)
                .and_then(parse_node)
                .unwrap_or(peer),
        };
        Some(client)
    }

    /// Walks a chain from the right, from the trusted `peer`, while the hops are trusted.
    fn walk(&self, peer: IpAddr, chain: impl DoubleEndedIterator<Item = Option<IpAddr>>) -> IpAddr {
        let mut client = peer;
        for element in chain.rev() {
            let Some(address) = element else {
                break;
            };
            client = address;
            if !self.trusted(address) {
                break;
            }
        }
        client
    }
}

/// The `for=` address of one `Forwarded` element (RFC 7239 4): `for=192.0.2.60;proto=http`,
/// `for="[2001:db8::1]:4711"`. `None` for `unknown`, obfuscated names and anything else.
fn forwarded_for(element: &str) -> Option<IpAddr> {
    let value = element.split(';').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        name.trim().eq_ignore_ascii_case("for").then_some(value)
    })?;
    parse_node(value.trim().trim_matches('"'))
}

/// A header value as text; one that is not text is one element that is not an address.
fn text(value: &http::HeaderValue) -> &str {
    value.to_str().unwrap_or("")
}

/// An address, with or without a port, IPv6 in brackets or not.
fn parse_node(node: &str) -> Option<IpAddr> {
    let node = node.trim();
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok().map(canonical);
    }
    node.parse::<IpAddr>()
        .ok()
        .or_else(|| node.parse::<SocketAddr>().ok().map(|addr| addr.ip()))
        .map(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(peer: &str, headers: &[(&str, &str)]) -> Request<()> {
        let mut request = Request::new(());
        let ip: IpAddr = peer.parse().expect("a test peer is an IP address");
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::new(ip, 5000)));
        for (name, value) in headers {
            request.headers_mut().append(
                http::HeaderName::from_bytes(name.as_bytes()).expect("a test header name"),
                http::HeaderValue::from_str(value).expect("a test header value"),
            );
        }
        request
    }

    fn ip(text: &str) -> Option<IpAddr> {
        text.parse().ok()
    }

    fn behind(header: ClientIpHeader) -> ClientIp {
        ClientIp::default()
            .trust("10.0.0.0/8".parse().expect("a CIDR block"))
            .header(header)
    }

    fn lb() -> ClientIp {
        behind(ClientIpHeader::XForwardedFor)
    }

    #[test]
    fn an_untrusted_peer_cannot_choose_its_key() {
        let spoofed = request("203.0.113.7", &[("x-forwarded-for", "1.2.3.4")]);
        assert_eq!(ClientIp::default().client(&spoofed), ip("203.0.113.7"));
        assert_eq!(lb().client(&spoofed), ip("203.0.113.7"));
    }

    #[test]
    fn without_a_header_a_trusted_peer_is_the_client() {
        let forwarded = request("10.0.0.5", &[("x-forwarded-for", "1.2.3.4")]);
        let no_header = ClientIp {
            header: None,
            ..lb()
        };
        assert_eq!(no_header.client(&forwarded), ip("10.0.0.5"));
    }

    #[test]
    fn a_trusted_proxy_chain_is_walked_from_the_right() {
        let chain = request(
            "10.0.0.5",
            &[("x-forwarded-for", "6.6.6.6, 198.51.100.9, 10.1.1.1")],
        );
        // 10.1.1.1 is ours; 198.51.100.9 is the client; 6.6.6.6 is whatever it claimed.
        assert_eq!(lb().client(&chain), ip("198.51.100.9"));
        let lines = request(
            "10.0.0.5",
            &[
                ("x-forwarded-for", "6.6.6.6"),
                ("x-forwarded-for", "198.51.100.9, 10.1.1.1"),
            ],
        );
        assert_eq!(lb().client(&lines), ip("198.51.100.9"));
    }

    #[test]
    fn only_the_named_header_is_read() {
        // The proxy appends to X-Forwarded-For; Forwarded and X-Real-IP are the client's own.
        let request = request(
            "10.0.0.5",
            &[
                ("forwarded", "for=192.0.2.99"),
                ("x-real-ip", "192.0.2.98"),
                ("x-forwarded-for", "198.51.100.7"),
            ],
        );
        assert_eq!(lb().client(&request), ip("198.51.100.7"));
        assert_eq!(
            behind(ClientIpHeader::Forwarded).client(&request),
            ip("192.0.2.99")
        );
        assert_eq!(
            behind(ClientIpHeader::XRealIp).client(&request),
            ip("192.0.2.98")
        );
        assert_eq!(
            behind(ClientIpHeader::CfConnectingIp).client(&request),
            ip("10.0.0.5")
        );
    }

    #[test]
    fn forwarded_elements_are_understood() {
        let forwarded = request(
            "10.0.0.5",
            &[(
                "forwarded",
                "for=\"[2001:db8::7]:4711\";proto=https, For=10.2.2.2",
            )],
        );
        assert_eq!(
            behind(ClientIpHeader::Forwarded).client(&forwarded),
            ip("2001:db8::7")
        );
    }

    #[test]
    fn an_element_that_is_not_an_address_ends_the_walk() {
        // The junk is left of the address the proxy appended: the client is that address.
        let junk = request("10.0.0.5", &[("x-forwarded-for", "not-an-ip, 1.2.3.4")]);
        assert_eq!(lb().client(&junk), ip("1.2.3.4"));
        // Junk reported by a trusted hop: keyed on that hop, not on anything further left.
        let behind_junk = request(
            "10.0.0.5",
            &[("x-forwarded-for", "192.0.2.1, unknown, 10.9.9.9")],
        );
        assert_eq!(lb().client(&behind_junk), ip("10.9.9.9"));
        let obfuscated = request("10.0.0.5", &[("forwarded", "for=192.0.2.1, for=_hidden")]);
        assert_eq!(
            behind(ClientIpHeader::Forwarded).client(&obfuscated),
            ip("10.0.0.5")
        );
        let not_text = request("10.0.0.5", &[]);
        let mut not_text = not_text;
        not_text.headers_mut().insert(
            "x-forwarded-for",
            http::HeaderValue::from_bytes(b"192.0.2.1, \xff")
                .unwrap_or(http::HeaderValue::from_static("")),
        );
        assert_eq!(lb().client(&not_text), ip("10.0.0.5"));
    }

    #[test]
    fn a_set_header_that_is_not_an_address_keys_on_the_peer() {
        let junk = request("10.0.0.5", &[("x-real-ip", "1.2.3.4, 5.6.7.8")]);
        assert_eq!(
            behind(ClientIpHeader::XRealIp).client(&junk),
            ip("10.0.0.5")
        );
        let port = request("10.0.0.5", &[("x-real-ip", "[2001:db8::1]:443")]);
        assert_eq!(
            behind(ClientIpHeader::XRealIp).client(&port),
            ip("2001:db8::1")
        );
    }

    #[test]
    fn header_names_round_trip_through_serde() {
        for header in [
            ClientIpHeader::XForwardedFor,
            ClientIpHeader::Forwarded,
            ClientIpHeader::XRealIp,
            ClientIpHeader::CfConnectingIp,
            ClientIpHeader::TrueClientIp,
            ClientIpHeader::FlyClientIp,
        ] {
            let json = format!("\"{}\"", header.name());
            assert_eq!(
                serde_json::from_str::<ClientIpHeader>(&json).ok(),
                Some(header)
            );
        }
    }
}
