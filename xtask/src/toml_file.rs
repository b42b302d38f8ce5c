//! Reading and editing TOML files that belong to someone else (cargo's and sccache's
//! configuration).
//!
//! Every key `setup-sccache` writes carries a marker comment, so a later run knows what it wrote: it
//! changes nothing when the value is already there, and `disable` removes exactly those keys.
//! All other keys, comments and blank lines stay byte for byte. A file that does not parse is an
//! error naming the file and line, and is left untouched.

use anyhow::Context;
use camino::{Utf8Path, Utf8PathBuf};
use toml_edit::{DocumentMut, Item, Table, Value};

/// The comment behind every value setup writes.
pub(crate) const MARK: &str = "added by cargo xtask setup-sccache";

/// A TOML file read for editing.
pub(crate) struct TomlFile {
    pub(crate) path: Utf8PathBuf,
    /// The text as read; empty when the file does not exist.
    original: String,
    doc: DocumentMut,
    /// What the edits did, for people: `set build.rustc-wrapper = "..."`.
    pub(crate) changes: Vec<String>,
}

impl TomlFile {
    pub(crate) fn read(path: &Utf8Path) -> anyhow::Result<TomlFile> {
        // A FIFO in a config file's place is an error, not a read that never returns.
        let original = crate::safe_fs::read_regular(path, true)
            .with_context(|| format!("could not read {path}"))?
            .unwrap_or_default();
        TomlFile::parse(path, original)
    }

    pub(crate) fn parse(path: &Utf8Path, original: String) -> anyhow::Result<TomlFile> {
        let doc = original
            .parse::<DocumentMut>()
            .map_err(|err| anyhow::anyhow!("{path} is not valid TOML, so it was left untouched:\n{err}"))?;
        Ok(TomlFile { path: path.to_owned(), original, doc, changes: Vec::new() })
    }

    /// The value at `keys` (such as `["build", "rustc-wrapper"]`), and whether setup wrote it.
    pub(crate) fn get(&self, keys: &[&str]) -> Option<(&Value, bool)> {
        let (last, tables) = keys.split_last()?;
        let mut table = self.doc.as_table() as &dyn toml_edit::TableLike;
        for key in tables {
            table = table.get(key)?.as_table_like()?;
        }
        let value = table.get(last)?.as_value()?;
        Some((value, is_marked(value)))
    }

    /// Sets `keys` to `value`, marked as written by setup; a no-op when it already is.
    pub(crate) fn set(&mut self, keys: &[&str], value: impl Into<Value>) {
        let value: Value = value.into();
        if self.get(keys).is_some_and(|(old, marked)| marked && same(old, &value)) {
            return;
        }
        let (last, tables) = keys.split_last().expect("a key path is not empty");
        let mut table = self.doc.as_table_mut() as &mut dyn toml_edit::TableLike;
        for (depth, key) in tables.iter().enumerate() {
            let item = table.entry(key).or_insert_with(|| {
                let mut new = Table::new();
                // `[cache.disk]` alone, without an empty `[cache]` above it.
                new.set_implicit(depth + 1 < tables.len());
                Item::Table(new)
            });
            table = item.as_table_like_mut().expect("setup only writes into tables");
        }
        self.changes.push(format!("set {} = {}", keys.join("."), value.clone().decorated("", "")));
        let marked = value.decorated(" ", format!(" # {MARK}"));
        match table.get_mut(last).and_then(Item::as_value_mut) {
            // Keep the key's own position and spacing; replace only the value.
            Some(old) => *old = marked,
            None => {
                table.insert(last, Item::Value(marked));
            }
        }
    }

    /// Removes `keys` if setup wrote it, and the tables that leaves empty; other keys stay.
    pub(crate) fn remove_marked(&mut self, keys: &[&str]) {
        if !self.get(keys).is_some_and(|(_, marked)| marked) {
            return;
        }
        self.changes.push(format!("remove {}", keys.join(".")));
        remove_path(self.doc.as_table_mut(), keys);
    }

    /// Whether the edits changed the text.
    pub(crate) fn changed(&self) -> bool {
        self.text() != self.original
    }

    pub(crate) fn text(&self) -> String {
        self.doc.to_string()
    }

    /// Writes the file if the edits changed it: into a temporary file beside it, then renamed
    /// over it, so an interruption never leaves half a file. The file keeps its permissions;
    /// `private` makes it readable by its owner alone (it holds credentials). A file that the
    /// edits leave empty is removed: setup created it, or it held only what setup wrote.
    pub(crate) fn save(&self, private: bool) -> anyhow::Result<()> {
        if !self.changed() {
            return Ok(());
        }
        let text = self.text();
        if text.trim().is_empty() {
            return std::fs::remove_file(&self.path).with_context(|| format!("could not remove {}", self.path));
        }
        let dir = self.path.parent().with_context(|| format!("{} has no parent directory", self.path))?;
        std::fs::create_dir_all(dir).with_context(|| format!("could not create {dir}"))?;
        let temp = dir.join(format!(".{}.setup-sccache.tmp", self.path.file_name().unwrap_or("config")));
        std::fs::write(&temp, text).with_context(|| format!("could not write {temp}"))?;
        if let Ok(meta) = std::fs::metadata(&self.path) {
            std::fs::set_permissions(&temp, meta.permissions())?;
        }
        #[cfg(unix)]
        if private {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&temp, std::fs::Permissions::from_mode(0o600))?;
        }
        #[cfg(not(unix))]
        let _ = private; // Windows: files under the user's profile are private to them already.
        std::fs::rename(&temp, &self.path).with_context(|| format!("could not replace {}", self.path))
    }
}

