use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a breaker stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum BreakerState {
    /// Calls go through; their outcomes fill the window.
    Closed,
    /// Calls are rejected until the wait is over.
    Open,
    /// A fixed number of probes go through; their outcomes close or re-open the breaker.
    HalfOpen,
    /// Rejected by an administrator until closed again.
    ForcedOpen,
    /// Switched off by an administrator: every call goes through, nothing is counted.
    Disabled,
}

impl BreakerState {
    pub(crate) const fn code(self) -> u8 {
        match self {
            Self::Closed => 0,
            Self::Open => 1,
            Self::HalfOpen => 2,
            Self::ForcedOpen => 3,
            Self::Disabled => 4,
        }
    }

    pub(crate) const fn from_code(code: u8) -> Self {
        match code {
            1 => Self::Open,
            2 => Self::HalfOpen,
            3 => Self::ForcedOpen,
            4 => Self::Disabled,
            _ => Self::Closed,
        }
    }

    /// The value of `rampart_breaker_state`: 0 closed, 1 open, 2 half-open, 3 forced open,
    /// 4 disabled.
    pub const fn gauge_value(self) -> f64 {
        self.code() as f64
    }

    /// The name used in labels, logs and the admin read-out.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half_open",
            Self::ForcedOpen => "forced_open",
            Self::Disabled => "disabled",
        }
    }
}

impl fmt::Display for BreakerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an administrator may force a breaker into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ForcedState {
    /// Reject every call until closed again.
    ForcedOpen,
    /// Back to normal operation, with an empty window.
    Closed,
    /// Let every call through and count nothing.
    Disabled,
}
