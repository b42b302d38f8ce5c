//! Word statistics for plain text.
//!
//! This crate is an example that stands in for a workspace's own library crates: the xtask's
//! tasks are shown and tested on it. It has unit tests, an integration test, a doc test and a
//! little code that no test reaches, so coverage reports have something real to say.
//!
//! ```
//! let stats = textstats::Stats::of("the cat saw the dog");
//! assert_eq!(stats.words(), 5);
//! assert_eq!(stats.count("the"), 2);
//! assert_eq!(stats.top(1), vec![("the", 2)]);
//! ```

use std::collections::BTreeMap;

/// Word counts of one text. Words are runs of alphanumeric characters (and inner apostrophes),
/// compared case-insensitively.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    counts: BTreeMap<String, usize>,
    words: usize,
}

impl Stats {
    /// Counts the words of `text`.
    pub fn of(text: &str) -> Stats {
        let mut stats = Stats::default();
        for word in words(text) {
            *stats.counts.entry(word.to_lowercase()).or_default() += 1;
            stats.words += 1;
        }
        stats
    }

    /// Number of words, repeats included.
    pub fn words(&self) -> usize {
        self.words
    }

    /// Number of different words.
    pub fn distinct(&self) -> usize {
        self.counts.len()
    }

    /// How often `word` occurs, case-insensitively.
    pub fn count(&self, word: &str) -> usize {
        self.counts.get(&word.to_lowercase()).copied().unwrap_or(0)
    }

    /// The `n` most frequent words, most frequent first; ties in alphabetical order.
    pub fn top(&self, n: usize) -> Vec<(&str, usize)> {
        let mut all: Vec<(&str, usize)> = self.counts.iter().map(|(w, &c)| (w.as_str(), c)).collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        all.truncate(n);
        all
    }

    /// Adds the counts of `other` to these.
    pub fn merge(&mut self, other: &Stats) {
        for (word, count) in &other.counts {
            *self.counts.entry(word.clone()).or_default() += count;
        }
        self.words += other.words;
    }

    /// A plain-text table of the `n` most frequent words with their share of all words.
    ///
    /// No test calls this, on purpose: it keeps the example's coverage below 100%.
    pub fn report(&self, n: usize) -> String {
        let mut out = String::new();
        for (word, count) in self.top(n) {
            let share = 100.0 * count as f64 / self.words.max(1) as f64;
            out.push_str(&format!("{word:<20} {count:>8} {share:>6.2}%\n"));
        }
        if self.distinct() > n {
            out.push_str(&format!("... and {} more\n", self.distinct() - n));
        }
        out
    }
}

/// The words of `text`, in order, as slices of it.
pub fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\'')).map(|w| w.trim_matches('\'')).filter(|w| !w.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_punctuation_and_keeps_inner_apostrophes() {
        let found: Vec<&str> = words("Don't stop -- 'quoted', twice.").collect();
        assert_eq!(found, ["Don't", "stop", "quoted", "twice"]);
    }

    #[test]
    fn counts_case_insensitively() {
        let stats = Stats::of("Rust rust RUST cargo");
        assert_eq!(stats.count("rust"), 3);
        assert_eq!(stats.count("Cargo"), 1);
        assert_eq!(stats.count("python"), 0);
        assert_eq!(stats.distinct(), 2);
    }

    #[test]
    fn top_breaks_ties_alphabetically() {
        let stats = Stats::of("b a c b a");
        assert_eq!(stats.top(3), vec![("a", 2), ("b", 2), ("c", 1)]);
        assert_eq!(stats.top(1), vec![("a", 2)]);
    }

    #[test]
    fn empty_text_has_no_words() {
        let stats = Stats::of("  ,;  ");
        assert_eq!(stats.words(), 0);
        assert!(stats.top(5).is_empty());
    }
}
