//! Keyed GCRA rate limiting: exact decisions, several policies at once, bounded memory.
//!
//! This crate is being built (issue 3). What is here is the decision core:
//!
//! - [`Quota`]: "N per period, burst B", with constructors that say what they mean.
//! - [`Key`]: global, a client address (IPv6 grouped by prefix), or any text.
//! - [`RateLimiter`]: one or more policies decided together. A request must pass all of them
//!   and, when one refuses, consumes nothing from the others.
//!
//! # Why not governor
//!
//! governor's GCRA is the model for this one, but its keyed limiter can only *consume*: there is
//! no way to ask a second policy before committing the first, so "20/s per client and 5 000/min
//! for everyone" would charge the client's quota for requests the global quota refuses. Its
//! keyed store also grows until the application calls `retain_recent`, with no hard cap. Here
//! each policy keeps one atomic theoretical arrival time per key, updated by compare-and-swap,
//! refunded exactly when a later policy refuses, in a store with a hard cap on keys.

mod gcra;
mod key;
mod limiter;
mod quota;
mod store;

#[doc(inline)]
pub use key::Key;
#[doc(inline)]
pub use limiter::{Allowance, DEFAULT_MAX_KEYS, Limited, RateLimiter, RateLimiterBuilder};
#[doc(inline)]
pub use quota::{InvalidQuota, Quota};
