//! Every retry schedule of the service, as named pure functions of the attempt count (and a
//! jitter factor the caller draws with [`jitter`]), with the attempt limits beside them
//! (`docs/behaviour.md#backoff`).

use std::time::Duration;

/// Retries of a call VAPI certainly did not receive (429, 503 + Retry-After, connect error).
pub const MAX_CALL_DISPATCH_RETRIES: i64 = 5;
/// Send attempts of one email before the row is failed.
pub const MAX_EMAIL_SEND_ATTEMPTS: i64 = 6;
/// Processing attempts of an inbox event after which it is left `failed` for an operator (a
/// poison event must not loop forever).
pub const MAX_EVENT_ATTEMPTS: i32 = 10;

/// The job engine's in-worker retry: exponential from `JOB_RETRY_MIN` to `JOB_RETRY_MAX` with
/// this much jitter (apalis's `ExponentialBackoffMaker` applies it).
pub const JOB_RETRY_MIN: Duration = Duration::from_secs(2);
pub const JOB_RETRY_MAX: Duration = Duration::from_secs(300);
pub const JOB_RETRY_JITTER: f64 = 0.5;

/// A jitter factor in [0.8, 1.2): spreads retries of many rows that failed together.
pub fn jitter() -> f64 {
    use rand::Rng;
    rand::thread_rng().gen_range(0.8..1.2)
}

/// Call dispatch retry when VAPI advised no delay: 10 s, 20 s, 40 s … capped at 10 min.
pub fn call_dispatch_retry(retries: i64, jitter: f64) -> Duration {
    let base = 10u64.saturating_mul(1u64 << retries.clamp(0, 6)).min(600);
    Duration::from_secs_f64(base as f64 * jitter)
}

/// Email send retry after attempt `attempts` (first = 1): 1 s, 2 s, 4 s … capped at 5 min.
pub fn email_send_retry(attempts: i64, jitter: f64) -> Duration {
    let base = 1u64
        .saturating_mul(1u64 << (attempts - 1).clamp(0, 8))
        .min(300);
    Duration::from_secs_f64(base as f64 * jitter)
}

/// Delay before the inbox retries a failed event after attempt `attempts` (first = 1):
/// 30 s, 1 min, 2 min … capped at 1 h.
pub fn inbox_retry(attempts: i32) -> Duration {
    let exp = attempts.clamp(1, 8) - 1;
    Duration::from_secs((30u64 << exp).min(3600))
}

/// Whether an inbox event that has now had `attempts` attempts gets another one.
pub fn event_may_retry(attempts: i32) -> bool {
    attempts < MAX_EVENT_ATTEMPTS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(d: Duration) -> f64 {
        d.as_secs_f64()
    }

    #[test]
    fn call_dispatch_table() {
        let table = [
            (0, 10.0),
            (1, 20.0),
            (3, 80.0),
            (5, 320.0),
            (6, 600.0),
            (40, 600.0),
            (-1, 10.0),
        ];
        for (retries, want) in table {
            assert_eq!(
                secs(call_dispatch_retry(retries, 1.0)),
                want,
                "retries {retries}"
            );
        }
        assert_eq!(secs(call_dispatch_retry(0, 1.2)), 12.0);
    }

    #[test]
    fn email_send_table() {
        let table = [
            (1, 1.0),
            (2, 2.0),
            (3, 4.0),
            (9, 256.0),
            (10, 256.0),
            (0, 1.0),
        ];
        for (attempts, want) in table {
            assert_eq!(
                secs(email_send_retry(attempts, 1.0)),
                want,
                "attempts {attempts}"
            );
        }
        assert_eq!(secs(email_send_retry(2, 0.8)), 1.6);
    }

    #[test]
    fn inbox_table() {
        let table = [
            (0, 30),
            (1, 30),
            (2, 60),
            (3, 120),
            (7, 1920),
            (8, 3600),
            (50, 3600),
        ];
        for (attempts, want) in table {
            assert_eq!(inbox_retry(attempts).as_secs(), want, "attempts {attempts}");
        }
        assert!(event_may_retry(9));
        assert!(!event_may_retry(10));
    }

    #[test]
    fn jitter_stays_in_range() {
        for _ in 0..1000 {
            let j = jitter();
            assert!((0.8..1.2).contains(&j), "{j}");
        }
    }
}
