//! End-to-end tests of `adopt`: this xtask copied into fixture workspaces of our own, then run
//! there through the alias it added, as users would.

mod support;

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
    process::Output,
};

use support::*;

/// Every file under `dir` and its bytes, to show that a refusal changed nothing.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(dir: &Path, found: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, found)
            } else {
                found.insert(path.clone(), fs::read(&path).unwrap());
            }
        }
    }
    let mut found = BTreeMap::new();
    walk(dir, &mut found);
    found
}

fn adopt(sandbox: &Sandbox, args: &[&str]) -> Output {
    sandbox.command(XTASK, "home").arg("adopt").args(args).output().unwrap()
}

/// A host with a root package and one member, a commented members list, an alias of its own
/// and a rustfmt.toml that would reformat the xtask.
fn host(sandbox: &Sandbox) -> PathBuf {
    sandbox.write(
        "host/Cargo.toml",
        "[package]\nname = \"host\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [workspace]\nmembers = [\n    \"crates/*\", # every crate\n]\n",
    );
    sandbox.write("host/src/main.rs", "fn main() {}\n");
    sandbox.write("host/crates/one/Cargo.toml", "[package]\nname = \"one\"\nversion = \"0.1.0\"\nedition = \"2021\"\n");
    sandbox.write("host/crates/one/src/lib.rs", "");
    sandbox.write("host/.cargo/config.toml", "# ours\n[alias]\nb = \"build\"\n");
    sandbox.write("host/rustfmt.toml", "max_width = 60\nhard_tabs = true\n");
    sandbox.write("host/.gitignore", "/target\n");
    sandbox.path("host")
}

/// The copy's directory and package: this package's name, `xtask` unless the workspace that
/// holds this copy renamed it.
const NAME: &str = env!("CARGO_PKG_NAME");

