//! The pyo3 crates' Python tests, measured in the same report as the Rust tests.
//!
//! Each measured pyo3 member that maturin builds and that has pytest tests gets a virtual environment
//! under the coverage build directory (maturin, pytest, its test dependencies). After the Rust tests,
//! maturin builds the extension module there with every variable of `cargo llvm-cov show-env` (its
//! issue #304), so it is instrumented and its dependencies come from sccache; pytest writes its
//! profiles beside the Rust tests', which `report` merges. Nothing is installed anywhere else, and
//! nothing is written into the crate: no wheel in place, no `.pytest_cache`, no `__pycache__`.

use std::time::Duration;

use anyhow::{Context, bail};
use camino::{Utf8Path, Utf8PathBuf};
use serde_json::Value;
use toml_edit::{DocumentMut, Item};
use xshell::Shell;

mod environment;

use super::{checks::GROUP, python::Python, run::files_with_extension};
use crate::{
    child::{self},
    finding::Finding,
    safe_fs,
    workspace::Member,
};
pub(super) use environment::{Commands, Outcome, Place, parse_show_env, stamp};

const SETTINGS: &str = "[workspace.metadata.xtask.coverage.python]";
/// What every environment gets besides the crate's own requirements: pytest, and a maturin that can
/// skip the manylinux audit (`--auditwheel`, 1.8): a second on a debug build, for a wheel that stays here.
const PYTEST: &str = "pytest";
const MATURIN: &str = "maturin>=1.8";
/// The record, in each environment, of what it was made from: a changed one is made again.
const STAMP: &str = "xtask-environment.txt";
/// Optional-dependency extras and dependency groups that hold a crate's test requirements.
const TEST_GROUPS: [&str; 2] = ["test", "tests"];

/// `[workspace.metadata.xtask.coverage.python.<crate>]`.
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) struct SuiteSettings {
    /// Paths for pytest, relative to the crate.
    tests: Option<Vec<String>>,
    pytest_args: Vec<String>,
    requirements: Vec<String>,
    timeout: Option<Duration>,
}

/// How long a suite's pytest may run before it is stopped: a hanging test must not hold CI's runner forever.
pub(super) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);

impl SuiteSettings {
    pub(super) fn from_table(value: &Value, name: &str) -> anyhow::Result<SuiteSettings> {
        let what = format!("{SETTINGS} {name}");
        let table = value.as_object().with_context(|| {
            format!("{what} must be a table such as {{ tests = [\"tests\"], pytest-args = [\"-x\"] }}, not {value}")
        })?;
        let mut settings = SuiteSettings::default();
        for (key, value) in table {
            if key == "timeout-seconds" {
                let seconds = value.as_u64().filter(|seconds| *seconds > 0);
                let seconds = seconds.with_context(|| format!("`{key}` in {what} must be a whole number above 0"))?;
                settings.timeout = Some(Duration::from_secs(seconds));
                continue;
            }
            let list = strings(value).with_context(|| format!("`{key}` in {what} must be a list of strings"))?;
            match key.as_str() {
                "tests" => settings.tests = Some(list),
                "pytest-args" => settings.pytest_args = list,
                "requirements" => settings.requirements = list,
                _ => bail!(
                    "unknown key `{key}` in {what}; the keys are tests, pytest-args, requirements and timeout-seconds"
                ),
            }
        }
        Ok(settings)
    }
}

fn strings(value: &Value) -> Option<Vec<String>> {
    value.as_array()?.iter().map(|item| item.as_str().map(str::to_owned)).collect()
}

/// One crate's Python tests and what running them needs.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Suite {
    pub(super) package: String,
    /// The crate's directory, which holds its `pyproject.toml`; pytest runs there.
    pub(super) dir: Utf8PathBuf,
    /// Paths for pytest; none when pytest's own configuration says what to collect.
    tests: Vec<String>,
    pytest_args: Vec<String>,
    pub(super) timeout: Duration,
    /// What its environment holds: maturin (as the build system asks), pytest, the module's own
    /// dependencies and its test extras.
    pub(super) requirements: Vec<String>,
}

