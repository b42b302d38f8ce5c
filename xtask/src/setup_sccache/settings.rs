//! What `setup-sccache` is asked for, and where it lives: flag values, backends, file paths.

use camino::{Utf8Path, Utf8PathBuf};
use toml_edit::Value;
use xshell::Shell;

pub use crate::flags::{BackendKind, CacheSize, EnvShell, Scope};
use crate::{secrets, tools};

/// What setup writes for each backend.
impl BackendKind {
    /// The table under `[cache]` in sccache's configuration, and its name in `--help`'s feature
    /// list: the backend's own name, but `disk` for the local one.
    pub fn table(self) -> &'static str {
        match self {
            BackendKind::Local => "disk",
            remote => remote.name(),
        }
    }

    /// How sccache names this backend in the cache location of its statistics.
    pub fn location_name(self) -> &'static str {
        match self {
            BackendKind::Azure => "azblob",
            other => other.table(),
        }
    }

    /// The keys setup may write in this backend's table.
    pub fn keys(self) -> &'static [&'static str] {
        match self {
            BackendKind::Local => &["dir", "size"],
            BackendKind::Redis => &["endpoint", "username", "password", "db"],
            BackendKind::Memcached => &["endpoint", "username", "password"],
            BackendKind::S3 => &["bucket", "endpoint", "region", "no_credentials"],
            BackendKind::Webdav => &["endpoint", "username", "password"],
            // sccache refuses an azure table without `key_prefix`, even an empty one.
            BackendKind::Azure => &["connection_string", "container", "key_prefix"],
            BackendKind::Gha => &["enabled", "version"],
        }
    }

    /// The variable sccache reads in place of `key` in this backend's table, if it has one.
    pub fn variable(self, key: &str) -> Option<&'static str> {
        Some(match (self, key) {
            (BackendKind::Local, "dir") => "SCCACHE_DIR",
            (BackendKind::Local, "size") => "SCCACHE_CACHE_SIZE",
            (BackendKind::Redis, "endpoint") => "SCCACHE_REDIS_ENDPOINT",
            (BackendKind::Redis, "username") => "SCCACHE_REDIS_USERNAME",
            (BackendKind::Redis, "password") => "SCCACHE_REDIS_PASSWORD",
            (BackendKind::Redis, "db") => "SCCACHE_REDIS_DB",
            (BackendKind::Memcached, "endpoint") => "SCCACHE_MEMCACHED_ENDPOINT",
            (BackendKind::Memcached, "username") => "SCCACHE_MEMCACHED_USERNAME",
            (BackendKind::Memcached, "password") => "SCCACHE_MEMCACHED_PASSWORD",
            (BackendKind::S3, "bucket") => "SCCACHE_BUCKET",
            (BackendKind::S3, "endpoint") => "SCCACHE_ENDPOINT",
            (BackendKind::S3, "region") => "SCCACHE_REGION",
            (BackendKind::Webdav, "endpoint") => "SCCACHE_WEBDAV_ENDPOINT",
            (BackendKind::Webdav, "username") => "SCCACHE_WEBDAV_USERNAME",
            (BackendKind::Webdav, "password") => "SCCACHE_WEBDAV_PASSWORD",
            (BackendKind::Azure, "connection_string") => "SCCACHE_AZURE_CONNECTION_STRING",
            (BackendKind::Azure, "container") => "SCCACHE_AZURE_BLOB_CONTAINER",
            (BackendKind::Azure, "key_prefix") => "SCCACHE_AZURE_KEY_PREFIX",
            (BackendKind::Gha, "enabled") => "SCCACHE_GHA_ENABLED",
            _ => return None,
        })
    }

    /// The key of this backend's table that holds its secret, given off the command line (a
    /// password, or Azure's connection string, which holds the account key).
    pub fn secret_key(self) -> Option<&'static str> {
        match self {
            BackendKind::Redis | BackendKind::Memcached | BackendKind::Webdav => Some("password"),
            BackendKind::Azure => Some("connection_string"),
            BackendKind::Local | BackendKind::S3 | BackendKind::Gha => None,
        }
    }
}