#[test]
fn adopt_copies_the_crate_adds_member_and_alias_and_the_xtask_runs_there() {
    let sandbox = Sandbox::new("adopt");
    let host = host(&sandbox);
    let dry = adopt(&sandbox, &[host.to_str().unwrap(), "--dry-run"]);
    assert_success(&dry, "adopt --dry-run");
    assert!(!host.join(NAME).exists(), "--dry-run copied something");
    assert!(text(&dry.stdout).contains(&format!("add \"{NAME}\" to workspace.members")), "{}", text(&dry.stdout));

    let output = adopt(&sandbox, &[host.to_str().unwrap()]);
    assert_success(&output, "adopt");
    assert_eq!(
        fs::read_to_string(host.join("Cargo.toml")).unwrap(),
        "[package]\nname = \"host\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [workspace]\nmembers = [\n    \"crates/*\", # every crate\n    \"xtask\",\n]\n"
            .replace("\"xtask\"", &format!("\"{NAME}\""))
    );
    let config = fs::read_to_string(host.join(".cargo/config.toml")).unwrap();
    assert!(
        config.starts_with(&format!("# ours\n[alias]\nb = \"build\"\nxtask = [\"run\", \"--package\", \"{NAME}\"")),
        "{config}"
    );
    assert!(host.join(NAME).join("src/main.rs").is_file() && host.join(NAME).join("rustfmt.toml").is_file());
    assert_eq!(fs::read_to_string(host.join(".gitignore")).unwrap(), "/target\n/lcov.info\n");
    assert!(text(&output.stdout).contains("cargo xtask doctor"), "{}", text(&output.stdout));

    // The alias this repository uses (whatever its name) is the one adopt writes.
    let ours = fs::read_to_string(repo_root().join(".cargo/config.toml")).unwrap();
    let value = config.lines().find_map(|line| line.strip_prefix("xtask = ")).unwrap();
    assert!(ours.lines().any(|ours| ours.split_once(" = ").is_some_and(|(_, ours)| ours == value)), "{value}");

    // Built offline from this machine's registry, the copy runs there, sees the host's members,
    // and leaves itself out of coverage; the host's rustfmt.toml does not reformat it.
    let cargo_home = std::env::var_os("CARGO_HOME").map_or_else(|| home_dir().join(".cargo"), Into::into);
    let mut info = sandbox.command(cargo(), "host");
    info.args(["xtask", "info", "--json"]).env("CARGO_HOME", &cargo_home).env("CARGO_NET_OFFLINE", "true");
    let info = info.output().unwrap();
    assert_success(&info, "cargo xtask info in the host");
    let json: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    let members: Vec<&str> = json["members"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(members, ["host", "one", NAME], "{json:#}");
    let fmt = sandbox
        .command(cargo(), "host")
        .args(["fmt", "-p", NAME, "--check"])
        .env("CARGO_HOME", &cargo_home)
        .output()
        .unwrap();
    assert_success(&fmt, "cargo fmt --check of the copy, under the host's rustfmt.toml");
    let dry_coverage = sandbox
        .command(cargo(), "host")
        .args(["xtask", "coverage", "--dry-run"])
        .env("CARGO_HOME", &cargo_home)
        .env("CARGO_NET_OFFLINE", "true")
        .output()
        .unwrap();
    let plan = text(&dry_coverage.stdout);
    assert!(
        plan.contains("-p host -p one") && !plan.contains(&format!("-p {NAME}")),
        "{plan}\n{}",
        text(&dry_coverage.stderr)
    );

    // A second adoption finds the directory taken, and changes nothing.
    let before = snapshot(&host);
    let again = adopt(&sandbox, &[host.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(1), "{}", text(&again.stderr));
    assert!(text(&again.stderr).contains("--name xtask-ci"), "{}", text(&again.stderr));
    assert_eq!(snapshot(&host), before);
}

#[test]
fn an_alias_of_that_name_that_runs_something_else_is_refused_and_another_name_works() {
    let sandbox = Sandbox::new("adopt-alias");
    let host = host(&sandbox);
    sandbox.write("host/.cargo/config.toml", "[alias]\nxtask = \"run --manifest-path ./tools/Cargo.toml --\"\n");
    let before = snapshot(&host);
    let refused = adopt(&sandbox, &[host.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused.stderr));
    assert!(text(&refused.stderr).contains("already has the alias `xtask`"), "{}", text(&refused.stderr));
    assert_eq!(snapshot(&host), before, "a refusal changes nothing");

    let named = adopt(&sandbox, &[host.to_str().unwrap(), "--name", "xtask-ci", "--alias", "xtask-ci"]);
    assert_success(&named, "adopt --name xtask-ci --alias xtask-ci");
    let config = fs::read_to_string(host.join(".cargo/config.toml")).unwrap();
    assert!(
        config.contains(
            "xtask = \"run --manifest-path ./tools/Cargo.toml --\"\nxtask-ci = [\"run\", \"--package\", \"xtask-ci\""
        ),
        "{config}"
    );
    assert!(fs::read_to_string(host.join("xtask-ci/Cargo.toml")).unwrap().contains("name = \"xtask-ci\""));
    for bad in [&["--name", "../up"][..], &["--alias", "two words"]] {
        let output = adopt(&sandbox, &[&[host.to_str().unwrap()][..], bad].concat());
        assert_eq!(output.status.code(), Some(2), "{bad:?}: {}", text(&output.stderr));
    }
    let missing = adopt(&sandbox, &[sandbox.path("nowhere").to_str().unwrap()]);
    assert!(text(&missing.stderr).contains("is not a directory that exists"), "{}", text(&missing.stderr));
}

/// A git repository holding an xtask crate of a few files at `repo/xtask`, as a source for `--from`.
struct Source<'a> {
    sandbox: &'a Sandbox,
}

impl Source<'_> {
    fn write(&self, file: &str, text: &str) {
        self.sandbox.write(&format!("repo/xtask/{file}"), text);
    }

    /// Commits everything; the new commit.
    fn commit(&self, message: &str) -> String {
        for args in
            [&["add", "--all"][..], &["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", message]]
        {
            let output = self.sandbox.command("git", "repo").args(args).output().unwrap();
            assert_success(&output, &format!("git {args:?}"));
        }
        let head = self.sandbox.command("git", "repo").args(["rev-parse", "HEAD"]).output().unwrap();
        text(&head.stdout).trim().to_owned()
    }

    fn crate_dir(&self) -> PathBuf {
        self.sandbox.path("repo/xtask")
    }
}

