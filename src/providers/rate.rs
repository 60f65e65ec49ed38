//! A minimal shared rate limiter: requests are spaced `1/rps` apart, in arrival order.
//!
//! Per process: Resend's limit is per team, so N processes may together send N×rps; the
//! email dispatcher treats Resend's 429 `rate_limit_exceeded` as retryable for that reason.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

#[derive(Clone, Debug)]
pub struct RateLimiter {
    interval: Duration,
    next: Arc<Mutex<Instant>>,
}

impl RateLimiter {
    pub fn per_second(rps: u32) -> Self {
        Self {
            interval: Duration::from_secs(1) / rps.max(1),
            next: Arc::new(Mutex::new(Instant::now())),
        }
    }

    /// Waits for this caller's slot.
    pub async fn acquire(&self) {
        let slot = self.reserve().await;
        tokio::time::sleep_until(slot).await;
    }

    /// Books the next free slot (no earlier than now) and returns it.
    async fn reserve(&self) -> Instant {
        let mut next = self.next.lock().await;
        let slot = (*next).max(Instant::now());
        *next = slot + self.interval;
        slot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn slots_are_spaced_by_the_interval() {
        let rl = RateLimiter::per_second(2);
        let mut slots = Vec::new();
        for _ in 0..5 {
            slots.push(rl.reserve().await);
        }
        // Booked slots, not elapsed time: each is at least 500 ms after the previous one.
        for w in slots.windows(2) {
            assert!(w[1] - w[0] >= Duration::from_millis(500));
        }
    }
}
