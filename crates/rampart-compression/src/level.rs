use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How hard each algorithm works. In configuration: `"default"`, `"fastest"`, `"best"`, or a
/// number passed to every algorithm.
///
/// # Example
///
/// ```
/// use rampart_compression::CompressionLevel;
///
/// assert_eq!(CompressionLevel::default(), CompressionLevel::Default);
/// let level: CompressionLevel = serde_json::from_str("\"fastest\"").unwrap();
/// assert_eq!(level, CompressionLevel::Fastest);
/// assert_eq!(serde_json::from_str::<CompressionLevel>("5").unwrap(), CompressionLevel::Precise(5));
/// assert!(serde_json::from_str::<CompressionLevel>("\"max\"").is_err());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum CompressionLevel {
    /// Server levels: gzip 6, deflate 6, zstd 3, brotli 4. The one to use unless you have
    /// measured otherwise.
    #[default]
    Default,
    /// Each algorithm's fastest level.
    Fastest,
    /// Each algorithm's smallest output. Too slow for dynamic responses.
    Best,
    /// The same numeric level for every algorithm, clamped to each one's range.
    Precise(i32),
}

impl CompressionLevel {
    pub(crate) const fn tower_http(self) -> tower_http::CompressionLevel {
        match self {
            Self::Default => tower_http::CompressionLevel::Default,
            Self::Fastest => tower_http::CompressionLevel::Fastest,
            Self::Best => tower_http::CompressionLevel::Best,
            Self::Precise(level) => tower_http::CompressionLevel::Precise(level),
        }
    }
}

impl Serialize for CompressionLevel {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Default => serializer.serialize_str("default"),
            Self::Fastest => serializer.serialize_str("fastest"),
            Self::Best => serializer.serialize_str("best"),
            Self::Precise(level) => serializer.serialize_i32(*level),
        }
    }
}

impl<'de> Deserialize<'de> for CompressionLevel {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Name(String),
            Number(i32),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Number(level) => Ok(Self::Precise(level)),
            Raw::Name(name) => match name.as_str() {
                "default" => Ok(Self::Default),
                "fastest" => Ok(Self::Fastest),
                "best" => Ok(Self::Best),
                other => Err(serde::de::Error::custom(format!(
                    "unknown level `{other}`, expected \"default\", \"fastest\", \"best\" or a number"
                ))),
            },
        }
    }
}
