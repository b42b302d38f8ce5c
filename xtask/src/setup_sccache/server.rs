//! The sccache binary and its server: probing, starting, stopping, statistics.

use std::{
    fmt,
    process::Stdio,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use camino::{Utf8Path, Utf8PathBuf};
use serde_json::{Value, json};
use xshell::{Cmd, Shell};

use super::settings::BackendKind;
use crate::{
    child::{self, Env},
    output::human_bytes,
    tools::{Found, Version},
};

const DEFAULT_PORT: u16 = 4226;
/// A stopped server waits up to 10 s for compilations in flight before it lets go of its port.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);
/// A server answers statistics at once; waiting longer means something else holds the port.
const STATS_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the server listens: what sccache's clients connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Port(u16),
    /// `SCCACHE_SERVER_UDS` (Unix only).
    Socket(Utf8PathBuf),
}

impl Endpoint {
    /// As sccache reads it: `SCCACHE_SERVER_UDS` on Unix, else `SCCACHE_SERVER_PORT`, else 4226.
    pub fn from_env(sh: &Shell) -> Endpoint {
        if cfg!(unix)
            && let Ok(socket) = sh.var("SCCACHE_SERVER_UDS")
        {
            return Endpoint::Socket(socket.into());
        }
        // sccache itself falls back to the default on a value it cannot parse.
        Endpoint::Port(sh.var("SCCACHE_SERVER_PORT").ok().and_then(|port| port.parse().ok()).unwrap_or(DEFAULT_PORT))
    }

    /// Whether something accepts connections there. Connecting starts nothing.
    pub fn answers(&self) -> bool {
        match self {
            Endpoint::Port(port) => {
                let address = std::net::SocketAddr::from(([127, 0, 0, 1], *port));
                std::net::TcpStream::connect_timeout(&address, Duration::from_millis(500)).is_ok()
            }
            #[cfg(unix)]
            Endpoint::Socket(path) => std::os::unix::net::UnixStream::connect(path).is_ok(),
            #[cfg(not(unix))]
            Endpoint::Socket(_) => false,
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Port(port) => write!(f, "127.0.0.1:{port}"),
            Endpoint::Socket(path) => write!(f, "socket {path}"),
        }
    }
}

/// The answer of `sccache --dist-status`.
#[derive(Debug, PartialEq)]
pub enum DistStatus {
    /// The scheduler answered: its build servers, their cores, the jobs running.
    Scheduler { url: String, servers: u64, cpus: u64, in_progress: u64 },
    /// No `[dist]` configuration.
    Disabled,
    /// Anything else, as sccache said it (an unreachable scheduler, a refused token).
    Other(String),
}

impl DistStatus {
    /// `{"SchedulerStatus": [url, {"num_servers": …, "num_cpus": …, "in_progress": …}]}`,
    /// `"Disabled"`, or another variant with its message.
    fn from_json(value: &Value) -> DistStatus {
        if let Some([url, status]) = value.get("SchedulerStatus").and_then(Value::as_array).map(Vec::as_slice) {
            let number = |key: &str| status.get(key).and_then(Value::as_u64).unwrap_or(0);
            return DistStatus::Scheduler {
                url: url.as_str().unwrap_or_default().to_owned(),
                servers: number("num_servers"),
                cpus: number("num_cpus"),
                in_progress: number("in_progress"),
            };
        }
        // `"Disabled"` in some versions, `{"Disabled": "disabled"}` in others.
        match value {
            Value::String(name) if name == "Disabled" => DistStatus::Disabled,
            Value::Object(variant) if variant.contains_key("Disabled") => DistStatus::Disabled,
            other => DistStatus::Other(other.to_string()),
        }
    }

    /// An error unless the scheduler answered.
    pub fn reachable(self) -> anyhow::Result<DistStatus> {
        match self {
            DistStatus::Other(said) => bail!("sccache --dist-status says {said}"),
            DistStatus::Disabled => bail!("sccache --dist-status says distributed compilation is disabled"),
            answered => Ok(answered),
        }
    }
}

impl fmt::Display for DistStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DistStatus::Scheduler { url, servers, cpus, in_progress } => {
                write!(f, "scheduler {url}: {servers} build server(s), {cpus} cores, {in_progress} job(s) running")
            }
            DistStatus::Disabled => f.write_str("off"),
            DistStatus::Other(said) => write!(f, "the scheduler did not answer: {said}"),
        }
    }
}

