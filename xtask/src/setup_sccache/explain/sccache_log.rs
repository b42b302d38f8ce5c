//! What sccache's server log says of each compilation: hit, miss or not cacheable, and its key.
//!
//! With `SCCACHE_LOG=sccache=debug` the server logs, per compilation request, the arguments it
//! was given and what it did with them (src/server.rs, src/compiler/compiler.rs):
//!
//! ```text
//! parse_arguments: CannotCache(crate-type): ["--crate-name", "app", ...]
//! [lib]: get_cached_or_compile: ["--crate-name", "lib", ...]
//! [lib]: Hash key: fae141b8...
//! [lib]: Cache hit in 0.000 s
//! ```
//!
//! Lines of one compilation carry only its crate name: when two compilations of one crate name
//! wait for the cache at once, its answers go to them in the order they started.

/// What sccache did with one compilation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum Outcome {
    Hit,
    Miss,
    /// sccache did not look it up; why, in its words (`crate-type`, `incremental`, ...).
    NotCacheable(String),
    /// rustc failed (not cached either).
    Failed,
    /// The cache could not be read.
    CacheError,
    /// sccache's log does not mention it (an sccache that logs differently).
    #[default]
    Unknown,
}

impl Outcome {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Outcome::Hit => "hit",
            Outcome::Miss => "miss",
            Outcome::NotCacheable(_) => "not cacheable",
            Outcome::Failed => "failed",
            Outcome::CacheError => "cache error",
            Outcome::Unknown => "unknown",
        }
    }

    pub(crate) fn from_name(name: &str, why: Option<&str>) -> Outcome {
        let not_cacheable = Outcome::NotCacheable(why.unwrap_or_default().to_owned());
        [Outcome::Hit, Outcome::Miss, not_cacheable, Outcome::Failed, Outcome::CacheError]
            .into_iter()
            .find(|outcome| outcome.name() == name)
            .unwrap_or_default()
    }
}

/// One compilation as the log tells it: its arguments as sccache prints them (Rust's `{:?}` of
/// the argument list), its key and its outcome.
#[derive(Debug, PartialEq)]
pub(crate) struct Lookup {
    pub(crate) args: String,
    pub(crate) key: Option<String>,
    pub(crate) outcome: Outcome,
}

/// Every compilation in `log`, in the order sccache received them.
pub(crate) fn lookups(log: &str) -> Vec<Lookup> {
    let mut found: Vec<Lookup> = Vec::new();
    // Per crate name, the lookups still waiting for the cache's answer, oldest first.
    let mut open: Vec<(String, usize)> = Vec::new();
    for message in log.lines().filter_map(message) {
        let cannot_cache = message.strip_prefix("parse_arguments: CannotCache(");
        if let Some((why, args)) = cannot_cache.and_then(|rest| rest.split_once("): ")) {
            // `CannotCache(why, extra)`: the reason is what the statistics count.
            let why = why.split(", ").next().unwrap_or(why);
            found.push(Lookup { args: args.to_owned(), key: None, outcome: Outcome::NotCacheable(why.to_owned()) });
        }
        let Some((name, event)) = message.strip_prefix('[').and_then(|rest| rest.split_once("]: ")) else { continue };
        if let Some(args) = event.strip_prefix("get_cached_or_compile: ") {
            open.push((name.to_owned(), found.len()));
            found.push(Lookup { args: args.to_owned(), key: None, outcome: Outcome::Unknown });
        } else if let Some(key) = event.strip_prefix("Hash key: ") {
            if let Some((_, index)) =
                open.iter().find(|(open_name, index)| open_name == name && found[*index].key.is_none())
            {
                found[*index].key = Some(key.trim().to_owned());
            }
        } else if let Some(outcome) = answer(event)
            && let Some(position) = open.iter().position(|(open_name, _)| open_name == name)
        {
            // The cache's answer, logged before the compilation runs: a compilation that then
            // fails (a build script's probe) logs no result of its own.
            let (_, index) = open.remove(position);
            found[index].outcome = outcome;
        }
    }
    found
}

/// The outcome a lookup's event tells (src/compiler/compiler.rs `get_cached_or_compile`).
fn answer(event: &str) -> Option<Outcome> {
    Some(match event.split(" in ").next()?.split(':').next()? {
        "Cache hit" => Outcome::Hit,
        // No entry; SCCACHE_NO_CACHE; SCCACHE_RECACHE; the cache took too long.
        "Cache miss" | "Cache none" | "Cache recache" | "Cache timed out" => Outcome::Miss,
        "Cache read error" => Outcome::CacheError,
        // The hash needs rustc's dep-info, and rustc failed to give it.
        "process error" => Outcome::Failed,
        _ => return None,
    })
}

/// The message of a log line: what follows `[<time> DEBUG <module>] `.
fn message(line: &str) -> Option<&str> {
    line.strip_prefix('[')?.split_once("] ").map(|(_, message)| message)
}