fn lines(changed: &[(usize, &str)]) -> String {
    (1..=12)
        .map(|n| changed.iter().find(|(at, _)| *at == n).map_or(format!("line {n}\n"), |(_, text)| format!("{text}\n")))
        .collect()
}

#[test]
fn update_replaces_merges_and_marks_conflicts_keeping_the_workspaces_own_changes() {
    let sandbox = Sandbox::new("adopt-update");
    let host = host(&sandbox);
    let source = Source { sandbox: &sandbox };
    let init = sandbox.command("git", "home").args(["init", "-q"]).arg(sandbox.path("repo")).output().unwrap();
    assert_success(&init, "git init");
    source.write("Cargo.toml", "[package]\nname = \"xtask\"\nversion = \"0.1.0\"\nedition = \"2021\"\n");
    for file in
        ["src/adopt.rs", "src/merged.rs", "src/conflict.rs", "src/gone.rs", "src/gone_changed.rs", "src/deleted.rs"]
    {
        source.write(file, &lines(&[]));
    }
    let v1 = source.commit("v1");
    let from = source.crate_dir();
    let (host_arg, from_arg) = (host.to_str().unwrap(), from.to_str().unwrap());
    let adopted = adopt(&sandbox, &[host_arg, "--from", from_arg, "--name", "tools", "--alias", "tools"]);
    assert_success(&adopted, "adopt --from --name tools");
    let record: serde_json::Value = serde_json::from_str(&read(&host.join("tools/adopted.json"))).unwrap();
    assert_eq!(record["commit"], v1.as_str(), "{record:#}");
    assert_eq!(record["prefix"], "xtask/", "{record:#}");

    // The workspace's own changes.
    let copy = host.join("tools");
    fs::write(copy.join("src/merged.rs"), lines(&[(2, "ours 2")])).unwrap();
    fs::write(copy.join("src/conflict.rs"), lines(&[(6, "ours 6")])).unwrap();
    fs::write(copy.join("src/gone_changed.rs"), lines(&[(1, "ours 1")])).unwrap();
    fs::write(copy.join("src/mine.rs"), "ours alone\n").unwrap();
    fs::remove_file(copy.join("src/deleted.rs")).unwrap();

    // The newer xtask.
    source.write("Cargo.toml", "[package]\nname = \"xtask\"\nversion = \"0.2.0\"\nedition = \"2021\"\n");
    source.write("src/adopt.rs", &lines(&[(3, "new 3")]));
    source.write("src/merged.rs", &lines(&[(11, "new 11")]));
    source.write("src/conflict.rs", &lines(&[(6, "new 6")]));
    source.write("src/added.rs", "new file\n");
    for file in ["src/gone.rs", "src/gone_changed.rs"] {
        fs::remove_file(source.crate_dir().join(file)).unwrap();
    }
    let v2 = source.commit("v2");

    let update = |extra: &[&str]| {
        adopt(&sandbox, &[&[host_arg, "--update", "--from", from_arg, "--name", "tools"][..], extra].concat())
    };
    let before = snapshot(&host);
    let dry = update(&["--dry-run"]);
    assert_success(&dry, "adopt --update --dry-run");
    assert_eq!(snapshot(&host), before, "--dry-run wrote something");
    let plan = text(&dry.stdout);
    for line in [
        "src/adopt.rs: would replace",
        "src/merged.rs: would merge: clean",
        "src/conflict.rs: would merge: 1 conflict",
        "src/added.rs: would add",
        "src/gone.rs: would remove",
        "src/gone_changed.rs: keep: removed upstream, but changed here",
        "Cargo.toml: would replace",
    ] {
        assert!(plan.contains(line), "{line} in:\n{plan}");
    }
    assert!(!plan.contains("src/mine.rs") && !plan.contains("src/deleted.rs"), "{plan}");

    let updated = update(&[]);
    assert_eq!(updated.status.code(), Some(1), "{}", text(&updated.stderr));
    assert!(
        text(&updated.stderr).contains("conflicts marked (<<<<<<< … >>>>>>>) in src/conflict.rs"),
        "{}",
        text(&updated.stderr)
    );
    assert_eq!(read(&copy.join("src/adopt.rs")), lines(&[(3, "new 3")]));
    assert_eq!(read(&copy.join("src/merged.rs")), lines(&[(2, "ours 2"), (11, "new 11")]));
    let conflict = read(&copy.join("src/conflict.rs"));
    assert!(
        conflict.contains(
            "<<<<<<< src/conflict.rs (this workspace)\nours 6\n=======\nnew 6\n>>>>>>> src/conflict.rs (new xtask)\n"
        ),
        "{conflict}"
    );
    assert_eq!(read(&copy.join("src/added.rs")), "new file\n");
    assert!(!copy.join("src/gone.rs").exists() && !copy.join("src/deleted.rs").exists());
    assert_eq!(read(&copy.join("src/gone_changed.rs")), lines(&[(1, "ours 1")]));
    assert_eq!(read(&copy.join("src/mine.rs")), "ours alone\n");
    assert_eq!(
        read(&copy.join("Cargo.toml")),
        "[package]\nname = \"tools\"\nversion = \"0.2.0\"\nedition = \"2021\"\n"
    );
    let record: serde_json::Value = serde_json::from_str(&read(&copy.join("adopted.json"))).unwrap();
    assert_eq!(record["commit"], v2.as_str());
    assert!(record["files"].get("src/gone_changed.rs").is_none(), "now the workspace's: {record:#}");

    // Resolved by hand, the next update (nothing new upstream) keeps every change made here.
    fs::write(copy.join("src/conflict.rs"), lines(&[(6, "both 6")])).unwrap();
    let before = snapshot(&host);
    let again = update(&[]);
    assert_success(&again, "a second adopt --update");
    assert!(text(&again.stdout).contains("0 of its files changed"), "{}", text(&again.stdout));
    assert_eq!(snapshot(&host), before, "the record, too, is as it was");

    // A copy without its record cannot be told apart from the workspace's changes.
    fs::remove_file(copy.join("adopted.json")).unwrap();
    let before = snapshot(&host);
    let unknown = update(&[]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(text(&unknown.stderr).contains("has no adopted.json"), "{}", text(&unknown.stderr));
    assert_eq!(snapshot(&host), before);
}

#[test]
fn adopting_is_all_or_nothing_when_a_file_cannot_be_written() {
    let sandbox = Sandbox::new("adopt-all-or-nothing");
    let host = host(&sandbox);
    let before = snapshot(&host);
    let set_readonly = |relative: &str, readonly: bool| {
        let path = host.join(relative);
        let mut permissions = fs::metadata(&path).unwrap().permissions();
        permissions.set_readonly(readonly);
        fs::set_permissions(&path, permissions).unwrap();
    };
    for file in ["Cargo.toml", ".cargo/config.toml", ".gitignore"] {
        set_readonly(file, true);
        let output = adopt(&sandbox, &[host.to_str().unwrap()]);
        set_readonly(file, false);
        assert!(!output.status.success(), "adopt with {file} read-only succeeded");
        assert!(stderr(&output).contains("is read-only"), "{file}: {}", stderr(&output));
        assert_eq!(snapshot(&host), before, "{file} read-only: the workspace changed");
    }
    // A step that fails after the copy and the first edits (no .gitignore can be appended to a
    // directory): the copy goes, the edited files come back.
    fs::remove_file(host.join(".gitignore")).unwrap();
    fs::create_dir(host.join(".gitignore")).unwrap();
    let before = snapshot(&host);
    let output = adopt(&sandbox, &[host.to_str().unwrap()]);
    assert!(!output.status.success(), "adopt with a directory for .gitignore succeeded");
    assert!(stderr(&output).contains("nothing was adopted"), "{}", stderr(&output));
    assert_eq!(snapshot(&host), before, "a failed adoption left changes");
    assert!(!host.join(NAME).exists(), "the copy is still there");
}

/// A file adopt edits that leads outside the workspace through a link (its own, or that of a
/// directory on the way) is refused before anything changes, on either side of the link; a link
/// within the workspace is followed and stays a link.
#[cfg(unix)]
#[test]
fn files_that_lead_outside_through_a_link_are_refused_and_links_inside_are_kept() {
    use std::os::unix::fs::symlink;
    let sandbox = Sandbox::new("adopt-links");
    let host = host(&sandbox);
    sandbox.write("elsewhere/Cargo.toml", &read(&host.join("Cargo.toml")));
    sandbox.write("elsewhere/cargo/config.toml", "# shared by several projects\n");
    let elsewhere = sandbox.path("elsewhere");
    fs::remove_file(host.join("Cargo.toml")).unwrap();
    symlink(elsewhere.join("Cargo.toml"), host.join("Cargo.toml")).unwrap();
    let before = (snapshot(&host), snapshot(&elsewhere));
    let output = adopt(&sandbox, &[host.to_str().unwrap()]);
    assert!(!output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).contains("Cargo.toml leads through a link to"), "{}", stderr(&output));
    assert_eq!((snapshot(&host), snapshot(&elsewhere)), before, "a refused adoption changed something");

    // The manifest back as a file; now the directory `.cargo` is a link to elsewhere.
    fs::remove_file(host.join("Cargo.toml")).unwrap();
    fs::copy(elsewhere.join("Cargo.toml"), host.join("Cargo.toml")).unwrap();
    fs::remove_dir_all(host.join(".cargo")).unwrap();
    symlink(elsewhere.join("cargo"), host.join(".cargo")).unwrap();
    let before = (snapshot(&host), snapshot(&elsewhere));
    let output = adopt(&sandbox, &[host.to_str().unwrap()]);
    assert!(stderr(&output).contains("config.toml leads through a link to"), "{}", stderr(&output));
    assert_eq!((snapshot(&host), snapshot(&elsewhere)), before, "a refused adoption changed something");

    // Links that stay inside the workspace are followed, and stay links.
    fs::remove_file(host.join(".cargo")).unwrap();
    sandbox.write("host/config/cargo.toml", "# ours\n");
    sandbox.write("host/config/gitignore", "/target\n");
    fs::create_dir(host.join(".cargo")).unwrap();
    symlink("../config/cargo.toml", host.join(".cargo/config.toml")).unwrap();
    fs::remove_file(host.join(".gitignore")).unwrap();
    symlink("config/gitignore", host.join(".gitignore")).unwrap();
    let output = adopt(&sandbox, &[host.to_str().unwrap()]);
    assert_success(&output, "adopt with links inside the workspace");
    assert!(fs::symlink_metadata(host.join(".cargo/config.toml")).unwrap().is_symlink());
    assert!(read(&host.join("config/cargo.toml")).contains("[alias]"), "the alias went into the linked file");
    assert!(read(&host.join("config/gitignore")).contains("/lcov.info"), "the report went into the linked file");
}

