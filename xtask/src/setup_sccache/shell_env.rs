//! Environment assignments in each shell's syntax, for `setup-sccache env`.

use anyhow::bail;
use camino::Utf8Path;
use xshell::Shell;

use super::{
    installed,
    running::Configured,
    settings::{BackendKind, EnvShell},
};
use crate::{
    child::{Env, EnvChange},
    secrets::{self, errln, outln},
};

impl EnvShell {
    /// The shell a user most likely types into: `$SHELL`'s name, else PowerShell on Windows, else bash.
    pub(crate) fn guess(shell_var: Option<&str>) -> EnvShell {
        let name = shell_var.and_then(|path| path.rsplit(['/', '\\']).next()).unwrap_or_default();
        match name.trim_end_matches(".exe") {
            "zsh" => EnvShell::Zsh,
            "fish" => EnvShell::Fish,
            "pwsh" | "powershell" => EnvShell::PowerShell,
            "bash" | "sh" => EnvShell::Bash,
            _ if cfg!(windows) => EnvShell::PowerShell,
            _ => EnvShell::Bash,
        }
    }

    /// One line setting `name` to `value` for this shell, quoted so that the value stays data: no
    /// character of it can end the quoting and run something. A value the shell cannot hold that
    /// way is an error saying why.
    pub(crate) fn assignment(self, name: &str, value: &str) -> Result<String, String> {
        Ok(match self {
            EnvShell::Bash | EnvShell::Zsh => format!("export {name}='{}'", value.replace('\'', r"'\''")),
            EnvShell::Fish => format!("set -gx {name} '{}'", value.replace('\\', r"\\").replace('\'', r"\'")),
            // PowerShell also takes the typographic single quotes as quotes: doubled, like `'`.
            EnvShell::PowerShell => {
                let mut quoted = String::new();
                for c in value.chars() {
                    if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201a}' | '\u{201b}') {
                        quoted.push(c);
                    }
                    quoted.push(c);
                }
                format!("$env:{name} = '{quoted}'")
            }
            // In `set "NAME=value"` everything up to the last quote is the value, but a quote in it
            // would let `&` or `|` after it start a command, and a line break ends the command.
            EnvShell::Cmd => {
                if let Some(bad) = value.chars().find(|c| matches!(c, '"' | '\n' | '\r')) {
                    return Err(format!(
                        "the value {value:?} holds {bad:?}, which cmd cannot hold in a `set` line without it running \
                         as a command; rename the path, or use --shell powershell"
                    ));
                }
                format!("set \"{name}={}\"", value.replace('%', "%%"))
            }
            EnvShell::Github if value.contains('\n') || value.contains('\r') => {
                let delimiter = (0..).map(|n| format!("EOF_{n}")).find(|d| !value.contains(d.as_str())).unwrap();
                format!("{name}<<{delimiter}\n{value}\n{delimiter}")
            }
            EnvShell::Github => format!("{name}={value}"),
        })
    }
}

pub(super) fn print_env(sh: &Shell, shell: Option<EnvShell>, no_incremental: bool) -> anyhow::Result<()> {
    let sccache = installed(sh)?;
    let configured = Configured::read(sh)?;
    let shell = shell.unwrap_or_else(|| EnvShell::guess(sh.var("SHELL").ok().as_deref()));
    // Every line is checked before any is printed: a shell that is sourcing the output gets all
    // of it or none.
    let env = env_assignments(&sccache.path, &configured, sh.var("SCCACHE_CONF").ok(), no_incremental);
    let lines = env
        .changes()
        .iter()
        .map(|change| {
            let EnvChange::Set(name, value) = change else { bail!("`env` only sets variables: {change:?}") };
            let (name, value) = (name.to_string_lossy(), value.to_string_lossy());
            // Masked, it would be a wrong value; shown, a leak.
            if secrets::redact(&value) != value {
                bail!(
                    "{name} would hold a credential, so `env` prints nothing; the server reads it from the config file"
                );
            }
            shell.assignment(&name, &value).map_err(|why| anyhow::anyhow!("{name}: {why}"))
        })
        .collect::<anyhow::Result<Vec<String>>>()?;
    outln!("{}", lines.join("\n"));
    if configured.remote_settings().iter().any(|setting| setting.secret) {
        errln!(
            "note: the {} backend has credentials, so its variables are not printed; the server reads them from {}",
            configured.backend,
            configured.config.path
        );
    }
    Ok(())
}

