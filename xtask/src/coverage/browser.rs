//! Opening the HTML report: `BROWSER` if set, else the OS's opener, started detached and never
//! waited for. On CI, or on Linux/BSD without a display (SSH, containers), where nobody looks and
//! `xdg-open` may start a text browser that waits for input, the path is only printed.

use std::process::{Command, Stdio};

use camino::Utf8Path;
use xshell::Shell;

use crate::child;
use crate::secrets::errln;

/// What `open` mode does.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Opening {
    /// Print the path only, for the reason given.
    PrintOnly(&'static str),
    /// Start this program with these arguments (the last one is the page).
    Start(String, Vec<String>),
}

/// Decides from the environment (`var`) and the OS (`std::env::consts::OS`).
pub(crate) fn how_to_open(var: impl Fn(&str) -> Option<String>, os: &str, page: &Utf8Path) -> Opening {
    let set = |name: &str| var(name).filter(|value| !value.trim().is_empty());
    if set("CI").is_some() {
        return Opening::PrintOnly("CI is set");
    }
    let has_display_server = matches!(os, "windows" | "macos");
    if !has_display_server && set("DISPLAY").is_none() && set("WAYLAND_DISPLAY").is_none() {
        return Opening::PrintOnly("there is no display (neither DISPLAY nor WAYLAND_DISPLAY is set)");
    }
    let opener = match os {
        "windows" => "explorer",
        "macos" => "open",
        _ => "xdg-open",
    };
    // Like cargo's `doc.browser`: a program, optionally with arguments, then the page.
    let browser = set("BROWSER").unwrap_or_else(|| opener.to_owned());
    let mut words: Vec<String> = browser.split_whitespace().map(str::to_owned).collect();
    words.push(page.to_string());
    Opening::Start(words.remove(0), words)
}

/// Opens `page`, or says why not; never fails the task.
pub(crate) fn open(sh: &Shell, page: &Utf8Path) {
    match how_to_open(|name| sh.var(name).ok(), std::env::consts::OS, page) {
        Opening::PrintOnly(why) => errln!("not opening a browser because {why}; the report is {page}"),
        Opening::Start(program, args) => {
            errln!("$ {program} {}", args.join(" "));
            let mut command = Command::from(child::command(sh, &program).args(&args));
            // Not waited for: some browsers only return when their window closes.
            if let Err(err) = command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn() {
                errln!("could not start the browser `{program}` ({err}); open the page yourself");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decide(vars: &[(&str, &str)], os: &str) -> Opening {
        let var = |name: &str| vars.iter().find(|(key, _)| *key == name).map(|(_, value)| (*value).to_owned());
        how_to_open(var, os, Utf8Path::new("/ws/target/llvm-cov/html/index.html"))
    }

    fn start(program: &str, args: &[&str]) -> Opening {
        Opening::Start(program.into(), args.iter().map(|arg| (*arg).to_owned()).collect())
    }

    #[test]
    fn ci_and_headless_machines_only_print() {
        assert_eq!(decide(&[("CI", "true"), ("DISPLAY", ":0")], "linux"), Opening::PrintOnly("CI is set"));
        assert_eq!(decide(&[("CI", "1")], "windows"), Opening::PrintOnly("CI is set"));
        assert!(
            matches!(decide(&[("BROWSER", "firefox")], "linux"), Opening::PrintOnly(why) if why.contains("no display"))
        );
        assert!(matches!(decide(&[("DISPLAY", " ")], "freebsd"), Opening::PrintOnly(_)));
    }

    #[test]
    fn browser_wins_over_the_os_opener_and_may_carry_arguments() {
        let page = "/ws/target/llvm-cov/html/index.html";
        assert_eq!(
            decide(&[("DISPLAY", ":0"), ("BROWSER", "firefox --new-tab")], "linux"),
            start("firefox", &["--new-tab", page])
        );
        assert_eq!(decide(&[("WAYLAND_DISPLAY", "wayland-0"), ("CI", "")], "linux"), start("xdg-open", &[page]));
        assert_eq!(decide(&[], "macos"), start("open", &[page]));
        assert_eq!(decide(&[], "windows"), start("explorer", &[page]));
    }
}
