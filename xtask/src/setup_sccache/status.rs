//! `setup-sccache status` and sccache's findings for `doctor`: what is installed, configured and
//! running, which wrapper cargo would use and why, gathered once and shown or checked.

use camino::Utf8PathBuf;
use serde_json::{Value, json};
use xshell::Shell;

use super::{
    DIST_SCHEDULER, WRAPPER, is_sccache,
    running::{Configured, EXPLAIN_MISSES, trial_server},
    server::{DistStatus, Endpoint, Sccache, Stats},
    settings::BackendKind,
    wrapper_program,
};
use crate::{
    finding::{Finding, Group, Level},
    output::{Stream, Style, human_bytes, paint},
    safe_fs::{self, free_space},
    secrets::{errln, outln},
    toml_file::TomlFile,
    tools::{self, Found},
    workspace,
};

const GROUP: Group = Group::Sccache;
/// The cache's share of the disk is listed with the other sizes.
const DISK: Group = Group::Disk;

/// Everything `status` shows and `doctor` checks, gathered once: each probe runs a program or
/// walks the cache directory.
struct Status {
    found: Result<Found, String>,
    /// Compiled-in backends, when the binary was found.
    backends: Vec<String>,
    configured: Configured,
    endpoint: Endpoint,
    running: bool,
    /// The running server's answer; an error when something else answers on its endpoint.
    stats: Option<Result<Stats, String>>,
    /// When no server runs and sccache is the wrapper: whether one can start (the first build
    /// starts it, and fails if it cannot).
    starts: Option<Result<(), String>>,
    wrapper: Wrapper,
    /// Bytes in the local cache directory, when it exists.
    cache_bytes: Option<u64>,
    /// The sccache-dist scheduler the config names, and when the server runs, what its client
    /// says of it.
    dist: Option<(String, Option<DistStatus>)>,
}

/// The wrapper cargo would use here, where that comes from, and config files that set one wrongly.
pub(super) struct Wrapper {
    pub(super) value: Option<String>,
    source: String,
    /// Files that set `RUSTC_WRAPPER` under `[env]`.
    env_table_files: Vec<Utf8PathBuf>,
    /// Files inside the workspace that set `build.rustc-wrapper`.
    committable_files: Vec<Utf8PathBuf>,
}

impl Status {
    fn gather(sh: &Shell) -> anyhow::Result<Status> {
        let found = tools::SCCACHE.find(sh).map_err(|err| format!("{err:#}"));
        let sccache = found.as_ref().ok().map(|found| Sccache::new(sh, found.clone()));
        let configured = Configured::read(sh)?;
        let endpoint = Endpoint::from_env(sh);
        let running = endpoint.answers();
        let backends = sccache.as_ref().map(Sccache::backends).transpose()?.unwrap_or_default();
        // Asked of the running server only: asking would start one.
        let server = sccache.as_ref().filter(|_| running);
        let stats = server.map(|sccache| sccache.stats().map_err(|err| format!("{err:#}")));
        let cache_bytes = safe_fs::usage(&configured.dir).ok().map(|usage| usage.disk);
        let wrapper = effective_wrapper(sh)?;
        let starts =
            sccache.as_ref().filter(|_| !running && wrapper.value.as_deref().is_some_and(is_sccache)).map(|sccache| {
                trial_server(sccache, &configured.config.text(), |_| Ok(())).map_err(|err| format!("{err:#}"))
            });
        let scheduler = configured.config.get(&DIST_SCHEDULER).and_then(|(value, _)| value.as_str().map(str::to_owned));
        let dist = scheduler.map(|scheduler| {
            let answer =
                server.map(|sccache| sccache.dist_status().unwrap_or_else(|err| DistStatus::Other(format!("{err:#}"))));
            (scheduler, answer)
        });
        Ok(Status { found, backends, configured, endpoint, running, stats, starts, wrapper, cache_bytes, dist })
    }

