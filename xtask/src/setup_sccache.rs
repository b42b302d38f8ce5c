//! `cargo xtask setup-sccache`: install, configure, run and inspect sccache.
//!
//! The configuration lives where every way of starting sccache reads it: the cache in sccache's
//! own config file (`SCCACHE_CONF` or the per-OS default), the wrapper in a cargo config file
//! (the user's by default: a wrapper committed to a repository breaks builds for everyone
//! without sccache). Nothing is exported into anyone's shell; `env` prints assignments for those
//! who want them.
//!
//! This is where credentials pass through, so every line it prints is redacted.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub(crate) mod explain;
pub mod install;
pub mod server;
pub mod settings;
mod shell_env;
mod status;

use anyhow::{Context, bail};
use camino::{Utf8Path, Utf8PathBuf};
use xshell::Shell;

pub(crate) use self::status::findings;
use self::{
    server::{DistStatus, Sccache, Stats},
    settings::{BackendKeys, BackendKind, BackendUrl, CacheSize, EnvShell, Scope},
    status::{incremental_forced_on, show_status, unset_incremental},
};
use crate::{
    child::{Env, EnvChange},
    flags::{self, InstallFrom},
    output::{self, Stream, Style, UsageError, human_bytes, paint},
    safe_fs,
    secrets::{self, errln, outln},
    toml_file::TomlFile,
    tools::{self, Found},
    workspace,
};

/// Keys of cargo's configuration that setup manages.
const WRAPPER: [&str; 2] = ["build", "rustc-wrapper"];
const INCREMENTAL: [&str; 2] = ["build", "incremental"];
const MULTILEVEL: [&str; 3] = ["cache", "multilevel", "chain"];
/// The sccache-dist client's settings: the scheduler and the token it checks.
const DIST_SCHEDULER: [&str; 2] = ["dist", "scheduler_url"];
const DIST_AUTH_TYPE: [&str; 3] = ["dist", "auth", "type"];
const DIST_AUTH_TOKEN: [&str; 3] = ["dist", "auth", "token"];
/// Where the dist client token is read from when no file is given (the xtask's name: sccache
/// reads the token only from its config file).
const DIST_TOKEN_VAR: &str = "SCCACHE_DIST_TOKEN";

impl flags::SetupSccache {
    pub(crate) fn run(self, sh: &Shell) -> anyhow::Result<()> {
        self.check_flags()?;
        match &self.subcommand {
            flags::SetupSccacheCmd::Setup(_) => self.setup(sh),
            flags::SetupSccacheCmd::Status(status) => show_status(sh, status.json),
            flags::SetupSccacheCmd::Start(_) => {
                let sccache = installed(sh)?;
                outln!("{}", ensure_running(&sccache, &Configured::read(sh)?)?);
                Ok(())
            }
            flags::SetupSccacheCmd::Stop(_) => {
                let sccache = installed(sh)?;
                match sccache.stop()? {
                    true => outln!("stopped the sccache server on {}", sccache.endpoint),
                    false => outln!("no sccache server is running on {}", sccache.endpoint),
                }
                Ok(())
            }
            flags::SetupSccacheCmd::Stats(stats) => show_stats(sh, stats.json, stats.zero),
            flags::SetupSccacheCmd::Clear(_) => clear(sh, self.dry_run),
            flags::SetupSccacheCmd::Env(env) => print_env(sh, env.shell, self.no_incremental),
            flags::SetupSccacheCmd::Disable(_) => disable(sh, self.dry_run),
            flags::SetupSccacheCmd::Explain(explain) => explain.run(sh, &installed(sh)?),
        }
    }

