//! The content codings an encoder offers: what a cache above the encoder needs to know to keep
//! one variant per coding the encoder will use, rather than one per `Accept-Encoding` spelling
//! a client can invent.

/// A content coding (RFC 9110 8.4.1) a rampart encoder can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ContentCoding {
    /// Brotli (RFC 7932).
    Br,
    /// Zstandard (RFC 8878).
    Zstd,
    /// gzip (RFC 1952).
    Gzip,
    /// deflate: zlib (RFC 1950).
    Deflate,
}

impl ContentCoding {
    /// Every coding, in the order rampart prefers them when a client weighs several equally:
    /// the smaller output first, at the levels rampart uses (docs/compression.md).
    pub const ALL: [Self; 4] = [Self::Br, Self::Zstd, Self::Gzip, Self::Deflate];

    /// The coding's token in `Accept-Encoding` and `Content-Encoding`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Br => "br",
            Self::Zstd => "zstd",
            Self::Gzip => "gzip",
            Self::Deflate => "deflate",
        }
    }

    const fn bit(self) -> u8 {
        match self {
            Self::Br => 1,
            Self::Zstd => 2,
            Self::Gzip => 4,
            Self::Deflate => 8,
        }
    }
}

/// A set of content codings: those an encoder offers.
///
/// ```
/// use rampart_core::coding::{ContentCoding, ContentCodings};
///
/// let offered = ContentCodings::ALL.with(ContentCoding::Deflate, false);
/// assert!(offered.contains(ContentCoding::Br));
/// assert!(!offered.contains(ContentCoding::Deflate));
/// assert!(!ContentCodings::NONE.contains(ContentCoding::Gzip));
/// assert_eq!(ContentCodings::default(), ContentCodings::ALL);
/// assert_eq!(ContentCoding::Zstd.name(), "zstd");
/// assert_eq!(ContentCoding::ALL.len(), 4);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContentCodings(u8);

impl ContentCodings {
    /// Every coding rampart knows.
    pub const ALL: Self = Self(0b1111);
    /// None: only the unencoded representation.
    pub const NONE: Self = Self(0);

    /// The set with `coding` in it or not.
    #[must_use]
    pub const fn with(self, coding: ContentCoding, offered: bool) -> Self {
        if offered {
            Self(self.0 | coding.bit())
        } else {
            Self(self.0 & !coding.bit())
        }
    }

    /// Whether `coding` is in the set.
    pub const fn contains(self, coding: ContentCoding) -> bool {
        self.0 & coding.bit() != 0
    }
}

impl Default for ContentCodings {
    fn default() -> Self {
        Self::ALL
    }
}
