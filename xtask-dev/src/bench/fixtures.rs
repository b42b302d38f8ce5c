//! What the scenarios measure on: the coverage workspaces, a remote cache server, a synthetic
//! target directory, the xtask's dependencies as a workspace of their own.

use super::*;

/// A workspace the coverage scenarios measure, and the members they measure in it.
pub(super) struct CoverageWorkspace {
    pub(super) root: Utf8PathBuf,
    pub(super) packages: &'static [&'static str],
    /// For the table.
    pub(super) what: &'static str,
}

impl CoverageWorkspace {
    /// `cargo xtask coverage` of its packages with `modes`, run in `here`; sccache off, as on the plain side.
    pub(super) fn xtask_coverage<'a>(&self, here: &'a Shell, modes: &[&str]) -> anyhow::Result<Cmd<'a>> {
        let modes = modes.iter().flat_map(|mode| ["--mode", mode]);
        let packages = self.packages.join(",");
        let cmd = xtask(here)?.arg("coverage").args(modes).args(["-p", &packages, "--no-sccache"]);
        Ok(Env::default().set("RUSTC_WRAPPER", "").apply(cmd))
    }
}

/// A cache server the bench started on a free loopback port (the same programs the tests use),
/// killed on drop.
pub(super) struct RemoteServer(pub(super) std::process::Child);

