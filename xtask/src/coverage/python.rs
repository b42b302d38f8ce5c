//! The Python that pyo3 crates link against, made loadable by their test binaries.
//!
//! Their test binaries link libpython dynamically, and whether the loader finds it depends on where
//! that Python lives (a venv, pyenv, a framework build, `C:\Python3x`). The interpreter pyo3's build
//! picks is asked where its library is, and that directory goes into the test processes' loader path.

use std::ffi::OsString;

use anyhow::{Context, bail};
use camino::{Utf8Path, Utf8PathBuf};
use xshell::Shell;

use crate::{child, tools};

/// Prints the directory of the shared libpython (`LIBDIR`), the installation prefix (where
/// Windows keeps `python3X.dll`), the interpreter's own path and its version, a line each.
const ASK_ABOUT_ITSELF: &str = "import sys, sysconfig; print(sysconfig.get_config_var('LIBDIR') or ''); \
     print(sys.base_prefix); print(sys.executable); print(sys.version.replace('\\n', ' '))";

#[derive(Debug)]
pub(crate) struct Python {
    /// As found (a shim, a link, a name on `PATH`).
    pub(crate) interpreter: Utf8PathBuf,
    /// As it says it is: its own path and `sys.version`.
    pub(crate) executable: String,
    pub(crate) version: String,
    pub(crate) library_dir: Utf8PathBuf,
}

impl Python {
    /// The interpreter pyo3 builds against, and its library directory.
    pub(crate) fn find(sh: &Shell) -> anyhow::Result<Python> {
        let interpreter = interpreter(sh)?;
        let ask = child::command(sh, &interpreter).args(["-c", ASK_ABOUT_ITSELF]).quiet();
        let output = ask.read().with_context(|| format!("could not ask {interpreter} where its library is"))?;
        let mut lines = output.lines().map(str::trim);
        let mut line = || lines.next().unwrap_or_default().to_owned();
        let (lib_dir, prefix, executable, version) = (line(), line(), line(), line());
        let library_dir = if cfg!(windows) || lib_dir.is_empty() { prefix } else { lib_dir };
        if library_dir.is_empty() || version.is_empty() {
            bail!("{interpreter} did not say where its library is (it printed {output:?})");
        }
        Ok(Python { interpreter, executable, version, library_dir: library_dir.into() })
    }
}

fn interpreter(sh: &Shell) -> anyhow::Result<Utf8PathBuf> {
    let set = |name: &str| sh.var(name).ok().filter(|value| !value.is_empty());
    if let Some(python) = set("PYO3_PYTHON") {
        return Ok(python.into());
    }
    // Where pyo3's build looks next: the active virtualenv, then the active conda environment.
    let environments = [
        set("VIRTUAL_ENV").map(|venv| Utf8Path::new(&venv).join(if cfg!(windows) { "Scripts" } else { "bin" })),
        set("CONDA_PREFIX").map(|conda| if cfg!(windows) { conda.into() } else { Utf8Path::new(&conda).join("bin") }),
    ];
    let executable = format!("python{}", std::env::consts::EXE_SUFFIX);
    let mut candidates = environments.into_iter().flatten().map(|dir| dir.join(&executable));
    match candidates.find(|python| python.is_file()) {
        Some(python) => Ok(python),
        None => Ok(tools::PYTHON.find(sh).context("the pyo3 crates need Python to build and to run their tests")?.path),
    }
}

/// The variable the loader of `os` searches for shared libraries, and its value with `dir` first
/// and the current value (`var`) after it, kept as it is. Pure: every OS's form is tested from any.
pub(crate) fn library_path(
    os: &str,
    dir: &Utf8Path,
    var: impl Fn(&str) -> Option<OsString>,
) -> anyhow::Result<(&'static str, OsString)> {
    let (name, separator, default) = match os {
        "windows" => ("PATH", ';', None),
        // Setting the fallback path replaces dyld's default, so keep that after ours.
        "macos" | "ios" => ("DYLD_FALLBACK_LIBRARY_PATH", ':', Some("/usr/local/lib:/usr/lib")),
        _ => ("LD_LIBRARY_PATH", ':', None),
    };
    if dir.as_str().contains(separator) {
        bail!(
            "Python's library directory {dir} cannot go into {name}: it holds `{separator}`, which separates its entries"
        );
    }
    let mut value = OsString::from(dir.as_str());
    if let Some(current) = var(name).filter(|value| !value.is_empty()).or_else(|| default.map(OsString::from)) {
        value.push(separator.to_string());
        value.push(current);
    }
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_library_dir_goes_first_into_the_loaders_variable() {
        let (name, value) = library_path("linux", "/opt/py/lib".into(), |_| Some("/usr/lib/x".into())).unwrap();
        assert_eq!((name, value.to_str().unwrap()), ("LD_LIBRARY_PATH", "/opt/py/lib:/usr/lib/x"));
        let (name, value) = library_path("linux", "/opt/py/lib".into(), |_| Some("".into())).unwrap();
        assert_eq!((name, value.to_str().unwrap()), ("LD_LIBRARY_PATH", "/opt/py/lib"));
    }

    #[test]
    fn macos_keeps_dylds_default_fallback() {
        let (name, value) = library_path("macos", "/Library/Py/lib".into(), |_| None).unwrap();
        assert_eq!(
            (name, value.to_str().unwrap()),
            ("DYLD_FALLBACK_LIBRARY_PATH", "/Library/Py/lib:/usr/local/lib:/usr/lib")
        );
    }

    #[test]
    fn windows_loads_dlls_from_path() {
        let path = |name: &str| (name == "PATH").then(|| "C:\\bin;C:\\tools".into());
        let (name, value) = library_path("windows", "C:\\Python313".into(), path).unwrap();
        assert_eq!((name, value.to_str().unwrap()), ("PATH", "C:\\Python313;C:\\bin;C:\\tools"));
    }

    #[test]
    fn a_directory_holding_the_separator_is_an_error() {
        assert!(library_path("linux", "/opt/a:b".into(), |_| None).is_err());
        assert!(library_path("windows", "C:\\a;b".into(), |_| None).is_err());
    }

    #[test]
    fn finds_this_machines_python_and_a_library_dir_that_exists() {
        let sh = Shell::new().unwrap();
        let python = Python::find(&sh).unwrap();
        assert!(python.library_dir.is_dir(), "{python:?}");
    }
}