/// A found sccache binary, and the server its commands talk to.
#[derive(Clone)]
pub struct Sccache<'a> {
    sh: &'a Shell,
    pub path: Utf8PathBuf,
    pub version: Version,
    pub endpoint: Endpoint,
    /// What every sccache command, and every build that is to reach this server, gets on top of
    /// the child environment: how a private server gets its own configuration and port.
    pub env: Env,
}

impl<'a> Sccache<'a> {
    pub fn new(sh: &'a Shell, found: Found) -> Sccache<'a> {
        Sccache { sh, path: found.path, version: found.version, endpoint: Endpoint::from_env(sh), env: Env::default() }
    }

    /// The same binary with a server of its own (config `conf`, cache `cache_dir`, default size, a free
    /// port), so the user's server, cache and settings are never touched (the trial server, the bench).
    pub fn private(&self, conf: &Utf8Path, cache_dir: &Utf8Path) -> anyhow::Result<Sccache<'a>> {
        let port = std::net::TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port();
        Ok(Sccache {
            endpoint: Endpoint::Port(port),
            env: Env::default()
                .set("SCCACHE_CONF", conf)
                .set("SCCACHE_DIR", cache_dir)
                .remove("SCCACHE_CACHE_SIZE")
                .set("SCCACHE_SERVER_PORT", port.to_string())
                .remove("SCCACHE_SERVER_UDS"),
            ..self.clone()
        })
    }