impl RemoteServer {
    /// The server for `backend`, its data in `dir`, and the variables that point sccache at it.
    pub(super) fn start(sh: &Shell, backend: BackendKind, dir: &Utf8Path) -> anyhow::Result<(RemoteServer, Env)> {
        let port = std::net::TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port().to_string();
        let at = format!("127.0.0.1:{port}");
        let (program, args, env): (&str, Vec<&str>, Env) = match backend {
            BackendKind::Redis => (
                "redis-server",
                vec!["--port", &port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                Env::default().set("SCCACHE_REDIS_ENDPOINT", format!("redis://{at}")),
            ),
            // As root, memcached wants to be told to stay root; its 1 MB default item limit would
            // refuse the larger rlibs (they would miss every time), so items up to 128 MB.
            BackendKind::Memcached => (
                "memcached",
                vec!["-l", "127.0.0.1", "-p", &port, "-U", "0", "-m", "2048", "-I", "128m", "-u", "root"],
                Env::default().set("SCCACHE_MEMCACHED_ENDPOINT", format!("tcp://{at}")),
            ),
            BackendKind::S3 => (
                "moto_server",
                vec!["-H", "127.0.0.1", "-p", &port],
                Env::default()
                    .set("SCCACHE_BUCKET", "cache")
                    .set("SCCACHE_ENDPOINT", format!("http://{at}"))
                    .set("SCCACHE_REGION", "us-east-1")
                    .set("AWS_ACCESS_KEY_ID", "bench")
                    .set("AWS_SECRET_ACCESS_KEY", "bench"),
            ),
            BackendKind::Webdav => (
                "wsgidav",
                vec!["--host", "127.0.0.1", "--port", &port, "--root", dir.as_str(), "--auth", "anonymous"],
                // A path below the root: sccache joins `/.sccache_check` to it, and a `//` right
                // after the host is refused by wsgidav's server as an absolute URI.
                Env::default().set("SCCACHE_WEBDAV_ENDPOINT", format!("http://{at}/cache")),
            ),
            other => bail!("the bench starts no {other} server"),
        };
        // The Python servers from the private environment `cargo dev ci` makes, else from PATH.
        let private = crate::ci::python_tool(&Workspace::load(sh)?.target_dir, program);
        let program = match private.is_file() {
            true => private,
            false => tools::locate(sh, program)
                .with_context(|| format!("`{program}` is missing; `cargo dev ci` installs it"))?,
        };
        let cmd = child::command(sh, program).args(args).quiet();
        let child = std::process::Command::from(cmd)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .with_context(|| format!("could not start the {backend} server"))?;
        let server = RemoteServer(child);
        let started = Instant::now();
        while std::net::TcpStream::connect(&at).is_err() {
            anyhow::ensure!(started.elapsed().as_secs() < 20, "the {backend} server did not listen on {at}");
            std::thread::sleep(Duration::from_millis(100));
        }
        if backend == BackendKind::S3 {
            // moto takes an unsigned request to make the bucket.
            use std::io::{Read, Write};
            let mut stream = std::net::TcpStream::connect(&at)?;
            stream.write_all(
                b"PUT /cache HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            )?;
            let mut answer = String::new();
            stream.read_to_string(&mut answer)?;
            anyhow::ensure!(answer.starts_with("HTTP/1.1 200"), "moto did not make the bucket: {answer}");
        }
        Ok((server, env))
    }
}

impl Drop for RemoteServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Files in the synthetic target tree.
pub(super) const SYNTHETIC_FILES: usize = 200_000;

/// A target directory shaped like cargo's: `CACHEDIR.TAG`, `debug/deps` full of artifacts, the
/// final binaries hard-linked from `deps/` into `debug/`, fingerprints, build script outputs.
pub(super) fn synthetic_target(tree: &Utf8Path, files: usize) -> anyhow::Result<()> {
    let _ = std::fs::remove_dir_all(tree);
    let debug = tree.join("debug");
    for sub in ["deps", ".fingerprint", "build", "incremental"] {
        std::fs::create_dir_all(debug.join(sub))?;
    }
    std::fs::write(
        tree.join("CACHEDIR.TAG"),
        "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by cargo.\n",
    )?;
    let body = vec![b'x'; 3000];
    let units = files / 4;
    for unit in 0..units {
        let hash = format!("{unit:016x}");
        let crate_name = format!("crate{}", unit % 997);
        let lib = debug.join(format!("deps/lib{crate_name}-{hash}.rlib"));
        std::fs::write(&lib, &body[..(unit * 7) % body.len()])?;
        std::fs::write(debug.join(format!("deps/{crate_name}-{hash}.d")), &body[..64])?;
        let fingerprint = debug.join(format!(".fingerprint/{crate_name}-{hash}"));
        std::fs::create_dir_all(&fingerprint)?;
        std::fs::write(fingerprint.join("lib"), &body[..16])?;
        // Every tenth unit is a final artifact, hard-linked into the profile root as cargo does.
        if unit % 10 == 0 {
            std::fs::hard_link(&lib, debug.join(format!("lib{crate_name}-{hash}.rlib")))?;
        } else {
            std::fs::write(debug.join(format!("incremental/{crate_name}-{hash}.bin")), &body[..512])?;
        }
    }
    Ok(())
}

/// The apparent size clean-shared-target's JSON reports for the whole directory, directories
/// included, as `du -sb` counts.
pub(super) fn apparent_bytes(json: &Value) -> anyhow::Result<u64> {
    json.pointer("/directories/0/total/apparent_bytes")
        .and_then(Value::as_u64)
        .with_context(|| format!("no directories[0].total.apparent_bytes in clean-shared-target's JSON: {json}"))
}

pub(super) fn show_bytes(bytes: Option<u64>) -> String {
    bytes.map_or_else(|| "unknown".to_owned(), |bytes| bytes.to_string())
}

/// A workspace with real crates.io dependencies (about 120 packages, with proc-macros and build
/// scripts) and a library crate of its own with a test, for the sccache and coverage scenarios.
pub(super) fn dependency_workspace(dir: &Utf8Path) -> anyhow::Result<Utf8PathBuf> {
    let ws = dir.join("ws");
    let files: &[(&str, &str)] = &[
        ("Cargo.toml", "[workspace]\nresolver = \"3\"\nmembers = [\"app\", \"core\"]\n"),
        (
            "core/Cargo.toml",
            "[package]\nname = \"bench-core\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[dependencies]\n\
             serde = { version = \"1\", features = [\"derive\"] }\nserde_json = \"1\"\nregex = \"1\"\n\
             chrono = \"0.4\"\nuuid = { version = \"1\", features = [\"v4\"] }\n",
        ),
        (
            "core/src/lib.rs",
            "mod edit;\npub use edit::EDIT;\n\n#[derive(serde::Serialize)]\npub struct Event { pub id: String, pub at: String }\n\n\
             pub fn event(text: &str) -> Option<Event> {\n    let re = regex::Regex::new(r\"^[a-z]+$\").ok()?;\n    \
             re.is_match(text).then(|| Event { id: uuid::Uuid::new_v4().to_string(), at: chrono::Utc::now().to_rfc3339() })\n}\n\n\
             #[test]\nfn words_make_events() {\n    assert!(event(\"abc\").is_some());\n    assert!(event(\"1\").is_none());\n}\n",
        ),
        ("core/src/edit.rs", "pub const EDIT: u32 = 0;\n"),
        (
            "app/Cargo.toml",
            "[package]\nname = \"bench-app\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[dependencies]\n\
             bench-core = { path = \"../core\" }\nclap = { version = \"4\", features = [\"derive\"] }\n\
             tokio = { version = \"1\", features = [\"full\"] }\naxum = \"0.8\"\ntracing = \"0.1\"\n\
             tracing-subscriber = { version = \"0.3\", features = [\"env-filter\"] }\n",
        ),
        ("app/src/main.rs", "fn main() {\n    println!(\"{}\", bench_core::EDIT);\n}\n"),
    ];
    for (path, contents) in files {
        let path = ws.join(path);
        std::fs::create_dir_all(path.parent().expect("a file in a directory"))?;
        std::fs::write(&path, contents)?;
    }
    Ok(ws)
}

/// The names of the xtask's normal dependencies, from cargo.
pub(super) fn xtask_dependencies(sh: &Shell) -> anyhow::Result<Vec<String>> {
    let json = child::cargo(sh).args(["metadata", "--format-version", "1", "--no-deps"]).quiet().read()?;
    let metadata: Value = serde_json::from_str(&json)?;
    let xtask = metadata["packages"]
        .as_array()
        .and_then(|packages| packages.iter().find(|p| p["name"] == XTASK_PACKAGE))
        .context("no xtask package in this workspace")?;
    let mut names = Vec::new();
    for dep in xtask["dependencies"].as_array().into_iter().flatten().filter(|dep| dep["kind"].is_null()) {
        // Only what this OS builds: cargo cannot build a package it did not resolve for it.
        let built_here = match dep["target"].as_str() {
            None => true,
            Some("cfg(unix)") => cfg!(unix),
            Some("cfg(windows)") => cfg!(windows),
            Some(other) => bail!("the bench knows no platform `{other}` of the xtask's dependencies"),
        };
        if built_here {
            names.extend(dep["name"].as_str().map(str::to_owned));
        }
    }
    Ok(names)
}

pub(super) fn copy_tree(from: &Utf8Path, to: &Utf8Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in from.read_dir_utf8()? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
