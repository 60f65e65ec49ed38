//! Machine time per request, split by who spent it: the benchmark's own client threads, the
//! rest of this process (the server under test), and the PostgreSQL backends serving the
//! scratch database. Read from `/proc/<pid>/task/<tid>/schedstat` (nanoseconds on a CPU), so
//! the figure does not depend on how many other processes share the cores, unlike wall-clock
//! latency. Linux only; elsewhere every figure reads as zero.
//!
//! May import: anything (part of the `bench` entry point).

use std::collections::HashMap;

/// Threads whose name starts with this belong to the benchmark's client (their own runtime).
pub const CLIENT_THREAD: &str = "bench-client";

/// CPU nanoseconds at one instant.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub client_ns: u64,
    pub server_ns: u64,
    /// Per PostgreSQL backend pid.
    pub backends: HashMap<i32, u64>,
}

/// CPU time spent between two snapshots, in milliseconds.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct Spent {
    pub client_ms: f64,
    pub server_ms: f64,
    pub postgres_ms: f64,
}

impl Spent {
    /// Server and PostgreSQL: what the service costs the machine (the client excluded).
    pub fn service_ms(&self) -> f64 {
        self.server_ms + self.postgres_ms
    }

    pub fn per(&self, n: usize) -> Spent {
        let n = n.max(1) as f64;
        Spent {
            client_ms: self.client_ms / n,
            server_ms: self.server_ms / n,
            postgres_ms: self.postgres_ms / n,
        }
    }
}

/// First field of a schedstat file: time on a CPU, in nanoseconds.
fn schedstat_ns(path: &str) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|f| f.parse().ok()))
        .unwrap_or(0)
}

/// Client and server threads of this process.
fn own_threads() -> (u64, u64) {
    let (mut client, mut server) = (0, 0);
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return (0, 0);
    };
    for task in tasks.flatten() {
        let dir = task.path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        let ns = schedstat_ns(&dir.join("schedstat").to_string_lossy());
        if comm.trim_end().starts_with(CLIENT_THREAD) {
            client += ns;
        } else {
            server += ns;
        }
    }
    (client, server)
}

/// Takes a snapshot; `backends` are the scratch database's backend pids now.
pub fn snapshot(backends: &[i32]) -> Snapshot {
    let (client_ns, server_ns) = own_threads();
    Snapshot {
        client_ns,
        server_ns,
        backends: backends
            .iter()
            .map(|pid| (*pid, schedstat_ns(&format!("/proc/{pid}/schedstat"))))
            .collect(),
    }
}

/// Spent from `before` to `after`; a backend absent `before` started in between (all its time
/// counts). A backend that exited in between is missing (none do: the pool keeps them).
pub fn spent(before: &Snapshot, after: &Snapshot) -> Spent {
    let ms = |ns: u64| ns as f64 / 1e6;
    let pg: u64 = after
        .backends
        .iter()
        .map(|(pid, ns)| ns.saturating_sub(before.backends.get(pid).copied().unwrap_or(0)))
        .sum();
    Spent {
        client_ms: ms(after.client_ns.saturating_sub(before.client_ns)),
        server_ms: ms(after.server_ns.saturating_sub(before.server_ns)),
        postgres_ms: ms(pg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_backends_count_whole_and_old_ones_by_difference() {
        let before = Snapshot {
            client_ns: 1_000_000,
            server_ns: 2_000_000,
            backends: HashMap::from([(10, 5_000_000)]),
        };
        let after = Snapshot {
            client_ns: 3_000_000,
            server_ns: 6_000_000,
            backends: HashMap::from([(10, 6_000_000), (11, 2_000_000)]),
        };
        let s = spent(&before, &after);
        assert_eq!((s.client_ms, s.server_ms, s.postgres_ms), (2.0, 4.0, 3.0));
        assert_eq!(s.per(2).service_ms(), 3.5);
    }
}
