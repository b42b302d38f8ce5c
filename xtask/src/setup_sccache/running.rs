//! The server as configured: what the configuration says against what the running server uses,
//! starting it when it is not running, and `stats`.

use anyhow::Context;
use camino::Utf8PathBuf;
use xshell::Shell;

use super::{
    DIST_SCHEDULER, MULTILEVEL, installed,
    server::{DistStatus, Sccache, Stats},
    settings::{self, BackendKind, CacheSize},
};
use crate::{
    output::{self, human_bytes},
    safe_fs,
    secrets::{self, errln, outln},
    toml_file::TomlFile,
};

/// The fix of a low hit rate: what says why the misses missed.
pub(super) const EXPLAIN_MISSES: &str =
    "cargo xtask setup-sccache explain (rebuilds once through sccache and says why each compilation missed)";

/// How the running server's distributed compilation differs from the configured one, if it does
/// (a server reads `[dist]` when it starts).
fn dist_difference(sccache: &Sccache<'_>, configured: &Configured) -> Option<String> {
    let wanted = configured.config.get(&DIST_SCHEDULER).and_then(|(value, _)| value.as_str().map(str::to_owned));
    let running = sccache.dist_status().ok()?;
    match (wanted, running) {
        (Some(wanted), DistStatus::Disabled) => {
            Some(format!("it runs without distributed compilation, not with {wanted}"))
        }
        (Some(wanted), DistStatus::Scheduler { url, .. })
            if url.trim_end_matches('/') != wanted.trim_end_matches('/') =>
        {
            Some(format!("it asks the scheduler {url}, not {wanted}"))
        }
        (None, DistStatus::Scheduler { url, .. }) => Some(format!("it still asks the scheduler {url}")),
        _ => None,
    }
}

/// Starts the server unless it already runs with the configured cache; restarts it if it runs
/// with another. Returns what it did.
pub(super) fn ensure_running(sccache: &Sccache<'_>, configured: &Configured) -> anyhow::Result<String> {
    if sccache.endpoint.answers() {
        let stats = sccache.stats().map_err(|err| {
            anyhow::anyhow!(
                "{} answers, but not as an sccache server ({err:#}).\nSet SCCACHE_SERVER_PORT to a free port, \
                 or stop the program that holds it.",
                sccache.endpoint
            )
        })?;
        match configured.differs(&stats).or_else(|| dist_difference(sccache, configured)) {
            None => return Ok(format!("the sccache server on {} already runs with this cache", sccache.endpoint)),
            Some(difference) => {
                errln!("restarting the sccache server on {}: {difference}", sccache.endpoint);
                sccache.stop()?;
            }
        }
    }
    if let Err(err) = sccache.start() {
        // Another set-up may have started the same server meanwhile: then all is as wanted.
        let started_by_another =
            sccache.endpoint.answers() && sccache.stats().is_ok_and(|stats| configured.differs(&stats).is_none());
        if !started_by_another {
            return Err(err);
        }
        return Ok(format!("the sccache server on {} was started meanwhile, by another set-up", sccache.endpoint));
    }
    Ok(format!("started the sccache server on {}", sccache.endpoint))
}

/// The cache as configured: environment variables over sccache's config file over its defaults.
pub(super) struct Configured {
    pub(super) config: TomlFile,
    pub(super) backend: BackendKind,
    pub(super) dir: Utf8PathBuf,
    pub(super) size: u64,
    pub(super) chain: Option<String>,
}

impl Configured {
    pub(super) fn read(sh: &Shell) -> anyhow::Result<Configured> {
        let config = TomlFile::read(&settings::sccache_config_path(sh)?)?;
        let text = |keys: &[&str]| config.get(keys).and_then(|(value, _)| value.as_str().map(str::to_owned));
        use BackendKind::{Azure, Gha, Memcached, Redis, S3, Webdav};
        // sccache's own order when several backends are configured.
        let backend = [S3, Redis, Memcached, Gha, Azure, Webdav]
            .into_iter()
            .find(|kind| kind.keys().iter().any(|key| config.get(&["cache", kind.table(), key]).is_some()))
            .unwrap_or(BackendKind::Local);
        let dir = match sh.var("SCCACHE_DIR").ok().or_else(|| text(&["cache", "disk", "dir"])) {
            Some(dir) => dir.into(),
            None => settings::default_cache_dir(sh)?,
        };
        let size = match sh.var("SCCACHE_CACHE_SIZE").ok().and_then(|size| size.parse::<CacheSize>().ok()) {
            Some(size) => size.bytes(),
            None => match config.get(&["cache", "disk", "size"]) {
                Some((value, _)) => value
                    .as_integer()
                    .and_then(|bytes| u64::try_from(bytes).ok())
                    .or_else(|| value.as_str().and_then(|size| size.parse::<CacheSize>().ok()).map(CacheSize::bytes))
                    .with_context(|| format!("cache.disk.size in {} is not a size sccache reads", config.path))?,
                None => CacheSize::DEFAULT.bytes(),
            },
        };
        let chain = config.get(&MULTILEVEL).and_then(|(value, _)| {
            value.as_array().map(|chain| chain.iter().filter_map(|level| level.as_str()).collect::<Vec<_>>().join(","))
        });
        Ok(Configured { config, backend, dir, size, chain })
    }

