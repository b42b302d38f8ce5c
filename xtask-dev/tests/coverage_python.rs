//! End-to-end tests of `cargo xtask coverage` measuring pyo3 crates through their Python tests:
//! the built xtask with the real cargo-llvm-cov, pyo3 (from this machine's registry, offline),
//! Python's venv, maturin and pytest (from the wheel directory that `cargo dev ci` fills, with
//! pip's index switched off: nothing is fetched), and sccache on a server of the test's own.

#[path = "../../xtask/tests/support/mod.rs"]
mod support;

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use support::*;

/// Where `cargo dev ci` puts the wheels of maturin and pytest (see `ci.rs`).
fn wheel_dir() -> PathBuf {
    let dir = Path::new(XTASK).parent().and_then(Path::parent).unwrap().join("python-wheels");
    let found = fs::read_dir(&dir).ok().into_iter().flatten().filter_map(Result::ok).map(|entry| entry.file_name());
    let names: Vec<String> = found.map(|name| name.to_string_lossy().into_owned()).collect();
    assert!(
        ["maturin-", "pytest-"].iter().all(|prefix| names.iter().any(|name| name.starts_with(prefix))),
        "the wheels of maturin and pytest are needed in {}; get them with: python3 -m pip download --dest {} \
         maturin==1.16.0 pytest==9.2.0 (`cargo dev ci` does)",
        dir.display(),
        dir.display()
    );
    dir
}

/// A workspace with `words` (plain Rust), `pyext` (a pyo3 module: its Rust test calls `shout`
/// only, its Python tests `whisper` too) and `mixed` (maturin's mixed layout, `python-source`,
/// its tests in a directory the settings name; only Python calls `triple`).
fn python_workspace(sandbox: &Sandbox) {
    sandbox.write(
        "ws/Cargo.toml",
        "[workspace]\nresolver = \"3\"\nmembers = [\"words\", \"pyext\", \"mixed\"]\n\n\
         [workspace.metadata.xtask.coverage.python.mixed]\ntests = [\"py_tests\"]\npytest-args = [\"-v\"]\n",
    );
    let package = |name: &str, lib: &str, deps: &str| {
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n{lib}\n[dependencies]\n{deps}"
        )
    };
    let pyo3 = "pyo3 = \"0.30\"\n";
    let cdylib = |name: &str| format!("[lib]\nname = \"{name}\"\ncrate-type = [\"cdylib\", \"rlib\"]\n");
    sandbox.write("ws/words/Cargo.toml", &package("words", "", ""));
    sandbox.write(
        "ws/words/src/lib.rs",
        "pub fn shout(text: &str) -> String {\n    format!(\"{}!\", text.to_uppercase())\n}\n\n\
         pub fn whisper(text: &str) -> String {\n    let quiet = text.to_lowercase(); // whisper's body\n    \
         format!(\"{quiet}...\")\n}\n",
    );
    sandbox.write(
        "ws/pyext/Cargo.toml",
        &package("pyext", &cdylib("pyext"), &format!("words = {{ path = \"../words\" }}\n{pyo3}")),
    );
    sandbox.write(
        "ws/pyext/src/lib.rs",
        r#"use pyo3::prelude::*;

#[pyfunction]
fn shout(text: &str) -> String {
    words::shout(text)
}

#[pyfunction]
fn whisper(text: &str) -> String {
    words::whisper(text)
}

#[pymodule]
fn pyext(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(shout, module)?)?;
    module.add_function(wrap_pyfunction!(whisper, module)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn shouts() {
        assert_eq!(super::shout("hi"), "HI!");
    }
}
"#,
    );
    let pyproject = |name: &str, maturin: &str| {
        format!(
            "[build-system]\nrequires = [\"maturin>=1.7,<2\"]\nbuild-backend = \"maturin\"\n\n\
             [project]\nname = \"{name}\"\nversion = \"0.1.0\"\n\n\
             [tool.maturin]\nfeatures = [\"pyo3/extension-module\"]\n{maturin}"
        )
    };
    sandbox.write("ws/pyext/pyproject.toml", &pyproject("pyext", ""));
    sandbox.write(
        "ws/pyext/tests/test_pyext.py",
        "import os\nimport pyext\n\n\ndef test_shout():\n    assert pyext.shout(\"hi\") == \"HI!\"\n\n\n\
         def test_whisper():\n    assert pyext.whisper(\"HI\") == \"hi...\"\n\n\n\
         def test_fails_when_asked():\n    assert \"FIXTURE_PY_FAIL\" not in os.environ\n",
    );
    sandbox.write("ws/mixed/Cargo.toml", &package("mixed", &cdylib("mixed_native"), pyo3));
    sandbox.write(
        "ws/mixed/src/lib.rs",
        r#"use pyo3::prelude::*;

#[pyfunction]
fn triple(x: i64) -> i64 {
    x * 3 // triple's body
}

#[pymodule]
fn mixed_native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(triple, module)?)
}
"#,
    );
    sandbox.write(
        "ws/mixed/pyproject.toml",
        &pyproject("mixed", "python-source = \"python\"\nmodule-name = \"mixed.mixed_native\"\n"),
    );
    sandbox.write(
        "ws/mixed/python/mixed/__init__.py",
        "from .mixed_native import triple\n\n\ndef nine(x):\n    return triple(triple(x))\n",
    );
    sandbox.write(
        "ws/mixed/py_tests/test_mixed.py",
        "import mixed\n\n\ndef test_nine():\n    assert mixed.nine(2) == 18\n",
    );
    let lock = offline(sandbox.command(cargo(), "ws")).args(["generate-lockfile", "--offline"]).output().unwrap();
    assert_success(
        &lock,
        "cargo generate-lockfile --offline (pyo3 0.30 must be in this machine's registry: `cargo fetch` in this repository puts it there)",
    );
}