    /// Flags of the set-up itself make no sense with the other subcommands: say so, not ignore them.
    fn check_flags(&self) -> anyhow::Result<()> {
        let setup_only = [
            ("--no-install", self.no_install),
            ("--install-from", self.install_from.is_some()),
            ("--cache-dir", self.cache_dir.is_some()),
            ("--cache-size", self.cache_size.is_some()),
            ("--scope", self.scope.is_some()),
            ("--backend", self.backend.is_some()),
            ("--redis-url", self.redis_url.is_some()),
            ("--memcached-url", self.memcached_url.is_some()),
            ("--s3-bucket", self.s3_bucket.is_some()),
            ("--s3-endpoint", self.s3_endpoint.is_some()),
            ("--s3-region", self.s3_region.is_some()),
            ("--webdav-url", self.webdav_url.is_some()),
            ("--password-file", self.password_file.is_some()),
            ("--multilevel", self.multilevel),
        ];
        let (name, allowed) = match &self.subcommand {
            flags::SetupSccacheCmd::Setup(_) => return Ok(()),
            flags::SetupSccacheCmd::Env(_) => ("env", &["--no-incremental"][..]),
            flags::SetupSccacheCmd::Clear(_) => ("clear", &["--dry-run"][..]),
            flags::SetupSccacheCmd::Disable(_) => ("disable", &["--dry-run"][..]),
            flags::SetupSccacheCmd::Status(_) => ("status", &[][..]),
            flags::SetupSccacheCmd::Start(_) => ("start", &[][..]),
            flags::SetupSccacheCmd::Stop(_) => ("stop", &[][..]),
            flags::SetupSccacheCmd::Stats(_) => ("stats", &[][..]),
            flags::SetupSccacheCmd::Explain(_) => ("explain", &[][..]),
        };
        let shared = [("--dry-run", self.dry_run), ("--no-incremental", self.no_incremental)];
        let given = setup_only.iter().chain(&shared).find(|(flag, given)| *given && !allowed.contains(flag));
        match given {
            Some((flag, _)) => Err(UsageError(format!(
                "{flag} belongs to the set-up (`cargo xtask setup-sccache {flag} ...`), not to `setup-sccache {name}`"
            ))
            .into()),
            None => Ok(()),
        }
    }

    /// The remote backend's keys in sccache's configuration, checked against the flags given.
    fn remote_keys(&self, sh: &Shell) -> anyhow::Result<Option<(BackendKind, BackendKeys)>> {
        let backend = self.backend.unwrap_or_default();
        // Whatever goes wrong below, no output shows a credential given in a flag.
        for url in [&self.redis_url, &self.memcached_url, &self.webdav_url, &self.s3_endpoint].into_iter().flatten() {
            secrets::keep_url_password(url);
        }
        let given = |flag: &str, value: &Option<String>| {
            value.clone().ok_or_else(|| UsageError(format!("--backend {backend} needs {flag}")))
        };
        let url = |flag: &str, value: &Option<String>, schemes: &[&str], form: &str| {
            BackendUrl::parse(flag, &given(flag, value)?, schemes, form).map_err(UsageError).map(|url| url.keys())
        };
        let mut keys = match backend {
            BackendKind::Local => {
                if self.multilevel {
                    return Err(UsageError(
                        "--multilevel puts the local disk in front of a remote backend: \
                                           choose one with --backend"
                            .into(),
                    )
                    .into());
                }
                return Ok(None);
            }
            BackendKind::Redis => settings::redis_keys(&given("--redis-url", &self.redis_url)?).map_err(UsageError)?,
            BackendKind::Memcached => {
                url("--memcached-url", &self.memcached_url, &["tcp"], "tcp://[user:password@]host:port")?
            }
            BackendKind::S3 => {
                let mut keys = vec![("bucket", given("--s3-bucket", &self.s3_bucket)?.into())];
                if let Some(endpoint) = &self.s3_endpoint {
                    if endpoint.contains('@') {
                        return Err(UsageError(format!(
                            "--s3-endpoint `{}` holds credentials, which sccache does not read from it: give the \
                             endpoint alone, and the keys as AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or an \
                             AWS profile)",
                            secrets::redact(endpoint)
                        ))
                        .into());
                    }
                    keys.push(("endpoint", endpoint.clone().into()));
                }
                keys.extend(self.s3_region.clone().map(|region| ("region", region.into())));
                keys.push(("no_credentials", false.into()));
                keys
            }
            BackendKind::Webdav => {
                url("--webdav-url", &self.webdav_url, &["http", "https"], "http[s]://[user:password@]host[:port]/path")?
            }
            BackendKind::Azure => {
                vec![
                    ("container", given("--azure-container", &self.azure_container)?.into()),
                    ("key_prefix", "".into()),
                ]
            }
            BackendKind::Gha => vec![("enabled", true.into()), ("version", "".into())],
        };
        if let (Some(key), Some((secret, source))) =
            (backend.secret_key(), self.password_off_the_command_line(sh, backend)?)
        {
            if keys.iter().any(|(given, _)| *given == key) {
                return Err(UsageError(format!(
                    "the {backend} password is given twice, in the URL and in {source}: give it once (in {source} \
                     keeps it out of the process list and shell history)"
                ))
                .into());
            }
            errln!("the {backend} {} comes from {source}", key.replace('_', " "));
            keys.push((key, secret.into()));
        }
        if backend == BackendKind::Azure && !keys.iter().any(|(key, _)| *key == "connection_string") {
            return Err(UsageError(
                "--backend azure needs the storage account's connection string, off the command line: set \
                 SCCACHE_AZURE_CONNECTION_STRING or give --password-file"
                    .into(),
            )
            .into());
        }
        Ok(Some((backend, keys)))
    }

