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

mod clear;
mod disable;
pub(crate) mod explain;
pub mod install;
mod memcached;
mod running;
pub mod server;
pub mod settings;
mod setup;
mod shell_env;
mod status;

use anyhow::Context;
use camino::{Utf8Path, Utf8PathBuf};
use xshell::Shell;

pub(crate) use self::status::findings;
use self::{
    clear::clear,
    disable::disable,
    running::{Configured, ensure_running, show_stats},
    server::Sccache,
    settings::Scope,
    setup::find_or_install_from,
    shell_env::print_env,
    status::show_status,
};
use crate::{
    flags::{self},
    output::usage,
    secrets::outln,
    tools::{self, Found},
    workspace,
};

/// Keys of cargo's configuration that setup manages.
const WRAPPER: [&str; 2] = ["build", "rustc-wrapper"];
const INCREMENTAL: [&str; 2] = ["build", "incremental"];
const MULTILEVEL: [&str; 3] = ["cache", "multilevel", "chain"];
/// The sccache-dist client's settings: the scheduler, and the token it checks (its type, itself).
const DIST_SCHEDULER: [&str; 2] = ["dist", "scheduler_url"];
const DIST_KEYS: [&[&str]; 3] = [&DIST_SCHEDULER, &["dist", "auth", "type"], &["dist", "auth", "token"]];
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
                let done = if sccache.stop()? { "stopped the sccache server" } else { "no sccache server is running" };
                outln!("{done} on {}", sccache.endpoint);
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
        // Every field by name, so that a new flag does not compile until it is placed here.
        let flags::SetupSccache {
            no_install,
            install_from,
            dry_run,
            cache_dir,
            cache_size,
            scope,
            no_incremental,
            backend,
            redis_url,
            memcached_url,
            s3_bucket,
            s3_endpoint,
            s3_region,
            webdav_url,
            azure_container,
            password_file,
            multilevel,
            dist_scheduler,
            dist_token_file,
            subcommand,
        } = self;
        let setup_only = [
            ("--no-install", *no_install),
            ("--install-from", install_from.is_some()),
            ("--cache-dir", cache_dir.is_some()),
            ("--cache-size", cache_size.is_some()),
            ("--scope", scope.is_some()),
            ("--backend", backend.is_some()),
            ("--redis-url", redis_url.is_some()),
            ("--memcached-url", memcached_url.is_some()),
            ("--s3-bucket", s3_bucket.is_some()),
            ("--s3-endpoint", s3_endpoint.is_some()),
            ("--s3-region", s3_region.is_some()),
            ("--webdav-url", webdav_url.is_some()),
            ("--azure-container", azure_container.is_some()),
            ("--password-file", password_file.is_some()),
            ("--multilevel", *multilevel),
            ("--dist-scheduler", dist_scheduler.is_some()),
            ("--dist-token-file", dist_token_file.is_some()),
        ];
        let (name, allowed) = match subcommand {
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
        let shared = [("--dry-run", *dry_run), ("--no-incremental", *no_incremental)];
        if let Some((flag, _)) = setup_only.iter().chain(&shared).find(|(flag, on)| *on && !allowed.contains(flag)) {
            usage!(
                "{flag} belongs to the set-up (`cargo xtask setup-sccache {flag} ...`), not to `setup-sccache {name}`"
            );
        }
        Ok(())
    }
}

/// The sccache cargo uses as its rustc wrapper here, if it does: its path, and the value of
/// `RUSTC_WRAPPER` when that variable names it (else cargo's config does).
pub(crate) fn sccache_wrapper(sh: &Shell) -> Option<(Utf8PathBuf, Option<String>)> {
    let wrapper = status::effective_wrapper(sh).ok()?.value.filter(|wrapper| is_sccache(wrapper))?;
    Some((wrapper_program(sh, &wrapper)?, sh.var("RUSTC_WRAPPER").ok().filter(|value| *value == wrapper)))
}

/// The program a wrapper setting names: a bare name is looked for where tools are.
fn wrapper_program(sh: &Shell, wrapper: &str) -> Option<Utf8PathBuf> {
    match Utf8Path::new(wrapper).components().count() {
        1 => tools::locate(sh, wrapper),
        _ => Some(wrapper.into()),
    }
}

fn is_sccache(wrapper: &str) -> bool {
    let name = wrapper.rsplit(['/', '\\']).next().unwrap_or(wrapper);
    name == "sccache" || name == "sccache.exe"
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{child::Env, toml_file::TomlFile};
    use clear::unsafe_to_clear;
    use settings::BackendKind;
    use setup::redact_change;
    use shell_env::{env_assignments, size_for_env};

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
