//! Reading and editing TOML files that belong to someone else (cargo's and sccache's
//! configuration).
//!
//! Every key `setup-sccache` writes carries a marker comment, so a later run knows what it wrote: it
//! changes nothing when the value is already there, and `disable` removes exactly those keys.
//! All other keys, comments and blank lines stay byte for byte. A file that does not parse is an
//! error naming the file and line, and is left untouched.

use anyhow::{Context, bail};
use camino::{Utf8Path, Utf8PathBuf};
use toml_edit::{DocumentMut, InlineTable, Item, Table, TableLike, Value};

use crate::{safe_fs, secrets};

/// The comment behind every value setup writes.
pub(crate) const MARK: &str = "added by cargo xtask setup-sccache";

/// The first line of a file that setup created, so that `disable` knows to remove the file once
/// nothing else is in it, and to leave a file that existed (even empty) as it was.
const CREATED: &str = "# created by cargo xtask setup-sccache";

/// A TOML file read for editing.
pub(crate) struct TomlFile {
    pub(crate) path: Utf8PathBuf,
    /// The text as read; empty when the file does not exist.
    original: String,
    /// Whether the file existed when it was read.
    existed: bool,
    /// Whether it starts with `CREATED`, which is kept out of `doc`.
    created: bool,
    form: Form,
    doc: DocumentMut,
    /// What the edits did, for people: `set build.rustc-wrapper = "..."`.
    pub(crate) changes: Vec<String>,
    /// The keys set and removed, checked against the text before it is written.
    set: Vec<(Vec<String>, Value)>,
    removed: Vec<Vec<String>>,
}

/// What a file's bytes are beyond what TOML says, kept on every write: a byte-order mark, CRLF
/// line ends, and whether it ends with a newline (toml_edit drops the first two).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Form {
    bom: bool,
    crlf: bool,
    final_newline: bool,
}

impl Form {
    /// The form of `text`, and the text as toml_edit should read it.
    fn of(text: &str) -> (Form, String) {
        let bom = text.starts_with('\u{feff}');
        let body = text.strip_prefix('\u{feff}').unwrap_or(text);
        let newlines = body.matches('\n').count();
        // Only a file that ends every line with CRLF is turned back into one.
        let crlf = newlines > 0 && body.matches("\r\n").count() == newlines;
        let body = if crlf { body.replace("\r\n", "\n") } else { body.to_owned() };
        let final_newline = body.is_empty() || body.ends_with('\n');
        (Form { bom, crlf, final_newline }, body)
    }

    fn apply(self, mut text: String) -> String {
        if !self.final_newline && text.ends_with('\n') {
            text.pop();
        }
        if self.crlf {
            text = text.replace('\n', "\r\n");
        }
        if self.bom {
            text.insert(0, '\u{feff}');
        }
        text
    }
}

impl TomlFile {
    pub(crate) fn read(path: &Utf8Path) -> anyhow::Result<TomlFile> {
        // A FIFO in a config file's place is an error, not a read that never returns.
        let original = safe_fs::read_regular(path, true).with_context(|| format!("could not read {path}"))?;
        let existed = original.is_some();
        Ok(TomlFile { existed, ..TomlFile::parse(path, original.unwrap_or_default())? })
    }

    /// The file at `path` as if it held `original`.
    pub(crate) fn parse(path: &Utf8Path, original: String) -> anyhow::Result<TomlFile> {
        let (form, body) = Form::of(&original);
        let (created, body) = match body.strip_prefix(CREATED) {
            Some(rest) => (true, rest.strip_prefix('\n').unwrap_or(rest).to_owned()),
            None => (false, body),
        };
        let doc = body.parse::<DocumentMut>().map_err(|err| {
            // The position and the reason, not toml_edit's quote of the line: that line may hold a
            // password.
            let (line, column) = err.span().map_or((1, 1), |span| line_and_column(&body, span.start));
            anyhow::anyhow!(
                "{path} is not valid TOML, so it was left untouched: line {line}, column {column}: {}",
                err.message().trim_end()
            )
        })?;
        // Whichever file a credential came from, no output shows it.
        each_string(doc.as_table(), &mut |key, text| {
            secrets::credentials_in(key, text).iter().for_each(|c| secrets::keep(c))
        });
        let (changes, set, removed) = (Vec::new(), Vec::new(), Vec::new());
        Ok(TomlFile { path: path.to_owned(), original, existed: true, created, form, doc, changes, set, removed })
    }

