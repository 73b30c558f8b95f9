//! Client addresses: CIDR blocks (trusted proxies, allowlists) and the one canonical form of
//! an address, shared by the rate limiter's client key and the server's per-address share.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::net::IpAddr;
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

/// The client a request came from, as a layer that resolved it put it in the request's
/// extensions: the rate limiter does, for a policy keyed by the client address (a trusted
/// proxy's forwarded header honoured; IPv6 by its policy's prefix). Layers below that tell
/// clients apart read it with [`ClientAddress::of`], which falls back to the connection's peer.
///
/// # Example
///
/// ```
/// use axum::extract::ConnectInfo;
/// use rampart_core::address::ClientAddress;
/// use std::net::{IpAddr, SocketAddr};
///
/// let mut request = http::Request::new(());
/// assert_eq!(ClientAddress::of(&request), None);
/// request
///     .extensions_mut()
///     .insert(ConnectInfo(SocketAddr::from(([10, 0, 0, 5], 4711))));
/// assert_eq!(ClientAddress::of(&request), Some(IpAddr::from([10, 0, 0, 5])));
/// request
///     .extensions_mut()
///     .insert(ClientAddress(IpAddr::from([198, 51, 100, 7])));
/// assert_eq!(ClientAddress::of(&request), Some(IpAddr::from([198, 51, 100, 7])));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientAddress(pub IpAddr);

impl ClientAddress {
    /// The client of `request`: the address a layer above resolved, else the connection's
    /// peer (`ConnectInfo`, canonical), else `None`.
    pub fn of<B>(request: &http::Request<B>) -> Option<IpAddr> {
        let extensions = request.extensions();
        extensions.get::<Self>().map(|client| client.0).or_else(|| {
            extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|info| canonical(info.0.ip()))
        })
    }
}

/// An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) as the IPv4 address it is; any other as is.
pub fn canonical(address: IpAddr) -> IpAddr {
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

#[cfg(test)]
mod tests {
    use super::*;

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
