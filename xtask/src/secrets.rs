//! Credentials: found wherever the xtask reads them, and masked in everything it prints.
//!
//! A value is a credential when its key or variable says so (`password`, `token`, `secret`, ...)
//! or when it is the userinfo of a URL (`scheme://user:password@host`). Each one found (in a
//! config file [`TomlFile`](crate::toml_file::TomlFile) reads, a flag, a variable sccache reads)
//! is kept here, and everything printed goes through [`redact`] (by [`outln!`] and [`errln!`]),
//! which masks it in every form it takes in text, TOML, JSON or a URL: so is one echoed back by
//! sccache, or inside an error about some other file.

use std::{
    fmt,
    io::Write,
    sync::{Mutex, PoisonError},
};

use crate::output::Stream;

/// What a credential is printed as.
pub(crate) const MASK: &str = "***";

/// Every form of every credential found so far, longest first (so that a credential inside
/// another is not half masked).
static KEPT: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Remembers `secret`, so that no output shows it from now on.
pub(crate) fn keep(secret: &str) {
    if secret.is_empty() {
        return;
    }
    let mut kept = KEPT.lock().unwrap_or_else(PoisonError::into_inner);
    // As written, as a TOML or JSON string writes it (between its quotes), and as a URL does.
    let escaped = secret.replace('\\', r"\\").replace('"', "\\\"");
    for form in [secret.to_owned(), escaped, percent_encoded(secret)] {
        if !kept.contains(&form) {
            kept.push(form);
        }
    }
    kept.sort_by_key(|form| std::cmp::Reverse(form.len()));
}

/// `text` with every kept credential and every URL's userinfo masked.
pub(crate) fn redact(text: &str) -> String {
    let kept = KEPT.lock().unwrap_or_else(PoisonError::into_inner);
    let text = kept.iter().fold(text.to_owned(), |text, secret| text.replace(secret.as_str(), MASK));
    mask_userinfo(&text)
}

/// Whether a key or variable of that name holds a credential.
pub(crate) fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase().replace('-', "_");
    ["password", "passwd", "token", "secret", "connection_string"].iter().any(|word| name.contains(word))
        || name == "key"
        || name.ends_with("_key")
}

/// Keeps the credentials among the variables sccache and its backends' clients read: those named
/// as credentials, and the userinfo of URLs in any of them.
pub(crate) fn keep_from_env(vars: impl IntoIterator<Item = (String, String)>) {
    const READ_BY_SCCACHE: [&str; 6] = ["SCCACHE_", "AWS_", "ACTIONS_", "ALIBABA_", "TENCENTCLOUD_", "GOOGLE_"];
    for (name, value) in vars {
        let read_by_sccache = READ_BY_SCCACHE.iter().any(|prefix| name.starts_with(prefix));
        // Other variables' names say nothing about what sccache does with them: only their URLs.
        let key = if read_by_sccache { name.as_str() } else { "" };
        credentials_in(key, &value).iter().for_each(|secret| keep(secret));
    }
}

/// The credentials in `value`, found under `key`: all of it for a credential's key, and the
/// userinfo of the URLs in it.
pub(crate) fn credentials_in(key: &str, value: &str) -> Vec<String> {
    // A URL's credential is its password, or a lone user name (often a token).
    let secrets = userinfos(value).map(|userinfo| userinfo.split_once(':').map_or(userinfo, |(_, password)| password));
    let mut found: Vec<String> = secrets.flat_map(written_and_decoded).collect();
    if is_secret_name(key) && !value.is_empty() {
        found.push(value.to_owned());
    }
    found.extend(embedded_secrets(value));
    found
}

/// Tokens of the well-known formats (GitHub's, GitLab's, Slack's, npm's, PyPI's), whatever
/// they are found under.
const TOKEN_PREFIXES: [&str; 11] =
    ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "xoxb-", "xoxp-", "npm_", "pypi-"];
/// Shorter values are not taken for credentials: each kept one is masked wherever it appears.
const SHORTEST_EMBEDDED: usize = 8;