    /// The item at `keys`, through tables of every form (headers, dotted keys, inline tables).
    fn item(&self, keys: &[&str]) -> Option<&Item> {
        let (last, tables) = keys.split_last()?;
        let mut table = self.doc.as_table() as &dyn TableLike;
        for key in tables {
            table = table.get(key)?.as_table_like()?;
        }
        table.get(last)
    }

    fn item_mut(&mut self, keys: &[&str]) -> Option<&mut Item> {
        let (last, tables) = keys.split_last()?;
        let mut table = self.doc.as_table_mut() as &mut dyn TableLike;
        for key in tables {
            table = table.get_mut(key)?.as_table_like_mut()?;
        }
        table.get_mut(last)
    }

    /// The value the user had at `keys` before setup replaced it (with its spacing and comment),
    /// as setup's mark records it.
    fn replaced(&self, keys: &[&str]) -> Option<String> {
        match self.inline_depth(keys) {
            None => suffix(self.item(keys)?.as_value()?).split_once(REPLACING).and_then(|(_, token)| decode(token)),
            Some(depth) => {
                let key = keys[depth + 1..].join(".");
                let marks = split_marks(self.item(&keys[..=depth])?.as_value()?).1;
                marks.iter().find_map(|mark| decode(mark.strip_prefix(&key)?.strip_prefix('=')?))
            }
        }
    }

    /// How deep the first inline table on the way to `keys` is. A comment cannot go inside
    /// `{ ... }`, so the marks of the keys setup writes into one go behind it, on its line.
    fn inline_depth(&self, keys: &[&str]) -> Option<usize> {
        (1..keys.len()).find(|&depth| self.item(&keys[..depth]).is_some_and(Item::is_inline_table)).map(|d| d - 1)
    }

    /// The value at `keys` (such as `["build", "rustc-wrapper"]`), and whether setup wrote it.
    pub(crate) fn get(&self, keys: &[&str]) -> Option<(&Value, bool)> {
        let value = self.item(keys)?.as_value()?;
        let marked = match self.inline_depth(keys) {
            None => is_marked(value),
            Some(depth) => {
                let inline = self.item(&keys[..=depth]).and_then(Item::as_value);
                let key = keys[depth + 1..].join(".");
                inline.is_some_and(|inline| split_marks(inline).1.iter().any(|mark| mark_key(mark) == key))
            }
        };
        Some((value, marked))
    }