/// What is on disk beside a crate's `pyproject.toml`, as far as finding its tests goes.
#[derive(Debug, Default)]
pub(super) struct Layout {
    /// `pytest.ini`, `tox.ini` or `setup.cfg` with a pytest section.
    pub(super) pytest_config_file: bool,
    /// `tests/` holds a `test_*.py` or `*_test.py`.
    pub(super) test_files: bool,
}

impl Layout {
    fn read(dir: &Utf8Path) -> Layout {
        let section =
            |file: &str, header: &str| std::fs::read_to_string(dir.join(file)).is_ok_and(|t| t.contains(header));
        let pytest_config_file =
            dir.join("pytest.ini").is_file() || section("tox.ini", "[pytest]") || section("setup.cfg", "[tool:pytest]");
        let test_file = |file: &Utf8PathBuf| {
            file.file_name().is_some_and(|name| name.starts_with("test_") || name.ends_with("_test.py"))
        };
        let test_files = files_with_extension(&dir.join("tests"), "py").unwrap_or_default().iter().any(test_file);
        Layout { pytest_config_file, test_files }
    }
}

impl Suite {
    /// The Python tests of the pyo3 `member`, with its entry of `settings`, if its project has any.
    pub(super) fn of(member: &Member, settings: &[(String, SuiteSettings)]) -> anyhow::Result<Option<Suite>> {
        let package = member.name.as_str();
        let settings = settings.iter().find(|(name, _)| name == package).map(|(_, settings)| settings);
        let (dir, pyproject) = python_project(&member.manifest_dir)?;
        let dir = dir.as_path();
        let suite = Suite::from_files(package, dir, pyproject.as_deref(), &Layout::read(dir), settings)
            .with_context(|| format!("in {}", dir.join("pyproject.toml")))?;
        if let Some(test) = suite.iter().flat_map(|suite| &suite.tests).find(|test| !dir.join(test).exists()) {
            bail!("{SETTINGS} {package}: the test path `{test}` does not exist in {dir}");
        }
        Ok(suite)
    }

    /// The suite from what the crate's files say: pure, for tests. A crate named in the settings
    /// must be one maturin builds; one that is not named has tests when pytest would find some.
    pub(super) fn from_files(
        package: &str,
        dir: &Utf8Path,
        pyproject: Option<&str>,
        layout: &Layout,
        settings: Option<&SuiteSettings>,
    ) -> anyhow::Result<Option<Suite>> {
        let named = |why: &str| match settings {
            Some(_) => bail!("{SETTINGS} names `{package}`, but {why}: only crates maturin builds have Python tests"),
            None => Ok(None),
        };
        let Some(pyproject) = pyproject else { return named("it has no pyproject.toml") };
        let doc: DocumentMut = pyproject.parse().context("pyproject.toml is not valid TOML")?;
        let at = |path: &[&str]| path.iter().try_fold(doc.as_item(), |item, key| item.get(key));
        if at(&["build-system", "build-backend"]).and_then(Item::as_str) != Some("maturin") {
            return named("its pyproject.toml does not build with maturin (build-backend = \"maturin\")");
        }
        let pytest_config =
            layout.pytest_config_file || at(&["tool", "pytest"]).is_some_and(|pytest| !pytest.is_none());
        let tests = match settings.and_then(|settings| settings.tests.clone()) {
            Some(tests) => tests,
            None if pytest_config => Vec::new(),
            None if layout.test_files => vec!["tests".to_owned()],
            None => return Ok(None),
        };
        let strings_at = |path: &[&str]| -> Vec<String> {
            let values = at(path).and_then(Item::as_array).into_iter().flatten();
            values.filter_map(|value| value.as_str().map(str::to_owned)).collect()
        };
        let mut requirements = strings_at(&["build-system", "requires"]);
        requirements.extend([MATURIN.to_owned(), PYTEST.to_owned()]);
        requirements.extend(strings_at(&["project", "dependencies"]));
        for group in TEST_GROUPS {
            requirements.extend(strings_at(&["project", "optional-dependencies", group]));
            requirements.extend(strings_at(&["dependency-groups", group]));
        }
        requirements.extend(settings.into_iter().flat_map(|settings| settings.requirements.iter().cloned()));
        // pip would take one of these as an option (`--target DIR`, `-r FILE`, `--index-url`):
        // it could install outside the environment or from elsewhere.
        if let Some(option) = requirements.iter().find(|requirement| requirement.trim_start().starts_with('-')) {
            bail!(
                "`{option}` is listed as a requirement of `{package}`'s Python tests, but it is a pip option, not a \
                 requirement: remove it (pip's own settings belong in pip.conf or PIP_* variables)"
            );
        }
        let mut seen = std::collections::HashSet::new();
        requirements.retain(|requirement| seen.insert(requirement.clone()));
        Ok(Some(Suite {
            package: package.to_owned(),
            dir: dir.to_owned(),
            tests,
            pytest_args: settings.map(|settings| settings.pytest_args.clone()).unwrap_or_default(),
            timeout: settings.and_then(|settings| settings.timeout).unwrap_or(DEFAULT_TIMEOUT),
            requirements,
        }))
    }

