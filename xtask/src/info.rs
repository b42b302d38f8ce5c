//! `cargo xtask info`: what the tasks see, for people and for scripts (`--json`).

use camino::Utf8Path;
use serde_json::{Value, json};
use xshell::Shell;

use crate::secrets::{out, outln};
use crate::{
    flags,
    output::{Stream, Style, paint},
    tools::{self, Found},
    workspace::Workspace,
};

impl flags::Info {
    pub(crate) fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let ws = Workspace::load(sh)?;
        let tools: Vec<ToolReport> = tools::ALL
            .iter()
            .map(|tool| ToolReport { tool, found: tool.find(sh).map_err(|err| format!("{err:#}")) })
            .collect();
        if self.json {
            outln!("{:#}", to_json(&ws, &tools));
        } else {
            out!("{}", to_text(&ws, &tools));
        }
        Ok(())
    }
}

struct ToolReport {
    tool: &'static tools::Tool,
    found: Result<Found, String>,
}

fn to_json(ws: &Workspace, tools: &[ToolReport]) -> Value {
    json!({
        "workspace_root": ws.root.as_str(),
        "target_directory": ws.target_dir.as_str(),
        "target_directory_shared": ws.target_dir_is_shared(),
        "build_directory": ws.build_dir.as_str(),
        "settings": ws.settings,
        "members": ws.members.iter().map(|member| json!({
            "name": member.name,
            "manifest_dir": member.manifest_dir.as_str(),
            "targets": member.targets.iter().map(|t| json!({"name": t.name, "kinds": t.kinds})).collect::<Vec<_>>(),
            "uses_python": member.uses_python,
        })).collect::<Vec<_>>(),
        "tools": tools.iter().map(|report| json!({
            "name": report.tool.name,
            "minimum": report.tool.minimum.map(|v| v.to_string()),
            "install": report.tool.install,
            "path": report.found.as_ref().ok().map(|found| found.path.as_str()),
            "version": report.found.as_ref().ok().map(|found| found.version.to_string()),
            "error": report.found.as_ref().err(),
        })).collect::<Vec<_>>(),
    })
}

fn to_text(ws: &Workspace, tools: &[ToolReport]) -> String {
    let heading = |text: &str| paint(Stream::Stdout, Style::Heading, text);
    let mut out = String::new();
    let whose = if ws.target_dir_is_shared() { "shared: outside the workspace" } else { "the workspace's own" };
    out += &format!("workspace   {}\n", ws.root);
    out += &format!("target dir  {} ({whose})\n", ws.target_dir);
    out += &format!("build dir   {}\n", ws.build_dir);
    out += &match ws.settings.is_empty() {
        true => "settings    none in [workspace.metadata.xtask]\n".to_owned(),
        false => format!("settings    {}\n", Value::Object(ws.settings.clone())),
    };

    out += &format!("\n{}\n", heading("members"));
    let name_width = ws.members.iter().map(|m| m.name.len()).max().unwrap_or(0);
    // The root package's directory is the root itself: `.`, not an empty column.
    let dirs: Vec<&Utf8Path> = ws
        .members
        .iter()
        .map(|m| match m.manifest_dir.strip_prefix(&ws.root).unwrap_or(&m.manifest_dir) {
            dir if dir.as_str().is_empty() => Utf8Path::new("."),
            dir => dir,
        })
        .collect();
    let dir_width = dirs.iter().map(|dir| dir.as_str().len()).max().unwrap_or(0);
    for (member, dir) in ws.members.iter().zip(dirs) {
        let mut kinds: Vec<&str> = member.targets.iter().flat_map(|t| &t.kinds).map(String::as_str).collect();
        let mut seen = std::collections::HashSet::new();
        kinds.retain(|kind| seen.insert(*kind));
        let python = if member.uses_python { "  Python-bound (pyo3)" } else { "" };
        out += &format!("  {:name_width$}  {:dir_width$}  {}{python}\n", member.name, dir.as_str(), kinds.join(", "));
    }

    out += &format!("\n{}\n", heading("tools"));
    let tool_width = tools.iter().map(|r| r.tool.name.len()).max().unwrap_or(0);
    // Continuation lines of an error start under its first line: "  missing  <name>  ".
    let continuation = format!("\n{:width$}", "", width = 2 + "missing".len() + 2 + tool_width + 2);
    for report in tools {
        let (marker, detail) = match &report.found {
            Ok(found) => (paint(Stream::Stdout, Style::Good, "ok     "), format!("{} {}", found.version, found.path)),
            Err(err) => (paint(Stream::Stdout, Style::Bad, "missing"), err.replace('\n', &continuation)),
        };
        out += &format!("  {marker}  {:tool_width$}  {detail}\n", report.tool.name);
    }
    out
}

#[cfg(test)]
mod tests {
    use camino::Utf8PathBuf;

    use super::*;
    use crate::{
        tools::Version,
        workspace::{Member, Target},
    };

    fn workspace() -> Workspace {
        let member = |name: &str, dir: &str, kinds: &[&str], uses_python| Member {
            name: name.into(),
            manifest_dir: dir.into(),
            targets: vec![Target { name: name.into(), kinds: kinds.iter().map(|k| k.to_string()).collect() }],
            uses_python,
            dependencies: Vec::new(),
        };
        Workspace {
            root: "/ws".into(),
            target_dir: "/shared/target".into(),
            build_dir: "/shared/target".into(),
            members: vec![
                member("root", "/ws", &["bin"], false),
                member("bindings", "/ws/crates/bindings", &["cdylib", "rlib"], true),
                member("xtask", "/ws/xtask", &["bin"], false),
            ],
            settings: Default::default(),
        }
    }

    fn reports() -> Vec<ToolReport> {
        vec![
            ToolReport {
                tool: &tools::SCCACHE,
                found: Ok(Found { path: Utf8PathBuf::from("/bin/sccache"), version: Version(0, 10, 0) }),
            },
            ToolReport {
                tool: &tools::CARGO_LLVM_COV,
                found: Err("`cargo-llvm-cov` was not found.\nInstall it with: x".into()),
            },
        ]
    }

    #[test]
    fn text_lists_directories_members_and_tools() {
        let text = to_text(&workspace(), &reports());
        let expected = "\
workspace   /ws
target dir  /shared/target (shared: outside the workspace)
build dir   /shared/target
settings    none in [workspace.metadata.xtask]

members
  root      .                bin
  bindings  crates/bindings  cdylib, rlib  Python-bound (pyo3)
  xtask     xtask            bin

tools
  ok       sccache         0.10.0 /bin/sccache
  missing  cargo-llvm-cov  `cargo-llvm-cov` was not found.
                           Install it with: x
";
        assert_eq!(text, expected);
    }

    #[test]
    fn json_has_every_field() {
        let json = to_json(&workspace(), &reports());
        assert_eq!(json["target_directory_shared"], true);
        assert_eq!(json["members"][1]["uses_python"], true);
        assert_eq!(json["members"][1]["targets"][0]["kinds"], json!(["cdylib", "rlib"]));
        assert_eq!(json["tools"][0]["version"], "0.10.0");
        assert_eq!(json["tools"][0]["minimum"], "0.7.7");
        assert_eq!(json["tools"][1]["path"], Value::Null);
        assert_eq!(json["tools"][1]["install"], "cargo install cargo-llvm-cov --locked");
    }
}
