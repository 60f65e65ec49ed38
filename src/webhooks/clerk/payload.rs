//! The Clerk payloads this service reads, as typed structs: the event envelope and the `data`
//! objects of user, organization, membership and invitation events.
//!
//! Deserialization is lenient on purpose: Clerk sends `""` and `null` interchangeably for "not
//! set", and a field of an unexpected type is treated as absent rather than rejecting the whole
//! event. Whether a field is *required* is decided by the handlers with [`required`], which
//! produces the `invalid` error naming the field (`docs/behaviour.md#clerk`).
//!
//! May import: `webhooks::inbox` (for `ProcessError`), external crates.

use chrono::{DateTime, Utc};
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::webhooks::inbox::ProcessError;

/// The envelope every Clerk event shares. `data` is kept as a value: its shape depends on `type`.
#[derive(Debug, Default, Deserialize)]
pub struct Envelope {
    /// The event type, as sent (not trimmed: an empty type is an unhandled type).
    #[serde(default, rename = "type", deserialize_with = "raw_string")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "object_value")]
    pub data: Option<Value>,
    /// The event time in ms: the version of a deletion, whose payload has no `updated_at`.
    /// Real deliveries send ms; Clerk's OpenAPI examples send seconds (see [`ms`]).
    #[serde(default, deserialize_with = "ms")]
    pub timestamp: Option<i64>,
}

/// `data` of `user.*` events.
#[derive(Debug, Default, Deserialize)]
pub struct UserData {
    #[serde(default, deserialize_with = "string")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "ms")]
    pub updated_at: Option<i64>,
    #[serde(default, deserialize_with = "string")]
    pub primary_email_address_id: Option<String>,
    #[serde(default, deserialize_with = "list")]
    pub email_addresses: Option<Vec<EmailAddress>>,
    #[serde(default, deserialize_with = "string")]
    pub first_name: Option<String>,
    #[serde(default, deserialize_with = "string")]
    pub last_name: Option<String>,
    #[serde(default, deserialize_with = "string")]
    pub image_url: Option<String>,
    /// `false`: `image_url` is Clerk's generated default avatar, not a picture of the person.
    #[serde(default, deserialize_with = "boolean")]
    pub has_image: Option<bool>,
}

/// The picture to store: `image_url` unless Clerk says there is none (`has_image: false`, where
/// `image_url` is a generated initials avatar) (`docs/behaviour.md#clerk`).
pub fn picture(image_url: &Option<String>, has_image: Option<bool>) -> Option<&str> {
    image_url.as_deref().filter(|_| has_image != Some(false))
}

/// One entry of `data.email_addresses`.
#[derive(Debug, Default, Deserialize)]
pub struct EmailAddress {
    #[serde(default, deserialize_with = "string")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "string")]
    pub email_address: Option<String>,
}

impl UserData {
    /// The primary email: the `email_addresses` entry whose id is `primary_email_address_id`,
    /// else the first address (a payload whose primary id points nowhere still names the person).
    pub fn primary_email(&self) -> Option<String> {
        let list = self.email_addresses.as_deref()?;
        let primary = self.primary_email_address_id.as_deref();
        list.iter()
            .find(|e| primary.is_some() && e.id.as_deref() == primary)
            .or_else(|| list.first())
            .and_then(|e| e.email_address.clone())
    }
}

/// `data` of `organization.*` events, `data.organization` of membership events and
/// `data.public_organization_data` of invitation events.
#[derive(Debug, Default, Deserialize)]
pub struct OrgData {
    #[serde(default, deserialize_with = "string")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "string")]
    pub slug: Option<String>,
    #[serde(default, deserialize_with = "string")]
    pub image_url: Option<String>,
    #[serde(default, deserialize_with = "boolean")]
    pub has_image: Option<bool>,
    #[serde(default, deserialize_with = "ms")]
    pub updated_at: Option<i64>,
}

/// `data` of `organizationMembership.*` events.
#[derive(Debug, Default, Deserialize)]
pub struct MembershipData {
    #[serde(default, deserialize_with = "object")]
    pub organization: Option<OrgData>,
    #[serde(default, deserialize_with = "object")]
    pub public_user_data: Option<PublicUserData>,
    #[serde(default, deserialize_with = "string")]
    pub role: Option<String>,
    #[serde(default, deserialize_with = "ms")]
    pub updated_at: Option<i64>,
}

