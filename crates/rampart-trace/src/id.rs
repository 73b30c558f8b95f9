use std::fmt;

/// The 16-byte id every span of one trace shares (W3C Trace Context `trace-id`).
///
/// Shown as 32 lowercase hex digits, as in `traceparent` and in every tracing backend.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceId([u8; 16]);

/// The 8-byte id of one span (W3C Trace Context `parent-id`).
///
/// Shown as 16 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SpanId([u8; 8]);

impl TraceId {
    /// The id with these bytes, or `None` for all zeroes, which W3C Trace Context forbids.
    pub fn from_bytes(bytes: [u8; 16]) -> Option<Self> {
        (bytes != [0; 16]).then_some(Self(bytes))
    }

    /// The id's bytes.
    pub const fn to_bytes(self) -> [u8; 16] {
        self.0
    }

    /// A fresh id. Unique, not unpredictable: ids are correlation handles, not secrets, and a
    /// system call for fresh randomness per request would cost more than the rest of the layer.
    pub(crate) fn random() -> Self {
        loop {
            if let Some(id) = Self::from_bytes(fastrand::u128(..).to_be_bytes()) {
                return id;
            }
        }
    }

    /// Parses exactly 32 lowercase hex digits, not all zero.
    pub(crate) fn parse(hex: &[u8]) -> Option<Self> {
        Self::from_bytes(lower_hex(hex)?)
    }
}

impl SpanId {
    /// The id with these bytes, or `None` for all zeroes, which W3C Trace Context forbids.
    pub fn from_bytes(bytes: [u8; 8]) -> Option<Self> {
        (bytes != [0; 8]).then_some(Self(bytes))
    }

    /// The id's bytes.
    pub const fn to_bytes(self) -> [u8; 8] {
        self.0
    }

    /// A fresh id; see [`TraceId`] for why it is not from the operating system.
    pub(crate) fn random() -> Self {
        loop {
            if let Some(id) = Self::from_bytes(fastrand::u64(..).to_be_bytes()) {
                return id;
            }
        }
    }

    /// Parses exactly 16 lowercase hex digits, not all zero.
    pub(crate) fn parse(hex: &[u8]) -> Option<Self> {
        Self::from_bytes(lower_hex(hex)?)
    }
}

/// `N` bytes from `2 * N` lowercase hex digits. Uppercase is refused, as W3C Trace Context
/// asks: a vendor that sends it is not following the format, and its other fields are suspect.
pub(crate) fn lower_hex<const N: usize>(hex: &[u8]) -> Option<[u8; N]> {
    if hex.len() != 2 * N {
        return None;
    }
    let mut bytes = [0; N];
    for (byte, pair) in bytes.iter_mut().zip(hex.chunks_exact(2)) {
        *byte = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(bytes)
}

const fn nibble(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        _ => None,
    }
}

fn write_hex(bytes: &[u8], f: &mut fmt::Formatter<'_>) -> fmt::Result {
    bytes.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(&self.0, f)
    }
}

impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceId({self})")
    }
}

impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(&self.0, f)
    }
}

impl fmt::Debug for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SpanId({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn display_parses_back(bytes in any::<[u8; 16]>(), span in any::<[u8; 8]>()) {
            if let Some(id) = TraceId::from_bytes(bytes) {
                prop_assert_eq!(TraceId::parse(id.to_string().as_bytes()), Some(id));
            }
            if let Some(id) = SpanId::from_bytes(span) {
                prop_assert_eq!(SpanId::parse(id.to_string().as_bytes()), Some(id));
            }
        }
    }

    #[test]
    fn zero_uppercase_and_wrong_lengths_are_refused() {
        assert_eq!(TraceId::parse(&[b'0'; 32]), None);
        assert_eq!(SpanId::parse(&[b'0'; 16]), None);
        assert_eq!(TraceId::parse(b"4BF92F3577B34DA6A3CE929D0E0E4736"), None);
        assert_eq!(TraceId::parse(b"4bf92f3577b34da6a3ce929d0e0e473"), None);
        assert_eq!(SpanId::parse(b"00f067aa0ba902b7aa"), None);
        assert_eq!(
            TraceId::parse(b"4bf92f3577b34da6a3ce929d0e0e4736").map(|id| id.to_string()),
            Some("4bf92f3577b34da6a3ce929d0e0e4736".to_owned())
        );
    }

    #[test]
    fn random_ids_are_valid_and_differ() {
        assert_ne!(TraceId::random(), TraceId::random());
        assert_ne!(SpanId::random(), SpanId::random());
    }
}