/// The variables that make a shell's builds use sccache as configured.
pub(super) fn env_assignments(
    sccache: &Utf8Path,
    configured: &Configured,
    sccache_conf: Option<String>,
    no_incremental: bool,
) -> Env {
    let mut env = Env::default().set("RUSTC_WRAPPER", sccache);
    if let Some(conf) = sccache_conf {
        env = env.set("SCCACHE_CONF", conf);
    }
    if configured.backend == BackendKind::Local || configured.chain.is_some() {
        env = env.set("SCCACHE_DIR", &configured.dir).set("SCCACHE_CACHE_SIZE", size_for_env(configured.size));
    }
    let remote = configured.remote_settings();
    // sccache takes a backend's variables as a whole in place of its config table: print none
    // rather than leave out the password.
    if !remote.iter().any(|setting| setting.secret) {
        for setting in remote {
            if let Some(variable) = configured.backend.variable(setting.key) {
                env = env.set(variable, setting.value);
            }
        }
    }
    if let Some(chain) = &configured.chain {
        env = env.set("SCCACHE_MULTILEVEL_CHAIN", chain);
    }
    if no_incremental { env.set("CARGO_INCREMENTAL", "0") } else { env }
}

/// A size in the form every sccache version reads from `SCCACHE_CACHE_SIZE`: digits and a unit.
pub(super) fn size_for_env(bytes: u64) -> String {
    ["T", "G", "M", "K"]
        .iter()
        .zip([40, 30, 20, 10])
        .find(|(_, shift)| bytes >> shift > 0 && bytes.is_multiple_of(1 << shift))
        .map_or_else(
            || format!("{}K", bytes.div_ceil(1024).max(1)),
            |(unit, shift)| format!("{}{unit}", bytes >> shift),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses_the_shell_from_its_path() {
        assert_eq!(EnvShell::guess(Some("/usr/bin/fish")), EnvShell::Fish);
        assert_eq!(EnvShell::guess(Some("/bin/zsh")), EnvShell::Zsh);
        assert_eq!(EnvShell::guess(Some(r"C:\Program Files\PowerShell\7\pwsh.exe")), EnvShell::PowerShell);
        let fallback = if cfg!(windows) { EnvShell::PowerShell } else { EnvShell::Bash };
        assert_eq!(EnvShell::guess(None), fallback);
        assert_eq!(EnvShell::guess(Some("/bin/tcsh")), fallback);
    }

    #[test]
    fn quotes_awkward_values_for_each_shell() {
        let value = r"C:\it's a $HOME %PATH%";
        let line = |shell: EnvShell, value: &str| shell.assignment("X", value).unwrap();
        assert_eq!(line(EnvShell::Bash, value), r"export X='C:\it'\''s a $HOME %PATH%'");
        assert_eq!(line(EnvShell::Fish, value), r"set -gx X 'C:\\it\'s a $HOME %PATH%'");
        assert_eq!(line(EnvShell::PowerShell, value), r"$env:X = 'C:\it''s a $HOME %PATH%'");
        assert_eq!(line(EnvShell::PowerShell, "a\u{2019}; calc"), "$env:X = 'a\u{2019}\u{2019}; calc'");
        assert_eq!(line(EnvShell::Cmd, value), r#"set "X=C:\it's a $HOME %%PATH%%""#);
        assert_eq!(line(EnvShell::Github, value), r"X=C:\it's a $HOME %PATH%");
        assert_eq!(line(EnvShell::Github, "a\nb"), "X<<EOF_0\na\nb\nEOF_0");
        for value in ["a\nb", "a\r\nb", "a\" & calc & \""] {
            let err = EnvShell::Cmd.assignment("X", value).unwrap_err();
            assert!(err.contains("cmd cannot hold") && err.contains("--shell powershell"), "{err}");
        }
    }
}
