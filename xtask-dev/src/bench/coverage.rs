//! `coverage`: its overhead over plain cargo-llvm-cov, the formats, `--changed-since`, the Python
//! tests, sccache under coverage.

use super::*;

impl Bench<'_> {
    /// A copy of the example library crate as a workspace of its own: a coverage run well under a second, so
    /// what the xtask adds shows in seconds.
    fn library_workspace(&self, dir: &Utf8Path) -> anyhow::Result<CoverageWorkspace> {
        self.fresh(dir)?;
        let ws = dir.join("ws");
        copy_tree(&self.repo.join("crates/textstats"), &ws.join("crates/textstats"))?;
        std::fs::write(
            ws.join("Cargo.toml"),
            "[workspace]\nresolver = \"3\"\nmembers = [\"crates/*\"]\n\n[workspace.package]\nedition = \"2024\"\n\
             rust-version = \"1.89\"\nlicense = \"MIT OR Apache-2.0\"\npublish = false\n\n[workspace.lints.rust]\n",
        )?;
        Ok(CoverageWorkspace { root: ws, packages: &["textstats"], what: "the example library" })
    }

    /// A copy of this repository's own code: the xtask (9,000 lines, its unit tests, six crates.io
    /// dependencies) and the example library, whose coverage run takes seconds, as real ones do.
    /// The xtask's end-to-end tests (all but their shared module) and the Python crate stay out.
    fn project_workspace(&self, dir: &Utf8Path) -> anyhow::Result<CoverageWorkspace> {
        self.fresh(dir)?;
        let ws = dir.join("ws");
        let files = [
            "Cargo.toml",
            "Cargo.lock",
            "README.md",
            "Makefile",
            "rustfmt.toml",
            "xtask/Cargo.toml",
            "xtask/rustfmt.toml",
            "xtask-dev/Cargo.toml",
        ];
        for file in files {
            std::fs::create_dir_all(ws.join(file).parent().expect("a file in a directory"))?;
            std::fs::copy(self.repo.join(file), ws.join(file)).with_context(|| format!("could not copy {file}"))?;
        }
        // `tests/support` without the tests: no test target, but the crate's files as `adopt` copies them.
        // xtask-dev/src only so that the workspace's members load.
        let trees = [
            ".cargo",
            ".github",
            "xtask/src",
            "xtask/test_data",
            "xtask/tests/support",
            "xtask-dev/src",
            "crates/textstats",
        ];
        for tree in trees {
            copy_tree(&self.repo.join(tree), &ws.join(tree))?;
        }
        Ok(CoverageWorkspace { root: ws, packages: &["xtask", "textstats"], what: "this repository's code" })
    }

    /// The workspaces of the coverage scenarios: the goal is checked on this repository's code; the
    /// library shows the fixed cost.
    fn coverage_workspaces(&self, dir: &Utf8Path, goal: f64) -> anyhow::Result<[(CoverageWorkspace, Option<f64>); 2]> {
        Ok([
            (self.project_workspace(&dir.join("project"))?, Some(goal)),
            (self.library_workspace(&dir.join("library"))?, None),
        ])
    }

    /// What the xtask adds to a coverage run: against the plain cargo-llvm-cov command.
    pub(super) fn coverage_overhead(&self, dir: &Utf8Path) -> anyhow::Result<Vec<Row>> {
        let mut rows = Vec::new();
        for (ws, goal) in self.coverage_workspaces(dir, 1.05)? {
            let here = self.shell_in(&ws.root);
            let lcov = ws.root.join("plain.lcov.info");
            let xtask = || time(ws.xtask_coverage(&here, &["lcov"])?);
            let plain = || {
                let cmd = child::cargo(&here).arg("llvm-cov");
                let cmd = ws.packages.iter().fold(cmd, |cmd, package| cmd.args(["-p", package]));
                let env = Env::default()
                    .set("RUSTC_WRAPPER", "")
                    .set("CARGO_LLVM_COV_TARGET_DIR", ws.root.join("target/llvm-cov-target"));
                time(env.apply(cmd.args(["--all-features", "--lcov", "--output-path"]).arg(&lcov)))
            };
            // Both sides warm: the first build is not what is compared.
            xtask()?;
            plain()?;
            let (ours, theirs) = pairs(self.runs, xtask, plain)?;
            rows.push(Row::compared(
                "coverage-overhead",
                Sample { label: format!("`cargo xtask coverage --mode lcov`, {}", ws.what), seconds: ours },
                Sample { label: "`cargo llvm-cov --lcov`".into(), seconds: theirs },
                goal,
            ));
        }
        Ok(rows)
    }

    /// Three report formats from one test run against one.
    pub(super) fn coverage_formats(&self, dir: &Utf8Path) -> anyhow::Result<Vec<Row>> {
        let mut rows = Vec::new();
        for (ws, goal) in self.coverage_workspaces(dir, 1.2)? {
            let here = self.shell_in(&ws.root);
            let coverage = |modes: &[&str]| time(ws.xtask_coverage(&here, modes)?);
            coverage(&["lcov"])?;
            let (three, one) = pairs(self.runs, || coverage(&["lcov", "html", "text"]), || coverage(&["lcov"]))?;
            rows.push(Row::compared(
                "coverage-formats",
                Sample { label: format!("`--mode lcov --mode html --mode text`, {}", ws.what), seconds: three },
                Sample { label: "`--mode lcov`".into(), seconds: one },
                goal,
            ));
        }
        Ok(rows)
    }

    /// A change that touches one leaf member (the example library) of this repository's code:
    /// `--changed-since` against the full run, and what finding the change costs (git and the
    /// resolve comparison), from the dry runs with and without it.
    pub(super) fn coverage_changed(&self, dir: &Utf8Path) -> anyhow::Result<Vec<Row>> {
        let ws = self.project_workspace(dir)?;
        let here = self.shell_in(&ws.root);
        let git = |args: &[&str]| {
            child::command(&here, "git")
                .args(["-c", "user.name=bench", "-c", "user.email=bench@example.invalid", "-c", "commit.gpgsign=false"])
                .args(args)
                .quiet()
                .ignore_stdout()
                .run()
        };
        std::fs::write(ws.root.join(".gitignore"), "/target\n/lcov.info\n")?;
        git(&["init", "-q", "-b", "main"])?;
        git(&["add", "-A"])?;
        git(&["commit", "-q", "-m", "bench"])?;
        let lib = ws.root.join("crates/textstats/src/lib.rs");
        let text = std::fs::read_to_string(&lib)?;
        // A comment: the file changed, its figures (and their minimums) did not.
        std::fs::write(&lib, format!("{text}\n// Changed for the bench.\n"))?;
        let run = |extra: &[&str]| time(ws.xtask_coverage(&here, &["lcov"])?.args(extra));
        run(&[])?;
        let (changed, full) = pairs(self.runs, || run(&["--changed-since", "main"]), || run(&[]))?;
        let mut rows = vec![Row::compared(
            "coverage-changed",
            Sample {
                label: "`--changed-since main`, one leaf member changed (measures 1 of 2)".into(),
                seconds: changed,
            },
            Sample { label: "the full run".into(), seconds: full },
            None,
        )];
        let (with, without) =
            pairs(self.runs, || run(&["--changed-since", "main", "--dry-run"]), || run(&["--dry-run"]))?;
        let detection = median(&with) - median(&without);
        let mut row = Row::compared(
            "coverage-changed",
            Sample { label: "`--dry-run --changed-since main`".into(), seconds: with },
            Sample { label: "`--dry-run`".into(), seconds: without },
            None,
        );
        row.checks.push(Check {
            goal: "finding the change < 0.3 s".into(),
            actual: seconds(detection),
            pass: detection < 0.3,
        });
        rows.push(row);
        Ok(rows)
    }

    /// The example library and its Python bindings, whose pytest suite calls what no Rust test
    /// does: Rust and Python tests against the Rust tests alone, both warm (the extra is the
    /// module's build, the wheel's install and pytest); and the same run with its Python
    /// environment made against one that reuses it. pip takes the wheels `cargo dev ci`
    /// downloaded when they are there, else the index.
    pub(super) fn coverage_python(&self, dir: &Utf8Path) -> anyhow::Result<Vec<Row>> {
        let mut ws = self.library_workspace(dir)?;
        copy_tree(&self.repo.join("crates/textstats-py"), &ws.root.join("crates/textstats-py"))?;
        std::fs::copy(self.repo.join("Cargo.lock"), ws.root.join("Cargo.lock"))?;
        ws.packages = &["textstats", "textstats-py"];
        let here = self.shell_in(&ws.root);
        let wheels = self.repo.join("target/python-wheels");
        let pip = match wheels.is_dir() {
            true => Env::default().set("PIP_NO_INDEX", "1").set("PIP_FIND_LINKS", &wheels),
            false => Env::default(),
        };
        let run = |extra: &[&str]| time(pip.apply(ws.xtask_coverage(&here, &["lcov"])?.args(extra)));
        run(&[])?;
        let (python, rust) = pairs(self.runs, || run(&[]), || run(&["--no-python-tests"]))?;
        let venv = ws.root.join("target/llvm-cov-target/xtask-python/textstats-py/venv");
        let made = || {
            std::fs::remove_dir_all(&venv).with_context(|| format!("could not remove {venv}"))?;
            run(&[])
        };
        let (made, reused) = pairs(self.runs, made, || run(&[]))?;
        Ok(vec![
            Row::compared(
                "coverage-python",
                Sample { label: "Rust and Python tests (pytest), warm".into(), seconds: python },
                Sample { label: "Rust tests alone (`--no-python-tests`)".into(), seconds: rust },
                None,
            ),
            Row::compared(
                "coverage-python",
                Sample { label: "the same, its Python environment made".into(), seconds: made },
                Sample { label: "the environment reused".into(), seconds: reused },
                None,
            ),
        ])
    }

    /// Coverage from an empty coverage target dir: warm sccache against sccache off.
    pub(super) fn coverage_sccache(&self, dir: &Utf8Path) -> anyhow::Result<Vec<Row>> {
        self.fresh(dir)?;
        let ws = dependency_workspace(dir)?;
        let here = self.shell_in(&ws);
        let sccache = self.private_sccache(dir)?;
        let cov_target = ws.join("target/llvm-cov-target");
        let coverage = |with_sccache: bool| {
            let _ = std::fs::remove_dir_all(&cov_target);
            let cmd = xtask(&here)?.args(["coverage", "--mode", "lcov"]);
            let cmd = if with_sccache { cmd } else { cmd.arg("--no-sccache") };
            time(wrapped(&sccache, with_sccache).apply(cmd))
        };
        coverage(true)?; // fills the cache
        let result = pairs(self.runs, || coverage(true), || coverage(false));
        sccache.stop()?;
        let (warm, off) = result?;
        Ok(vec![Row::compared(
            "coverage-sccache",
            Sample { label: "coverage, warm sccache".into(), seconds: warm },
            Sample { label: "coverage, sccache off".into(), seconds: off },
            Some(0.4),
        )])
    }

    /// Coverage from an empty coverage directory right after a normal `cargo test` build, whose
    /// dependencies sccache cached, against the same with a cold cache: what the coverage run
    /// reuses of them. Each run has an sccache server and cache of its own.
    pub(super) fn coverage_after_test(&self, dir: &Utf8Path) -> anyhow::Result<Vec<Row>> {
        self.fresh(dir)?;
        let ws = dependency_workspace(dir)?;
        let here = self.shell_in(&ws);
        let runs = std::cell::Cell::new(0);
        let coverage = |after_test: bool| {
            runs.set(runs.get() + 1);
            let side = dir.join(format!("sccache-{}", runs.get()));
            self.fresh(&side)?;
            let sccache = self.private_sccache(&side)?;
            let _ = std::fs::remove_dir_all(ws.join("target"));
            let measured = (|| {
                if after_test {
                    time(wrapped(&sccache, true).apply(child::cargo(&here).args(["test", "--no-run", "--quiet"])))?;
                }
                time(wrapped(&sccache, true).apply(xtask(&here)?.args(["coverage", "--mode", "lcov"])))
            })();
            sccache.stop()?;
            measured
        };
        let (after_test, cold) = pairs(self.runs, || coverage(true), || coverage(false))?;
        Ok(vec![Row::compared(
            "coverage-after-test",
            Sample {
                label: "coverage from an empty coverage dir right after `cargo test --no-run`".into(),
                seconds: after_test,
            },
            Sample { label: "the same with a cold cache".into(), seconds: cold },
            None,
        )])
    }
}