    /// How a running server's cache differs from this one, if it does.
    pub(super) fn differs(&self, stats: &Stats) -> Option<String> {
        let location = stats.cache_location.as_deref().unwrap_or("unknown");
        match &self.chain {
            // sccache names a chain only by its length.
            Some(chain) => (!location.starts_with("Multi-level"))
                .then(|| format!("it uses {location}, not the multi-level chain {chain}")),
            None => stats.differs_from(self.backend, &self.dir, self.size),
        }
    }

    /// The remote backend's settings from the config file.
    pub(super) fn remote_settings(&self) -> Vec<RemoteSetting> {
        self.backend
            .keys()
            .iter()
            .filter(|_| self.backend != BackendKind::Local)
            .filter_map(|key| {
                let (value, _) = self.config.get(&["cache", self.backend.table(), key])?;
                let value = value.as_str().map_or_else(|| value.clone().decorated("", "").to_string(), str::to_owned);
                let secret = !secrets::credentials_in(key, &value).is_empty();
                Some(RemoteSetting { key, value, secret })
            })
            .collect()
    }

    pub(super) fn describe(&self) -> String {
        match self.backend {
            BackendKind::Local => format!("local disk {} (limit {})", self.dir, human_bytes(self.size)),
            remote => {
                let settings: Vec<String> = self
                    .remote_settings()
                    .into_iter()
                    .map(|setting| {
                        let shown = if setting.secret { secrets::MASK.into() } else { secrets::redact(&setting.value) };
                        format!("{}={shown}", setting.key)
                    })
                    .collect();
                let front =
                    if self.chain.is_some() { format!(", behind local disk {}", self.dir) } else { String::new() };
                format!("{remote} ({}){front}", settings.join(", "))
            }
        }
    }
}

/// A key of the remote backend's table, as the config file has it.
pub(super) struct RemoteSetting {
    pub(super) key: &'static str,
    pub(super) value: String,
    /// A credential, or a value that holds one: never printed.
    pub(super) secret: bool,
}

pub(super) fn show_stats(sh: &Shell, as_json: bool, zero: bool) -> anyhow::Result<()> {
    let sccache = installed(sh)?;
    let running = sccache.endpoint.answers();
    let stats: Stats = sccache.stats()?;
    if as_json {
        let mut json = stats.to_json();
        json["server_running"] = running.into();
        outln!("{json:#}");
    } else {
        outln!("{}", stats.to_text().trim_end());
    }
    if !running {
        errln!("no sccache server runs on {}: these are empty figures", sccache.endpoint);
    }
    if stats.low_hit_rate() {
        errln!("the hit rate is low; to see why: {}", EXPLAIN_MISSES);
    }
    // A failed summary still lets --zero reset the counters, then fails the task.
    let summary = output::append_step_summary(sh, &stats.to_markdown());
    if zero && running {
        sccache.zero_stats()?;
        errln!("statistics reset");
    } else if zero {
        errln!("no server runs, so there are no statistics to reset");
    }
    summary
}

/// Starts a throw-away server with `config` on a free port, runs `check` of it, then stops it:
/// sccache checks its backend when it starts, and a wrapper whose server cannot start fails
/// every build. The configuration may hold a password: it is written owner-only into an
/// owner-only directory, and removed as soon as the server has read it.
pub(super) fn trial_server(
    sccache: &Sccache<'_>,
    config: &str,
    check: impl FnOnce(&Sccache<'_>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let trial_dir = safe_fs::PrivateDir::create("cargo-xtask-sccache-trial-")?;
    let config_path = trial_dir.write("config", config)?;
    let trial = sccache.private(&config_path, &trial_dir.path.join("disk"))?;
    let started = trial.start();
    // A started server has read its configuration; stopping needs none.
    let _ = std::fs::remove_file(&config_path);
    let checked = started.and_then(|()| check(&trial));
    trial.stop()?;
    checked
}