#[test]
fn a_bom_crlf_manifest_and_a_legacy_cargo_config_keep_their_bytes() {
    let sandbox = Sandbox::new("adopt-crlf");
    let host = host(&sandbox);
    let manifest = format!("\u{feff}{}", read(&host.join("Cargo.toml")).replace('\n', "\r\n"));
    sandbox.write("host/Cargo.toml", &manifest);
    fs::remove_file(host.join(".cargo/config.toml")).unwrap();
    sandbox.write("host/.cargo/config", "[alias]\r\nb = \"build\"\r\n");
    let output = adopt(&sandbox, &[host.to_str().unwrap()]);
    assert_success(&output, "adopt into a BOM and CRLF manifest with a legacy .cargo/config");
    let adopted = read(&host.join("Cargo.toml"));
    assert!(adopted.starts_with("\u{feff}[package]\r\n"), "{adopted:?}");
    assert!(adopted.contains(&format!("    \"{NAME}\",\r\n")), "{adopted:?}");
    assert!(!adopted.replace("\r\n", "").contains('\n'), "every line ends in CRLF: {adopted:?}");
    assert!(!host.join(".cargo/config.toml").exists(), "the legacy file is the one cargo reads");
    let config = read(&host.join(".cargo/config"));
    assert!(
        config.starts_with("[alias]\r\nb = \"build\"\r\n") && config.contains(&format!("{NAME} = [")),
        "{config:?}"
    );
}
