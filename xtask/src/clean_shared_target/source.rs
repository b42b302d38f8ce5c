//! Where a directory setting came from. Cargo already answered *which* directory it uses
//! (`Workspace::load`); this only names the place that chose it, for the user and for the advice
//! after cleaning. Cargo's order: `CARGO_TARGET_DIR`, then `CARGO_BUILD_TARGET_DIR`, then
//! `build.target-dir` in the config file closest to the workspace, then `$CARGO_HOME/config.toml`,
//! then the default. `include`d config files and `--config` arguments are not followed.

use std::ffi::OsString;

use anyhow::bail;
use camino::Utf8PathBuf;

use crate::toml_file::TomlFile;

/// A directory setting of cargo's: the target directory or the build directory.
#[derive(Clone, Copy)]
pub(crate) struct Setting {
    /// What the task calls the directory.
    pub(crate) role: &'static str,
    /// The key under `[build]` in a config file.
    pub(crate) key: &'static str,
    /// Environment variables that set it, strongest first.
    pub(crate) vars: &'static [&'static str],
}

pub(crate) const TARGET_DIR: Setting =
    Setting { role: "target dir", key: "target-dir", vars: &["CARGO_TARGET_DIR", "CARGO_BUILD_TARGET_DIR"] };
pub(crate) const BUILD_DIR: Setting = Setting { role: "build dir", key: "build-dir", vars: &["CARGO_BUILD_BUILD_DIR"] };

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// `--target-dir` on the command line.
    Flag,
    /// An environment variable.
    Var(&'static str),
    /// `build.<key>` in this config file.
    ConfigFile(Utf8PathBuf),
    /// Nothing set it.
    Default,
}

impl Source {
    pub(crate) fn describe(&self, setting: Setting) -> String {
        match self {
            Source::Flag => "--target-dir".to_owned(),
            Source::Var(var) => format!("the {var} environment variable"),
            Source::ConfigFile(file) => format!("build.{} in {file}", setting.key),
            Source::Default => "cargo's default".to_owned(),
        }
    }
}

/// Which of `vars` (the environment) and `config_files` (closest first, with their text) sets
/// `setting`. A variable that is set but empty is an error: cargo once read an empty
/// `CARGO_TARGET_DIR` as `.` and `cargo clean` deleted the project.
pub(crate) fn find(
    setting: Setting,
    var: impl Fn(&str) -> Option<OsString>,
    config_files: &[TomlFile],
) -> anyhow::Result<Source> {
    for name in setting.vars {
        match var(name) {
            Some(value) if value.is_empty() => bail!(
                "the {name} environment variable is set but empty, which names no directory; \
                 unset it (or set it to a directory) and run again. Nothing was deleted."
            ),
            Some(_) => return Ok(Source::Var(name)),
            None => {}
        }
    }
    Ok(config_files
        .iter()
        .find(|file| file.get(&["build", setting.key]).is_some())
        .map_or(Source::Default, |file| Source::ConfigFile(file.path.clone())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.into())
    }

    fn files(pairs: &[(&str, &str)]) -> Vec<TomlFile> {
        pairs
            .iter()
            .map(|(path, text)| TomlFile::parse(camino::Utf8Path::new(path), text.to_string()).unwrap())
            .collect()
    }

    #[test]
    fn variables_win_over_config_files_in_cargos_order() {
        let config = files(&[("/ws/.cargo/config.toml", "[build]\ntarget-dir = \"t\"\n")]);
        let both = env(&[("CARGO_TARGET_DIR", "/a"), ("CARGO_BUILD_TARGET_DIR", "/b")]);
        assert_eq!(find(TARGET_DIR, both, &config).unwrap(), Source::Var("CARGO_TARGET_DIR"));
        let build_var = env(&[("CARGO_BUILD_TARGET_DIR", "/b")]);
        assert_eq!(find(TARGET_DIR, build_var, &config).unwrap(), Source::Var("CARGO_BUILD_TARGET_DIR"));
        assert_eq!(find(TARGET_DIR, env(&[]), &config).unwrap(), Source::ConfigFile("/ws/.cargo/config.toml".into()));
        assert_eq!(find(TARGET_DIR, env(&[]), &[]).unwrap(), Source::Default);
    }

    #[test]
    fn an_empty_variable_is_an_error_never_the_current_directory() {
        let err = find(TARGET_DIR, env(&[("CARGO_TARGET_DIR", "")]), &[]).unwrap_err().to_string();
        assert!(err.contains("CARGO_TARGET_DIR environment variable is set but empty"), "{err}");
        let err = find(BUILD_DIR, env(&[("CARGO_BUILD_BUILD_DIR", "")]), &[]).unwrap_err().to_string();
        assert!(err.contains("CARGO_BUILD_BUILD_DIR"), "{err}");
    }

    #[test]
    fn the_closest_config_file_that_sets_the_key_is_named() {
        let config = files(&[
            ("/ws/sub/.cargo/config.toml", "[alias]\nxtask = \"run -p xtask --\"\n"),
            ("/ws/.cargo/config.toml", "[build]\nbuild-dir = \"b\"\n"),
            ("/home/me/.cargo/config.toml", "[build]\njobs = 2\ntarget-dir = \"/shared\"\n"),
        ]);
        assert_eq!(
            find(TARGET_DIR, env(&[]), &config).unwrap(),
            Source::ConfigFile("/home/me/.cargo/config.toml".into())
        );
        assert_eq!(find(BUILD_DIR, env(&[]), &config).unwrap(), Source::ConfigFile("/ws/.cargo/config.toml".into()));
    }

    #[test]
    fn reads_every_toml_spelling_of_the_key() {
        let sets = |text: &str| find(TARGET_DIR, env(&[]), &files(&[("/c.toml", text)])).unwrap() != Source::Default;
        assert!(sets("[build]\ntarget-dir = \"x\""));
        assert!(sets("[ build ]\n  \"target-dir\"=\"x\""));
        assert!(sets("build.target-dir = \"x\""));
        assert!(sets("build = { target-dir = \"x\" }"));
        assert!(!sets("[target.x86_64-unknown-linux-gnu]\ntarget-dir = \"x\""));
        assert!(!sets("[build]\n# target-dir = \"x\"\nrustc-wrapper = \"sccache\""));
        assert!(!sets("[build]\nbuild-dir = \"x\""));
        assert!(!sets("build = { build-dir = \"target-dir\" }"));
    }

    #[test]
    fn descriptions_name_the_place() {
        assert_eq!(Source::Var("CARGO_TARGET_DIR").describe(TARGET_DIR), "the CARGO_TARGET_DIR environment variable");
        assert_eq!(Source::ConfigFile("/c.toml".into()).describe(BUILD_DIR), "build.build-dir in /c.toml");
    }
}
