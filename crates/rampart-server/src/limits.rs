//! The default connection cap, from the process's open-files limit.

/// File descriptors kept out of the connection cap: the listener, Redis connections, log files,
/// the runtime's own, and whatever the application opens.
pub const RESERVED_FILES: usize = 96;

/// With no open-files limit to read (not Linux), the cap.
const FALLBACK_MAX_CONNECTIONS: usize = 10_000;

/// The soft open-files limit minus what is reserved, at least 1.
pub(crate) fn default_max_connections() -> usize {
    open_files_limit().map_or(FALLBACK_MAX_CONNECTIONS, |limit| {
        limit.saturating_sub(RESERVED_FILES).max(1)
    })
}

/// The soft `RLIMIT_NOFILE`, read from `/proc/self/limits` (no `unsafe`, no libc call).
fn open_files_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    parse_open_files(&limits)
}

fn parse_open_files(limits: &str) -> Option<usize> {
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    let soft = line
        .trim_start_matches("Max open files")
        .split_whitespace()
        .next()?;
    match soft {
        "unlimited" => Some(usize::MAX),
        number => number.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_is_read() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max cpu time              unlimited            unlimited            seconds\n\
                      Max open files            1024                 524288               files\n";
        assert_eq!(parse_open_files(limits), Some(1024));
        assert_eq!(parse_open_files("nothing"), None);
    }

    #[test]
    fn the_default_cap_leaves_room_under_the_limit() {
        let cap = default_max_connections();
        let limit = open_files_limit().expect("Linux has /proc/self/limits");
        assert_eq!(cap, limit.saturating_sub(RESERVED_FILES).max(1));
    }
}