    /// The same server with `extra` on top of its variables (the bench's remote backends).
    pub fn with_env(mut self, extra: &Env) -> Sccache<'a> {
        self.env = self.env.and(extra);
        self
    }

    fn cmd(&self) -> Cmd<'a> {
        self.env.apply(child::command(self.sh, &self.path))
    }

    /// The JSON that `sccache <args>` prints, within `STATS_TIMEOUT`.
    fn read_json(&self, args: &[&str]) -> anyhow::Result<Value> {
        let json = read_with_timeout(self.cmd().args(args), STATS_TIMEOUT)
            .with_context(|| format!("`{} {}` failed", self.path, args[0]))?;
        serde_json::from_str(&json).with_context(|| format!("`sccache {}` is not JSON", args.join(" ")))
    }

    /// What the server's sccache-dist client says of its scheduler (`--dist-status`).
    pub fn dist_status(&self) -> anyhow::Result<DistStatus> {
        Ok(DistStatus::from_json(&self.read_json(&["--dist-status"])?))
    }

    /// The backends compiled in, from the "Enabled features:" block of `--help`.
    pub fn backends(&self) -> anyhow::Result<Vec<String>> {
        let help = self.cmd().arg("--help").quiet().read().context("`sccache --help` failed")?;
        Ok(parse_features(&help).into_iter().filter(|(_, on)| *on).map(|(name, _)| name).collect())
    }

    /// The server's statistics and configuration; zeros built from the configuration when no server
    /// runs (sccache 0.7.7 and later never start one for this).
    pub fn stats(&self) -> anyhow::Result<Stats> {
        Ok(Stats::from_json(&self.read_json(&["--show-stats", "--stats-format", "json"])?))
    }

    /// Starts a server with the configuration in the environment and config file.
    pub fn start(&self) -> anyhow::Result<()> {
        let output = self.cmd().arg("--start-server").quiet().ignore_status().output()?;
        if output.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        // With RUST_BACKTRACE set, sccache adds its backtrace: dozens of lines that say nothing here.
        let message = stderr.split("\nBacktrace:").next().unwrap_or_default().trim().to_owned();
        if message.contains("Address in use") {
            bail!(
                "another program holds {}: sccache cannot listen there.\nSet SCCACHE_SERVER_PORT to a free port, \
                 or stop that program.",
                self.endpoint
            );
        }
        bail!(
            "the sccache server did not start: {message}\nWith a remote backend this usually means the backend \
             did not answer. Run `SCCACHE_LOG=debug SCCACHE_NO_DAEMON=1 SCCACHE_START_SERVER=1 {}` to see why.",
            self.path
        )
    }

    /// Stops the server and waits until it has let go of its endpoint. False if none was running.
    pub fn stop(&self) -> anyhow::Result<bool> {
        if !self.endpoint.answers() {
            return Ok(false);
        }
        // Its messages go into the error, which is redacted, not straight to the terminal.
        let output = self.cmd().arg("--stop-server").quiet().ignore_status().output()?;
        if !output.status.success() {
            bail!("`sccache --stop-server` failed: {}", String::from_utf8_lossy(&output.stderr).trim());
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        while self.endpoint.answers() {
            if Instant::now() > deadline {
                bail!("the sccache server on {} did not exit within {STOP_TIMEOUT:?}", self.endpoint);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(true)
    }

    /// Resets the server's counters. Only called while a server runs: `--zero-stats` starts one.
    pub fn zero_stats(&self) -> anyhow::Result<()> {
        self.cmd().arg("--zero-stats").quiet().ignore_stderr().run().context("`sccache --zero-stats` failed")
    }
}

/// Runs `cmd` and returns its stdout, giving up after `timeout`: a program that is not sccache may
/// accept the connection and never answer.
fn read_with_timeout(cmd: Cmd<'_>, timeout: Duration) -> anyhow::Result<String> {
    let mut command = std::process::Command::from(cmd);
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn()?;
    let deadline = Instant::now() + timeout;
    while child.try_wait()?.is_none() {
        if Instant::now() > deadline {
            child.kill()?;
            child.wait()?;
            bail!("no answer within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!("{}: {}", output.status, String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn parse_features(help: &str) -> Vec<(String, bool)> {
    help.lines()
        .skip_while(|line| !line.starts_with("Enabled features"))
        .skip(1)
        .map_while(|line| {
            let (name, enabled) = line.trim().split_once(':')?;
            Some((name.trim().to_owned(), enabled.trim() == "true"))
        })
        .collect()
}

/// What `--show-stats --stats-format json` says; every field optional, as versions differ.
#[derive(Debug, Default, PartialEq)]
pub struct Stats {
    pub compile_requests: u64,
    pub hits: u64,
    pub misses: u64,
    pub errors: u64,
    pub not_cacheable: u64,
    /// Why requests could not be cached (`crate-type`, `incremental`, ...), most frequent first.
    pub not_cached: Vec<(String, u64)>,
    pub cache_location: Option<String>,
    /// Compilations that ran (the misses), and the seconds they took together.
    pub compilations: u64,
    pub compile_seconds: f64,
    /// Seconds spent reading the hits from the cache, together.
    pub hit_read_seconds: f64,
    pub cache_size: Option<u64>,
    pub max_cache_size: Option<u64>,
    pub version: Option<String>,
    /// Compilations run on sccache-dist build servers, and those that failed there (and ran
    /// locally instead).
    pub dist_compiles: u64,
    pub dist_errors: u64,
}

impl Stats {
    pub fn from_json(json: &Value) -> Stats {
        let stats = &json["stats"];
        let number = |value: &Value| value.as_u64().unwrap_or(0);
        let sum = |value: &Value| value["counts"].as_object().map_or(0, |counts| counts.values().map(number).sum());
        // serde's form of a Duration.
        let seconds = |value: &Value| number(&value["secs"]) as f64 + number(&value["nanos"]) as f64 / 1e9;
        let mut not_cached: Vec<(String, u64)> = stats["not_cached"]
            .as_object()
            .map(|reasons| reasons.iter().map(|(reason, count)| (reason.clone(), number(count))).collect())
            .unwrap_or_default();
        not_cached.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        Stats {
            compile_requests: number(&stats["compile_requests"]),
            hits: sum(&stats["cache_hits"]),
            misses: sum(&stats["cache_misses"]),
            errors: sum(&stats["cache_errors"]),
            not_cacheable: number(&stats["requests_not_cacheable"]),
            not_cached,
            cache_location: json["cache_location"].as_str().map(str::to_owned),
            compilations: number(&stats["compilations"]),
            compile_seconds: seconds(&stats["compiler_write_duration"]),
            hit_read_seconds: seconds(&stats["cache_read_hit_duration"]),
            cache_size: json["cache_size"].as_u64(),
            max_cache_size: json["max_cache_size"].as_u64(),
            version: json["version"].as_str().map(str::to_owned),
            // `{"<server address>": count}`.
            dist_compiles: stats["dist_compiles"].as_object().map_or(0, |servers| servers.values().map(number).sum()),
            dist_errors: number(&stats["dist_errors"]),
        }
    }

    /// Hits among cacheable requests that reached the cache, in percent.
    pub fn hit_rate(&self) -> Option<f64> {
        let looked_up = self.hits + self.misses;
        (looked_up > 0).then(|| 100.0 * self.hits as f64 / looked_up as f64)
    }

    /// Fewer hits than misses: worth asking `explain` why.
    pub fn low_hit_rate(&self) -> bool {
        self.hit_rate().is_some_and(|rate| rate < 50.0)
    }

    /// Seconds an average compilation took, and an average hit took to read, when there were some.
    pub fn averages(&self) -> (Option<f64>, Option<f64>) {
        let average = |total: f64, count: u64| (count > 0).then(|| total / count as f64);
        (average(self.compile_seconds, self.compilations), average(self.hit_read_seconds, self.hits))
    }

    /// An estimate of the time the hits saved: each as long as an average compilation, less its
    /// read. Only an estimate: the crates that hit are not the ones that compiled.
    pub fn estimated_seconds_saved(&self) -> Option<f64> {
        let (compile, read) = self.averages();
        Some((compile? - read?).max(0.0) * self.hits as f64)
    }

    /// The local cache directory, from `Local disk: "<path>"` (Rust's Debug quoting).
    pub fn local_dir(&self) -> Option<Utf8PathBuf> {
        let quoted = self.cache_location.as_deref()?.strip_prefix("Local disk: ")?;
        let inner = quoted.strip_prefix('"')?.strip_suffix('"')?;
        Some(inner.replace("\\\\", "\\").replace("\\\"", "\"").into())
    }

    /// How the server's cache differs from the wanted one, if it does.
    pub fn differs_from(&self, backend: BackendKind, dir: &Utf8Path, size: u64) -> Option<String> {
        let location = self.cache_location.as_deref().unwrap_or("unknown");
        match backend {
            BackendKind::Local => match (self.local_dir(), self.max_cache_size) {
                (Some(running), _) if running != dir => Some(format!("its cache directory is {running}, not {dir}")),
                (None, _) => Some(format!("it uses {location}, not the local disk")),
                (_, Some(running)) if running != size => Some(format!("its size limit is {running} bytes, not {size}")),
                _ => None,
            },
            remote => (!location.to_lowercase().contains(remote.location_name()))
                .then(|| format!("it uses {location}, not the {remote} backend")),
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "compile_requests": self.compile_requests,
            "cache_hits": self.hits,
            "cache_misses": self.misses,
            "cache_errors": self.errors,
            "hit_rate_percent": self.hit_rate(),
            "not_cacheable": self.not_cacheable,
            "not_cached_reasons": self.not_cached.iter().map(|(reason, count)| json!({"reason": reason, "count": count})).collect::<Vec<_>>(),
            "cache_location": self.cache_location,
            "average_compile_seconds": self.averages().0,
            "average_hit_read_seconds": self.averages().1,
            "estimated_seconds_saved": self.estimated_seconds_saved(),
            "cache_size_bytes": self.cache_size,
            "max_cache_size_bytes": self.max_cache_size,
            "version": self.version,
            "dist_compiles": self.dist_compiles,
            "dist_errors": self.dist_errors,
        })
    }

    /// Label and value rows, shared by the text and markdown renderings.
    fn rows(&self) -> Vec<(String, String)> {
        let (compile, read) = self.averages();
        let seconds = |value: Option<f64>| value.map_or("n/a".to_owned(), |value| format!("{value:.3} s"));
        let saved = self.estimated_seconds_saved().map_or("n/a (needs hits and compilations)".to_owned(), |saved| {
            format!("{saved:.1} s: {} hits, each an average compile less its read", self.hits)
        });
        let used = self.cache_size.map_or("unknown".to_owned(), human_bytes);
        let size = self.max_cache_size.map_or(used.clone(), |max| format!("{used} of {}", human_bytes(max)));
        let counts = [
            ("Compile requests", self.compile_requests.to_string()),
            ("Cache hits", self.hits.to_string()),
            ("Cache misses", self.misses.to_string()),
            ("Hit rate", self.hit_rate().map_or("n/a (no lookups yet)".to_owned(), |rate| format!("{rate:.1}%"))),
            ("Cache errors", self.errors.to_string()),
            ("Not cacheable", self.not_cacheable.to_string()),
        ];
        let not_cached =
            self.not_cached.iter().map(|(reason, count)| (format!("  not cached: {reason}"), count.to_string()));
        // Shown only where sccache-dist is in use.
        let dist = match self.dist_compiles + self.dist_errors {
            0 => Vec::new(),
            _ => vec![("Distributed compiles", self.dist_compiles), ("  failed, ran locally", self.dist_errors)],
        };
        let dist = dist.into_iter().map(|(label, count)| (label, count.to_string()));
        let rest = [
            ("Average compile", seconds(compile)),
            ("Average hit read", seconds(read)),
            ("Time saved (estimate)", saved),
            ("Cache size", size),
            ("Cache location", self.cache_location.clone().unwrap_or_else(|| "unknown".to_owned())),
        ];
        let owned = |(label, value): (&str, String)| (label.to_owned(), value);
        counts.into_iter().map(owned).chain(not_cached).chain(dist.chain(rest).map(owned)).collect()
    }

    pub fn to_text(&self) -> String {
        let rows = self.rows();
        let width = rows.iter().map(|(label, _)| label.len()).max().unwrap_or(0);
        rows.iter().map(|(label, value)| format!("{label:width$}  {value}\n")).collect()
    }

    pub fn to_markdown(&self) -> String {
        let mut out = String::from("### sccache\n\n| | |\n|---|---|\n");
        for (label, value) in self.rows() {
            out += &format!("| {} | {} |\n", label.trim(), value.replace('|', "\\|"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dist_status_reads_every_answer_sccache_gives() {
        let scheduler = serde_json::json!({"SchedulerStatus": ["http://10.0.0.1:10600/", {"num_servers": 2, "num_cpus": 16, "in_progress": 3}]});
        let answered = DistStatus::from_json(&scheduler);
        assert_eq!(
            answered,
            DistStatus::Scheduler { url: "http://10.0.0.1:10600/".into(), servers: 2, cpus: 16, in_progress: 3 }
        );
        assert_eq!(
            answered.to_string(),
            "scheduler http://10.0.0.1:10600/: 2 build server(s), 16 cores, 3 job(s) running"
        );
        assert_eq!(DistStatus::from_json(&serde_json::json!("Disabled")), DistStatus::Disabled);
        assert_eq!(DistStatus::from_json(&serde_json::json!({"Disabled": "disabled"})), DistStatus::Disabled);
        let down = serde_json::json!({"NotConnected": ["http://h:1/", "enabled, not connected, will retry in 30.0s"]});
        let error = DistStatus::from_json(&down).reachable().unwrap_err().to_string();
        assert!(error.contains("NotConnected") && error.contains("will retry"), "{error}");
    }

    #[test]
    fn distributed_compiles_are_counted_over_every_build_server() {
        let stats = Stats::from_json(&serde_json::json!({"stats": {
            "dist_compiles": {"10.0.0.2:10501": 5, "10.0.0.3:10501": 2},
            "dist_errors": 1,
        }}));
        assert_eq!((stats.dist_compiles, stats.dist_errors), (7, 1));
        assert!(stats.rows().iter().any(|(label, value)| label == "Distributed compiles" && value == "7"));
        assert!(Stats::default().rows().iter().all(|(label, _)| !label.starts_with("Distributed")));
    }

    /// Trimmed from sccache 0.19's output after a build.
    fn sample() -> Value {
        json!({
            "stats": {
                "compile_requests": 14, "requests_not_cacheable": 5,
                "cache_hits": {"counts": {"Rust": 6}, "adv_counts": {"rust": 6}},
                "cache_misses": {"counts": {"Rust": 2, "C/C++": 1}},
                "cache_errors": {"counts": {}},
                "not_cached": {"crate-type": 4, "-": 1},
                "compilations": 3, "compiler_write_duration": {"secs": 1, "nanos": 500_000_000},
                "cache_read_hit_duration": {"secs": 0, "nanos": 60_000_000},
            },
            "cache_location": "Local disk: \"/home/u/.cache/sccache\"",
            "cache_size": 1536, "max_cache_size": 10737418240_u64, "version": "0.19.0",
        })
    }

    #[test]
    fn reads_stats_leniently() {
        let stats = Stats::from_json(&sample());
        assert_eq!((stats.compile_requests, stats.hits, stats.misses, stats.not_cacheable), (14, 6, 3, 5));
        assert_eq!(stats.not_cached, [("crate-type".to_owned(), 4), ("-".to_owned(), 1)]);
        assert_eq!(stats.hit_rate(), Some(66.66666666666667));
        assert!(!stats.low_hit_rate());
        assert!(Stats { hits: 1, misses: 3, ..Stats::default() }.low_hit_rate());
        assert!(!Stats::default().low_hit_rate(), "no lookups is no low rate");
        assert_eq!(stats.local_dir().unwrap(), "/home/u/.cache/sccache");
        assert_eq!(stats.averages(), (Some(0.5), Some(0.01)));
        assert!((stats.estimated_seconds_saved().unwrap() - 2.94).abs() < 1e-9, "6 hits × (0.5 s − 0.01 s)");
        // sccache 0.4's JSON lacks most fields; nothing panics and the counts are zero.
        let old = Stats::from_json(&json!({"stats": {"compile_requests": 3}, "cache_location": "Local disk: \"/c\""}));
        assert_eq!((old.compile_requests, old.hits, old.hit_rate(), old.version), (3, 0, None, None));
    }

    #[test]
    fn windows_paths_lose_their_debug_escapes() {
        let stats = Stats { cache_location: Some(r#"Local disk: "C:\\Users\\me\\cache""#.into()), ..Stats::default() };
        assert_eq!(stats.local_dir().unwrap(), r"C:\Users\me\cache");
    }

    #[test]
    fn a_server_with_other_settings_is_told_apart() {
        let stats = Stats::from_json(&sample());
        let dir = Utf8Path::new("/home/u/.cache/sccache");
        assert_eq!(stats.differs_from(BackendKind::Local, dir, 10 << 30), None);
        assert_eq!(
            stats.differs_from(BackendKind::Local, dir, 5 << 30).unwrap(),
            "its size limit is 10737418240 bytes, not 5368709120"
        );
        assert!(stats.differs_from(BackendKind::Local, Utf8Path::new("/other"), 10 << 30).unwrap().contains("/other"));
        assert!(stats.differs_from(BackendKind::Redis, dir, 0).unwrap().contains("not the redis backend"));
        let redis = Stats { cache_location: Some("redis, name: 127.0.0.1:6379, prefix: /".into()), ..Stats::default() };
        assert_eq!(redis.differs_from(BackendKind::Redis, dir, 0), None);
    }

    #[test]
    fn text_and_markdown_show_the_same_rows() {
        let stats = Stats::from_json(&sample());
        let text = stats.to_text();
        // Labels are padded to the longest, "  not cached: crate-type".
        assert!(text.contains(&format!("{:24}  66.7%\n", "Hit rate")), "{text}");
        assert!(text.contains("  not cached: crate-type  4\n"), "{text}");
        assert!(text.contains(&format!("{:24}  1.5 KiB of 10.0 GiB\n", "Cache size")), "{text}");
        assert!(
            text.contains(&format!(
                "{:24}  2.9 s: 6 hits, each an average compile less its read\n",
                "Time saved (estimate)"
            )),
            "{text}"
        );
        assert!(stats.to_markdown().contains("| Average compile | 0.500 s |"));
        assert_eq!(stats.to_json()["estimated_seconds_saved"], serde_json::json!(2.94));
        let markdown = stats.to_markdown();
        assert!(markdown.contains("| Hit rate | 66.7% |\n"), "{markdown}");
        assert!(markdown.contains("| not cached: crate-type | 4 |\n"), "{markdown}");
    }

    #[test]
    fn features_come_from_the_help_block() {
        let help = "Usage: sccache [OPTIONS]\n\nEnabled features:\n    S3:        true\n    Redis:     false\n    GHA:       true\n";
        assert_eq!(
            parse_features(help),
            [("S3".to_owned(), true), ("Redis".to_owned(), false), ("GHA".to_owned(), true)]
        );
    }

    #[test]
    fn endpoints_follow_sccache_variables() {
        let sh = Shell::new().unwrap();
        sh.set_var("SCCACHE_SERVER_PORT", "5226");
        if sh.var("SCCACHE_SERVER_UDS").is_err() {
            assert_eq!(Endpoint::from_env(&sh), Endpoint::Port(5226));
            sh.set_var("SCCACHE_SERVER_PORT", "not-a-port");
            assert_eq!(Endpoint::from_env(&sh), Endpoint::Port(DEFAULT_PORT));
        }
    }
}
