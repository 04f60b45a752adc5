//! One diagnostic type for every file the harness reads: case files, `targets.yaml`, `features.yaml`,
//! expectations, fixtures and result files.
//!
//! A [`Diagnostic`] names `file:line:col`, says what is wrong, quotes the offending line with a caret under the
//! column and may carry a help line (a did-you-mean). It prints rustc-style, as Hurl's errors do. Build one
//! through its constructors — [`Diagnostic::at`] (a position in a text), [`Diagnostic::at_key`] (a nested YAML
//! key such as `expect.schema`), [`Diagnostic::at_json_key`] (a key of a pretty-printed JSON file) or
//! [`Diagnostic::whole_file`] — never by struct literal, so every diagnostic quotes its line the same way.

use std::fmt;

/// A problem in a file the harness reads, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Path relative to the project root (or as given on the command line).
    pub file: String,
    /// 1-based line; 0 when the problem concerns the whole file.
    pub line: u64,
    /// 1-based column; 0 when unknown.
    pub col: u64,
    /// What is wrong.
    pub message: String,
    /// The offending line of the file, when there is one.
    pub source_line: Option<String>,
    /// A hint, such as a did-you-mean.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A problem with the whole file (it cannot be read, it is empty, …).
    pub fn whole_file(file: &str, message: impl Into<String>) -> Self {
        Diagnostic { file: file.to_owned(), line: 0, col: 0, message: message.into(), source_line: None, help: None }
    }

    /// A problem at a 1-based `line` and `col` of `text`, the content of `file`.
    pub fn at(file: &str, text: &str, line: u64, col: u64, message: impl Into<String>) -> Self {
        let source_line = line.checked_sub(1).and_then(|l| text.lines().nth(l as usize)).map(|l| l.trim_end().to_owned());
        Diagnostic { file: file.to_owned(), line, col, message: message.into(), source_line, help: None }
    }

    /// A problem at a YAML key given by its path from the top (`["expect", "schema"]`). Falls back to the
    /// deepest ancestor found, then to the whole file.
    pub fn at_key(file: &str, text: &str, path: &[&str], message: impl Into<String>) -> Self {
        match yaml_key_position(text, path) {
            Some((line, col)) => Diagnostic::at(file, text, line, col, message),
            None => Diagnostic::whole_file(file, message),
        }
    }

    /// A problem at a key of a JSON document given by its path from the top (`["response", "raw_body"]`).
    pub fn at_json_key(file: &str, text: &str, path: &[&str], message: impl Into<String>) -> Self {
        match json_key_position(text, path) {
            Some((line, col)) => Diagnostic::at(file, text, line, col, message),
            None => Diagnostic::whole_file(file, message),
        }
    }

    /// Adds a help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// The one-line form: `file:line:col: message`.
    pub fn headline(&self) -> String {
        if self.line == 0 {
            format!("{}: {}", self.file, self.message)
        } else {
            format!("{}:{}:{}: {}", self.file, self.line, self.col, self.message)
        }
    }
}

/// Renders rustc-style: the headline, then the offending line with a caret under the column, then the help.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.headline())?;
        let gutter = self.line.to_string().len();
        if let Some(src) = &self.source_line {
            writeln!(f, "{:gutter$} --> {}:{}:{}", "", self.file, self.line, self.col)?;
            writeln!(f, "{:gutter$} |", "")?;
            writeln!(f, "{} | {}", self.line, src)?;
            let pad = (self.col.max(1) - 1) as usize;
            writeln!(f, "{:gutter$} | {:pad$}^", "", "")?;
        }
        if let Some(help) = &self.help {
            writeln!(f, "{:gutter$} = help: {help}", "")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostic {}

/// The candidate closest to `word` by edit distance, when it is close enough to be a likely typo (within a
/// third of the longer word's length, and at least 2).
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let (d, best) = candidates.into_iter().map(|c| (edit_distance(word, c), c)).min()?;
    (d <= (word.len().max(best.len()) / 3).max(2)).then_some(best)
}