pub(crate) fn logged_args(args: &[String]) -> String {
    format!("{args:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Trimmed from sccache 0.19's logs: a build script's probe that fails after its miss, a
    /// second compilation of `a` (another target) in flight at once, a failure and a read error.
    const LOG: &str = r#"[2026-12-01T14:36:19Z DEBUG sccache::server] parse_arguments: CannotCache(missing input): ["-vV"]
[2026-12-01T14:36:19Z DEBUG sccache::server] parse_arguments: CannotCache(crate-type): ["--crate-name", "app", "app/src/main.rs"]
[2026-12-01T14:36:19Z DEBUG sccache::server] parse_arguments: CannotCache(incremental, -C incremental=x): ["--crate-name", "c"]
[2026-12-01T14:45:34Z DEBUG sccache::compiler::compiler] [anyhow]: get_cached_or_compile: ["--cfg=anyhow_build_probe", "--crate-name=anyhow"]
[2026-12-01T14:45:34Z DEBUG sccache::compiler::compiler] [anyhow]: Hash key: fe53
[2026-12-01T14:45:34Z DEBUG sccache::compiler::compiler] [anyhow]: Cache miss in 0.000 s
[2026-12-01T14:45:34Z DEBUG sccache::compiler::compiler] [anyhow]: Compiling locally
[2026-12-01T14:45:34Z DEBUG sccache::server] Compilation failed: Output { status: ExitStatus(unix_wait_status(256)) }
[2026-12-01T14:36:19Z DEBUG sccache::compiler::compiler] [a]: get_cached_or_compile: ["--crate-name", "a", "a/src/lib.rs"]
[2026-12-01T14:36:19Z DEBUG sccache::compiler::compiler] [a]: get_cached_or_compile: ["--crate-name", "a", "--target", "x"]
[2026-12-01T14:36:19Z DEBUG sccache::compiler::compiler] [a]: Hash key: fae1
[2026-12-01T14:36:19Z DEBUG sccache::compiler::compiler] [a]: Cache miss in 0.000 s
[2026-12-01T14:36:19Z DEBUG sccache::compiler::compiler] [a]: Hash key: 07c2
[2026-12-01T14:36:19Z DEBUG sccache::server] [a]: compile result: cache miss
[2026-12-01T14:36:19Z DEBUG sccache::server] stats after compile result: ServerStats { compile_requests: 5 }
[2026-12-01T14:36:19Z DEBUG sccache::compiler::compiler] [b]: get_cached_or_compile: ["--crate-name", "b"]
[2026-12-01T14:36:19Z DEBUG sccache::compiler::compiler] [a]: Cache hit in 0.000 s
[2026-12-01T14:36:19Z DEBUG sccache::compiler::compiler] [anyhow]: get_cached_or_compile: ["--crate-name", "anyhow"]
[2026-12-01T14:36:19Z ERROR sccache::compiler::compiler] [anyhow]: Cache read error: Io(..) in 0.001 s
[2026-12-01T14:36:19Z DEBUG sccache::compiler::compiler] [b]: process error: Output { status: ExitStatus(unix_wait_status(256)) }
"#;

    #[test]
    fn each_compilation_gets_its_outcome_and_key() {
        let found = lookups(LOG);
        let summary: Vec<(&str, Option<&str>, &Outcome)> =
            found.iter().map(|lookup| (lookup.args.as_str(), lookup.key.as_deref(), &lookup.outcome)).collect();
        assert_eq!(
            summary,
            [
                (r#"["-vV"]"#, None, &Outcome::NotCacheable("missing input".into())),
                (r#"["--crate-name", "app", "app/src/main.rs"]"#, None, &Outcome::NotCacheable("crate-type".into())),
                (r#"["--crate-name", "c"]"#, None, &Outcome::NotCacheable("incremental".into())),
                (r#"["--cfg=anyhow_build_probe", "--crate-name=anyhow"]"#, Some("fe53"), &Outcome::Miss),
                (r#"["--crate-name", "a", "a/src/lib.rs"]"#, Some("fae1"), &Outcome::Miss),
                (r#"["--crate-name", "a", "--target", "x"]"#, Some("07c2"), &Outcome::Hit),
                (r#"["--crate-name", "b"]"#, None, &Outcome::Failed),
                (r#"["--crate-name", "anyhow"]"#, None, &Outcome::CacheError),
            ]
        );
    }

    #[test]
    fn arguments_are_matched_in_the_form_sccache_logs_them() {
        let args = ["--crate-name".to_owned(), "a".to_owned(), "--cfg".to_owned(), "feature=\"std\"".to_owned()];
        assert_eq!(logged_args(&args), r#"["--crate-name", "a", "--cfg", "feature=\"std\""]"#);
        assert_eq!(Outcome::from_name("not cacheable", Some("crate-type")), Outcome::NotCacheable("crate-type".into()));
        for outcome in [Outcome::Hit, Outcome::Miss, Outcome::Failed, Outcome::CacheError, Outcome::Unknown] {
            assert_eq!(Outcome::from_name(outcome.name(), None), outcome);
        }
    }
}