    /// The password from `--password-file`, else from sccache's own variable for the backend
    /// (`SCCACHE_REDIS_PASSWORD`, ...), with where it came from: the ways that keep it out of
    /// `ps` and shell history.
    fn password_off_the_command_line(
        &self,
        sh: &Shell,
        backend: BackendKind,
    ) -> anyhow::Result<Option<(String, String)>> {
        let Some(var) = backend.password_var() else {
            if self.password_file.is_some() {
                return Err(UsageError(format!(
                    "--password-file is for the redis, memcached, webdav and azure backends; the {backend} backend reads \
                     its credentials from its own variables or files"
                ))
                .into());
            }
            return Ok(None);
        };
        read_secret(sh, self.password_file.as_deref(), var, "password")
    }

    /// `--dist-scheduler` with its client token (from `--dist-token-file` or
    /// `SCCACHE_DIST_TOKEN`); `None` without the flag.
    fn dist_settings(&self, sh: &Shell) -> anyhow::Result<Option<(String, String)>> {
        let Some(url) = &self.dist_scheduler else {
            if self.dist_token_file.is_some() {
                return Err(UsageError("--dist-token-file is for --dist-scheduler".into()).into());
            }
            return Ok(None);
        };
        secrets::keep_url_password(url);
        let parsed = BackendUrl::parse("--dist-scheduler", url, &["http", "https"], "http[s]://host:port")
            .map_err(UsageError)?;
        if parsed.password.is_some() || parsed.username.is_some() {
            return Err(UsageError(
                "--dist-scheduler takes no credentials in the URL: give the token in SCCACHE_DIST_TOKEN or \
                 --dist-token-file"
                    .into(),
            )
            .into());
        }
        let (token, _) = read_secret(sh, self.dist_token_file.as_deref(), DIST_TOKEN_VAR, "token")?.ok_or_else(|| {
            UsageError(format!("--dist-scheduler needs the scheduler's client token: set {DIST_TOKEN_VAR} or give --dist-token-file"))
        })?;
        Ok(Some((url.trim_end_matches('/').to_owned(), token)))
    }

    /// The whole set-up: install, configure, check the backend, start, report. Idempotent.
    fn setup(&self, sh: &Shell) -> anyhow::Result<()> {
        // Every flag checked before anything is installed.
        let remote = self.remote_keys(sh)?;
        let dist = self.dist_settings(sh)?;
        let cache_dir = match &self.cache_dir {
            Some(dir) => cache_dir_flag(dir)?,
            None => settings::default_cache_dir(sh)?,
        };
        let Some(found) = find_or_install_from(sh, self.no_install, self.dry_run, self.install_from)? else {
            return Ok(());
        };
        let sccache = Sccache::new(sh, found);
        if let Some((backend, _)) = &remote {
            check_backend_compiled_in(&sccache, *backend, self.multilevel)?;
        }
        let sccache_config = self.edit_sccache_config(sh, &cache_dir, remote.as_ref(), dist.as_ref())?;
        let scope = self.scope.unwrap_or_default();
        let cargo_config = self.edit_cargo_config(sh, scope, &sccache)?;
        for file in [&sccache_config, &cargo_config] {
            report_changes(file, self.dry_run);
        }
        warn_if_incremental_is_forced_on(sh);
        if self.dry_run {
            errln!("--dry-run: nothing was written, started or stopped");
            return Ok(());
        }
        if let Some((backend, _)) = &remote {
            errln!("checking that the {backend} backend answers (a trial sccache server on a free port)");
            trial_server_starts(&sccache, &sccache_config.text())
                .with_context(|| format!("the {backend} backend did not answer, so nothing was changed"))?;
        }
        if let Some((scheduler, _)) = &dist {
            // Its status needs no token: the scheduler checks that at the first compilation.
            errln!("checking that the scheduler {scheduler} answers (a trial sccache server on a free port)");
            trial_server(&sccache, &sccache_config.text(), |trial| trial.dist_status()?.reachable().map(drop))
                .with_context(|| format!("the scheduler {scheduler} did not answer, so nothing was changed"))?;
        }
        sccache_config.save()?;
        cargo_config.save()?;
        if scope == Scope::Project {
            errln!(
                "{}: {} now names sccache as the rustc wrapper. Do not commit it: every cargo command fails \
                 for anyone without sccache at that path.",
                paint(Stream::Stderr, Style::Bad, "warning"),
                cargo_config.path
            );
        }
        errln!("{}", ensure_running(&sccache, &Configured::read(sh)?)?);
        show_status(sh, false)
    }

