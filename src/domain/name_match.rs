//! When a name the caller spoke is the name on an appointment (`docs/behaviour.md#vapi-tools-appointments`).
//!
//! Callers give part of a name ("Smith" for "John Smith"), speech-to-text misspells
//! ("Jon Smyth"), and cancel acts on what it finds. So a name matches when one name's words
//! are all among the other's (whole words: a stored "Li" is not in "Elizabeth Lin", a spoken
//! "an" is not in "Anna"), or when the two are close by trigram similarity
//! ([`SIMILAR_ENOUGH`], PostgreSQL's `pg_trgm` default threshold). The database proposes
//! candidates with a looser test (substring or similarity) and this rule decides.

/// Trigram similarity (`pg_trgm`'s `similarity`) at or above which two names are the same.
pub const SIMILAR_ENOUGH: f32 = 0.3;

/// The lowercase alphanumeric words of a name ("O'Brien, Mary-Jane" → o, brien, mary, jane).
fn words(name: &str) -> Vec<String> {
    name.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Whether every word of `part` is a word of `whole`.
fn all_within(part: &[String], whole: &[String]) -> bool {
    !part.is_empty() && part.iter().all(|w| whole.contains(w))
}

/// Whether `spoken` names the same person or pet as `stored`, given their trigram similarity.
pub fn names_match(spoken: &str, stored: Option<&str>, similarity: f32) -> bool {
    let Some(stored) = stored else {
        return false;
    };
    let (a, b) = (words(spoken), words(stored));
    if a.is_empty() || b.is_empty() {
        return false;
    }
    all_within(&a, &b) || all_within(&b, &a) || similarity >= SIMILAR_ENOUGH
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_words_either_way_or_close_spelling() {
        // (spoken, stored, similarity, matches)
        let cases: &[(&str, Option<&str>, f32, bool)] = &[
            ("John Smith", Some("John Smith"), 1.0, true),
            ("john smith", Some("JOHN  SMITH"), 1.0, true),
            ("Smith", Some("John Smith"), 0.4, true),
            ("Smith", Some("John Smith"), 0.0, true),
            ("Mary Jane Smith", Some("Smith"), 0.2, true),
            ("Smith, John", Some("John Smith"), 0.9, true),
            ("O'Brien", Some("Mary O'Brien"), 0.1, true),
            ("Bo", Some("Bo"), 1.0, true),
            // Substrings of a word are not the word.
            ("Li", Some("Elizabeth Lin"), 0.1, false),
            ("an", Some("Anna"), 0.2, false),
            ("Elizabeth Lin", Some("Li"), 0.1, false),
            // A misspelling close enough by trigrams.
            ("Jon Smyth", Some("John Smith"), 0.31, true),
            ("Jon Smyth", Some("John Smith"), 0.29, false),
            // Nothing to compare.
            ("", Some("John"), 1.0, false),
            ("John", None, 1.0, false),
            ("John", Some("  "), 1.0, false),
            ("--", Some("John"), 0.0, false),
        ];
        for (spoken, stored, sim, want) in cases {
            assert_eq!(
                names_match(spoken, *stored, *sim),
                *want,
                "{spoken:?} vs {stored:?} at {sim}"
            );
        }
    }
}