/// Credentials inside a longer text: the value of each `name=value` whose name is a credential's
/// (`AccountKey=` in an Azure connection string, `--token=` in RUSTFLAGS), and tokens of the
/// well-known formats.
fn embedded_secrets(text: &str) -> Vec<String> {
    let ends = |c: char| c.is_whitespace() || matches!(c, ';' | '&' | ',' | '"' | '\'' | '`');
    let word_start = |c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let mut found = Vec::new();
    for (at, _) in text.match_indices('=') {
        let name = &text[text[..at].rfind(word_start).map_or(0, |start| start + 1)..at];
        let value = text[at + 1..].trim_start_matches(['"', '\'']).split(ends).next().unwrap_or_default();
        if (is_secret_name(name) || name.to_ascii_lowercase().ends_with("key")) && value.len() >= SHORTEST_EMBEDDED {
            found.push(value.to_owned());
        }
    }
    for prefix in TOKEN_PREFIXES {
        for (at, _) in text.match_indices(prefix) {
            let starts_word = text[..at].chars().next_back().is_none_or(word_start);
            let token: String =
                text[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-')).collect();
            if starts_word && token.len() >= prefix.len() + SHORTEST_EMBEDDED {
                found.push(token);
            }
        }
    }
    found
}

/// Keeps the password in a URL given as `user:password@host`, where the user name is known to be
/// only that (as in a backend's flag): as written and decoded, even when the URL is invalid.
pub(crate) fn keep_url_password(url: &str) {
    let passwords = userinfos(url).filter_map(|userinfo| userinfo.split_once(':'));
    passwords.flat_map(|(_, password)| written_and_decoded(password)).for_each(|secret| keep(&secret));
}

/// A credential from a URL as written, and as its client decodes it.
fn written_and_decoded(secret: &str) -> Vec<String> {
    let decoded = percent_decoded(secret).ok().filter(|decoded| decoded != secret);
    [Some(secret.to_owned()), decoded].into_iter().flatten().filter(|secret| !secret.is_empty()).collect()
}

/// Where the userinfo of each URL in `text` is: what stands between `://` and the last `@`
/// before the URL ends (at white space or a quote). `/`, `?` and `#` there are taken as part of
/// it too, as a password can hold them by mistake, and masking too much is the safe side.
fn userinfo_spans(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut spans = Vec::new();
    let mut from = 0;
    while let Some(found) = text[from..].find("://") {
        let start = from + found + 3;
        let after = &text[start..];
        let end = after.find(|c: char| c.is_whitespace() || "\"'`<>".contains(c)).unwrap_or(after.len());
        // `scheme://[user:password@]host`, the form of a URL as messages describe it, is no URL.
        if let Some(at) = after[..end].rfind('@').filter(|_| !after.starts_with('[')) {
            spans.push(start..start + at);
        }
        from = start + end;
    }
    spans
}

fn userinfos(text: &str) -> impl Iterator<Item = &str> {
    userinfo_spans(text).into_iter().map(|span| &text[span])
}

/// `text` with each URL's userinfo masked: `redis://me:***@host`, or `https://***@host` when
/// it is only a user name (tokens are often given that way).
fn mask_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut done = 0;
    for span in userinfo_spans(text) {
        out.push_str(&text[done..span.start]);
        match text[span.clone()].split_once(':') {
            Some((user, _)) if !user.contains(['/', '?', '#']) => out.push_str(&format!("{user}:{MASK}")),
            _ => out.push_str(MASK),
        }
        done = span.end;
    }
    out.push_str(&text[done..]);
    out
}

