//! Integration test: the public API used the way a caller would.

use textstats::Stats;

#[test]
fn merging_equals_counting_the_concatenation() {
    let first = "one fish two fish";
    let second = "red fish blue fish";
    let mut merged = Stats::of(first);
    merged.merge(&Stats::of(second));
    assert_eq!(merged, Stats::of(&format!("{first} {second}")));
    assert_eq!(merged.count("fish"), 4);
    assert_eq!(merged.words(), 8);
}