    /// What pytest is told to collect, relative to the crate, for messages.
    pub(super) fn collected(&self) -> String {
        if self.tests.is_empty() { "as its pytest configuration says".to_owned() } else { self.tests.join(" ") }
    }
}

/// The Python project that builds the crate in `crate_dir`, and its `pyproject.toml`: beside the
/// manifest, else the nearest one above whose maturin settings point at the manifest.
fn python_project(crate_dir: &Utf8Path) -> anyhow::Result<(Utf8PathBuf, Option<String>)> {
    let read = |dir: &Utf8Path| {
        let path = dir.join("pyproject.toml");
        safe_fs::read_regular(&path, true).with_context(|| format!("could not read {path}"))
    };
    let manifest = crate_dir.join("Cargo.toml");
    for dir in crate_dir.ancestors() {
        let Some(text) = read(dir)? else { continue };
        if dir == crate_dir || maturin_manifests(&text).iter().any(|relative| dir.join(relative) == manifest) {
            return Ok((dir.to_owned(), Some(text)));
        }
        break;
    }
    Ok((crate_dir.to_owned(), None))
}

/// The manifests maturin builds from a `pyproject.toml` in its directory: `manifest-path`, else
/// `Cargo.toml` or `rust/Cargo.toml`. Paths with `/` as written, compared after joining.
fn maturin_manifests(pyproject: &str) -> Vec<Utf8PathBuf> {
    let Ok(doc) = pyproject.parse::<DocumentMut>() else { return Vec::new() };
    let set = doc.get("tool").and_then(|tool| tool.get("maturin")).and_then(|maturin| maturin.get("manifest-path"));
    match set.and_then(Item::as_str) {
        Some(path) => vec![path.split('/').collect()],
        None => vec!["Cargo.toml".into(), Utf8Path::new("rust").join("Cargo.toml")],
    }
}

/// A program of a virtual environment on `os`: `bin/<name>` or `Scripts\<name>.exe`.
fn venv_program(venv: &Utf8Path, os: &str, name: &str) -> Utf8PathBuf {
    match os {
        "windows" => venv.join("Scripts").join(format!("{name}.exe")),
        _ => venv.join("bin").join(name),
    }
}

