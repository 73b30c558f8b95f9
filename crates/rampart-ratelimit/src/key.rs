use std::fmt;
use std::net::IpAddr;

/// Who a quota is counted for.
///
/// # Example
///
/// ```
/// use rampart_ratelimit::Key;
///
/// let api_key = Key::text("k-123");
/// let client = Key::ip("2001:db8::1".parse().unwrap(), 64);
/// assert_eq!(client, Key::ip("2001:db8::ffff".parse().unwrap(), 64));
/// assert_ne!(api_key, Key::Global);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Key {
    /// One quota for everybody.
    Global,
    /// A client address, already cut to its prefix (so an IPv6 host cannot rotate through its
    /// /64 to escape its quota).
    Ip(IpAddr),
    /// Any other value: an API key, a user id.
    Text(Box<str>),
}

impl Key {
    /// A client address grouped by its first `ipv6_prefix` bits when it is IPv6. IPv4 addresses
    /// are kept whole; an IPv4-mapped IPv6 address counts as its IPv4 address.
    pub fn ip(address: IpAddr, ipv6_prefix: u8) -> Self {
        match address {
            IpAddr::V4(v4) => Self::Ip(IpAddr::V4(v4)),
            IpAddr::V6(v6) => {
                if let Some(v4) = v6.to_ipv4_mapped() {
                    return Self::Ip(IpAddr::V4(v4));
                }
                let bits = u32::from(ipv6_prefix.min(128));
                let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
                Self::Ip(IpAddr::V6((u128::from(v6) & mask).into()))
            }
        }
    }

    /// A key from any text.
    pub fn text(value: impl Into<Box<str>>) -> Self {
        Self::Text(value.into())
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Global => f.write_str("global"),
            Self::Ip(ip) => write!(f, "{ip}"),
            Self::Text(text) => f.write_str(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_group_by_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1"
            .parse()
            .unwrap_or(IpAddr::from([0; 4]));
        let b: IpAddr = "2001:db8:1:2:bbbb::9"
            .parse()
            .unwrap_or(IpAddr::from([0; 4]));
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap_or(IpAddr::from([0; 4]));
        assert_eq!(Key::ip(a, 64), Key::ip(b, 64));
        assert_ne!(Key::ip(a, 64), Key::ip(other, 64));
        assert_ne!(Key::ip(a, 128), Key::ip(b, 128));
        assert_eq!(Key::ip(a, 0), Key::ip(other, 0));
    }

    #[test]
    fn mapped_ipv4_counts_as_ipv4() {
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap_or(IpAddr::from([0; 4]));
        let plain: IpAddr = "192.0.2.7".parse().unwrap_or(IpAddr::from([0; 4]));
        assert_eq!(Key::ip(mapped, 64), Key::ip(plain, 64));
    }
}