/// Builds from the registry already on this machine, and pip only from the wheel directory.
fn offline(mut cmd: Command) -> Command {
    let cargo_home = std::env::var_os("CARGO_HOME").map_or_else(|| home_dir().join(".cargo"), Into::into);
    cmd.env("CARGO_HOME", cargo_home).env("CARGO_NET_OFFLINE", "true");
    cmd
}

fn xtask(sandbox: &Sandbox, wheels: &Path) -> Command {
    require_tool(&cargo(), &["llvm-cov", "--version"], "cargo install cargo-llvm-cov --locked");
    let mut cmd = offline(sandbox.command(XTASK, "ws"));
    cmd.env("PIP_NO_INDEX", "1").env("PIP_FIND_LINKS", wheels).env_remove("CI").env_remove("BROWSER");
    cmd
}

/// The execution count LCOV gives the line of `file` (ending so) that holds `marker`.
fn hits(lcov: &str, file: &str, source: &str, marker: &str) -> u64 {
    let line = source.lines().position(|line| line.contains(marker)).unwrap() + 1;
    let record = lcov
        .split("end_of_record")
        .find(|record| record.lines().any(|l| l.starts_with("SF:") && l.ends_with(file)))
        .unwrap_or_else(|| panic!("no record of {file} in the LCOV report:\n{lcov}"));
    record
        .lines()
        .filter_map(|l| l.strip_prefix(&format!("DA:{line},")))
        .map(|count| count.split(',').next().unwrap().parse::<u64>().unwrap())
        .sum()
}

fn describe(output: &Output) -> String {
    format!("{}\nstdout:\n{}\nstderr:\n{}", output.status, text(&output.stdout), text(&output.stderr))
}

