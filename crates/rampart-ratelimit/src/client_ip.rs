//! The client address behind trusted proxies.

use axum::extract::ConnectInfo;
use http::{HeaderMap, Request};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

/// A block of addresses, `10.0.0.0/8` or `2001:db8::/32`; a bare address is a block of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Whether `address` is in the block (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, address: IpAddr) -> bool {
        match (self.network, canonical(address)) {
            (IpAddr::V4(network), IpAddr::V4(address)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(network) & mask == u32::from(address) & mask
            }
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(network) & mask == u128::from(address) & mask
            }
            _ => false,
        }
    }
}

fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

/// Why a CIDR block did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidCidr(String);

impl fmt::Display for InvalidCidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not an address or a CIDR block like 10.0.0.0/8",
            self.0
        )
    }
}

impl std::error::Error for InvalidCidr {}

impl FromStr for Cidr {
    type Err = InvalidCidr;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidCidr(text.to_owned());
        let (address, prefix) = text
            .split_once('/')
            .map_or((text, None), |(a, p)| (a, Some(p)));
        let network: IpAddr = address.trim().parse().map_err(|_| invalid())?;
        let network = canonical(network);
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(prefix) => prefix.trim().parse::<u8>().map_err(|_| invalid())?,
        };
        if prefix > max {
            return Err(invalid());
        }
        Ok(Self { network, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl Serialize for Cidr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Finds the client's address: the TCP peer, or, when the peer is a trusted proxy, the first
/// untrusted address of the forwarding chain walked from the right.
///
/// By default no proxy is trusted, so `Forwarded`, `X-Forwarded-For` and `X-Real-IP` are
/// ignored: a client cannot choose its own key by sending them.
///
/// # Example
///
/// ```
/// use rampart_ratelimit::ClientIp;
///
/// let behind_lb = ClientIp::default().trust("10.0.0.0/8".parse().unwrap());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClientIp {
    /// Proxies whose forwarding headers are believed.
    pub trusted_proxies: Vec<Cidr>,
    /// IPv6 clients are grouped by this many leading bits. Default: 64.
    pub ipv6_prefix: u8,
}

impl Default for ClientIp {
    fn default() -> Self {
        Self {
            trusted_proxies: Vec::new(),
            ipv6_prefix: 64,
        }
    }
}

impl ClientIp {
    /// Believes forwarding headers from `proxies` too.
    #[must_use]
    pub fn trust(mut self, proxies: Cidr) -> Self {
        self.trusted_proxies.push(proxies);
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
        if !self.trusted(peer) {
            return Some(peer);
        }
        let headers = request.headers();
        let chain = forwarded_for(headers)
            .or_else(|| x_forwarded_for(headers))
            .or_else(|| x_real_ip(headers).map(|ip| vec![ip]));
        let Some(chain) = chain else {
            return Some(peer);
        };
        // From the right: each hop appended the address it received from; the first address
        // not ours is the client as far as we can trust the chain.
        let mut client = peer;
        for address in chain.into_iter().rev() {
            client = address;
            if !self.trusted(address) {
                break;
            }
        }
        Some(client)
    }
}

/// `Forwarded: for=192.0.2.60;proto=http, for="[2001:db8::1]:4711"` (RFC 7239). `None` when
/// absent or when any element is unparsable (a mangled chain is not believed at all).
fn forwarded_for(headers: &HeaderMap) -> Option<Vec<IpAddr>> {
    let mut chain = Vec::new();
    let mut seen = false;
    for value in headers.get_all(http::header::FORWARDED) {
        seen = true;
        for element in value.to_str().ok()?.split(',') {
            let for_value = element.split(';').find_map(|pair| {
                let (name, value) = pair.split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("for")
                    .then_some(value.trim())
            })?;
            chain.push(parse_node(for_value.trim_matches('"'))?);
        }
    }
    (seen && !chain.is_empty()).then_some(chain)
}

fn parse_node(node: &str) -> Option<IpAddr> {
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok().map(canonical);
    }
    node.parse::<IpAddr>()
        .ok()
        .or_else(|| node.parse::<SocketAddr>().ok().map(|addr| addr.ip()))
        .map(canonical)
}