    /// Sets `keys` to `value`, marked as written by setup; a no-op when it already is. A key on
    /// the way that is no table (a string, an array of tables) is an error, and nothing changes.
    pub(crate) fn set(&mut self, keys: &[&str], value: impl Into<Value>) -> anyhow::Result<()> {
        let value = value.into();
        if self.get(keys).is_some_and(|(old, marked)| marked && same(old, &value)) {
            return Ok(());
        }
        // What the user had there, kept in the mark so that `disable` puts it back; after an
        // earlier setup, what the user had before that one.
        let previous = match self.get(keys) {
            Some((_, true)) => self.replaced(keys),
            Some((old, false)) => Some(old.to_string()),
            None => None,
        };
        let replacing = previous.map(|text| encode(&text));
        let inline = self.inline_depth(keys);
        let (last, tables) = keys.split_last().expect("a key path is not empty");
        let path = self.path.clone();
        let mut table = self.doc.as_table_mut() as &mut dyn TableLike;
        for (depth, key) in tables.iter().enumerate() {
            let item = table.entry(key).or_insert_with(|| match inline {
                Some(_) => Item::Value(Value::InlineTable(InlineTable::new())),
                None => {
                    let mut new = Table::new();
                    // `[cache.disk]` alone, without an empty `[cache]` above it.
                    new.set_implicit(depth + 1 < tables.len());
                    Item::Table(new)
                }
            });
            if !item.is_table_like() {
                bail!(
                    "`{}` in {path} is {}, not a table, so setup cannot write `{}` into it; the file was left \
                     untouched. Make it a table, or set `{}` yourself",
                    keys[..=depth].join("."),
                    item.type_name(),
                    keys.join("."),
                    keys.join(".")
                );
            }
            table = item.as_table_like_mut().expect("checked to be a table");
        }
        let shown = match secrets::is_secret_name(last) {
            true => format!("\"{}\"", secrets::MASK),
            false => value.clone().decorated("", "").to_string(),
        };
        self.changes.push(format!("set {} = {shown}", keys.join(".")));
        self.set.push((keys.iter().map(|key| key.to_string()).collect(), value.clone()));
        let new = match inline {
            // Inside `{ ... }` the value takes the table's usual spacing; its mark goes on the line.
            Some(_) => value,
            None => {
                let replacing = replacing.as_ref().map(|token| format!("{REPLACING}{token}")).unwrap_or_default();
                value.decorated(" ", format!(" # {MARK}{replacing}"))
            }
        };
        match table.get_mut(last).and_then(Item::as_value_mut) {
            // Keep the key's own position and spacing; replace only the value.
            Some(old) if inline.is_some() => {
                let decor = old.decor().clone();
                *old = new;
                *old.decor_mut() = decor;
            }
            Some(old) => *old = new,
            None => {
                table.insert(last, Item::Value(new));
            }
        }
        if let Some(depth) = inline {
            self.update_marks(&keys[..=depth], |marks| {
                let key = keys[depth + 1..].join(".");
                marks.retain(|mark| mark_key(mark) != key);
                marks.push(match replacing {
                    Some(token) => format!("{key}={token}"),
                    None => key,
                });
            });
        }
        Ok(())
    }

    /// Changes the list of keys marked behind the inline table at `keys`.
    fn update_marks(&mut self, keys: &[&str], change: impl FnOnce(&mut Vec<String>)) {
        let Some(inline) = self.item_mut(keys).and_then(Item::as_value_mut) else { return };
        let (own, mut marks) = split_marks(inline);
        change(&mut marks);
        let suffix = match marks.is_empty() {
            true => own,
            false => format!("{own} # {MARK}: {}", marks.join(" ")),
        };
        inline.decor_mut().set_suffix(suffix);
    }

    /// Removes `keys` if setup wrote it, and the tables that leaves empty; other keys stay.
    pub(crate) fn remove_marked(&mut self, keys: &[&str]) {
        if !self.get(keys).is_some_and(|(_, marked)| marked) {
            return;
        }
        self.changes.push(format!("remove {}", keys.join(".")));
        self.removed.push(keys.iter().map(|key| key.to_string()).collect());
        let inline = self.inline_depth(keys);
        match self.replaced(keys).and_then(|text| parse_value(&text)) {
            // The user's own value, as it was before setup.
            Some(previous) => {
                if let Some(value) = self.item_mut(keys).and_then(Item::as_value_mut) {
                    *value = previous;
                }
            }
            // The inline table the user wrote stays, even when emptied; those setup made in it go.
            None => remove_path(self.doc.as_table_mut(), keys, inline.map_or(0, |depth| depth + 1)),
        }
        if let Some(depth) = inline {
            let key = keys[depth + 1..].join(".");
            self.update_marks(&keys[..=depth], |marks| marks.retain(|mark| mark_key(mark) != key));
        }
    }