/// `data.public_user_data` of membership events: a partial user.
#[derive(Debug, Default, Deserialize)]
pub struct PublicUserData {
    #[serde(default, deserialize_with = "string")]
    pub user_id: Option<String>,
    /// The sign-in identifier: usually the email, but possibly a phone number or username.
    #[serde(default, deserialize_with = "string")]
    pub identifier: Option<String>,
    #[serde(default, deserialize_with = "string")]
    pub first_name: Option<String>,
    #[serde(default, deserialize_with = "string")]
    pub last_name: Option<String>,
    #[serde(default, deserialize_with = "string")]
    pub image_url: Option<String>,
    #[serde(default, deserialize_with = "boolean")]
    pub has_image: Option<bool>,
}

/// `data` of `organizationInvitation.*` events.
#[derive(Debug, Default, Deserialize)]
pub struct InvitationData {
    #[serde(default, deserialize_with = "string")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "string")]
    pub email_address: Option<String>,
    #[serde(default, deserialize_with = "string")]
    pub organization_id: Option<String>,
    #[serde(default, deserialize_with = "object")]
    pub public_organization_data: Option<OrgData>,
    #[serde(default, deserialize_with = "string")]
    pub role: Option<String>,
    /// Clerk's own status of the invitation (`pending`, `accepted`, `revoked`, …).
    #[serde(default, deserialize_with = "string")]
    pub status: Option<String>,
    /// The accepting user's Clerk id.
    #[serde(default, deserialize_with = "string")]
    pub user_id: Option<String>,
    #[serde(default, deserialize_with = "ms")]
    pub expires_at: Option<i64>,
    #[serde(default, deserialize_with = "ms")]
    pub updated_at: Option<i64>,
}

/// Parses a `data` object (already checked to be an object) into its typed form. Every field is
/// lenient, so this only fails on a payload serde cannot read at all.
pub fn parse<T: DeserializeOwned>(data: &Value) -> Result<T, ProcessError> {
    T::deserialize(data).map_err(|e| ProcessError::invalid("data", e.to_string()))
}

/// A required string field, or the `invalid` error naming it (`field` is its JSON path).
pub fn required<'a>(value: &'a Option<String>, field: &str) -> Result<&'a str, ProcessError> {
    value
        .as_deref()
        .ok_or_else(|| ProcessError::invalid(field, "missing or empty"))
}

/// The version of an object snapshot: its `updated_at`, else the event time
/// (`docs/behaviour.md#clerk`).
pub fn version(updated_at: Option<i64>, ts: Option<i64>) -> Result<i64, ProcessError> {
    updated_at
        .or(ts)
        .ok_or_else(|| ProcessError::invalid("data.updated_at", "missing (and no event timestamp)"))
}

/// The version a deletion is recorded at: deleted objects carry no `updated_at` in practice, so
/// the event time, else 0 (user and organization deletions are final whatever the version).
pub fn deletion_version(updated_at: Option<i64>, ts: Option<i64>) -> i64 {
    updated_at.or(ts).unwrap_or(0)
}

/// A Clerk timestamp (ms) as a time, or the `invalid` error naming `field`.
pub fn ms_to_time(ms: i64, field: &str) -> Result<DateTime<Utc>, ProcessError> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| ProcessError::invalid(field, "timestamp out of range"))
}

// ---------------------------------------------------------------------------------------------
// Lenient field readers

/// A non-empty, trimmed string; anything else (null, `""`, a number, …) is absent.
fn string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(v.as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string))
}

/// A string exactly as sent; anything else is absent.
fn raw_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Value::deserialize(d)?.as_str().map(str::to_string))
}

/// A Clerk time as epoch milliseconds. Clerk's deliveries send ms, but the examples in its own
/// OpenAPI spec send the event `timestamp` in seconds (`1716883200`); a value below 10^11 (which
/// in ms would be before March 1973) is read as seconds, so versions compare on one scale.
/// Anything that is not an integer is absent.
fn ms<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(Value::deserialize(d)?.as_i64().map(to_ms))
}

/// Seconds or milliseconds → milliseconds (see [`ms`]).
pub fn to_ms(t: i64) -> i64 {
    if (0..100_000_000_000).contains(&t) {
        t.saturating_mul(1000)
    } else {
        t
    }
}

fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(Value::deserialize(d)?.as_bool())
}

/// A JSON object, kept as a value; anything else is absent.
fn object_value<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Ok(Some(Value::deserialize(d)?).filter(Value::is_object))
}

/// A JSON object read as `T`; anything else is absent.
fn object<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    match Value::deserialize(d)? {
        v @ Value::Object(_) => T::deserialize(v).map(Some).map_err(D::Error::custom),
        _ => Ok(None),
    }
}