    /// sccache's config with the local cache, the remote backend asked for (and no other that
    /// setup wrote) and the multilevel chain; not written yet.
    fn edit_sccache_config(
        &self,
        sh: &Shell,
        cache_dir: &Utf8Path,
        remote: Option<&(BackendKind, BackendKeys)>,
        dist: Option<&(String, String)>,
    ) -> anyhow::Result<TomlFile> {
        let cache_size = self.cache_size.unwrap_or(CacheSize::DEFAULT);
        let mut config = TomlFile::read(&settings::sccache_config_path(sh)?)?;
        config.set(&["cache", "disk", "dir"], cache_dir.as_str())?;
        config.set(&["cache", "disk", "size"], i64::try_from(cache_size.bytes()).unwrap_or(i64::MAX))?;
        for kind in BackendKind::REMOTE {
            let wanted = remote.filter(|(backend, _)| *backend == kind);
            for key in kind.keys() {
                match wanted.and_then(|(_, keys)| keys.iter().find(|(name, _)| name == key)) {
                    Some((_, value)) => config.set(&["cache", kind.table(), key], value.clone())?,
                    None => config.remove_marked(&["cache", kind.table(), key]),
                }
            }
        }
        match remote {
            Some((backend, _)) if self.multilevel => {
                config.set(&MULTILEVEL, toml_edit::Array::from_iter(["disk", backend.table()]))?;
            }
            _ => config.remove_marked(&MULTILEVEL),
        }
        match dist {
            Some((scheduler, token)) => {
                config.set(&DIST_SCHEDULER, scheduler.as_str())?;
                config.set(&DIST_AUTH_TYPE, "token")?;
                config.set(&DIST_AUTH_TOKEN, token.as_str())?;
            }
            None => {
                for key in [&DIST_SCHEDULER[..], &DIST_AUTH_TYPE, &DIST_AUTH_TOKEN] {
                    config.remove_marked(key);
                }
            }
        }
        Ok(config)
    }

    /// The cargo config of `scope` with sccache as the wrapper (and incremental off if asked);
    /// not written yet. A wrapper of the user's that is not sccache is an error, not replaced.
    fn edit_cargo_config(&self, sh: &Shell, scope: Scope, sccache: &Sccache<'_>) -> anyhow::Result<TomlFile> {
        let mut config = TomlFile::read(&cargo_config_path(sh, scope)?)?;
        if let Some((wrapper, false)) = config.get(&WRAPPER)
            && let Some(wrapper) = wrapper.as_str()
            && !is_sccache(wrapper)
        {
            bail!(
                "{} already sets build.rustc-wrapper = \"{wrapper}\", which is not sccache; setup leaves it alone. \
                 Remove it (or chain it through RUSTC_WORKSPACE_WRAPPER) and run setup again.",
                config.path
            );
        }
        config.set(&WRAPPER, sccache.path.as_str())?;
        if self.no_incremental {
            config.set(&INCREMENTAL, false)?;
        } else {
            config.remove_marked(&INCREMENTAL);
        }
        Ok(config)
    }
}

/// A secret (`what`: a password, a token) from `file` (its first line), else from the variable
/// `var`, with where it came from: the ways that keep it out of `ps` and shell history.
fn read_secret(sh: &Shell, file: Option<&Utf8Path>, var: &str, what: &str) -> anyhow::Result<Option<(String, String)>> {
    let (secret, source) = match file {
        Some(file) => {
            let path = workspace::users_absolute(file)?;
            let text = safe_fs::read_regular(&path, true)
                .with_context(|| format!("could not read the {what} from {path}"))?
                .with_context(|| format!("{path} does not exist; it was to hold the {what}"))?;
            // One line; the line break an editor or `echo` adds is not part of it.
            let secret = text.strip_suffix('\n').map(|text| text.strip_suffix('\r').unwrap_or(text));
            (secret.unwrap_or(&text).to_owned(), path.to_string())
        }
        None => match sh.var_os(var) {
            Some(secret) => {
                let secret = secret.into_string().map_err(|_| anyhow::anyhow!("{var} is not UTF-8 text"))?;
                (secret, var.to_owned())
            }
            None => return Ok(None),
        },
    };
    if secret.is_empty() {
        bail!("{source} holds no {what}; put the {what} in it, or leave it out");
    }
    if secret.contains(['\n', '\r']) {
        bail!("{source} holds more than one line; a {what} is one line");
    }
    secrets::keep(&secret);
    Ok(Some((secret, source)))
}

