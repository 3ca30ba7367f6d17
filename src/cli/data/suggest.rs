//! "Did you mean ...?" for a store name that is not in the manifest.

/// The known name closest to `given`, if it is close enough to be a typo: at most a
/// third of its length in edits (and at least 2 allowed).
pub(crate) fn closest<'a>(
    given: &str,
    known: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let allowed = (given.chars().count() / 3).max(2);
    known
        .into_iter()
        .map(|name| (distance(given, name), name))
        .filter(|(d, _)| *d <= allowed)
        .min_by_key(|(d, _)| *d)
        .map(|(_, name)| name)
}

/// Levenshtein distance, by characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_are_found_and_strangers_are_not() {
        let known = ["demo-cache", "sessions"];
        assert_eq!(closest("demo-cach", known), Some("demo-cache"));
        assert_eq!(closest("sesions", known), Some("sessions"));
        assert_eq!(closest("users", known), None);
        assert_eq!(distance("kitten", "sitting"), 3);
    }
}
