//! Test helpers: whole-list order checks that also shuffle and re-sort.

/// Asserts that `key` files `expected` exactly in the given order: each key
/// is strictly below the next, and several deterministic shuffles of the list
/// sort back (by key, bytewise) to `expected`.
pub(super) fn check_order(key: impl Fn(&str) -> String, expected: &[&str]) {
    let keys: Vec<String> = expected.iter().map(|s| key(s)).collect();
    for (i, pair) in keys.windows(2).enumerate() {
        assert!(
            pair[0] < pair[1],
            "{:?} (key {:?}) should file before {:?} (key {:?})",
            expected[i],
            pair[0],
            expected[i + 1],
            pair[1]
        );
    }
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    for _ in 0..8 {
        let mut shuffled = expected.to_vec();
        for i in (1..shuffled.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let j = usize::try_from(state % (i as u64 + 1)).unwrap_or(0);
            shuffled.swap(i, j);
        }
        shuffled.sort_by_cached_key(|s| key(s));
        assert_eq!(shuffled, expected);
    }
}

/// Asserts that every string in `same` gets the same key.
pub(super) fn check_same(key: impl Fn(&str) -> String, same: &[&str]) {
    let Some(first) = same.first() else { return };
    let k = key(first);
    for s in same {
        assert_eq!(key(s), k, "{s:?} should file as {first:?}");
    }
}