/// For `doctor`: whether environments can be made, and each crate's, with what to do.
pub(super) fn findings(sh: &Shell, python: &Python, suites: &[Suite], cov_target: &Utf8Path) -> Vec<Finding> {
    if suites.is_empty() {
        return Vec::new();
    }
    let names: Vec<&str> = suites.iter().map(|suite| suite.package.as_str()).collect();
    let venv_module = child::command(sh, &python.interpreter).args(["-c", "import venv, ensurepip"]).quiet();
    let mut findings = vec![match venv_module.ignore_stderr().run() {
        Ok(()) => Finding::ok(
            GROUP,
            format!("Python's venv and ensurepip, for the Python tests' environments ({})", names.join(", ")),
        ),
        Err(_) => Finding::error(
            GROUP,
            format!("{} cannot make virtual environments (no venv or ensurepip module)", python.interpreter),
            "install Python's venv module (on Debian and Ubuntu: sudo apt-get install python3-venv)",
        ),
    }];
    for suite in suites {
        let place = Place::new(cov_target, &suite.package);
        let current = std::fs::read_to_string(place.venv.join(STAMP))
            .is_ok_and(|text| text == stamp(python, &suite.requirements));
        let version = |tool: &str| {
            let output = child::command(sh, place.program(tool)).arg("--version").quiet().ignore_stderr().read();
            output.ok().map(|text| text.trim().to_owned())
        };
        findings.push(match (current, version("maturin"), version("pytest")) {
            (true, Some(maturin), Some(pytest)) => Finding::ok(
                GROUP,
                format!("`{}`'s Python tests: environment {} ready ({maturin}, {pytest})", suite.package, place.venv),
            ),
            (true, ..) => Finding::warn(
                GROUP,
                format!("`{}`'s Python tests: environment {} is missing maturin or pytest", suite.package, place.venv),
                "run `cargo xtask coverage --clean` to make it again",
            ),
            (false, ..) => Finding::ok(
                GROUP,
                format!(
                    "`{}`'s Python tests ({}): the next coverage run makes their environment with {}",
                    suite.package,
                    suite.collected(),
                    suite.requirements.join(" ")
                ),
            ),
        });
    }
    findings
}

#[cfg(test)]
mod tests {
    use xshell::Cmd;

    use super::*;
    use crate::child::Env;
    use environment::{Counts, junit_counts};

    const MATURIN: &str = "[build-system]\nrequires = [\"maturin>=1.7,<2\"]\nbuild-backend = \"maturin\"\n";

    fn suite(
        pyproject: Option<&str>,
        layout: Layout,
        settings: Option<&SuiteSettings>,
    ) -> anyhow::Result<Option<Suite>> {
        Suite::from_files("ext", "/ws/ext".into(), pyproject, &layout, settings)
    }

    fn with_tests() -> Layout {
        Layout { test_files: true, ..Layout::default() }
    }

    #[test]
    fn a_pip_option_listed_as_a_requirement_is_refused() {
        for hostile in [
            "[build-system]\nrequires = [\"maturin\", \"--target=/home/user/site\"]\nbuild-backend = \"maturin\"\n",
            &format!("{MATURIN}[project]\nname = \"ext\"\ndependencies = [\" -r ../../secrets.txt\"]\n"),
            &format!("{MATURIN}[dependency-groups]\ntest = [\"--index-url=http://elsewhere\"]\n"),
        ] {
            let err = suite(Some(hostile), with_tests(), None).unwrap_err().to_string();
            assert!(err.contains("is a pip option, not a requirement"), "{hostile}: {err}");
        }
    }

    #[test]
    fn a_maturin_crate_with_test_files_runs_its_tests_directory() {
        let found = suite(Some(MATURIN), with_tests(), None).unwrap().unwrap();
        assert_eq!(found.tests, ["tests"]);
        assert_eq!(found.requirements, ["maturin>=1.7,<2", "maturin>=1.8", "pytest"]);
        assert_eq!(found.collected(), "tests");
    }

    #[test]
    fn pytest_configuration_decides_what_is_collected() {
        let pyproject = format!("{MATURIN}[tool.pytest.ini_options]\ntestpaths = [\"py_tests\"]\n");
        let found = suite(Some(&pyproject), Layout::default(), None).unwrap().unwrap();
        assert!(found.tests.is_empty());
        let ini = Layout { pytest_config_file: true, ..Layout::default() };
        assert!(suite(Some(MATURIN), ini, None).unwrap().unwrap().tests.is_empty());
    }