/// Every byte but the URL-safe ones as `%XX`, the way a password is put into a URL.
pub(crate) fn percent_encoded(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(byte).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// `%XX` sequences as the bytes they stand for, as URL clients read userinfo. An incomplete
/// sequence, or bytes that are not UTF-8, are an error saying which.
pub(crate) fn percent_decoded(text: &str) -> Result<String, String> {
    let mut parts = text.split('%');
    let mut out = parts.next().unwrap_or_default().as_bytes().to_vec();
    for part in parts {
        let hex = part.get(..2).and_then(|hex| u8::from_str_radix(hex, 16).ok());
        out.push(hex.ok_or("a `%` is not followed by two hex digits (write a literal `%` as %25)")?);
        out.extend_from_slice(&part.as_bytes()[2..]);
    }
    String::from_utf8(out).map_err(|_| "its %-escapes do not spell UTF-8 text".to_owned())
}

// The only ways the xtask prints (clippy's print_stdout and print_stderr are denied): every
// credential masked, and a reader that has gone (`cargo xtask ... | head`) ends the output, not
// the process with a panic.

/// `println!` with every credential masked (see the module's comment).
macro_rules! outln {
    ($($arg:tt)*) => { $crate::secrets::write_redacted($crate::output::Stream::Stdout, format_args!($($arg)*), true) };
}

/// `print!` with every credential masked.
macro_rules! out {
    ($($arg:tt)*) => { $crate::secrets::write_redacted($crate::output::Stream::Stdout, format_args!($($arg)*), false) };
}

/// `eprintln!` with every credential masked.
macro_rules! errln {
    ($($arg:tt)*) => { $crate::secrets::write_redacted($crate::output::Stream::Stderr, format_args!($($arg)*), true) };
}

/// `eprint!` with every credential masked.
macro_rules! err {
    ($($arg:tt)*) => { $crate::secrets::write_redacted($crate::output::Stream::Stderr, format_args!($($arg)*), false) };
}

pub(crate) use {err, errln, out, outln};

/// The text, redacted, and a newline when `newline`.
pub fn write_redacted(out: Stream, args: fmt::Arguments<'_>, newline: bool) {
    let mut line = redact(&args.to_string());
    if newline {
        line.push('\n');
    }
    let _ = match out {
        Stream::Stdout => std::io::stdout().lock().write_all(line.as_bytes()),
        Stream::Stderr => std::io::stderr().lock().write_all(line.as_bytes()),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_secrets_are_masked_in_every_form() {
        keep("pa\"ss w/rd@1");
        let text = "plain pa\"ss w/rd@1, toml \"pa\\\"ss w/rd@1\", url pa%22ss%20w%2Frd%401";
        assert_eq!(redact(text), "plain ***, toml \"***\", url ***");
    }

    #[test]
    fn credentials_inside_longer_texts_are_found_and_short_values_are_not() {
        let azure =
            "DefaultEndpointsProtocol=http;AccountName=devstore;AccountKey=Eby8vdM02xNO+c==;BlobEndpoint=http://h/";
        assert_eq!(credentials_in("", azure), ["Eby8vdM02xNO+c=="]);
        let rustflags = "-Clink-arg=-fuse-ld=mold\u{1f}--cfg=x\u{1f}-Zauth-token=s3cr3t-t0ken";
        assert_eq!(credentials_in("CARGO_ENCODED_RUSTFLAGS", rustflags), ["s3cr3t-t0ken"]);
        let token = format!("ghp_{}", "A1b2C3d4E5f6G7h8");
        assert_eq!(credentials_in("", &format!("--header=Bearer {token} x")), [token]);
        assert_eq!(credentials_in("", "--cfg=db_password=\"hunter2-long\""), ["hunter2-long"]);
        assert!(credentials_in("", "key=1 token=abc path=/a/b sigh_ghp_x").is_empty());
    }

    #[test]
    fn userinfo_is_masked_in_any_url() {
        assert_eq!(redact("redis://me:s3cret@h:1/0"), "redis://me:***@h:1/0");
        assert_eq!(
            redact("at 'https://ghp_token@github.com/x' and http://h/p"),
            "at 'https://***@github.com/x' and http://h/p"
        );
        // A `/` in a password ends the host for URL parsers, but not the masking.
        assert_eq!(redact("redis://me:pa/ss@h:1"), "redis://me:***@h:1");
        assert_eq!(redact("redis://me:p@ss@h:1"), "redis://me:***@h:1");
        assert_eq!(redact("redis://h:1, tcp://h:2"), "redis://h:1, tcp://h:2");
        assert_eq!(redact("use tcp://[user:password@]host:port"), "use tcp://[user:password@]host:port");
    }

    #[test]
    fn credentials_are_found_by_name_and_in_urls() {
        for name in ["password", "token", "SCCACHE_WEBDAV_TOKEN", "secret_access_key", "connection-string", "key"] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in ["key_prefix", "endpoint", "no_credentials", "username", "SCCACHE_DIR"] {
            assert!(!is_secret_name(name), "{name}");
        }
        keep_from_env([("SCCACHE_REDIS_ENDPOINT".into(), "redis://u:env%2Fpass@h:1".into())]);
        assert_eq!(redact("said env/pass and env%2Fpass"), "said *** and ***");
        keep_from_env([("SCCACHE_WEBDAV_PASSWORD".into(), "fromvar".into()), ("HOME".into(), "/home".into())]);
        assert_eq!(redact("fromvar /home"), "*** /home");
    }

    #[test]
    fn percent_escapes_decode_like_url_clients() {
        assert_eq!(percent_decoded("p%40ss%2Fw").unwrap(), "p@ss/w");
        assert_eq!(percent_decoded("%C3%A9").unwrap(), "é");
        assert!(percent_decoded("100%").unwrap_err().contains("%25"));
        assert!(percent_decoded("%ff").is_err());
        assert_eq!(percent_encoded("p@ss/w é"), "p%40ss%2Fw%20%C3%A9");
    }
}