fn x_forwarded_for(headers: &HeaderMap) -> Option<Vec<IpAddr>> {
    let mut chain = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        for node in value.to_str().ok()?.split(',') {
            chain.push(parse_node(node.trim())?);
        }
    }
    (!chain.is_empty()).then_some(chain)
}

fn x_real_ip(headers: &HeaderMap) -> Option<IpAddr> {
    parse_node(headers.get("x-real-ip")?.to_str().ok()?.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(peer: &str, headers: &[(&str, &str)]) -> Request<()> {
        let mut request = Request::new(());
        let peer: SocketAddr = format!("{peer}:5000").parse().unwrap_or_else(|_| {
            format!("[{peer}]:5000")
                .parse()
                .unwrap_or(SocketAddr::from(([0; 4], 0)))
        });
        request.extensions_mut().insert(ConnectInfo(peer));
        for (name, value) in headers {
            request.headers_mut().append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap_or(http::header::FORWARDED),
                http::HeaderValue::from_str(value).unwrap_or(http::HeaderValue::from_static("")),
            );
        }
        request
    }

    fn ip(text: &str) -> Option<IpAddr> {
        text.parse().ok()
    }

    fn lb() -> ClientIp {
        ClientIp::default().trust("10.0.0.0/8".parse().unwrap_or(Cidr {
            network: IpAddr::from([10, 0, 0, 0]),
            prefix: 8,
        }))
    }

    #[test]
    fn an_untrusted_peer_cannot_choose_its_key() {
        let spoofed = request("203.0.113.7", &[("x-forwarded-for", "1.2.3.4")]);
        assert_eq!(ClientIp::default().client(&spoofed), ip("203.0.113.7"));
        assert_eq!(lb().client(&spoofed), ip("203.0.113.7"));
    }

    #[test]
    fn a_trusted_proxy_chain_is_walked_from_the_right() {
        let chain = request(
            "10.0.0.5",
            &[("x-forwarded-for", "6.6.6.6, 198.51.100.9, 10.1.1.1")],
        );
        // 10.1.1.1 is ours; 198.51.100.9 is the client; 6.6.6.6 is whatever it claimed.
        assert_eq!(lb().client(&chain), ip("198.51.100.9"));
    }

    #[test]
    fn forwarded_is_preferred_and_understood() {
        let forwarded = request(
            "10.0.0.5",
            &[
                (
                    "forwarded",
                    "for=\"[2001:db8::7]:4711\";proto=https, for=10.2.2.2",
                ),
                ("x-forwarded-for", "9.9.9.9"),
            ],
        );
        assert_eq!(lb().client(&forwarded), ip("2001:db8::7"));
    }

    #[test]
    fn garbage_chains_fall_back_to_the_peer() {
        let garbage = request("10.0.0.5", &[("x-forwarded-for", "not-an-ip, 1.2.3.4")]);
        assert_eq!(lb().client(&garbage), ip("10.0.0.5"));
        let real_ip = request("10.0.0.5", &[("x-real-ip", "192.0.2.1")]);
        assert_eq!(lb().client(&real_ip), ip("192.0.2.1"));
    }

    #[test]
    fn cidrs_parse_and_match() {
        let block: Cidr = "2001:db8::/32".parse().unwrap_or(Cidr {
            network: IpAddr::from([0; 4]),
            prefix: 0,
        });
        assert!(block.contains("2001:db8:ffff::1".parse().unwrap_or(IpAddr::from([0; 4]))));
        assert!(!block.contains("2001:db9::1".parse().unwrap_or(IpAddr::from([0; 4]))));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("banana".parse::<Cidr>().is_err());
        let one: Result<Cidr, _> = "192.0.2.1".parse();
        assert_eq!(one.map(|c| c.prefix), Ok(32));
    }
}