    #[test]
    fn crates_without_tests_or_maturin_have_no_suite() {
        assert_eq!(suite(Some(MATURIN), Layout::default(), None).unwrap(), None);
        assert_eq!(suite(None, with_tests(), None).unwrap(), None);
        let setuptools = "[build-system]\nbuild-backend = \"setuptools.build_meta\"\n";
        assert_eq!(suite(Some(setuptools), with_tests(), None).unwrap(), None);
    }

    #[test]
    fn a_crate_named_in_the_settings_must_build_with_maturin() {
        let settings = SuiteSettings::default();
        let err = suite(None, with_tests(), Some(&settings)).unwrap_err().to_string();
        assert!(err.contains("names `ext`, but it has no pyproject.toml"), "{err}");
        assert!(suite(Some("[project\n"), with_tests(), None).is_err(), "bad TOML is an error");
    }

    #[test]
    fn test_requirements_come_from_the_project_its_extras_groups_and_the_settings() {
        let pyproject = format!(
            "{MATURIN}[project]\nname = \"ext\"\ndependencies = [\"numpy\"]\n\
             [project.optional-dependencies]\ntest = [\"hypothesis\", \"pytest>=8\"]\ndocs = [\"sphinx\"]\n\
             [dependency-groups]\ntests = [\"pytest-timeout\", \"numpy\"]\n"
        );
        let settings = SuiteSettings::from_table(
            &serde_json::json!({"tests": ["py"], "pytest-args": ["-x", "-q"], "requirements": ["attrs"]}),
            "ext",
        )
        .unwrap();
        let found = suite(Some(&pyproject), Layout::default(), Some(&settings)).unwrap().unwrap();
        assert_eq!(
            found.requirements,
            [
                "maturin>=1.7,<2",
                "maturin>=1.8",
                "pytest",
                "numpy",
                "hypothesis",
                "pytest>=8",
                "pytest-timeout",
                "attrs"
            ]
        );
        assert_eq!(
            (found.tests.as_slice(), found.pytest_args.as_slice()),
            (&["py".to_owned()][..], &["-x".to_owned(), "-q".to_owned()][..])
        );
    }

    #[test]
    fn bad_settings_are_errors_naming_the_key() {
        let err = SuiteSettings::from_table(&serde_json::json!({"test": ["t"]}), "ext").unwrap_err().to_string();
        assert!(err.contains("unknown key `test`"), "{err}");
        let err = SuiteSettings::from_table(&serde_json::json!({"tests": "t"}), "ext").unwrap_err().to_string();
        assert!(err.contains("`tests` in [workspace.metadata.xtask.coverage.python] ext must be a list"), "{err}");
        assert!(SuiteSettings::from_table(&serde_json::json!(["t"]), "ext").is_err());
        for bad in [serde_json::json!(0), serde_json::json!("60"), serde_json::json!(-1)] {
            let err = SuiteSettings::from_table(&serde_json::json!({"timeout-seconds": bad}), "ext").unwrap_err();
            assert!(err.to_string().contains("`timeout-seconds` in"), "{err}");
        }
        let settings = SuiteSettings::from_table(&serde_json::json!({"timeout-seconds": 90}), "ext").unwrap();
        assert_eq!(settings.timeout, Some(Duration::from_secs(90)));
    }

    #[test]
    fn maturin_finds_the_crate_beside_in_rust_or_where_manifest_path_says() {
        let rust = Utf8Path::new("rust").join("Cargo.toml");
        assert_eq!(maturin_manifests(MATURIN), [Utf8PathBuf::from("Cargo.toml"), rust]);
        let set = format!("{MATURIN}[tool.maturin]\nmanifest-path = \"native/core/Cargo.toml\"\n");
        assert_eq!(maturin_manifests(&set), [Utf8Path::new("native").join("core").join("Cargo.toml")]);
    }

