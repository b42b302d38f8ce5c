//! The xtask's own cold build, and `clean-shared-target`'s scan and deletion against `du` and `rm`.

use super::*;

impl Bench<'_> {
    /// The xtask's own build cost: cold build against its dependencies alone, and the warm help.
    pub(super) fn xtask_build(&self, dir: &Utf8Path) -> anyhow::Result<Vec<Row>> {
        self.fresh(dir)?;
        let deps = xtask_dependencies(self.sh)?;
        let target = |side: &str| dir.join(side);
        let build = |side: &str, packages: &[String]| {
            let _ = std::fs::remove_dir_all(target(side));
            let packages = packages.iter().flat_map(|p| ["-p", p.as_str()]);
            time(child::cargo(self.sh).args(["build", "--quiet", "--target-dir"]).arg(target(side)).args(packages))
        };
        let (cold, deps_only) =
            pairs(self.runs, || build("cold", &[XTASK_PACKAGE.to_owned()]), || build("deps", &deps))?;
        let mut row = Row::compared(
            "xtask-build",
            Sample { label: "cold `cargo build -p xtask`".into(), seconds: cold },
            Sample { label: format!("its {} dependencies alone", deps.len()), seconds: deps_only },
            None,
        );
        let cold = row.measured.median();
        // 10 s, raised to 12 s for rustix (deletion through directory handles): safety first.
        row.checks.push(Check { goal: "cold ≤ 12 s".into(), actual: seconds(cold), pass: cold <= 12.0 });

        // Warm: everything built; `cargo xtask --help` only checks freshness and prints.
        time(child::cargo(self.sh).args(["build", "--quiet", "-p", XTASK_PACKAGE]))?;
        let warm: Vec<f64> = (0..self.runs.max(5))
            // What the alias runs, by this package's name: a workspace that adopted the xtask may
            // have its own `xtask` alias.
            .map(|_| time(child::cargo(self.sh).args(workspace::alias_words(XTASK_PACKAGE)).arg("--help")))
            .collect::<anyhow::Result<_>>()?;
        let warm = Sample { label: "warm `cargo xtask --help`".into(), seconds: warm };
        let median = warm.median();
        let warm_row = Row {
            scenario: "xtask-build",
            measured: warm,
            baseline: None,
            checks: vec![Check { goal: "warm < 0.3 s".into(), actual: seconds(median), pass: median < 0.3 }],
        };
        Ok(vec![row, warm_row])
    }

    /// Sizing a 200,000-file target tree: clean-shared-target's dry run against `du -sb`.
    pub(super) fn clean_scan(&self, dir: &Utf8Path) -> anyhow::Result<Vec<Row>> {
        self.fresh(dir)?;
        let tree = dir.join("target");
        synthetic_target(&tree, SYNTHETIC_FILES)?;
        let here = self.shell_in(dir);
        let mut ours_bytes = None;
        let mut du_bytes = None;
        let (ours, du) = pairs(
            self.runs,
            || {
                let start = Instant::now();
                let json = xtask(&here)?
                    .args(["clean-shared-target", "--dry-run", "--json", "--target-dir"])
                    .arg(&tree)
                    .quiet()
                    .read()?;
                let elapsed = start.elapsed().as_secs_f64();
                ours_bytes = Some(apparent_bytes(&serde_json::from_str(&json)?)?);
                Ok(elapsed)
            },
            || {
                let start = Instant::now();
                let out = child::command(self.sh, "du").args(["-sb"]).arg(&tree).quiet().read()?;
                let elapsed = start.elapsed().as_secs_f64();
                du_bytes = out.split_whitespace().next().and_then(|n| n.parse::<u64>().ok());
                Ok(elapsed)
            },
        )?;
        let mut row = Row::compared(
            "clean-scan",
            Sample { label: "`clean-shared-target --dry-run`".into(), seconds: ours },
            Sample { label: "`du -sb`".into(), seconds: du },
            Some(1.3),
        );
        row.checks.push(Check {
            goal: "size = du -sb".into(),
            actual: format!("{} vs {}", show_bytes(ours_bytes), show_bytes(du_bytes)),
            pass: ours_bytes.is_some() && ours_bytes == du_bytes,
        });
        Ok(vec![row])
    }

    /// Deleting that tree: clean-shared-target against `rm -rf`, each on a fresh copy.
    pub(super) fn clean_delete(&self, dir: &Utf8Path) -> anyhow::Result<Vec<Row>> {
        self.fresh(dir)?;
        let tree = dir.join("target");
        let here = self.shell_in(dir);
        let (ours, rm) = pairs(
            self.runs,
            || {
                synthetic_target(&tree, SYNTHETIC_FILES)?;
                time(xtask(&here)?.args(["clean-shared-target", "--yes", "--target-dir"]).arg(&tree))
            },
            || {
                synthetic_target(&tree, SYNTHETIC_FILES)?;
                time(child::command(self.sh, "rm").arg("-rf").arg(&tree))
            },
        )?;
        Ok(vec![Row::compared(
            "clean-delete",
            Sample { label: "`clean-shared-target --yes`".into(), seconds: ours },
            Sample { label: "`rm -rf`".into(), seconds: rm },
            Some(1.3),
        )])
    }
}