    /// The document, for an edit that is not setup's marked keys (`adopt`'s member and alias);
    /// say what it did with [`TomlFile::record`]. `save` checks the result all the same.
    pub(crate) fn doc(&mut self) -> &mut DocumentMut {
        &mut self.doc
    }

    /// Notes an edit made through [`TomlFile::doc`], for people.
    pub(crate) fn record(&mut self, change: String) {
        self.changes.push(change);
    }

    /// Whether the edits changed the text.
    pub(crate) fn changed(&self) -> bool {
        self.text() != self.original
    }

    /// The text to write: a file that setup creates starts with `CREATED`, and keeps it.
    pub(crate) fn text(&self) -> String {
        let text = self.doc.to_string();
        match (self.created || !self.existed && !self.set.is_empty()) && !is_blank(&text) {
            true => self.form.apply(format!("{CREATED}\n{text}")),
            false => self.form.apply(text),
        }
    }

    /// Checks `text` before it is written: it must parse, and read back what was set and removed.
    fn check(&self, text: &str) -> anyhow::Result<()> {
        let reread = TomlFile::parse(&self.path, text.to_owned())
            .with_context(|| format!("the edited {} would not parse, so it was left untouched (a bug)", self.path))?;
        fn keys(keys: &[String]) -> Vec<&str> {
            keys.iter().map(String::as_str).collect()
        }
        for (set, value) in &self.set {
            if !reread.get(&keys(set)).is_some_and(|(read, marked)| marked && same(read, value)) {
                bail!(
                    "the edited {} would not read `{}` back as set, so it was left untouched (a bug)",
                    self.path,
                    set.join(".")
                );
            }
        }
        for removed in &self.removed {
            if reread.get(&keys(removed)).is_some_and(|(_, marked)| marked) {
                bail!(
                    "the edited {} would still hold `{}`, so it was left untouched (a bug)",
                    self.path,
                    removed.join(".")
                );
            }
        }
        Ok(())
    }

    /// The file a save writes (what a link points to), and whether the path is a link; an error,
    /// before anything is written, when it cannot be written. Callers that edit several files
    /// ask this of each first, so that one that cannot be written leaves all as they were.
    pub(crate) fn writable_target(&self) -> anyhow::Result<(Utf8PathBuf, bool)> {
        let is_link = self.path.symlink_metadata().is_ok_and(|metadata| metadata.is_symlink());
        let target = match is_link {
            true => self.path.canonicalize_utf8().with_context(|| {
                format!("{} is a link to a file that does not exist; fix the link, then run again", self.path)
            })?,
            false => self.path.clone(),
        };
        if self.changed() && target.metadata().is_ok_and(|metadata| metadata.permissions().readonly()) {
            bail!(
                "{target} is read-only, so it was left untouched; make it writable (for example `chmod u+w {target}`) \
                 and run again, or make these changes yourself: {}",
                self.changes.join("; ")
            );
        }
        Ok((target, is_link))
    }

    /// Puts the file back as it was read, after a later step of the same edit failed.
    pub(crate) fn restore(&self) -> anyhow::Result<()> {
        let (target, _) = self.writable_target()?;
        match self.existed {
            true => {
                let permissions = target.metadata().ok().map(|metadata| metadata.permissions());
                safe_fs::replace_file(&target, self.original.as_bytes(), permissions.as_ref())
            }
            false => std::fs::remove_file(&target).with_context(|| format!("could not remove {target}")),
        }
    }

    /// Writes the file if the edits changed it, once the new text is checked: through a link
    /// (dotfile managers make them) to the file it points to, whole through a temporary file,
    /// with its permissions, but owner-only when it holds a credential. A file that setup created
    /// is removed once nothing else is in it (a link to it is emptied); one that existed stays.
    pub(crate) fn save(&self) -> anyhow::Result<()> {
        if !self.changed() {
            return Ok(());
        }
        let mut private = false;
        each_string(self.doc.as_table(), &mut |key, text| private |= !secrets::credentials_in(key, text).is_empty());
        let text = self.text();
        self.check(&text)?;
        let (target, is_link) = self.writable_target()?;
        let existing = target.metadata().ok();
        if is_blank(&text) && self.created && !is_link {
            return std::fs::remove_file(&target).with_context(|| format!("could not remove {target}"));
        }
        let permissions = match private {
            true => safe_fs::private_permissions(),
            false => existing.map(|metadata| metadata.permissions()),
        };
        safe_fs::replace_file(&target, text.as_bytes(), permissions.as_ref())
    }
}

