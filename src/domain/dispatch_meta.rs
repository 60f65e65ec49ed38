//! Keys the dispatcher keeps in an outbound row's `metadata` JSON. The spec's statuses have no
//! "dispatching" state, so the claim lives here (`docs/behaviour.md#dispatch`); every SQL that
//! reads or writes these keys binds these constants.

/// When a dispatcher claimed the row (its presence is the claim).
pub const CLAIMED_AT: &str = "dispatch_claimed_at";
/// Which process claimed it.
pub const CLAIMED_BY: &str = "dispatch_claimed_by";
/// Written just before the provider request: from here on the outcome may be unknown.
pub const SENDING_AT: &str = "dispatch_sending_at";
/// Earliest time a released row may be claimed again (provider back-off).
pub const RETRY_AT: &str = "dispatch_retry_at";
/// Provider-refused retries so far.
pub const RETRIES: &str = "dispatch_retries";
/// Set on a row whose request was in flight when its worker died: never sent again.
pub const AMBIGUOUS: &str = "dispatch_ambiguous";
/// Attempt number of an outbound call (first call = 1).
pub const ATTEMPT: &str = "attempt";
/// On a retry row: the id of the attempt it retries.
pub const RETRY_OF: &str = "retry_of";
/// Send attempts of an email so far.
pub const ATTEMPTS: &str = "dispatch_attempts";
