//! Every status column's vocabulary, as enums. SQL binds `as_str()` (never a literal), so the
//! spec's status names exist in exactly one place; `parse` reads them back. See
//! `docs/behaviour.md#statuses`.

use serde::Serialize;

/// Declares a status enum with its spec spelling, `as_str`, `parse`, `ALL` and `Display`.
macro_rules! status_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The spelling stored in the database.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }

            /// The value stored as `s`, if it is one of ours.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($text => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

status_enum! {
    /// `outbound_calls.status` and `inbound_calls.status`: the lifecycle of one VAPI call.
    CallStatus {
        Queued = "queued",
        Ringing = "ringing",
        InProgress = "in-progress",
        Ended = "ended",
        Failed = "failed",
        Cancelled = "cancelled",
    }
}

/// The outbound table's statuses (same vocabulary as inbound).
pub type OutboundStatus = CallStatus;
/// The inbound table's statuses (same vocabulary as outbound).
pub type InboundStatus = CallStatus;

impl CallStatus {
    /// Lifecycle order; terminal values share the top rank so a late `status-update` can never
    /// move a finished call backwards.
    pub const fn rank(self) -> u8 {
        match self {
            Self::Queued => 0,
            Self::Ringing => 1,
            Self::InProgress => 2,
            Self::Ended | Self::Failed | Self::Cancelled => 3,
        }
    }

    pub const fn is_terminal(self) -> bool {
        self.rank() == 3
    }

    /// The rank of a stored value; values written by someone else count as "not started".
    pub fn rank_of(stored: &str) -> u8 {
        Self::parse(stored).map_or(0, Self::rank)
    }
}

status_enum! {
    /// `outbound_emails.status`.
    EmailStatus {
        Queued = "queued",
        Sent = "sent",
        Failed = "failed",
        Cancelled = "cancelled",
    }
}

status_enum! {
    /// `webhook_events.status`: the inbox.
    EventStatus {
        Pending = "pending",
        Processed = "processed",
        Skipped = "skipped",
        Unmatched = "unmatched",
        Invalid = "invalid",
        Failed = "failed",
    }
}

status_enum! {
    /// `discharge_batches.status`.
    BatchStatus {
        Pending = "pending",
        Processing = "processing",
        Completed = "completed",
        PartialSuccess = "partial_success",
        Failed = "failed",
        Cancelled = "cancelled",
    }
}

status_enum! {
    /// `discharge_batch_items.status`.
    BatchItemStatus {
        Pending = "pending",
        Success = "success",
        Failed = "failed",
        Cancelled = "cancelled",
    }
}

status_enum! {
    /// `auto_scheduled_items.status`.
    ScheduledItemStatus {
        Scheduled = "scheduled",
        Completed = "completed",
        Failed = "failed",
        Cancelled = "cancelled",
    }
}

status_enum! {
    /// `auto_scheduling_runs.status`.
    RunStatus {
        Running = "running",
        Completed = "completed",
        /// Some clinics failed, others did not.
        Partial = "partial",
        Failed = "failed",
    }
}

status_enum! {
    /// `vapi_bookings.status`: a hold (`pending`, counted while `hold_expires_at` is ahead),
    /// then `confirmed` once its call ended, or `expired` / `cancelled`
    /// (`docs/behaviour.md#vapi-tools-holds`).
    BookingStatus {
        Pending = "pending",
        Confirmed = "confirmed",
        Cancelled = "cancelled",
        Expired = "expired",
    }
}

status_enum! {
    /// `schedule_appointments.status` values the tools read or write.
    AppointmentStatus {
        Scheduled = "scheduled",
        Cancelled = "cancelled",
        NoShow = "no_show",
    }
}

status_enum! {
    /// `clinic_messages.status` (the spec's default `new`) and `refill_requests.status`.
    InboxItemStatus {
        New = "new",
        Pending = "pending",
    }
}

status_enum! {
    /// `clinic_messages.priority`.
    MessagePriority {
        Normal = "normal",
        Urgent = "urgent",
    }
}

status_enum! {
    /// `inbound_calls.outcome` written by the appointment tools (the spec's vocabulary, as
    /// `domain::inbound_outcome` maps the assistant's action cards).
    ToolOutcome {
        Booked = "appointment_booked",
        Rescheduled = "appointment_rescheduled",
        Cancelled = "appointment_cancelled",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trips<T: Copy + PartialEq + std::fmt::Debug>(
        all: &[T],
        as_str: fn(T) -> &'static str,
        parse: fn(&str) -> Option<T>,
    ) {
        for v in all {
            assert_eq!(parse(as_str(*v)), Some(*v), "{v:?}");
        }
        assert_eq!(parse("no-such-status"), None);
    }

    #[test]
    fn every_status_round_trips() {
        round_trips(CallStatus::ALL, CallStatus::as_str, CallStatus::parse);
        round_trips(EmailStatus::ALL, EmailStatus::as_str, EmailStatus::parse);
        round_trips(EventStatus::ALL, EventStatus::as_str, EventStatus::parse);
        round_trips(BatchStatus::ALL, BatchStatus::as_str, BatchStatus::parse);
        round_trips(
            BatchItemStatus::ALL,
            BatchItemStatus::as_str,
            BatchItemStatus::parse,
        );
        round_trips(
            ScheduledItemStatus::ALL,
            ScheduledItemStatus::as_str,
            ScheduledItemStatus::parse,
        );
        round_trips(RunStatus::ALL, RunStatus::as_str, RunStatus::parse);
        round_trips(
            BookingStatus::ALL,
            BookingStatus::as_str,
            BookingStatus::parse,
        );
        round_trips(
            AppointmentStatus::ALL,
            AppointmentStatus::as_str,
            AppointmentStatus::parse,
        );
        round_trips(
            InboxItemStatus::ALL,
            InboxItemStatus::as_str,
            InboxItemStatus::parse,
        );
        round_trips(
            MessagePriority::ALL,
            MessagePriority::as_str,
            MessagePriority::parse,
        );
        round_trips(ToolOutcome::ALL, ToolOutcome::as_str, ToolOutcome::parse);
    }

    #[test]
    fn call_ranks_never_go_backwards_from_terminal() {
        let table = [
            ("queued", 0),
            ("ringing", 1),
            ("in-progress", 2),
            ("ended", 3),
            ("failed", 3),
            ("cancelled", 3),
            ("something-else", 0),
        ];
        for (stored, rank) in table {
            assert_eq!(CallStatus::rank_of(stored), rank, "{stored}");
        }
        assert!(CallStatus::Cancelled.is_terminal());
        assert!(!CallStatus::InProgress.is_terminal());
    }

    #[test]
    fn serde_uses_the_stored_spelling() {
        assert_eq!(
            serde_json::to_value(CallStatus::InProgress).ok(),
            Some(serde_json::json!("in-progress"))
        );
        assert_eq!(
            serde_json::to_value(EventStatus::Unmatched).ok(),
            Some(serde_json::json!("unmatched"))
        );
    }
}