fn is_blank(text: &str) -> bool {
    text.trim_matches(|c: char| c == '\u{feff}' || c.is_whitespace()).is_empty()
}

/// Calls `found` with each string in `table` and the tables in it, and the key it is under.
fn each_string(table: &dyn TableLike, found: &mut dyn FnMut(&str, &str)) {
    for (key, item) in table.iter() {
        match item {
            Item::Value(Value::String(text)) => found(key, text.value()),
            Item::Value(Value::Array(array)) => {
                array.iter().filter_map(Value::as_str).for_each(|text| found(key, text));
                array.iter().filter_map(Value::as_inline_table).for_each(|inline| each_string(inline, found));
            }
            Item::ArrayOfTables(tables) => tables.iter().for_each(|table| each_string(table, found)),
            _ => {
                if let Some(inner) = item.as_table_like() {
                    each_string(inner, found);
                }
            }
        }
    }
}

/// The 1-based line and column (in characters) of byte `offset` in `text`.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    (before.matches('\n').count() + 1, before[line_start..].chars().count() + 1)
}

/// In a mark, what comes before the value setup replaced.
const REPLACING: &str = ", replacing=";

fn suffix(value: &Value) -> &str {
    value.decor().suffix().and_then(|suffix| suffix.as_str()).unwrap_or_default()
}

fn is_marked(value: &Value) -> bool {
    suffix(value).contains(MARK)
}

/// The key of a mark behind an inline table: `size`, or `size=<what it replaced>`.
fn mark_key(mark: &str) -> &str {
    mark.split_once('=').map_or(mark, |(key, _)| key)
}

/// `text` as a TOML string without spaces (they become `\u0020`), to sit in a comment as one word.
fn encode(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' | '\\' => out += &format!("\\u{:04X}", u32::from(c)),
            c if c.is_ascii_graphic() => out.push(c),
            c if u32::from(c) <= 0xFFFF => out += &format!("\\u{:04X}", u32::from(c)),
            c => out += &format!("\\U{:08X}", u32::from(c)),
        }
    }
    out.push('"');
    out
}

fn decode(token: &str) -> Option<String> {
    let doc = format!("x = {}", token.split_whitespace().next()?).parse::<DocumentMut>().ok()?;
    Some(doc.get("x")?.as_str()?.to_owned())
}

/// A value as the text after `key =` in a file, with its spacing and comment.
fn parse_value(text: &str) -> Option<Value> {
    let mut doc = format!("x ={text}").parse::<DocumentMut>().ok()?;
    doc.remove("x")?.into_value().ok()
}

/// The text behind an inline table, split into what the user wrote and the keys setup marked.
fn split_marks(inline: &Value) -> (String, Vec<String>) {
    let suffix = suffix(inline);
    match suffix.split_once(&format!(" # {MARK}: ")) {
        Some((own, marks)) => (own.to_owned(), marks.split_whitespace().map(str::to_owned).collect()),
        None => (suffix.to_owned(), Vec::new()),
    }
}

fn same(a: &Value, b: &Value) -> bool {
    a.clone().decorated("", "").to_string() == b.clone().decorated("", "").to_string()
}

