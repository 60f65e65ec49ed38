//! Clinic names and slugs for Clerk organizations: the base slug and the deterministic sequence
//! of (name, slug) candidates tried until one is free (`docs/behaviour.md#clerk`). Pure.
//!
//! May import: external crates only.

use sha2::{Digest, Sha256};

/// Gives up finding a free clinic name/slug after this many candidates (only reachable if
/// dozens of clinics share one name, or under a pathological race).
pub const MAX_NAME_CANDIDATES: usize = 50;

/// The slug of a clinic whose organization has neither a usable slug nor a usable name.
const FALLBACK_SLUG: &str = "clinic";

/// Lowercase ASCII letters and digits separated by single dashes.
pub fn slugify(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// The slug candidates start from: the organization's slug slugified, else its name slugified,
/// else [`FALLBACK_SLUG`].
pub fn base_slug(slug: Option<&str>, name: &str) -> String {
    [slug.unwrap_or_default(), name]
        .into_iter()
        .map(slugify)
        .find(|s| !s.is_empty())
        .unwrap_or_else(|| FALLBACK_SLUG.to_string())
}

/// Six hex digits of SHA-256(org id): a suffix that is stable for an organization and different
/// between organizations, so two orgs both called "Sunset Vet" always get the same two names.
pub fn short_hash(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
        .chars()
        .take(6)
        .collect()
}

/// The `i`-th (name, slug) candidate for an organization: the names it asked for, then with the
/// stable hash suffix, then with the suffix and a counter.
pub fn name_candidate(name: &str, slug: &str, org_id: &str, i: usize) -> (String, String) {
    let h = short_hash(org_id);
    match i {
        0 => (name.to_string(), slug.to_string()),
        1 => (format!("{name} ({h})"), format!("{slug}-{h}")),
        n => (format!("{name} ({h}-{n})"), format!("{slug}-{h}-{n}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_and_candidates_are_deterministic() {
        assert_eq!(
            slugify("Sunset Animal Hospital & ER"),
            "sunset-animal-hospital-er"
        );
        assert_eq!(slugify("--Déjà  Vu--"), "d-j-vu");
        assert_eq!(slugify("!!!"), "");
        let h = short_hash("org_a");
        assert_eq!(h.len(), 6);
        assert_eq!(h, short_hash("org_a"));
        assert_ne!(h, short_hash("org_b"));
        assert_eq!(
            name_candidate("Vet", "vet", "org_a", 0),
            ("Vet".into(), "vet".into())
        );
        assert_eq!(
            name_candidate("Vet", "vet", "org_a", 1),
            (format!("Vet ({h})"), format!("vet-{h}"))
        );
        assert_eq!(
            name_candidate("Vet", "vet", "org_a", 2),
            (format!("Vet ({h}-2)"), format!("vet-{h}-2"))
        );
    }

    #[test]
    fn the_base_slug_falls_back_from_slug_to_name_to_clinic() {
        assert_eq!(base_slug(Some("My-Vet"), "Other"), "my-vet");
        assert_eq!(base_slug(Some("!!"), "Sunset Vet"), "sunset-vet");
        assert_eq!(base_slug(None, "Sunset Vet"), "sunset-vet");
        assert_eq!(base_slug(None, "!!!"), "clinic");
        assert_eq!(base_slug(Some(""), "é"), "clinic");
    }
}
