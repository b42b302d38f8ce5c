//! Where each report goes and which directories a run uses: the formats, their destinations, the
//! coverage build directory inside the workspace.

use camino::{Utf8Path, Utf8PathBuf};

use crate::{
    flags::Mode,
    workspace::{self, Workspace},
};

/// Every report cargo-llvm-cov can write for us, once each (`open` writes `html`'s).
const FORMATS: [Mode; 6] = [Mode::Html, Mode::Lcov, Mode::Text, Mode::Json, Mode::Cobertura, Mode::Codecov];

impl Mode {
    pub(super) fn format(self) -> Mode {
        if self == Mode::Open { Mode::Html } else { self }
    }

    pub(super) fn flag(self) -> String {
        format!("--{}", self.format())
    }
}

/// Where the reports go: `lcov.info` at the workspace root (where Codecov and most CI steps
/// look), the others in `<target>/llvm-cov`; or all of them in `--output-dir`.
#[derive(Debug)]
pub(super) struct Outputs {
    pub(super) dir: Utf8PathBuf,
    pub(super) lcov: Utf8PathBuf,
}

/// How cargo-llvm-cov is told where to write a format, and what it writes.
pub(super) struct Destination {
    /// Whether the format goes into a directory cargo-llvm-cov makes (`--output-dir`), not to a
    /// path (`--output-path`), which is `value`.
    pub(super) into_dir: bool,
    pub(super) value: Utf8PathBuf,
    /// The file to show the user.
    pub(super) shown: Utf8PathBuf,
    /// What the format owns, to remove with `--clean`.
    pub(super) owned: Utf8PathBuf,
}

impl Destination {
    pub(super) fn option(&self) -> &'static str {
        if self.into_dir { "--output-dir" } else { "--output-path" }
    }
}

impl Outputs {
    pub(super) fn destination(&self, format: Mode) -> Destination {
        let in_dir = |sub: &str, file: &str| Destination {
            into_dir: true,
            value: self.dir.clone(),
            shown: self.dir.join(sub).join(file),
            owned: self.dir.join(sub),
        };
        let file =
            |path: Utf8PathBuf| Destination { into_dir: false, value: path.clone(), shown: path.clone(), owned: path };
        match format {
            // cargo-llvm-cov puts these in `<output-dir>/html` and `<output-dir>/text`.
            Mode::Open | Mode::Html => in_dir("html", "index.html"),
            Mode::Text => in_dir("text", "index.txt"),
            Mode::Lcov => file(self.lcov.clone()),
            Mode::Json => file(self.dir.join("coverage.json")),
            Mode::Cobertura => file(self.dir.join("cobertura.xml")),
            Mode::Codecov => file(self.dir.join("codecov.json")),
        }
    }
}

/// The directories coverage uses, all inside the workspace unless `--output-dir` says otherwise.
#[derive(Debug)]
pub(super) struct Dirs {
    pub(super) root: Utf8PathBuf,
    /// The workspace's own target directory: cargo's, unless that is shared with other projects.
    pub(super) own_target: Utf8PathBuf,
    /// cargo-llvm-cov's build directory: instrumented objects and the `*.profraw` files.
    pub(super) cov_target: Utf8PathBuf,
    pub(super) outputs: Outputs,
}

impl Dirs {
    /// `output_dir` as typed, relative to `cwd` (where the user ran the command).
    pub(super) fn new(ws: &Workspace, output_dir: Option<&Utf8Path>, cwd: &Utf8Path) -> Dirs {
        let own_target = if ws.target_dir_is_shared() { ws.root.join("target") } else { ws.target_dir.clone() };
        let outputs = match output_dir {
            Some(dir) => {
                let dir = workspace::users_path(cwd, dir);
                Outputs { lcov: dir.join("lcov.info"), dir }
            }
            None => Outputs { dir: own_target.join("llvm-cov"), lcov: ws.root.join("lcov.info") },
        };
        Dirs { root: ws.root.clone(), cov_target: own_target.join("llvm-cov-target"), own_target, outputs }
    }

    pub(super) fn reports(&self) -> Vec<Utf8PathBuf> {
        FORMATS.iter().map(|format| self.outputs.destination(*format).owned).collect()
    }
}