    /// Each check with what it found and, for a problem, the fix.
    fn findings(&self, sh: &Shell) -> Vec<Finding> {
        let mut findings = vec![match &self.found {
            Ok(found) => Finding::ok(
                GROUP,
                format!("sccache {} at {} (backends: {})", found.version, found.path, self.backends.join(", ")),
            ),
            Err(err) => Finding::error(GROUP, err.clone(), "cargo xtask setup-sccache"),
        }];
        findings.extend(self.server_findings());
        findings.push(self.wrapper_finding(sh));
        findings.extend(self.incremental_finding(sh));
        findings.extend(self.config_findings());
        findings.extend(self.environment_findings(sh));
        findings.extend(self.disk_finding(sh));
        findings.extend(self.memcached_finding(sh));
        findings.extend(self.dist_finding());
        findings
    }

    /// The sccache-dist scheduler, when one is configured and the server could ask it.
    fn dist_finding(&self) -> Option<Finding> {
        let (scheduler, answer) = self.dist.as_ref()?;
        let fix = format!(
            "start the scheduler at {scheduler} or fix its address and token: cargo xtask setup-sccache \
             --dist-scheduler URL with SCCACHE_DIST_TOKEN set (builds compile locally meanwhile)"
        );
        Some(match answer.as_ref()? {
            DistStatus::Scheduler { servers: 0, .. } => {
                Finding::warn(GROUP, format!("the scheduler {scheduler} has no build server"), fix)
            }
            answered @ DistStatus::Scheduler { .. } => {
                Finding::ok(GROUP, format!("distributed compilation: {answered}"))
            }
            other => Finding::warn(GROUP, format!("distributed compilation: {other}"), fix),
        })
    }

    /// Config files that set a wrapper where it does harm or nothing.
    fn config_findings(&self) -> Vec<Finding> {
        let env_table = self.wrapper.env_table_files.iter().map(|file| {
            Finding::warn(
                GROUP,
                format!(
                    "{file} sets RUSTC_WRAPPER under [env]: that reaches build scripts, not cargo's choice of wrapper"
                ),
                format!("remove it from [env] in {file}; setup writes build.rustc-wrapper instead"),
            )
        });
        let committable = self.wrapper.committable_files.iter().map(|file| {
            Finding::warn(
                GROUP,
                format!(
                    "{file}, inside the workspace, sets build.rustc-wrapper: committed, it makes every cargo command \
                     fail for anyone without sccache at that path"
                ),
                format!(
                    "remove build.rustc-wrapper from {file} and run `cargo xtask setup-sccache`, which sets it in your \
                     user configuration"
                ),
            )
        });
        env_table.chain(committable).collect()
    }

    /// `CARGO_INCREMENTAL=1`, with which sccache refuses every compilation.
    fn incremental_finding(&self, sh: &Shell) -> Option<Finding> {
        let var = incremental_forced_on(sh)?;
        let wrapper_is_sccache = self.wrapper.value.as_deref().is_some_and(is_sccache);
        let what = format!(
            "{var}=1: sccache refuses incremental compilations, so every build through it fails{}",
            if wrapper_is_sccache { "" } else { " (once sccache is the wrapper)" }
        );
        let level = if wrapper_is_sccache { Level::Error } else { Level::Warn };
        Some(Finding { level, ..Finding::warn(GROUP, what, unset_incremental(var)) })
    }

    /// Variables that make builds through sccache miss its cache, or override its config.
    fn environment_findings(&self, sh: &Shell) -> Vec<Finding> {
        let mut findings = Vec::new();
        if let Ok(target_dir) = sh.var("CARGO_TARGET_DIR") {
            findings.push(Finding::warn(
                GROUP,
                format!(
                    "CARGO_TARGET_DIR={target_dir} is set in the environment: sccache hashes every CARGO_* variable, \
                     so builds with another value (or none, as in CI or an IDE) miss the cache"
                ),
                "set build.target-dir in a cargo config file instead (same directory, no effect on cache keys)",
            ));
        }
        for var in ["SCCACHE_DIR", "SCCACHE_CACHE_SIZE"] {
            if let Ok(value) = sh.var(var) {
                findings.push(Finding::warn(
                    GROUP,
                    format!("{var}={value} is set in the environment and overrides {}", self.configured.config.path),
                    format!("unset {var}, or expect servers started from this shell to use it"),
                ));
            }
        }
        findings
    }

