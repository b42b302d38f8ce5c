//! Environment assignments in each shell's syntax, for `setup-sccache env`.

use super::settings::EnvShell;

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

    /// One line setting `name` to `value` for this shell, quoted so any value survives.
    pub(crate) fn assignment(self, name: &str, value: &str) -> String {
        match self {
            EnvShell::Bash | EnvShell::Zsh => format!("export {name}='{}'", value.replace('\'', r"'\''")),
            EnvShell::Fish => format!("set -gx {name} '{}'", value.replace('\\', r"\\").replace('\'', r"\'")),
            EnvShell::PowerShell => format!("$env:{name} = '{}'", value.replace('\'', "''")),
            // In `set "NAME=value"` everything up to the last quote is the value; `%` still expands.
            EnvShell::Cmd => format!("set \"{name}={}\"", value.replace('%', "%%")),
            EnvShell::Github if value.contains('\n') => {
                let delimiter = (0..).map(|n| format!("EOF_{n}")).find(|d| !value.contains(d.as_str())).unwrap();
                format!("{name}<<{delimiter}\n{value}\n{delimiter}")
            }
            EnvShell::Github => format!("{name}={value}"),
        }
    }
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
        assert_eq!(EnvShell::Bash.assignment("X", value), r"export X='C:\it'\''s a $HOME %PATH%'");
        assert_eq!(EnvShell::Fish.assignment("X", value), r"set -gx X 'C:\\it\'s a $HOME %PATH%'");
        assert_eq!(EnvShell::PowerShell.assignment("X", value), r"$env:X = 'C:\it''s a $HOME %PATH%'");
        assert_eq!(EnvShell::Cmd.assignment("X", value), r#"set "X=C:\it's a $HOME %%PATH%%""#);
        assert_eq!(EnvShell::Github.assignment("X", value), r"X=C:\it's a $HOME %PATH%");
        assert_eq!(EnvShell::Github.assignment("X", "a\nb"), "X<<EOF_0\na\nb\nEOF_0");
    }
}