/// A backend's keys and values in its `[cache.<backend>]` table.
pub type BackendKeys = Vec<(&'static str, Value)>;

/// A backend's URL from a flag, split the way sccache's config wants it: the endpoint without its
/// userinfo, and the user name and password apart, decoded from `%XX` as the backends' clients
/// decode them (sccache passes the separate keys on as they are).
#[derive(Debug, PartialEq, Eq)]
pub struct BackendUrl {
    pub scheme: String,
    /// What follows the userinfo: host, port and path.
    pub rest: String,
    pub username: Option<String>,
    pub password: Option<String>,
}

impl BackendUrl {
    /// Parses `url`, given as `flag`; `form` is how such a URL looks, for the error. No error
    /// shows the userinfo.
    pub fn parse(flag: &str, url: &str, schemes: &[&str], form: &str) -> Result<BackendUrl, String> {
        let bad = |why: &str| format!("invalid {flag} `{}`: {why}; use {form}", secrets::redact(url));
        let (scheme, after) = url.split_once("://").ok_or_else(|| bad("no scheme"))?;
        if !schemes.contains(&scheme) {
            return Err(bad(&format!("the scheme must be {}", schemes.join(" or "))));
        }
        let (userinfo, rest) = after.rsplit_once('@').map_or((None, after), |(userinfo, rest)| (Some(userinfo), rest));
        let (mut username, mut password) = (None, None);
        if let Some(userinfo) = userinfo {
            if userinfo.contains(['/', '?', '#']) {
                return Err(bad(
                    "a `/`, `?` or `#` before the `@` ends the host for every URL client, so the password would \
                     not be read as one: write them as %2F, %3F and %23 (an `@` in the path as %40)",
                ));
            }
            let (user, pass) = userinfo.split_once(':').map_or((userinfo, None), |(user, pass)| (user, Some(pass)));
            let decode = |part: &str, what: &str| {
                secrets::percent_decoded(part).map_err(|why| bad(&format!("the {what} is not valid: {why}")))
            };
            username = Some(decode(user, "user name")?).filter(|user| !user.is_empty());
            password = pass.map(|pass| decode(pass, "password")).transpose()?.filter(|pass| !pass.is_empty());
            password.iter().for_each(|password| secrets::keep(password));
        }
        if rest.is_empty() || rest.starts_with([':', '/']) {
            return Err(bad("the host is missing"));
        }
        Ok(BackendUrl { scheme: scheme.to_owned(), rest: rest.to_owned(), username, password })
    }

    /// The URL without its userinfo.
    pub fn endpoint(&self) -> String {
        format!("{}://{}", self.scheme, self.rest)
    }

    /// `endpoint`, then the user name and password when the URL has them.
    pub fn keys(&self) -> BackendKeys {
        let mut keys = vec![("endpoint", Value::from(self.endpoint()))];
        keys.extend(self.username.clone().map(|user| ("username", user.into())));
        keys.extend(self.password.clone().map(|password| ("password", password.into())));
        keys
    }
}

/// `redis://[user:password@]host:port[/db]` (or `rediss://`), split the way sccache's config wants
/// it: credentials and database apart from the endpoint.
pub fn redis_keys(url: &str) -> Result<BackendKeys, String> {
    const FORM: &str = "redis://[user:password@]host:port[/db]";
    let parsed = BackendUrl::parse("--redis-url", url, &["redis", "rediss"], FORM)?;
    let bad = |why: &str| format!("invalid --redis-url `{}`: {why}; use {FORM}", secrets::redact(url));
    let (host, db) = parsed.rest.split_once('/').unwrap_or((&parsed.rest, ""));
    let (_, port) = host.rsplit_once(':').ok_or_else(|| bad("no port"))?;
    if port.parse::<u16>().is_err() {
        return Err(bad("the port is missing or wrong"));
    }
    let endpoint = BackendUrl { rest: host.to_owned(), ..parsed };
    let mut keys = endpoint.keys();
    if !db.is_empty() {
        keys.push(("db", i64::from(db.parse::<u32>().map_err(|_| bad("the database must be a number"))?).into()));
    }
    Ok(keys)
}

/// sccache's configuration file: `SCCACHE_CONF`, else its per-OS default.
pub fn sccache_config_path(sh: &Shell) -> anyhow::Result<Utf8PathBuf> {
    if let Ok(path) = sh.var("SCCACHE_CONF") {
        return Ok(path.into());
    }
    Ok(per_os_paths(std::env::consts::OS, &tools::home_dir(sh)?, |name| sh.var(name).ok()).0)
}

/// sccache's own default cache directory on this OS.
pub fn default_cache_dir(sh: &Shell) -> anyhow::Result<Utf8PathBuf> {
    Ok(per_os_paths(std::env::consts::OS, &tools::home_dir(sh)?, |name| sh.var(name).ok()).1)
}

/// Where sccache reads its config on `os`, and its default cache directory there (its
/// `directories` crate's config and cache dirs, `Mozilla.sccache`).
fn per_os_paths(os: &str, home: &Utf8Path, var: impl Fn(&str) -> Option<String>) -> (Utf8PathBuf, Utf8PathBuf) {
    match os {
        "windows" => {
            let dir =
                |name, fallback| var(name).map_or_else(|| joined(home, &["AppData", fallback]), Utf8PathBuf::from);
            let config = joined(&dir("APPDATA", "Roaming"), &["Mozilla", "sccache", "config", "config"]);
            (config, joined(&dir("LOCALAPPDATA", "Local"), &["Mozilla", "sccache", "cache"]))
        }
        "macos" => (
            joined(home, &["Library", "Application Support", "Mozilla.sccache", "config"]),
            joined(home, &["Library", "Caches", "Mozilla.sccache"]),
        ),
        _ => (
            joined(&xdg(&var, "XDG_CONFIG_HOME", home, ".config"), &["sccache", "config"]),
            joined(&xdg(&var, "XDG_CACHE_HOME", home, ".cache"), &["sccache"]),
        ),
    }
}

/// `base` with each of `names` joined, by the OS's separator.
fn joined(base: &Utf8Path, names: &[&str]) -> Utf8PathBuf {
    names.iter().fold(base.to_owned(), |path, name| path.join(name))
}

/// An XDG base directory: the variable when it holds an absolute path, else `~/<fallback>`.
fn xdg(var: impl Fn(&str) -> Option<String>, name: &str, home: &Utf8Path, fallback: &str) -> Utf8PathBuf {
    var(name).map(Utf8PathBuf::from).filter(|dir| dir.has_root()).unwrap_or_else(|| home.join(fallback))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_sizes_take_only_what_every_sccache_reads() {
        assert_eq!("10G".parse::<CacheSize>().unwrap().bytes(), 10 << 30);
        assert_eq!("500M".parse::<CacheSize>().unwrap().to_string(), "500M");
        assert_eq!("1T".parse::<CacheSize>().unwrap().bytes(), 1 << 40);
        for bad in ["10GB", "1.5G", "-1", "0", "0G", "G", "10", "10g", " 10G", "99999999999999T"] {
            let err = bad.parse::<CacheSize>().unwrap_err();
            assert!(err.contains("whole number above 0 with K, M, G or T"), "{bad}: {err}");
        }
    }

    #[test]
    fn redis_urls_split_into_endpoint_credentials_and_db() {
        let keys = redis_keys("redis://me:s3cret@127.0.0.1:6380/2").unwrap();
        let shown: Vec<String> = keys.iter().map(|(k, v)| format!("{k}={}", v.clone().decorated("", ""))).collect();
        assert_eq!(shown, ["endpoint=\"redis://127.0.0.1:6380\"", "username=\"me\"", "password=\"s3cret\"", "db=2"]);
        assert_eq!(redis_keys("rediss://cache.example:6379").unwrap().len(), 1);
        for bad in ["127.0.0.1:6379", "http://h:1", "redis://host", "redis://h:port", "redis://h:1/x"] {
            assert!(redis_keys(bad).unwrap_err().contains("use redis://[user:password@]host:port[/db]"), "{bad}");
        }
        let err = redis_keys("redis://me:s3cret@host").unwrap_err();
        assert!(!err.contains("s3cret"), "{err}");
        assert!(redis_keys("redis://h:1/x").unwrap_err().contains("the database must be a number"));
    }

    #[test]
    fn userinfo_is_decoded_like_the_clients_and_never_shown_in_errors() {
        let shown = |keys: BackendKeys| -> Vec<String> {
            keys.iter().map(|(k, v)| format!("{k}={}", v.clone().decorated("", ""))).collect()
        };
        assert_eq!(
            shown(redis_keys("redis://me%40corp:p%40ss%2F%25@127.0.0.1:6380").unwrap()),
            ["endpoint=\"redis://127.0.0.1:6380\"", "username=\"me@corp\"", "password=\"p@ss/%\""]
        );
        // An unencoded `@` in the password: the last `@` ends the userinfo, as URL clients read it.
        assert_eq!(shown(redis_keys("redis://:p@ss@h:1").unwrap())[1], "password=\"p@ss\"");
        let webdav = BackendUrl::parse("--webdav-url", "https://dav:tok@h/cache/", &["http", "https"], "").unwrap();
        assert_eq!(webdav.endpoint(), "https://h/cache/");
        for (bad, why) in [
            ("redis://me:Zq/9@h:1", "write them as %2F"),
            ("redis://me:Zq9%4@h:1", "two hex digits"),
            ("redis://me:Zq9%ff@h:1", "UTF-8"),
            ("redis://me:Zq9@:1", "host is missing"),
        ] {
            let err = redis_keys(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
            assert!(!err.contains("Zq"), "{err}");
        }
    }

    #[test]
    fn names_parse_and_print_back() {
        for name in ["local", "redis", "memcached", "s3", "webdav", "azure", "gha"] {
            assert_eq!(name.parse::<BackendKind>().unwrap().to_string(), name);
        }
        assert!("ftp".parse::<BackendKind>().unwrap_err().contains("use local, redis"));
        assert_eq!("project".parse::<Scope>(), Ok(Scope::Project));
        assert_eq!("pwsh".parse::<EnvShell>(), Ok(EnvShell::PowerShell));
        assert!("tcsh".parse::<EnvShell>().is_err());
    }

    /// Every OS's paths, from any host: compared with `/` for the separator.
    #[test]
    fn each_os_has_sccaches_own_default_paths() {
        let unix = |os: &str, vars: &[(&str, &str)]| {
            let var = |name: &str| vars.iter().find(|(key, _)| *key == name).map(|(_, value)| (*value).to_owned());
            let shown = |path: Utf8PathBuf| path.as_str().replace('\\', "/");
            let (config, cache) = per_os_paths(os, "/h".into(), var);
            (shown(config), shown(cache))
        };
        assert_eq!(unix("linux", &[]), ("/h/.config/sccache/config".into(), "/h/.cache/sccache".into()));
        assert_eq!(
            unix("linux", &[("XDG_CONFIG_HOME", "/xdg"), ("XDG_CACHE_HOME", "relative/ignored")]),
            ("/xdg/sccache/config".into(), "/h/.cache/sccache".into())
        );
        assert_eq!(
            unix("macos", &[]),
            (
                "/h/Library/Application Support/Mozilla.sccache/config".into(),
                "/h/Library/Caches/Mozilla.sccache".into()
            )
        );
        let windows = unix(
            "windows",
            &[("APPDATA", r"C:\Users\me\AppData\Roaming"), ("LOCALAPPDATA", r"C:\Users\me\AppData\Local")],
        );
        assert_eq!(
            windows,
            (
                "C:/Users/me/AppData/Roaming/Mozilla/sccache/config/config".into(),
                "C:/Users/me/AppData/Local/Mozilla/sccache/cache".into()
            )
        );
        assert_eq!(unix("windows", &[]).1, "/h/AppData/Local/Mozilla/sccache/cache");
    }

    #[test]
    fn per_os_paths_follow_sccache() {
        let sh = Shell::new().unwrap();
        sh.set_var("HOME", "/h");
        sh.set_var("USERPROFILE", "/h");
        sh.set_var("XDG_CACHE_HOME", "relative/ignored");
        sh.set_var("XDG_CONFIG_HOME", "/xdg");
        sh.set_var("SCCACHE_CONF", "/etc/sccache.toml");
        assert_eq!(sccache_config_path(&sh).unwrap(), "/etc/sccache.toml");
    }
}