/// Says, before the wrapper is written, when the environment would make every build through it fail.
fn warn_if_incremental_is_forced_on(sh: &Shell) {
    if let Some(var) = incremental_forced_on(sh) {
        errln!(
            "{}: {var}=1 is set here, and sccache refuses every compilation while it is: with the wrapper \
             written, every cargo build from this environment fails until you {}",
            paint(Stream::Stderr, Style::Bad, "warning"),
            unset_incremental(var)
        );
    }
}

/// `--cache-dir` as the user meant it: relative to the directory they ran the command in, made
/// absolute and shown so.
fn cache_dir_flag(path: &Utf8Path) -> anyhow::Result<Utf8PathBuf> {
    if path.as_str().is_empty() {
        bail!("--cache-dir is empty, which names no directory; give the cache's directory, or leave the flag out");
    }
    if path.is_absolute() {
        return Ok(path.to_owned());
    }
    let absolute = workspace::users_absolute(path)?;
    errln!("--cache-dir {path} is {absolute}");
    Ok(absolute)
}

/// The sccache cargo uses as its rustc wrapper here, if it does: its path, and the value of
/// `RUSTC_WRAPPER` when that variable names it (else cargo's config does).
pub(crate) fn sccache_wrapper(sh: &Shell) -> Option<(Utf8PathBuf, Option<String>)> {
    let wrapper = status::effective_wrapper(sh).ok()?.value?;
    if !is_sccache(&wrapper) {
        return None;
    }
    let path = match Utf8Path::new(&wrapper).components().count() {
        1 => tools::locate(sh, &wrapper)?,
        _ => wrapper.clone().into(),
    };
    Some((path, sh.var("RUSTC_WRAPPER").ok().filter(|value| *value == wrapper)))
}

fn is_sccache(wrapper: &str) -> bool {
    let name = wrapper.rsplit(['/', '\\']).next().unwrap_or(wrapper);
    name == "sccache" || name == "sccache.exe"
}

fn report_changes(file: &TomlFile, dry_run: bool) {
    let verb = if dry_run { "would change" } else { "changing" };
    if file.changes.is_empty() {
        errln!("{}: already as wanted", file.path);
    } else {
        errln!("{}: {verb}", file.path);
        for change in &file.changes {
            errln!("  {}", redact_change(change));
        }
    }
}

/// A change line with a written password hidden.
fn redact_change(change: &str) -> String {
    if change.contains(".password = ") {
        format!("{} = \"***\"", change.split(" = ").next().unwrap_or(change))
    } else {
        change.to_owned()
    }
}

/// Where the wrapper goes for `scope`.
fn cargo_config_path(sh: &Shell, scope: Scope) -> anyhow::Result<Utf8PathBuf> {
    Ok(match scope {
        Scope::User => workspace::cargo_config_in(&tools::cargo_home(sh)?),
        Scope::Project => workspace::cargo_config_in(&workspace::root_of(sh)?.join(".cargo")),
    })
}

/// sccache as installed; `setup-sccache` (without a subcommand) installs it when missing.
fn installed(sh: &Shell) -> anyhow::Result<Sccache<'_>> {
    let found = tools::SCCACHE.find(sh).context("run `cargo xtask setup-sccache` to install and configure it")?;
    Ok(Sccache::new(sh, found))
}

/// Finds sccache, or installs it (`None` for a dry run that would install it): a prebuilt binary
/// when one can be had, else compiled by cargo (see `install`). `cargo dev ci` calls this.
pub fn find_or_install(sh: &Shell, no_install: bool, dry_run: bool) -> anyhow::Result<Option<Found>> {
    find_or_install_from(sh, no_install, dry_run, None)
}

/// `find_or_install`, with `--install-from`: given, it installs that way alone, even over a
/// usable sccache (to switch, or to get cargo's newest), and does not fall back.
fn find_or_install_from(
    sh: &Shell,
    no_install: bool,
    dry_run: bool,
    from: Option<InstallFrom>,
) -> anyhow::Result<Option<Found>> {
    if no_install && let Some(from) = from {
        return Err(UsageError(format!(
            "--no-install and --install-from {from} contradict each other: give one of them"
        ))
        .into());
    }
    let why = match (tools::SCCACHE.find(sh), from) {
        (Ok(found), None) => return Ok(Some(found)),
        (Ok(found), Some(from)) => {
            format!("sccache {} is at {}; --install-from {from} installs it again", found.version, found.path)
        }
        (Err(err), _) if no_install => return Err(err.context("--no-install: not installing it")),
        // Its last line names `cargo install`, which is not necessarily the way it goes now.
        (Err(err), _) => format!("{err:#}").lines().next().unwrap_or_default().to_owned(),
    };
    let plan = install::plan(from, &install::Means::find(sh)).map_err(anyhow::Error::msg)?;
    let dir = install::bin_dir(sh)?;
    if dry_run {
        errln!("{why}\n--dry-run: would install it {}", install::describe(sh, &plan, &dir)?);
        return Ok(None);
    }
    errln!("{why}");
    install::install(sh, &plan, &dir).map(Some)
}

