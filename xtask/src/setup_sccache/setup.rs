//! The set-up itself (`setup-sccache` without a subcommand): the backend's settings checked
//! against the flags, sccache's config file and cargo's wrapper edited, a trial server for a new
//! configuration, and sccache installed when missing.

use anyhow::{Context, bail};
use camino::{Utf8Path, Utf8PathBuf};
use toml_edit::Value;
use xshell::Shell;

use super::{
    DIST_KEYS, DIST_TOKEN_VAR, INCREMENTAL, MULTILEVEL, WRAPPER, cargo_config_path, install, is_sccache, memcached,
    running::{Configured, ensure_running, trial_server},
    server::Sccache,
    settings::{self, BackendKeys, BackendKind, BackendUrl, CacheSize, Scope},
    status::{incremental_forced_on, show_status, unset_incremental},
};
use crate::{
    flags::{self, InstallFrom},
    output::{Stream, Style, UsageError, paint, usage},
    safe_fs,
    secrets::{self, errln},
    toml_file::TomlFile,
    tools::{self, Found},
    workspace,
};

impl flags::SetupSccache {
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
                    usage!("--multilevel puts the local disk in front of a remote backend: choose one with --backend");
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
                        usage!(
                            "--s3-endpoint `{}` holds credentials, which sccache does not read from it: give the \
                             endpoint alone, and the keys as AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or an \
                             AWS profile)",
                            secrets::redact(endpoint)
                        );
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
        // The secret from --password-file, else from sccache's own variable (`SCCACHE_REDIS_PASSWORD`,
        // ...): the ways that keep it out of `ps` and shell history.
        match backend.secret_key().and_then(|key| Some((key, backend.variable(key)?))) {
            None if self.password_file.is_some() => usage!(
                "--password-file is for the redis, memcached, webdav and azure backends; the {backend} backend reads \
                 its credentials from its own variables or files"
            ),
            None => {}
            Some((key, var)) => {
                if let Some((secret, source)) = read_secret(sh, self.password_file.as_deref(), var, "password")? {
                    if keys.iter().any(|(given, _)| *given == key) {
                        usage!(
                            "the {backend} password is given twice, in the URL and in {source}: give it once (in \
                             {source} keeps it out of the process list and shell history)"
                        );
                    }
                    errln!("the {backend} {} comes from {source}", key.replace('_', " "));
                    keys.push((key, secret.into()));
                }
            }
        }
        if backend == BackendKind::Azure && !keys.iter().any(|(key, _)| *key == "connection_string") {
            usage!(
                "--backend azure needs the storage account's connection string, off the command line: set \
                 SCCACHE_AZURE_CONNECTION_STRING or give --password-file"
            );
        }
        Ok(Some((backend, keys)))
    }

    /// `--dist-scheduler` with its client token (from `--dist-token-file` or
    /// `SCCACHE_DIST_TOKEN`); `None` without the flag.
    fn dist_settings(&self, sh: &Shell) -> anyhow::Result<Option<(String, String)>> {
        let Some(url) = &self.dist_scheduler else {
            if self.dist_token_file.is_some() {
                usage!("--dist-token-file is for --dist-scheduler");
            }
            return Ok(None);
        };
        secrets::keep_url_password(url);
        let parsed = BackendUrl::parse("--dist-scheduler", url, &["http", "https"], "http[s]://host:port")
            .map_err(UsageError)?;
        if parsed.password.is_some() || parsed.username.is_some() {
            usage!(
                "--dist-scheduler takes no credentials in the URL: give the token in SCCACHE_DIST_TOKEN or \
                 --dist-token-file"
            );
        }
        let (token, _) = read_secret(sh, self.dist_token_file.as_deref(), DIST_TOKEN_VAR, "token")?.ok_or_else(|| {
            UsageError(format!("--dist-scheduler needs the scheduler's client token: set {DIST_TOKEN_VAR} or give --dist-token-file"))
        })?;
        Ok(Some((url.trim_end_matches('/').to_owned(), token)))
    }

    /// The whole set-up: install, configure, check the backend, start, report. Idempotent.
    pub(super) fn setup(&self, sh: &Shell) -> anyhow::Result<()> {
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
            trial_server(&sccache, &sccache_config.text(), |_| Ok(()))
                .with_context(|| format!("the {backend} backend did not answer, so nothing was changed"))?;
        }
        if let Some(warning) = self.memcached_url.as_deref().and_then(memcached::small_item_limit) {
            errln!("{}: {warning}\n  fix: {}", paint(Stream::Stderr, Style::Bad, "warning"), memcached::FIX);
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
                let value = wanted.and_then(|(_, keys)| keys.iter().find(|(name, _)| name == key));
                set_or_remove(&mut config, &["cache", kind.table(), key], value.map(|(_, value)| value.clone()))?;
            }
        }
        let chain = remote.filter(|_| self.multilevel).map(|(backend, _)| ["disk", backend.table()]);
        set_or_remove(&mut config, &MULTILEVEL, chain.map(toml_edit::Array::from_iter))?;
        let dist = dist.map(|(scheduler, token)| [scheduler.as_str(), "token", token.as_str()]);
        for (index, key) in DIST_KEYS.into_iter().enumerate() {
            set_or_remove(&mut config, key, dist.map(|values| values[index]))?;
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
        set_or_remove(&mut config, &INCREMENTAL, self.no_incremental.then_some(false))?;
        Ok(config)
    }
}

/// Sets `key` to `value`; without a value, removes it if setup wrote it.
fn set_or_remove(config: &mut TomlFile, key: &[&str], value: Option<impl Into<Value>>) -> anyhow::Result<()> {
    match value {
        Some(value) => config.set(key, value),
        None => {
            config.remove_marked(key);
            Ok(())
        }
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
        None => {
            let Some(secret) = sh.var_os(var) else { return Ok(None) };
            (secret.into_string().map_err(|_| anyhow::anyhow!("{var} is not UTF-8 text"))?, var.to_owned())
        }
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

pub(super) fn report_changes(file: &TomlFile, dry_run: bool) {
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
pub(super) fn redact_change(change: &str) -> String {
    if change.contains(".password = ") {
        format!("{} = \"***\"", change.split(" = ").next().unwrap_or(change))
    } else {
        change.to_owned()
    }
}

/// `find_or_install`, with `--install-from`: given, it installs that way alone, even over a
/// usable sccache (to switch, or to get cargo's newest), and does not fall back.
pub(super) fn find_or_install_from(
    sh: &Shell,
    no_install: bool,
    dry_run: bool,
    from: Option<InstallFrom>,
) -> anyhow::Result<Option<Found>> {
    if no_install && let Some(from) = from {
        usage!("--no-install and --install-from {from} contradict each other: give one of them");
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
    let backends = sccache.backends()?;
    if !backends.iter().any(|name| name.eq_ignore_ascii_case(backend.table())) {
        bail!(
            "{} was built without the {backend} backend (its --help lists: {}).\nReinstall it with all backends: \
             cargo install sccache --locked",
            sccache.path,
            backends.join(", ")
        );
    }
    if multilevel && sccache.version < tools::Version(0, 15, 0) {
        bail!("--multilevel needs sccache 0.15.0 or later, and {} is {}", sccache.path, sccache.version);
    }
    Ok(())
}