/// Every file under `dir`, relative to it, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        for entry in fs::read_dir(&next).unwrap().map(Result::unwrap) {
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else {
                found.push(entry.path().strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    found.sort();
    found
}

/// The Python tests' lines count in the report, with both layouts; `--no-python-tests` leaves
/// them out; nothing is installed or written outside the coverage build (the user's own
/// virtualenv, home and crates stay as they were); and a second run from an empty coverage
/// directory gets the instrumented build's dependencies from sccache.
#[test]
fn python_tests_count_in_the_report_and_touch_nothing_of_the_users() {
    let wheels = wheel_dir();
    let sandbox = Sandbox::new("cov-pytest");
    python_workspace(&sandbox);
    // The user's own virtualenv is active: pyo3 builds against its Python, and it stays as it is.
    let python = if cfg!(windows) { "python" } else { "python3" };
    let venv = Command::new(python).arg("-m").arg("venv").arg(sandbox.path("user-venv")).output().unwrap();
    assert_success(&venv, "python3 -m venv user-venv");
    let users_files = files(&sandbox.path("user-venv"));
    sandbox.write("shadow/pyext.py", "raise ImportError('the module on PYTHONPATH was tested, not the built one')\n");
    let crates_files: Vec<Vec<String>> =
        ["pyext", "mixed", "words"].iter().map(|name| files(&sandbox.path(&format!("ws/{name}")))).collect();
    let sccache = Sccache::new(&sandbox);
    let coverage = |extra: &[&str]| {
        let mut cmd = xtask(&sandbox, &wheels);
        sccache.configure(&mut cmd).env("VIRTUAL_ENV", sandbox.path("user-venv"));
        // What a user's shell may hold that would test another module or install elsewhere.
        cmd.env("PYTHONPATH", sandbox.path("shadow"))
            .env("PIP_TARGET", sandbox.path("pip-target"))
            .env("PIP_PREFIX", sandbox.path("pip-prefix"))
            .env("PIP_USER", "1");
        let output = cmd.args(["coverage", "--mode", "lcov", "--mode", "text"]).args(extra).output().unwrap();
        assert_success(&output, &format!("xtask coverage {extra:?}"));
        (fs::read_to_string(sandbox.path("ws/lcov.info")).unwrap(), output)
    };
    let words = fs::read_to_string(sandbox.path("ws/words/src/lib.rs")).unwrap();
    let mixed = fs::read_to_string(sandbox.path("ws/mixed/src/lib.rs")).unwrap();

    let doctor = || {
        let mut cmd = xtask(&sandbox, &wheels);
        let output = sccache
            .configure(&mut cmd)
            .env("VIRTUAL_ENV", sandbox.path("user-venv"))
            .args(["doctor", "--json"])
            .output()
            .unwrap();
        let findings: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let about_pyext =
            findings["findings"].as_array().into_iter().flatten().filter_map(|finding| finding["what"].as_str());
        about_pyext.filter(|what| what.starts_with("`pyext`'s Python tests")).map(str::to_owned).collect::<Vec<_>>()
    };
    let before = doctor();
    assert!(
        before.len() == 1
            && before[0]
                .contains("the next coverage run makes their environment with maturin>=1.7,<2 maturin>=1.8 pytest"),
        "{before:?}"
    );

    let (with_python, output) = coverage(&[]);
    let after = doctor();
    assert!(after.len() == 1 && after[0].contains("ready (maturin 1.16.0, pytest 9.2.0)"), "{after:?}");
    let stdout = text(&output.stdout);
    assert!(hits(&with_python, "words/src/lib.rs", &words, "whisper's body") > 0, "{}", describe(&output));
    assert!(hits(&with_python, "mixed/src/lib.rs", &mixed, "triple's body") > 0, "{}", describe(&output));
    assert!(hits(&with_python, "words/src/lib.rs", &words, "to_uppercase") > 0);
    let python_line = stdout.lines().find(|line| line.starts_with("Python tests (their coverage is included above): "));
    let python_line = python_line.unwrap_or_else(|| panic!("no line on the Python tests: {}", describe(&output)));
    assert!(python_line.contains("pyext: 3 passed") && python_line.contains("mixed: 1 passed"), "{python_line}");
    let stderr = text(&output.stderr);
    assert!(stderr.contains("pyext: making the Python environment"), "{stderr}");
    assert!(stderr.contains("mixed: Python tests (py_tests)"), "{stderr}");
    assert_eq!(files(&sandbox.path("user-venv")), users_files, "the user's virtualenv must stay as it was");
    for elsewhere in ["pip-target", "pip-prefix", "home/.local"] {
        assert!(!sandbox.path(elsewhere).exists(), "pip installed into {elsewhere}");
    }
    let crates_after: Vec<Vec<String>> =
        ["pyext", "mixed", "words"].iter().map(|name| files(&sandbox.path(&format!("ws/{name}")))).collect();
    assert_eq!(crates_after, crates_files, "nothing may be written into the crates (no .so, cache or bytecode)");
    assert!(!sandbox.path("home/.local").exists(), "nothing may be installed into the user's site-packages");

    let (without_python, output) = coverage(&["--no-python-tests"]);
    assert_eq!(hits(&without_python, "words/src/lib.rs", &words, "whisper's body"), 0, "{}", describe(&output));
    assert_eq!(hits(&without_python, "mixed/src/lib.rs", &mixed, "triple's body"), 0);
    assert!(hits(&without_python, "words/src/lib.rs", &words, "to_uppercase") > 0);
    assert!(!text(&output.stdout).contains("Python tests"), "{}", describe(&output));

    let (again, output) = coverage(&[]);
    assert_eq!(again, with_python, "a second run gives the same report");
    assert!(text(&output.stderr).contains("pyext: reusing the Python environment"), "{}", describe(&output));

    // From an empty coverage directory: the module's dependencies (pyo3 with the extension-module
    // feature, which only maturin's build has) come from the cache.
    let counts = |field: &str| sccache.stats()["stats"][field]["counts"]["Rust"].as_u64().unwrap_or(0);
    let (misses, hits_before) = (counts("cache_misses"), counts("cache_hits"));
    assert!(misses > 0, "sccache compiled nothing: {}", sccache.stats());
    fs::remove_dir_all(sandbox.path("ws/target/llvm-cov-target")).unwrap();
    let (fresh, output) = coverage(&[]);
    assert_eq!(fresh, with_python, "{}", describe(&output));
    assert_eq!(counts("cache_misses"), misses, "every cacheable compilation must hit: {}", sccache.stats());
    assert!(counts("cache_hits") > hits_before, "{}", sccache.stats());
}

/// A failing Python test fails the run like a failing Rust test: the reports are written from
/// what ran, and the exit code is 1.
#[test]
fn a_failing_python_test_gives_the_reports_and_exit_1() {
    let wheels = wheel_dir();
    let sandbox = Sandbox::new("cov-pytest-fail");
    python_workspace(&sandbox);
    let output = xtask(&sandbox, &wheels)
        .args(["coverage", "--mode", "lcov", "--json", "-p", "pyext"])
        .env("RUSTC_WRAPPER", "")
        .env("FIXTURE_PY_FAIL", "1")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let lcov = fs::read_to_string(sandbox.path("ws/lcov.info")).unwrap();
    let pyext = fs::read_to_string(sandbox.path("ws/pyext/src/lib.rs")).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["tests_failed"], true, "{json:#}");
    assert_eq!(json["python_tests"][0]["crate"], "pyext");
    assert_eq!(
        (json["python_tests"][0]["passed"].as_u64(), json["python_tests"][0]["failed"].as_u64()),
        (Some(2), Some(1))
    );
    assert!(
        text(&output.stderr).contains("tests failed, so the coverage figures are partial"),
        "{}",
        describe(&output)
    );
    assert!(hits(&lcov, "pyext/src/lib.rs", &pyext, "words::whisper(text)") > 0, "the tests that passed count: {lcov}");
}