fn check_backend_compiled_in(sccache: &Sccache<'_>, backend: BackendKind, multilevel: bool) -> anyhow::Result<()> {
    let features = sccache.backends()?;
    let enabled = features.iter().any(|(name, on)| *on && name.eq_ignore_ascii_case(backend.table()));
    if !enabled {
        bail!(
            "{} was built without the {backend} backend (its --help lists: {}).\nReinstall it with all backends: \
             cargo install sccache --locked",
            sccache.path,
            features.iter().filter(|(_, on)| *on).map(|(name, _)| name.as_str()).collect::<Vec<_>>().join(", ")
        );
    }
    if multilevel && sccache.version < tools::Version(0, 15, 0) {
        bail!("--multilevel needs sccache 0.15.0 or later, and {} is {}", sccache.path, sccache.version);
    }
    Ok(())
}

/// Starts a throw-away server with `config` on a free port, then stops it: sccache checks its
/// backend when it starts, and a wrapper whose server cannot start fails every build. The
/// configuration may hold a password: it is written owner-only into an owner-only directory, and
/// removed as soon as the server has read it.
fn trial_server_starts(sccache: &Sccache<'_>, config: &str) -> anyhow::Result<()> {
    trial_server(sccache, config, |_| Ok(()))
}

/// `trial_server_starts`, then `check` of the running trial server.
fn trial_server(
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
fn ensure_running(sccache: &Sccache<'_>, configured: &Configured) -> anyhow::Result<String> {
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
struct Configured {
    config: TomlFile,
    backend: BackendKind,
    dir: Utf8PathBuf,
    size: u64,
    /// The multilevel chain, when set.
    chain: Option<String>,
}

impl Configured {
    fn read(sh: &Shell) -> anyhow::Result<Configured> {
        let config = TomlFile::read(&settings::sccache_config_path(sh)?)?;
        let text = |keys: &[&str]| config.get(keys).and_then(|(value, _)| value.as_str().map(str::to_owned));
        // sccache's own order when several backends are configured.
        let backend = [
            BackendKind::S3,
            BackendKind::Redis,
            BackendKind::Memcached,
            BackendKind::Gha,
            BackendKind::Azure,
            BackendKind::Webdav,
        ]
        .into_iter()
        .find(|kind| kind.keys().iter().any(|key| config.get(&["cache", kind.table(), key]).is_some()))
        .unwrap_or(BackendKind::Local);
        let dir = match sh.var("SCCACHE_DIR") {
            Ok(dir) => dir.into(),
            Err(_) => match text(&["cache", "disk", "dir"]) {
                Some(dir) => dir.into(),
                None => settings::default_cache_dir(sh)?,
            },
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
    fn differs(&self, stats: &Stats) -> Option<String> {
        let location = stats.cache_location.as_deref().unwrap_or("unknown");
        match &self.chain {
            // sccache names a chain only by its length.
            Some(chain) => (!location.starts_with("Multi-level"))
                .then(|| format!("it uses {location}, not the multi-level chain {chain}")),
            None => stats.differs_from(self.backend, &self.dir, self.size),
        }
    }

    /// The remote backend's settings from the config file.
    fn remote_settings(&self) -> Vec<RemoteSetting> {
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

    fn describe(&self) -> String {
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
struct RemoteSetting {
    key: &'static str,
    value: String,
    /// A credential, or a value that holds one: never printed.
    secret: bool,
}

fn show_stats(sh: &Shell, as_json: bool, zero: bool) -> anyhow::Result<()> {
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
        errln!("the hit rate is low; to see why: {}", status::EXPLAIN_MISSES);
    }
    // A failed summary still lets --zero reset the counters, then fails the task.
    let summary = output::append_step_summary(sh, &stats.to_markdown());
    if zero {
        match running {
            true => {
                sccache.zero_stats()?;
                errln!("statistics reset");
            }
            false => errln!("no server runs, so there are no statistics to reset"),
        }
    }
    summary
}

/// Why `dir` must not be emptied as a cache directory, if it must not.
fn unsafe_to_clear(dir: &Utf8Path, home: &Utf8Path) -> Option<String> {
    if dir.parent().is_none() || dir.as_str().is_empty() {
        return Some(format!("{dir} is a filesystem root"));
    }
    if dir == home || home.starts_with(dir) {
        return Some(format!("{dir} is the home directory or holds it"));
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) => return Some(format!("{dir} cannot be read: {err}")),
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let is_dir = entry.file_type().is_ok_and(|kind| kind.is_dir());
        // sccache's disk cache holds only one-character hex directories (and its preprocessor cache).
        let cache_like =
            is_dir && (name.len() == 1 && name.chars().all(|c| c.is_ascii_hexdigit()) || name == "preprocessor");
        if !cache_like {
            return Some(format!("{dir} holds `{name}`, which sccache does not put in a cache directory"));
        }
    }
    None
}

fn clear(sh: &Shell, dry_run: bool) -> anyhow::Result<()> {
    let configured = Configured::read(sh)?;
    if configured.backend != BackendKind::Local {
        errln!("the {} cache is remote and is not touched; only the local directory is emptied", configured.backend);
    }
    let dir = &configured.dir;
    if !dir.exists() {
        outln!("{dir} does not exist: nothing to clear");
        return Ok(());
    }
    if let Some(reason) = unsafe_to_clear(dir, &tools::home_dir(sh)?) {
        bail!(
            "refusing to empty {dir}: {reason}.\nIf that is not sccache's cache, fix cache.disk.dir in {} or SCCACHE_DIR.",
            configured.config.path
        );
    }
    let usage = safe_fs::usage(dir).with_context(|| format!("could not read {dir}"))?;
    let what = format!("{} files, {} ({} on disk)", usage.files, human_bytes(usage.apparent), human_bytes(usage.disk));
    if dry_run {
        outln!("would remove {what} from {dir}");
        return Ok(());
    }
    if let Ok(found) = tools::SCCACHE.find(sh)
        && Sccache::new(sh, found).stop()?
    {
        errln!("stopped the sccache server (its statistics start again from zero)");
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        std::fs::remove_dir_all(&path).with_context(|| format!("could not remove {}", path.display()))?;
    }
    outln!("Removed {what} from {dir}");
    Ok(())
}

fn print_env(sh: &Shell, shell: Option<EnvShell>, no_incremental: bool) -> anyhow::Result<()> {
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
    for line in lines {
        outln!("{line}");
    }
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
fn env_assignments(
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
fn size_for_env(bytes: u64) -> String {
    ["T", "G", "M", "K"]
        .iter()
        .zip([40, 30, 20, 10])
        .find(|(_, shift)| bytes >> shift > 0 && bytes.is_multiple_of(1 << shift))
        .map_or_else(
            || format!("{}K", bytes.div_ceil(1024).max(1)),
            |(unit, shift)| format!("{}{unit}", bytes >> shift),
        )
}

/// Removes what setup added, and only that, then stops the server.
fn disable(sh: &Shell, dry_run: bool) -> anyhow::Result<()> {
    let mut files = Vec::new();
    for scope in [Scope::User, Scope::Project] {
        let mut cargo_config = TomlFile::read(&cargo_config_path(sh, scope)?)?;
        cargo_config.remove_marked(&WRAPPER);
        cargo_config.remove_marked(&INCREMENTAL);
        files.push(cargo_config);
    }
    // The escape hatch works even when sccache's config is broken: without the wrapper in cargo's
    // config no build uses sccache, whatever that file says.
    let sccache_config = TomlFile::read(&settings::sccache_config_path(sh)?);
    let sccache_config_read = sccache_config.is_ok();
    match sccache_config {
        Ok(mut sccache_config) => {
            for kind in [BackendKind::Local].into_iter().chain(BackendKind::REMOTE) {
                for key in kind.keys() {
                    sccache_config.remove_marked(&["cache", kind.table(), key]);
                }
            }
            sccache_config.remove_marked(&MULTILEVEL);
            for key in [&DIST_SCHEDULER[..], &DIST_AUTH_TYPE, &DIST_AUTH_TOKEN] {
                sccache_config.remove_marked(key);
            }
            files.push(sccache_config);
        }
        Err(err) => errln!(
            "warning: {err:#}\nsetup's keys stay in that file until it is fixed; sccache is switched off all the same"
        ),
    }
    for file in files.iter().filter(|file| !file.changes.is_empty()) {
        report_changes(file, dry_run);
    }
    if files.iter().all(|file| file.changes.is_empty()) {
        outln!("nothing to remove: setup's keys are in none of the config files");
    }
    if dry_run {
        return Ok(());
    }
    for file in &files {
        file.save()?;
    }
    if let Ok(found) = tools::SCCACHE.find(sh) {
        match Sccache::new(sh, found).stop() {
            Ok(true) => outln!("stopped the sccache server"),
            Ok(false) => {}
            // sccache reads its config to stop too; the builds are off it already.
            Err(err) if !sccache_config_read => errln!(
                "warning: {err:#}\nthe server still runs; stop it with `sccache --stop-server` once its config is fixed"
            ),
            Err(err) => return Err(err),
        }
    }
    outln!("sccache is off: cargo builds no longer use it (the cache directory is kept; `clear` empties it)");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn configured(toml: &str, backend: BackendKind, chain: Option<&str>) -> Configured {
        Configured {
            config: TomlFile::parse("/home/me/.config/sccache/config".into(), toml.into()).unwrap(),
            backend,
            dir: "/cache".into(),
            size: 10 << 30,
            chain: chain.map(Into::into),
        }
    }

    #[test]
    fn env_gives_the_backends_variables_and_never_a_password() {
        let value =
            |env: &Env, name: &str| env.get(name).map(|value| value.map(|value| value.to_str().unwrap().to_owned()));
        let local = env_assignments("/bin/sccache".into(), &configured("", BackendKind::Local, None), None, true);
        assert_eq!(
            local.to_string(),
            "RUSTC_WRAPPER=/bin/sccache SCCACHE_DIR=/cache SCCACHE_CACHE_SIZE=10G CARGO_INCREMENTAL=0"
        );
        let redis =
            configured("[cache.redis]\nendpoint = \"redis://10.0.0.5:6379\"\n", BackendKind::Redis, Some("disk,redis"));
        let env = env_assignments("/bin/sccache".into(), &redis, Some("/conf".into()), false);
        assert_eq!(value(&env, "SCCACHE_REDIS_ENDPOINT"), Some(Some("redis://10.0.0.5:6379".into())));
        assert_eq!(value(&env, "SCCACHE_MULTILEVEL_CHAIN"), Some(Some("disk,redis".into())));
        assert_eq!(value(&env, "SCCACHE_CONF"), Some(Some("/conf".into())));
        assert_eq!(value(&env, "CARGO_INCREMENTAL"), None);
        let secret = configured(
            "[cache.redis]\nendpoint = \"redis://10.0.0.5:6379\"\npassword = \"hunter2\"\n",
            BackendKind::Redis,
            None,
        );
        let env = env_assignments("/bin/sccache".into(), &secret, None, false);
        assert_eq!(env.to_string(), "RUSTC_WRAPPER=/bin/sccache", "a backend with a password is left to the file");
    }

    #[test]
    fn env_sizes_keep_the_unit_form() {
        assert_eq!(size_for_env(10 << 30), "10G");
        assert_eq!(size_for_env(512 << 20), "512M");
        assert_eq!(size_for_env(1 << 40), "1T");
        assert_eq!(size_for_env(1536), "2K", "a size not in whole units rounds up to K");
    }

    #[test]
    fn cache_dirs_are_checked_before_emptying() {
        let sh = Shell::new().unwrap();
        let temp = sh.create_temp_dir().unwrap();
        let dir = Utf8Path::from_path(temp.path()).unwrap();
        let home = Utf8Path::new("/home/someone");
        assert_eq!(unsafe_to_clear(dir, home), None, "an empty directory is fine");
        std::fs::create_dir(dir.join("a")).unwrap();
        std::fs::create_dir(dir.join("preprocessor")).unwrap();
        assert_eq!(unsafe_to_clear(dir, home), None, "sccache's own layout is fine");
        std::fs::write(dir.join("Cargo.toml"), "").unwrap();
        assert!(unsafe_to_clear(dir, home).unwrap().contains("holds `Cargo.toml`"));
        assert!(unsafe_to_clear(Utf8Path::new("/"), home).unwrap().contains("root"));
        assert!(unsafe_to_clear(Utf8Path::new("/home"), home).unwrap().contains("home directory"));
        assert!(unsafe_to_clear(home, home).unwrap().contains("home directory"));
    }

    #[test]
    fn sccache_is_recognised_by_file_name() {
        assert!(is_sccache("/home/u/.cargo/bin/sccache"));
        assert!(is_sccache(r"C:\tools\sccache.exe"));
        assert!(is_sccache("sccache"));
        assert!(!is_sccache("/usr/bin/ccache"));
    }

    #[test]
    fn passwords_never_show_in_change_lines() {
        assert_eq!(redact_change("set cache.redis.password = \"s3cret\""), "set cache.redis.password = \"***\"");
        assert_eq!(redact_change("set cache.redis.db = 2"), "set cache.redis.db = 2");
    }
}