    /// Whether a server answers, with which cache, and its hit rate so far.
    fn server_findings(&self) -> Vec<Finding> {
        let endpoint = &self.endpoint;
        let stats = match &self.stats {
            None if self.running => return Vec::new(),
            None => {
                return vec![match &self.starts {
                    Some(Err(err)) => Finding::error(
                        GROUP,
                        format!(
                            "no server runs on {endpoint}, and none can start with {}, so every build through \
                             sccache fails: {err}",
                            self.configured.config.path
                        ),
                        format!(
                            "bring the {} backend back; or use the local disk: cargo xtask setup-sccache; or turn \
                             sccache off: cargo xtask setup-sccache disable",
                            self.configured.backend
                        ),
                    ),
                    _ => Finding::ok(GROUP, format!("no server runs on {endpoint}: the first build starts one")),
                }];
            }
            Some(Err(err)) => {
                return vec![Finding::warn(
                    GROUP,
                    format!("{endpoint} answers, but not as an sccache server ({err})"),
                    "set SCCACHE_SERVER_PORT to a free port, or stop the program that holds it",
                )];
            }
            Some(Ok(stats)) => stats,
        };
        let location = stats.cache_location.as_deref().unwrap_or("an unknown cache");
        let server = match self.configured.differs(stats) {
            None => Finding::ok(GROUP, format!("the server on {endpoint} runs with {location}")),
            Some(difference) => Finding::warn(
                GROUP,
                format!("the running server differs from the configuration: {difference}"),
                "cargo xtask setup-sccache start (restarts it)",
            ),
        };
        let hit_rate = match stats.hit_rate() {
            Some(rate) => {
                let what = format!(
                    "hit rate {rate:.1}% since the server started ({} hits, {} misses, {} not cacheable)",
                    stats.hits, stats.misses, stats.not_cacheable
                );
                if stats.low_hit_rate() { Finding::warn(GROUP, what, EXPLAIN_MISSES) } else { Finding::ok(GROUP, what) }
            }
            None => Finding::ok(GROUP, "no cache lookups yet since the server started"),
        };
        vec![server, hit_rate]
    }

    /// The wrapper cargo uses, and whether the program it names exists.
    fn wrapper_finding(&self, sh: &Shell) -> Finding {
        let Wrapper { value, source, .. } = &self.wrapper;
        let Some(wrapper) = value else {
            return Finding::warn(
                GROUP,
                format!("no rustc wrapper: builds do not use sccache ({source})"),
                "cargo xtask setup-sccache",
            );
        };
        match (wrapper_program(sh, wrapper).is_some_and(|path| path.is_file()), is_sccache(wrapper)) {
            (false, _) => Finding::error(
                GROUP,
                format!("the rustc wrapper {wrapper} (from {source}) does not exist, so every cargo build fails"),
                "cargo xtask setup-sccache (installs sccache and names its path), or remove the wrapper setting",
            ),
            (true, true) => Finding::ok(GROUP, format!("rustc wrapper {wrapper} (from {source})")),
            (true, false) => Finding::warn(
                GROUP,
                format!("the rustc wrapper is {wrapper} (from {source}), not sccache"),
                "cargo xtask setup-sccache, once that wrapper is no longer wanted",
            ),
        }
    }

    /// memcached's item limit, when memcached is the cache or in its chain.
    fn memcached_finding(&self, sh: &Shell) -> Option<Finding> {
        let configured = |keys: &[&str]| self.configured.config.get(keys)?.0.as_str().map(str::to_owned);
        let endpoint =
            sh.var("SCCACHE_MEMCACHED_ENDPOINT").ok().or_else(|| configured(&["cache", "memcached", "endpoint"]))?;
        super::memcached::small_item_limit(&endpoint).map(|what| Finding::warn(GROUP, what, super::memcached::FIX))
    }

