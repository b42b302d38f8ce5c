//! Output conventions shared by every task.
//!
//! Results go to stdout, so they can be piped; progress, warnings and the echoed commands go to
//! stderr. Colour only on a terminal, and never when `NO_COLOR` is set. Exit codes: 0 success,
//! 1 the task failed, 2 the command line was wrong.

use std::io::IsTerminal;

/// A command line that parsed but asks for something that makes no sense: exit code 2, like a
/// parse error.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Returns a [`UsageError`] made with `format!`'s arguments, from a function whose error it or
/// `anyhow::Error` is.
macro_rules! usage {
    ($($message:tt)+) => {
        return Err($crate::output::UsageError(format!($($message)+)).into())
    };
}
pub(crate) use usage;

/// A task that ran a command whose exit code is its own (`setup-sccache explain` passes on its
/// build's): the xtask exits with it, having printed everything already.
#[derive(Debug)]
pub struct PassedOn(pub u8);

impl std::fmt::Display for PassedOn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the command exited with {}", self.0)
    }
}

impl std::error::Error for PassedOn {}

#[derive(Clone, Copy)]
pub enum Stream {
    Stdout,
    Stderr,
}

#[derive(Clone, Copy)]
pub enum Style {
    Good,
    Bad,
    Heading,
}

/// `text` in `style`, if `stream` is a terminal that should get colour.
pub fn paint(stream: Stream, style: Style, text: &str) -> String {
    let is_terminal = match stream {
        Stream::Stdout => std::io::stdout().is_terminal(),
        Stream::Stderr => std::io::stderr().is_terminal(),
    };
    if wants_colour(is_terminal, std::env::var_os("NO_COLOR").as_deref()) {
        styled(style, text)
    } else {
        text.to_owned()
    }
}

/// <https://no-color.org>: a `NO_COLOR` that is present and not empty turns colour off.
fn wants_colour(is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    is_terminal && no_color.is_none_or(|value| value.is_empty())
}

fn styled(style: Style, text: &str) -> String {
    let code = match style {
        Style::Good => "32",
        Style::Bad => "1;31",
        Style::Heading => "1",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// Appends `markdown` to the file GitHub Actions names in `GITHUB_STEP_SUMMARY`; nothing when
/// the variable is unset or empty (GitHub never sets it empty). An error names the file. Like
/// every output that may quote configuration, it is redacted.
pub fn append_step_summary(sh: &xshell::Shell, markdown: &str) -> anyhow::Result<()> {
    use anyhow::Context;
    use std::io::Write;
    let Some(path) = sh.var_os("GITHUB_STEP_SUMMARY").filter(|path| !path.is_empty()) else { return Ok(()) };
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut file| file.write_all(crate::secrets::redact(markdown).as_bytes()))
        .with_context(|| format!("could not append to GITHUB_STEP_SUMMARY ({})", path.to_string_lossy()))
}

/// A byte count for people: `512 B`, `1.5 KiB`, `20.0 GiB` (powers of 1024).
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: &[&str] = &["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_needs_a_terminal_and_no_no_color() {
        assert!(wants_colour(true, None));
        assert!(wants_colour(true, Some("".as_ref())));
        assert!(!wants_colour(true, Some("1".as_ref())));
        assert!(!wants_colour(false, None));
    }

    #[test]
    fn byte_counts_use_binary_units() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(20 << 30), "20.0 GiB");
    }

    #[test]
    fn styles_are_ansi_sequences_that_reset() {
        assert_eq!(styled(Style::Bad, "error"), "\x1b[1;31merror\x1b[0m");
    }
}
