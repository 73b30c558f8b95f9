//! The error of a configuration that cannot be used, shared by every rampart crate that
//! takes configuration, so that an application reports all of them the same way.

use std::fmt;

/// A configuration that cannot be used, and the field to blame.
///
/// # Example
///
/// ```
/// use rampart_core::ConfigError;
///
/// let error = ConfigError::new("window.count", "must be at least 1").in_section("breaker");
/// assert_eq!(error.field(), "breaker.window.count");
/// assert_eq!(error.message(), "must be at least 1");
/// assert_eq!(error.to_string(), "invalid configuration at `breaker.window.count`: must be at least 1");
///
/// let error = ConfigError::missing_feature("redis").in_section("cache.redis");
/// assert_eq!(error.field(), "cache.redis");
/// assert!(error.message().ends_with("turn on the `redis` Cargo feature"));
///
/// let error = ConfigError::new("[0].name", "not a name").in_section("policies");
/// assert_eq!(error.field(), "policies[0].name");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    field: String,
    message: String,
}

impl ConfigError {
    /// An error for `field` (a dotted path, or `""` for the whole document).
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }

    /// A section this build cannot honour because the Cargo feature `feature` is off, for the
    /// section's field (put it there with [`ConfigError::in_section`]): refused by name rather
    /// than ignored.
    pub fn missing_feature(feature: &str) -> Self {
        Self::new(
            "",
            format!("this build leaves `{feature}` out: turn on the `{feature}` Cargo feature"),
        )
    }

    /// The same error, for a configuration embedded under `section` of a larger document: an
    /// array item's field (`[0].name`) is joined without a dot (`policies[0].name`).
    #[must_use]
    pub fn in_section(self, section: &str) -> Self {
        let field = if self.field.is_empty() {
            section.to_owned()
        } else if self.field.starts_with('[') {
            format!("{section}{}", self.field)
        } else {
            format!("{section}.{}", self.field)
        };
        Self { field, ..self }
    }

    /// The dotted path of the field (`timeout.default`), or `""` when the document as a whole
    /// is at fault.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// What is wrong with it.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() || self.field == "." {
            write!(f, "invalid configuration: {}", self.message)
        } else {
            write!(
                f,
                "invalid configuration at `{}`: {}",
                self.field, self.message
            )
        }
    }
}

impl std::error::Error for ConfigError {}