/// Removes the key at `keys`, then every table on the way that it leaves empty and uncommented,
/// but none of the first `keep` tables.
fn remove_path(table: &mut dyn TableLike, keys: &[&str], keep: usize) {
    let Some((first, rest)) = keys.split_first() else { return };
    if rest.is_empty() {
        table.remove(first);
        return;
    }
    let Some(child) = table.get_mut(first).and_then(Item::as_table_like_mut) else { return };
    remove_path(child, rest, keep.saturating_sub(1));
    let commented = table
        .get(first)
        .and_then(Item::as_table)
        .is_some_and(|t| t.decor().prefix().and_then(|p| p.as_str()).is_some_and(|p| p.contains('#')));
    if keep == 0 && table.get(first).and_then(Item::as_table_like).is_some_and(|t| t.is_empty()) && !commented {
        table.remove(first);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(text: &str, change: impl FnOnce(&mut TomlFile)) -> String {
        let mut file = TomlFile::parse(Utf8Path::new("/c/config.toml"), text.to_owned()).unwrap();
        change(&mut file);
        file.check(&file.text()).unwrap();
        file.text()
    }

    /// What setup writes into cargo's and sccache's configs, then what disable removes.
    fn setup(file: &mut TomlFile) {
        file.set(&["build", "rustc-wrapper"], "/bin/sccache").unwrap();
        file.set(&["build", "incremental"], false).unwrap();
        file.set(&["cache", "disk", "dir"], "/c/sccache").unwrap();
        file.set(&["cache", "disk", "size"], 1024_i64).unwrap();
    }

    fn disable(file: &mut TomlFile) {
        for keys in [
            &["build", "rustc-wrapper"][..],
            &["build", "incremental"],
            &["cache", "disk", "dir"],
            &["cache", "disk", "size"],
        ] {
            file.remove_marked(keys);
        }
    }

    #[test]
    fn every_form_of_table_gets_valid_toml_that_reads_back_and_disable_restores_every_byte() {
        let forms = [
            "build = { jobs = 2 }\n",
            "build = { jobs = 2 } # mine\ncache = { disk = { rw_mode = \"READ_WRITE\" } }\n",
            "cache = { redis = { endpoint = \"redis://h\" } }\n",
            "build.jobs = 2\ncache.disk.size = 10\n",
            "[build]\njobs = 2\n\n[cache.disk]\nrw_mode = \"READ_WRITE\"\n",
            "[build]\r\njobs = 2\r\n# a comment\r\n",
            "\u{feff}[build]\njobs = 2\n",
            "[build]\njobs = 2",
            "build = { jobs = 2 }",
            "",
        ];
        for original in forms {
            let once = edit(original, setup);
            let file = TomlFile::parse(Utf8Path::new("/c"), once.clone()).unwrap();
            for (keys, value) in
                [(&["build", "rustc-wrapper"][..], "\"/bin/sccache\""), (&["cache", "disk", "dir"], "\"/c/sccache\"")]
            {
                let (read, marked) = file.get(keys).unwrap_or_else(|| panic!("{keys:?} in {once:?}"));
                assert_eq!((read.clone().decorated("", "").to_string().as_str(), marked), (value, true), "{once:?}");
            }
            assert_eq!(edit(&once, setup), once, "a second run changes nothing: {original:?}");
            assert_eq!(edit(&once, disable), original, "disable after setup of {original:?} (was {once:?})");
        }
        let crlf = edit("[build]\r\njobs = 2\r\n", setup);
        assert!(!crlf.replace("\r\n", "").contains('\n'), "every line stays CRLF: {crlf:?}");
        assert!(edit("\u{feff}jobs = 1\n", setup).starts_with('\u{feff}'));
    }

    #[test]
    fn a_key_on_the_way_that_is_no_table_is_an_error() {
        for text in ["build = \"fast\"\n", "[[cache]]\nname = 1\n", "cache = [1, 2]\n"] {
            let mut file = TomlFile::parse(Utf8Path::new("/c/config.toml"), text.to_owned()).unwrap();
            let keys: &[&str] =
                if text.contains("build") { &["build", "rustc-wrapper"] } else { &["cache", "disk", "dir"] };
            let err = file.set(keys, "x").unwrap_err().to_string();
            assert!(err.contains("not a table") && err.contains("/c/config.toml"), "{err}");
            assert!(!file.changed(), "{text:?}");
        }
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
        let text = edit(USER_CONFIG, |f| f.set(&["build", "rustc-wrapper"], "/bin/sccache").unwrap());
        assert_eq!(
            text,
            USER_CONFIG.replace("jobs = 2\n", &format!("jobs = 2\nrustc-wrapper = \"/bin/sccache\" # {MARK}\n"))
        );
    }

    #[test]
    fn a_windows_wrapper_path_is_valid_toml_that_reads_back_with_its_backslashes() {
        let wrapper = r"C:\Users\Ann O'Neil\.cargo\bin\sccache.exe";
        let text = edit(USER_CONFIG, |f| f.set(&["build", "rustc-wrapper"], wrapper).unwrap());
        let doc: DocumentMut = text.parse().unwrap();
        assert_eq!(doc["build"]["rustc-wrapper"].as_str(), Some(wrapper), "{text}");
        let reread = TomlFile::parse(Utf8Path::new("/c"), text).unwrap();
        assert_eq!(reread.get(&["build", "rustc-wrapper"]).and_then(|(value, _)| value.as_str()), Some(wrapper));
    }

    #[test]
    fn a_second_run_changes_nothing() {
        let once = edit(USER_CONFIG, |f| f.set(&["build", "rustc-wrapper"], "/bin/sccache").unwrap());
        let mut file = TomlFile::parse(Utf8Path::new("/c"), once.clone()).unwrap();
        file.set(&["build", "rustc-wrapper"], "/bin/sccache").unwrap();
        assert!(!file.changed());
        assert!(file.changes.is_empty());
    }

    #[test]
    fn nested_tables_are_created_without_empty_parents() {
        let text = edit("", |f| {
            f.set(&["cache", "disk", "dir"], "/c/sccache").unwrap();
            f.set(&["cache", "disk", "size"], 1024_i64).unwrap();
        });
        assert_eq!(text, format!("[cache.disk]\ndir = \"/c/sccache\" # {MARK}\nsize = 1024 # {MARK}\n"));
    }

    #[test]
    fn an_unmarked_value_is_replaced_in_place_marked_and_restored_by_disable() {
        let text = edit("[build]\nrustc-wrapper = \"sccache\"\njobs = 2\n", |f| {
            f.set(&["build", "rustc-wrapper"], "/bin/sccache").unwrap();
        });
        let replacing = r#"replacing="\u0020\u0022sccache\u0022""#;
        assert_eq!(text, format!("[build]\nrustc-wrapper = \"/bin/sccache\" # {MARK}, {replacing}\njobs = 2\n"));
        // disable puts the user's own value back, as it was.
        let restored = edit(&text, |f| f.remove_marked(&["build", "rustc-wrapper"]));
        assert_eq!(restored, "[build]\nrustc-wrapper = \"sccache\"\njobs = 2\n");
    }

    #[test]
    fn remove_takes_only_marked_keys_and_the_tables_it_empties() {
        let with = edit(USER_CONFIG, |f| {
            f.set(&["build", "rustc-wrapper"], "/bin/sccache").unwrap();
            f.set(&["cache", "disk", "dir"], "/c").unwrap();
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
        let text = edit("[build]\nincremental = false\n", |f| f.set(&["build", "rustc-wrapper"], "/s").unwrap());
        let file = TomlFile::parse(Utf8Path::new("/c"), text).unwrap();
        assert_eq!(file.get(&["build", "rustc-wrapper"]).map(|(v, m)| (v.as_str(), m)), Some((Some("/s"), true)));
        assert_eq!(file.get(&["build", "incremental"]).map(|(v, m)| (v.as_bool(), m)), Some((Some(false), false)));
        assert!(file.get(&["build", "target-dir"]).is_none());
    }
}