    /// The local cache against its limit and the free space beside it.
    fn disk_finding(&self, sh: &Shell) -> Option<Finding> {
        let configured = &self.configured;
        if configured.backend != BackendKind::Local && configured.chain.is_none() {
            return None;
        }
        let dir = &configured.dir;
        let used = self.cache_bytes.unwrap_or(0);
        let what = format!("sccache cache {dir}: {} of its {} limit", human_bytes(used), human_bytes(configured.size));
        let growth = configured.size.saturating_sub(used);
        // The cache only grows; its directory may not exist yet.
        let free = dir.ancestors().find(|dir| dir.exists()).and_then(|dir| free_space(sh, dir));
        Some(match free {
            Some(free) if free < growth => Finding::warn(
                DISK,
                format!(
                    "{what}; it may grow by {}, more than the {} free there",
                    human_bytes(growth),
                    human_bytes(free)
                ),
                "lower the limit with `cargo xtask setup-sccache --cache-size 5G`, empty the cache with \
                 `cargo xtask setup-sccache clear`, or free space with `cargo xtask clean-shared-target`",
            ),
            _ => Finding::ok(DISK, what),
        })
    }
}

/// The variable that turns incremental compilation on explicitly, which sccache refuses to work
/// with (it exits on every compilation).
pub(super) fn incremental_forced_on(sh: &Shell) -> Option<&'static str> {
    ["CARGO_INCREMENTAL", "CARGO_BUILD_INCREMENTAL"].into_iter().find(|var| sh.var(var).is_ok_and(|value| value == "1"))
}

pub(super) fn unset_incremental(var: &str) -> String {
    format!("unset {var} (cargo then compiles only workspace crates incrementally, as it does by default)")
}

pub(crate) fn findings(sh: &Shell) -> anyhow::Result<Vec<Finding>> {
    Ok(Status::gather(sh)?.findings(sh))
}

pub(super) fn show_status(sh: &Shell, as_json: bool) -> anyhow::Result<()> {
    let status = Status::gather(sh)?;
    let problems: Vec<Finding> = status.findings(sh).into_iter().filter(Finding::is_problem).collect();
    if as_json {
        outln!("{:#}", status.to_json(&problems));
        return Ok(());
    }
    for (label, value) in status.lines() {
        outln!("{label:<12} {value}");
    }
    for problem in problems {
        let label = if problem.level == Level::Error { "error" } else { "warning" };
        outln!(
            "{}: {}\n  fix: {}",
            paint(Stream::Stdout, Style::Bad, label),
            problem.what,
            problem.fix.unwrap_or_default()
        );
    }
    Ok(())
}

/// What incremental compilation means for the cache, in `status`.
const INCREMENTAL_NOTE: &str = "sccache cannot cache incremental compilations: with incremental on (cargo's default \
                                for workspace crates) only dependencies are cached; `--no-incremental` caches \
                                everything but loses rustc's incremental reuse, which suits CI";

impl Status {
    /// `status`'s lines: a label and its value.
    fn lines(&self) -> Vec<(&'static str, String)> {
        let Status { found, backends, configured, endpoint, running, wrapper, cache_bytes, dist, .. } = self;
        let binary = found.as_ref().map_or("not installed".into(), |found| {
            format!("{} {} (backends: {})", found.path, found.version, backends.join(", "))
        });
        let server = match running {
            true => format!("running on {endpoint}"),
            false => format!("not running on {endpoint} (the first build starts it)"),
        };
        let wrapper = match &wrapper.value {
            Some(value) => format!("{value} (from {})", wrapper.source),
            None => format!("none: builds do not use sccache ({})", wrapper.source),
        };
        let size = cache_bytes.map(|bytes| format!("{} on disk in {}", human_bytes(bytes), configured.dir));
        let dist = dist.as_ref().map(|(scheduler, answer)| match answer {
            Some(answer) => answer.to_string(),
            None => format!("scheduler {scheduler} (asked when the server starts)"),
        });
        [
            ("sccache", binary),
            ("server", server),
            ("wrapper", wrapper),
            ("config", configured.config.path.to_string()),
            ("cache", configured.describe()),
        ]
        .into_iter()
        .chain(size.map(|size| ("cache size", size)))
        .chain(dist.map(|dist| ("dist", dist)))
        .chain([("incremental", INCREMENTAL_NOTE.into())])
        .collect()
    }