    #[test]
    fn the_python_project_may_be_above_the_crate() {
        let root =
            Utf8PathBuf::from_path_buf(std::env::temp_dir().join(format!("xtask-pyproject-{}", std::process::id())))
                .unwrap();
        let crate_dir = root.join("project").join("rust");
        std::fs::create_dir_all(&crate_dir).unwrap();
        std::fs::write(root.join("project/pyproject.toml"), MATURIN).unwrap();
        let (dir, pyproject) = python_project(&crate_dir).unwrap();
        assert_eq!((dir, pyproject.as_deref()), (root.join("project"), Some(MATURIN)));
        // A pyproject.toml above that builds another crate is not this crate's.
        let other = root.join("project").join("other");
        std::fs::create_dir_all(&other).unwrap();
        assert_eq!(python_project(&other).unwrap(), (other.clone(), None));
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_link_or_a_file_where_the_run_writes_is_refused() {
        let root = Utf8PathBuf::from_path_buf(std::env::temp_dir().join(format!("xtask-place-{}", std::process::id())))
            .unwrap();
        let place = Place::new(&root, "ext");
        assert!(place.check().is_ok(), "nothing there yet");
        std::fs::create_dir_all(root.join("elsewhere")).unwrap();
        std::fs::create_dir_all(root.join("xtask-python/ext")).unwrap();
        std::os::unix::fs::symlink(root.join("elsewhere"), &place.venv).unwrap();
        let err = place.check().unwrap_err().to_string();
        assert!(err.contains("venv is a link"), "{err}");
        std::fs::remove_file(&place.venv).unwrap();
        std::fs::write(&place.wheels, "").unwrap();
        assert!(place.check().unwrap_err().to_string().contains("wheels is a file"));
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn venv_programs_per_os() {
        assert_eq!(venv_program("/c/venv".into(), "linux", "pytest"), "/c/venv/bin/pytest");
        assert_eq!(venv_program("/c/venv".into(), "macos", "python"), "/c/venv/bin/python");
        assert_eq!(
            venv_program("C:/c/venv".into(), "windows", "pytest"),
            Utf8Path::new("C:/c/venv").join("Scripts").join("pytest.exe")
        );
    }

    #[test]
    fn the_stamp_changes_with_the_interpreter_and_the_requirements() {
        let python = |version: &str| Python {
            interpreter: "/usr/bin/python3".into(),
            executable: "/usr/bin/python3.11".into(),
            version: version.into(),
            library_dir: "/usr/lib".into(),
        };
        let requirements = vec!["maturin".to_owned(), "pytest".to_owned()];
        let stamp_311 = stamp(&python("3.11.7"), &requirements);
        assert_eq!(stamp_311, stamp(&python("3.11.7"), &requirements));
        assert_ne!(stamp_311, stamp(&python("3.11.8"), &requirements));
        assert_ne!(stamp_311, stamp(&python("3.11.7"), &requirements[..1]));
    }

    fn envs(cmd: Cmd<'_>) -> Vec<(String, Option<String>)> {
        let cmd = std::process::Command::from(cmd);
        let shown = |value: &std::ffi::OsStr| value.to_string_lossy().into_owned();
        cmd.get_envs().map(|(key, value)| (shown(key), value.map(shown))).collect()
    }

    #[test]
    fn the_module_builds_with_show_envs_variables_into_the_coverage_build() {
        let sh = Shell::new().unwrap();
        let python = Python {
            interpreter: "/usr/bin/python3".into(),
            executable: "/usr/bin/python3.11".into(),
            version: "3.11.7".into(),
            library_dir: "/usr/lib".into(),
        };
        let env = Env::default().set("CARGO_LLVM_COV_TARGET_DIR", "/ws/target/cov").set("RUSTC_WRAPPER", "");
        let commands = Commands { sh: &sh, python: &python, env: &env, cov_target: "/ws/target/cov".into() };
        let suite = suite(Some(MATURIN), with_tests(), None).unwrap().unwrap();
        let place = Place::new("/ws/target/cov".into(), "ext");
        // show-env's own (wrong, cargo-llvm-cov #468) target dir does not win over the coverage build.
        let show_env = Env::default()
            .set("RUSTC_WRAPPER", "/bin/cargo-llvm-cov")
            .set("CARGO_TARGET_DIR", "/ws/target")
            .set("LLVM_PROFILE_FILE", "/ws/target/cov/ws-%p-%2m.profraw");
        let build = envs(commands.build_module(&place, &show_env));
        for (name, value) in [
            ("RUSTC_WRAPPER", "/bin/cargo-llvm-cov"),
            ("CARGO_TARGET_DIR", "/ws/target/cov"),
            ("CARGO_LLVM_COV_TARGET_DIR", "/ws/target/cov"),
            ("LLVM_PROFILE_FILE", "/ws/target/cov/ws-%p-%2m.profraw"),
        ] {
            assert!(build.contains(&(name.to_owned(), Some(value.to_owned()))), "{name}={value} in {build:?}");
        }
        let pytest = commands.pytest(&place, &suite, "/ws/target/cov/ws-%p-%2m.profraw".as_ref());
        let expected = format!("{} -p no:cacheprovider --junitxml {} tests", place.program("pytest"), place.junit);
        assert_eq!(pytest.to_string(), expected);
        let pytest = envs(pytest);
        assert!(pytest.contains(&("PYTHONDONTWRITEBYTECODE".to_owned(), Some("1".to_owned()))), "{pytest:?}");
        assert!(
            pytest.contains(&("LLVM_PROFILE_FILE".to_owned(), Some("/ws/target/cov/ws-%p-%2m.profraw".to_owned())))
        );
    }

    #[test]
    fn junit_totals_are_read_from_every_testsuite() {
        let xml = r#"<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests"><testsuite name="pytest" errors="1" failures="2" skipped="1" tests="7" time="0.05"><testcase/></testsuite></testsuites>"#;
        assert_eq!(junit_counts(xml), Some(Counts { passed: 3, failed: 2, errors: 1, skipped: 1 }));
        assert_eq!(junit_counts("<testsuites></testsuites>"), None);
        assert_eq!(junit_counts("<testsuite tests=\"x\">"), None);
    }

    #[test]
    fn outcome_lines_name_what_is_not_zero() {
        let outcome = |failed, problem: Option<&str>| Outcome {
            package: "ext".into(),
            counts: Counts { passed: 3, failed, errors: 0, skipped: 0 },
            problem: problem.map(str::to_owned),
        };
        assert_eq!(outcome(0, None).line(), "ext: 3 passed");
        assert!(!outcome(0, None).failed());
        assert_eq!(outcome(1, None).line(), "ext: 3 passed, 1 failed");
        assert!(outcome(1, None).failed());
        assert!(outcome(0, Some("pytest collected no tests")).failed());
    }

    #[test]
    fn show_env_values_read_back_exactly() {
        let escaped = |value: &str| value.chars().map(|c| format!("`u{{{:x}}}", c as u32)).collect::<String>();
        let value = "C:\\a b\\it's \"here\"\u{1f}--cfg=coverage $HOME";
        let text = format!("$env:LLVM_PROFILE_FILE=\"{}\"\n$env:EMPTY=\"\"\n", escaped(value));
        let env = parse_show_env(&text).unwrap();
        assert_eq!(env.get("LLVM_PROFILE_FILE"), Some(Some(std::ffi::OsStr::new(value))));
        assert_eq!(env.get("EMPTY"), Some(Some(std::ffi::OsStr::new(""))));
        assert!(parse_show_env("export A='b'").is_err());
        assert!(parse_show_env("$env:A=\"plain\"").is_err());
    }
}