/// A JSON array whose object entries are read as `T` (other entries as `T::default()`); anything
/// else is absent.
fn list<'de, D: Deserializer<'de>, T: DeserializeOwned + Default>(
    d: D,
) -> Result<Option<Vec<T>>, D::Error> {
    let Value::Array(items) = Value::deserialize(d)? else {
        return Ok(None);
    };
    items
        .into_iter()
        .map(|v| match v {
            Value::Object(_) => T::deserialize(v).map_err(D::Error::custom),
            _ => Ok(T::default()),
        })
        .collect::<Result<Vec<T>, D::Error>>()
        .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn primary_email_follows_the_primary_id() {
        let d: UserData = parse(&json!({
            "primary_email_address_id": "idn_2",
            "email_addresses": [
                {"id": "idn_1", "email_address": "old@example.com"},
                {"id": "idn_2", "email_address": "new@example.com"}
            ]
        }))
        .unwrap();
        assert_eq!(d.primary_email().as_deref(), Some("new@example.com"));
        let d: UserData = parse(&json!({"primary_email_address_id": null,
            "email_addresses": [{"id": "idn_1", "email_address": "a@example.com"}]}))
        .unwrap();
        assert_eq!(d.primary_email().as_deref(), Some("a@example.com"));
        let d: UserData = parse(&json!({"email_addresses": []})).unwrap();
        assert_eq!(d.primary_email(), None);
        let d: UserData =
            parse(&json!({"email_addresses": ["x", {"email_address": "b@x"}]})).unwrap();
        assert_eq!(
            d.primary_email(),
            None,
            "a non-object first entry names nobody"
        );
    }

    #[test]
    fn fields_are_lenient_and_trimmed() {
        let d: OrgData = parse(&json!({
            "id": "  org_1 ", "name": "", "slug": null, "image_url": 5,
            "has_image": "yes", "updated_at": 1.5
        }))
        .unwrap();
        assert_eq!(d.id.as_deref(), Some("org_1"));
        assert_eq!((d.name, d.slug, d.image_url), (None, None, None));
        assert_eq!((d.has_image, d.updated_at), (None, None));
        let m: MembershipData =
            parse(&json!({"organization": "org_1", "public_user_data": {"user_id": "u"}})).unwrap();
        assert!(m.organization.is_none());
        assert_eq!(
            m.public_user_data.and_then(|u| u.user_id).as_deref(),
            Some("u")
        );
        let e: Envelope =
            serde_json::from_value(json!({"type": "", "data": [], "timestamp": 7})).unwrap();
        assert_eq!(
            (e.kind.as_deref(), e.data, e.timestamp),
            (Some(""), None, Some(7000)),
            "a small timestamp is seconds"
        );
    }

    #[test]
    fn required_names_the_field_and_versions_fall_back() {
        let err = required(&None, "data.id").unwrap_err();
        assert!(matches!(err, ProcessError::Invalid { ref field, .. } if field == "data.id"));
        assert_eq!(required(&Some("x".into()), "data.id").unwrap(), "x");
        assert_eq!(version(Some(2), Some(3)).unwrap(), 2);
        assert_eq!(version(None, Some(3)).unwrap(), 3);
        assert!(version(None, None).is_err());
        assert_eq!(deletion_version(None, None), 0);
    }

    #[test]
    fn seconds_and_milliseconds_are_one_scale() {
        // Clerk's OpenAPI example envelope (seconds) and a real delivery (ms) of the same instant.
        let secs: Envelope = serde_json::from_value(json!({"timestamp": 1716883200})).unwrap();
        let ms: Envelope = serde_json::from_value(json!({"timestamp": 1716883200000_i64})).unwrap();
        assert_eq!(secs.timestamp, Some(1_716_883_200_000));
        assert_eq!(ms.timestamp, secs.timestamp);
        let inv: InvitationData =
            parse(&json!({"expires_at": 1716883200, "updated_at": 1716883200123_i64})).unwrap();
        assert_eq!(
            (inv.expires_at, inv.updated_at),
            (Some(1_716_883_200_000), Some(1_716_883_200_123))
        );
        assert_eq!(to_ms(-5), -5);
    }

    #[test]
    fn a_generated_avatar_is_no_picture() {
        let u: UserData = parse(&json!({"has_image": false,
            "image_url": "https://img.clerk.com/eyJ0eXBlIjoiZGVmYXVsdCJ9"}))
        .unwrap();
        assert_eq!(picture(&u.image_url, u.has_image), None);
        let u: UserData =
            parse(&json!({"has_image": true, "image_url": "https://img.clerk.com/x"})).unwrap();
        assert_eq!(
            picture(&u.image_url, u.has_image),
            Some("https://img.clerk.com/x")
        );
        // older payloads without has_image keep their image
        let u: UserData = parse(&json!({"image_url": "https://img.clerk.com/x"})).unwrap();
        assert_eq!(
            picture(&u.image_url, u.has_image),
            Some("https://img.clerk.com/x")
        );
    }
}