    /// `status --json`.
    fn to_json(&self, problems: &[Finding]) -> Value {
        let Status { found, backends, configured, endpoint, running, wrapper, cache_bytes, dist, .. } = self;
        let dist = dist.as_ref().map(|(scheduler, answer)| match answer {
            Some(DistStatus::Scheduler { servers, cpus, in_progress, .. }) => {
                json!({"scheduler": scheduler, "answered": true, "servers": servers, "cpus": cpus, "in_progress": in_progress})
            }
            Some(other) => json!({"scheduler": scheduler, "answered": false, "said": other.to_string()}),
            None => json!({"scheduler": scheduler, "answered": null}),
        });
        let binary = found.as_ref().map_or(
            Value::Null,
            |found| json!({"path": found.path.as_str(), "version": found.version.to_string(), "backends": backends}),
        );
        json!({
            "binary": binary,
            "server": {"endpoint": endpoint.to_string(), "running": running},
            "wrapper": {"value": wrapper.value, "source": wrapper.source},
            "config_file": configured.config.path.as_str(),
            "cache": {
                "backend": configured.backend.to_string(),
                "description": configured.describe(),
                "dir": configured.dir.as_str(),
                "max_size_bytes": configured.size,
                "size_bytes": cache_bytes,
            },
            "dist": dist,
            "incremental": INCREMENTAL_NOTE,
            "warnings": problems
                .iter()
                .map(|p| json!({"level": p.level.name(), "problem": p.what, "fix": p.fix}))
                .collect::<Vec<_>>(),
        })
    }
}

pub(super) fn effective_wrapper(sh: &Shell) -> anyhow::Result<Wrapper> {
    let root = workspace::root_of(sh)?;
    let mut env_table_files = Vec::new();
    let mut committable_files = Vec::new();
    let mut from_config = None;
    for file in workspace::cargo_config_files(&root, tools::cargo_home(sh).ok().as_deref()) {
        let read = TomlFile::read(&file);
        let Ok(config) = read.inspect_err(|err| errln!("{}: {err:#}", paint(Stream::Stderr, Style::Bad, "warning")))
        else {
            continue;
        };
        if config.get(&["env", "RUSTC_WRAPPER"]).is_some() || config.get(&["env", "RUSTC_WRAPPER", "value"]).is_some() {
            env_table_files.push(file.clone());
        }
        if let Some((value, _)) = config.get(&WRAPPER) {
            if file.starts_with(&root) {
                committable_files.push(file.clone());
            }
            from_config.get_or_insert_with(|| (value.as_str().unwrap_or_default().to_owned(), file));
        }
    }
    let (value, source) = match ["RUSTC_WRAPPER", "CARGO_BUILD_RUSTC_WRAPPER"]
        .iter()
        .find_map(|var| Some((var, sh.var(var).ok()?)))
    {
        Some((var, value)) if value.is_empty() => (None, format!("{var} is set to empty, which turns the wrapper off")),
        Some((var, value)) => (Some(value), format!("the {var} variable")),
        None => match from_config {
            Some((value, file)) if !value.is_empty() => (Some(value), file.to_string()),
            _ => (None, "no RUSTC_WRAPPER and no build.rustc-wrapper in any cargo config".into()),
        },
    };
    Ok(Wrapper { value, source, env_table_files, committable_files })
}