/// Levenshtein distance, for did-you-mean suggestions.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Line and column (1-based) of a nested YAML key in block style, or in a flow mapping on its parent's line
/// (`expect: { schema: x }`). A key is looked for only inside its parent's block (lines indented deeper than
/// the parent, until the indentation returns). When the full path is absent, the deepest ancestor found.
pub fn yaml_key_position(text: &str, path: &[&str]) -> Option<(u64, u64)> {
    let lines: Vec<&str> = text.lines().collect();
    let indent_of = |l: &str| l.len() - l.trim_start().len();
    let mut found: Option<(usize, usize)> = None; // (line index, column index)
    for key in path {
        let needle = format!("{key}:");
        let hit = match found {
            // A flow mapping on the parent's own line: `expect: { status: 400, schema: error }`.
            Some((i, col)) if lines[i][col..].contains('{') => {
                let line = lines[i];
                [format!(" {needle}"), format!("{{{needle}")].iter().find_map(|n| line[col..].find(n.as_str())).map(|p| (i, col + p + 1))
            }
            _ => None,
        };
        let hit = hit.or_else(|| {
            let (from, parent) = match found {
                Some((i, _)) => (i + 1, Some(indent_of(lines[i]))),
                None => (0, None),
            };
            for (i, line) in lines.iter().enumerate().skip(from) {
                let trimmed = line.trim_start();
                if trimmed.is_empty() || trimmed.starts_with('#') {
                    continue;
                }
                if parent.is_some_and(|p| indent_of(line) <= p) {
                    return None; // left the parent's block
                }
                let body = trimmed.trim_start_matches("- ");
                if body.starts_with(&needle) {
                    return Some((i, line.len() - body.len()));
                }
            }
            None
        });
        match hit {
            Some(h) => found = Some(h),
            None => break,
        }
    }
    found.map(|(i, col)| (i as u64 + 1, col as u64 + 1))
}

/// Line and column (1-based) of a nested key in a JSON text: each key of `path` is the first `"key":` after
/// the previous one. Good for the pretty-printed fixtures the harness writes; `None` when a key is missing.
pub fn json_key_position(text: &str, path: &[&str]) -> Option<(u64, u64)> {
    let mut offset = 0usize;
    let mut at = None;
    for key in path {
        let needle = format!("\"{key}\"");
        let mut search = offset;
        let pos = loop {
            let p = search + text[search..].find(&needle)?;
            if text[p + needle.len()..].trim_start().starts_with(':') {
                break p;
            }
            search = p + needle.len();
        };
        at = Some(pos);
        offset = pos + needle.len();
    }
    let pos = at?;
    let line = text[..pos].matches('\n').count() as u64 + 1;
    let col = (pos - text[..pos].rfind('\n').map_or(0, |n| n + 1)) as u64 + 1;
    Some((line, col))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_rustc_style_with_help() {
        let e = Diagnostic::at("cases/a/b.yaml", "id: b\n  staus: 2\n", 2, 3, "bad");
        assert_eq!(e.to_string(), "error: cases/a/b.yaml:2:3: bad\n  --> cases/a/b.yaml:2:3\n  |\n2 |   staus: 2\n  |   ^\n");
        let h = Diagnostic::whole_file("x.yaml", "empty").with_help("write something");
        assert_eq!(h.to_string(), "error: x.yaml: empty\n  = help: write something\n");
    }

    #[test]
    fn finds_nested_yaml_keys_in_their_parent_only() {
        let text = "id: a\nschema: top\nexpect:\n  status: 200\n  schema: chat.completion\nknown: 1\n";
        assert_eq!(yaml_key_position(text, &["expect", "schema"]), Some((5, 3)));
        assert_eq!(yaml_key_position(text, &["schema"]), Some((2, 1)));
        let flow = "id: a\nexpect: { status: 400, schema: error }\n";
        assert_eq!(yaml_key_position(flow, &["expect", "schema"]), Some((2, 24)));
        let list = "targets:\n  t:\n    overrides:\n      - cases: [\"x::y\"]\n";
        assert_eq!(yaml_key_position(list, &["targets", "t", "overrides", "cases"]), Some((4, 9)));
        // Not inside `expect`: the deepest ancestor found.
        assert_eq!(yaml_key_position("expect:\n  status: 1\nschema: x\n", &["expect", "schema"]), Some((1, 1)));
    }

    #[test]
    fn finds_json_keys_by_path() {
        let text = "{\n  \"request\": {\"raw_body\": \"x\"},\n  \"response\": {\n    \"raw_body\": \"y\"\n  }\n}\n";
        assert_eq!(json_key_position(text, &["response", "raw_body"]), Some((4, 5)));
        assert_eq!(json_key_position(text, &["response", "events"]), None);
    }
}
