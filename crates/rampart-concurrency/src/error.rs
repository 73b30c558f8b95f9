use std::fmt;

/// A concurrency configuration that cannot work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidConcurrencyConfig {
    field: String,
    message: String,
}

impl InvalidConcurrencyConfig {
    pub(crate) fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The field at fault, as TOML names it within the section (`groups.database.max`).
    #[must_use]
    pub fn field(&self) -> &str {
        &self.field
    }

    /// What is wrong with it.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for InvalidConcurrencyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for InvalidConcurrencyConfig {}