#[test]
fn a_hanging_python_test_is_stopped_at_its_time_limit_and_named() {
    let wheels = wheel_dir();
    let sandbox = Sandbox::new("cov-pytest-hang");
    python_workspace(&sandbox);
    let manifest = fs::read_to_string(sandbox.path("ws/Cargo.toml")).unwrap();
    sandbox.write(
        "ws/Cargo.toml",
        &format!("{manifest}\n[workspace.metadata.xtask.coverage.python.pyext]\ntimeout-seconds = 20\n"),
    );
    sandbox.write(
        "ws/pyext/tests/test_hangs.py",
        "import os, time\n\n\ndef test_hangs_when_asked():\n    while \"FIXTURE_PY_HANG\" in os.environ:\n        time.sleep(1)\n",
    );
    let started = std::time::Instant::now();
    let output = xtask(&sandbox, &wheels)
        .args(["coverage", "--mode", "lcov", "-p", "pyext"])
        .env("RUSTC_WRAPPER", "")
        .env("FIXTURE_PY_HANG", "1")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert!(text(&output.stderr).contains("pytest did not finish within 20 s"), "{}", describe(&output));
    assert!(text(&output.stderr).contains("timeout-seconds"), "{}", describe(&output));
    assert!(started.elapsed() < std::time::Duration::from_secs(600), "the run waited for the hang");
    assert!(sandbox.path("ws/lcov.info").exists(), "the Rust tests' report is written all the same");
}

#[test]
fn flags_the_module_build_cannot_follow_are_refused_before_anything_runs() {
    let wheels = wheel_dir();
    let sandbox = Sandbox::new("cov-pytest-refused");
    python_workspace(&sandbox);
    for flag in [&["--release"][..], &["--profile", "ci"], &["--target", "x86_64-unknown-linux-gnu"], &["--branch"]] {
        let output = xtask(&sandbox, &wheels).args(["coverage", "--clean", "-p", "pyext"]).args(flag).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{flag:?}: {}", describe(&output));
        let stderr = text(&output.stderr);
        assert!(
            stderr.contains(&format!("{} does not work with the Python tests of `pyext`", flag[0]))
                && stderr.contains("--no-python-tests"),
            "{stderr}"
        );
        assert!(!sandbox.path("ws/target").exists(), "{flag:?}: nothing may be built or made");
    }
}