fn is_marked(value: &Value) -> bool {
    value.decor().suffix().and_then(|suffix| suffix.as_str()).is_some_and(|suffix| suffix.contains(MARK))
}

fn same(a: &Value, b: &Value) -> bool {
    a.clone().decorated("", "").to_string() == b.clone().decorated("", "").to_string()
}

/// Removes the key at `keys`, then every table on the way that it leaves empty and uncommented.
fn remove_path(table: &mut dyn toml_edit::TableLike, keys: &[&str]) {
    let Some((first, rest)) = keys.split_first() else { return };
    if rest.is_empty() {
        table.remove(first);
        return;
    }
    let Some(child) = table.get_mut(first).and_then(Item::as_table_like_mut) else { return };
    remove_path(child, rest);
    let commented = table
        .get(first)
        .and_then(Item::as_table)
        .is_some_and(|t| t.decor().prefix().and_then(|p| p.as_str()).is_some_and(|p| p.contains('#')));
    if child_is_empty(table, first) && !commented {
        table.remove(first);
    }
}

fn child_is_empty(table: &dyn toml_edit::TableLike, key: &str) -> bool {
    table.get(key).and_then(Item::as_table_like).is_some_and(|child| child.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(text: &str, change: impl FnOnce(&mut TomlFile)) -> String {
        let mut file = TomlFile::parse(Utf8Path::new("/c/config.toml"), text.to_owned()).unwrap();
        change(&mut file);
        file.text()
    }

    const USER_CONFIG: &str = "\
# my settings

[alias]
b = \"build\"   # short

[build]
jobs = 2

[net]
retry = 3
";

    #[test]
    fn set_adds_a_marked_key_and_keeps_everything_else() {
        let text = edit(USER_CONFIG, |f| f.set(&["build", "rustc-wrapper"], "/bin/sccache"));
        assert_eq!(
            text,
            USER_CONFIG.replace("jobs = 2\n", &format!("jobs = 2\nrustc-wrapper = \"/bin/sccache\" # {MARK}\n"))
        );
    }

    #[test]
    fn a_second_run_changes_nothing() {
        let once = edit(USER_CONFIG, |f| f.set(&["build", "rustc-wrapper"], "/bin/sccache"));
        let mut file = TomlFile::parse(Utf8Path::new("/c"), once.clone()).unwrap();
        file.set(&["build", "rustc-wrapper"], "/bin/sccache");
        assert!(!file.changed());
        assert!(file.changes.is_empty());
    }

    #[test]
    fn nested_tables_are_created_without_empty_parents() {
        let text = edit("", |f| {
            f.set(&["cache", "disk", "dir"], "/c/sccache");
            f.set(&["cache", "disk", "size"], 1024_i64);
        });
        assert_eq!(text, format!("[cache.disk]\ndir = \"/c/sccache\" # {MARK}\nsize = 1024 # {MARK}\n"));
    }

    #[test]
    fn an_unmarked_value_is_replaced_in_place_and_then_marked() {
        let text = edit("[build]\nrustc-wrapper = \"sccache\"\njobs = 2\n", |f| {
            f.set(&["build", "rustc-wrapper"], "/bin/sccache");
        });
        assert_eq!(text, format!("[build]\nrustc-wrapper = \"/bin/sccache\" # {MARK}\njobs = 2\n"));
    }

    #[test]
    fn remove_takes_only_marked_keys_and_the_tables_it_empties() {
        let with = edit(USER_CONFIG, |f| {
            f.set(&["build", "rustc-wrapper"], "/bin/sccache");
            f.set(&["cache", "disk", "dir"], "/c");
        });
        let without = edit(&with, |f| {
            f.remove_marked(&["build", "rustc-wrapper"]);
            f.remove_marked(&["cache", "disk", "dir"]);
            f.remove_marked(&["build", "jobs"]); // the user's own: stays
        });
        assert_eq!(without, USER_CONFIG);
    }

    #[test]
    fn malformed_toml_is_an_error_naming_file_and_line() {
        let err = TomlFile::parse(Utf8Path::new("/c/config.toml"), "[build]\nrustc-wrapper = \n".into())
            .err()
            .unwrap()
            .to_string();
        assert!(err.starts_with("/c/config.toml is not valid TOML, so it was left untouched"), "{err}");
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn get_reports_whether_setup_wrote_the_value() {
        let text = edit("[build]\nincremental = false\n", |f| f.set(&["build", "rustc-wrapper"], "/s"));
        let file = TomlFile::parse(Utf8Path::new("/c"), text).unwrap();
        assert_eq!(file.get(&["build", "rustc-wrapper"]).map(|(v, m)| (v.as_str(), m)), Some((Some("/s"), true)));
        assert_eq!(file.get(&["build", "incremental"]).map(|(v, m)| (v.as_bool(), m)), Some((Some(false), false)));
        assert!(file.get(&["build", "target-dir"]).is_none());
    }
}
