//! Finding and parsing case files, and the errors a broken one produces.
//!
//! Discovery walks `cases/<feature>/*.yaml` in sorted order. Every problem — YAML syntax, an unknown key,
//! a wrong type, an invalid JSON path, a file whose name disagrees with its `id` — becomes a [`LoadError`]
//! naming `file:line:col`, rendered rustc-style with the offending line. One broken file never stops the
//! others from loading.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

use super::Case;

/// A case with where it came from.
#[derive(Debug, Clone)]
pub struct LoadedCase {
    /// The parsed case.
    pub case: Case,
    /// Path relative to the project root, with `/` separators (`cases/chat/basic.yaml`).
    pub file: String,
    /// Line of the case's `id` key (1-based), where "the case" is reported.
    pub line: u64,
    /// The file's text, kept so findings can quote the line of an assertion.
    pub source: String,
}

impl LoadedCase {
    /// The text of a 1-based line of the case file, trimmed at the end.
    pub fn source_line(&self, line: u64) -> Option<&str> {
        self.source.lines().nth(line.checked_sub(1)? as usize).map(str::trim_end)
    }
}

/// A case file that could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// Path relative to the project root.
    pub file: String,
    /// 1-based line; 0 when the problem concerns the whole file.
    pub line: u64,
    /// 1-based column; 0 when unknown.
    pub col: u64,
    /// What is wrong, with a did-you-mean where one fits.
    pub message: String,
    /// The offending line of the file, when there is one.
    pub source_line: Option<String>,
}

impl LoadError {
    /// An error about the whole file (no line).
    pub fn whole_file(file: &str, message: impl Into<String>) -> Self {
        LoadError { file: file.to_owned(), line: 0, col: 0, message: message.into(), source_line: None }
    }

    /// An error at a 1-based line and column of `text`, quoting that line.
    pub fn at(file: &str, text: &str, line: u64, col: u64, message: impl Into<String>) -> Self {
        let source_line = line.checked_sub(1).and_then(|l| text.lines().nth(l as usize)).map(|l| l.trim_end().to_owned());
        LoadError { file: file.to_owned(), line, col, message: message.into(), source_line }
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

/// Renders rustc-style: the headline, then the offending line with a caret under the column.
impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.headline())?;
        if let Some(src) = &self.source_line {
            let gutter = self.line.to_string().len();
            writeln!(f, "{:gutter$} --> {}:{}:{}", "", self.file, self.line, self.col)?;
            writeln!(f, "{:gutter$} |", "")?;
            writeln!(f, "{} | {}", self.line, src)?;
            let pad = (self.col.max(1) - 1) as usize;
            writeln!(f, "{:gutter$} | {:pad$}^", "", "")?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadError {}

/// Loads every case under `<root>/cases/<feature>/`, sorted by path. Broken files come back as errors
/// beside the cases that loaded; an I/O failure reading the folder is one error naming it.
pub fn load_cases(root: &Path) -> (Vec<LoadedCase>, Vec<LoadError>) {
    let mut cases = Vec::new();
    let mut errors = Vec::new();
    let files = match discover(root) {
        Ok(files) => files,
        Err(e) => return (cases, vec![e]),
    };
    for rel in files {
        match load_case_file(root, &rel) {
            Ok(c) => cases.push(c),
            Err(e) => errors.push(e),
        }
    }
    (cases, errors)
}

/// The case files under `<root>/cases/<feature>/`, as root-relative `/`-separated paths, sorted.
pub fn discover(root: &Path) -> Result<Vec<String>, LoadError> {
    let cases_dir = root.join("cases");
    let io_err = |p: &Path, e: std::io::Error| LoadError::whole_file(&p.display().to_string(), format!("cannot read: {e}"));
    let mut files = Vec::new();
    let features = std::fs::read_dir(&cases_dir).map_err(|e| io_err(&cases_dir, e))?;
    for feature in features {
        let feature = feature.map_err(|e| io_err(&cases_dir, e))?;
        if !feature.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            continue; // files directly under cases/ (targets.yaml, the case schema) are not cases
        }
        let dir = feature.path();
        for entry in std::fs::read_dir(&dir).map_err(|e| io_err(&dir, e))? {
            let path: PathBuf = entry.map_err(|e| io_err(&dir, e))?.path();
            if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                let rel = path.strip_prefix(root).unwrap_or(&path);
                files.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Loads one case file given its root-relative path.
pub fn load_case_file(root: &Path, rel: &str) -> Result<LoadedCase, LoadError> {
    let text = std::fs::read_to_string(root.join(rel)).map_err(|e| LoadError::whole_file(rel, format!("cannot read: {e}")))?;
    parse_case(rel, &text)
}

/// Parses case text; `file` is the root-relative path, used in errors and checked against `id`/`feature`.
pub fn parse_case(file: &str, text: &str) -> Result<LoadedCase, LoadError> {
    let case: Case = parse_yaml(file, text)?;
    let line = id_line(text);
    let fail = |msg: String| LoadError::at(file, text, line, 1, msg);
    let id_ok = !case.id.is_empty() && case.id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !id_ok {
        return Err(fail(format!("`id` must match [a-z0-9_]+, got `{}`", case.id)));
    }
    let feature_ok = !case.feature.is_empty() && case.feature.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !feature_ok {
        return Err(fail(format!("`feature` must match [a-z0-9-]+, got `{}`", case.feature)));
    }
    let expected_file = format!("cases/{}/{}.yaml", case.feature, case.id);
    if !file.ends_with(&expected_file) && !file.ends_with(&expected_file.replace(".yaml", ".yml")) {
        return Err(fail(format!(
            "case `{}` of feature `{}` must live at {expected_file} (its file name and folder name the case)",
            case.id, case.feature
        )));
    }
    check_consistency(file, text, &case)?;
    Ok(LoadedCase { case, file: file.to_owned(), line, source: text.to_owned() })
}

/// Rules that span several keys, so serde cannot state them.
fn check_consistency(file: &str, text: &str, case: &Case) -> Result<(), LoadError> {
    let line_of = |key: &str| key_line(text, key).unwrap_or(1);
    if case.repeat == 0 {
        return Err(LoadError::at(file, text, line_of("repeat"), 1, "`repeat` must be at least 1"));
    }
    if case.request.body.is_some() && case.request.raw_body.is_some() {
        return Err(LoadError::at(file, text, line_of("raw_body"), 1, "give `body` or `raw_body`, not both"));
    }
    let success = (200..300).contains(&case.expect.status);
    if case.is_streaming() && success && case.expect.schema.is_some_and(|s| s != crate::case::ObjectKind::ChatCompletionChunk) {
        return Err(LoadError::at(
            file,
            text,
            line_of("schema"),
            1,
            "a streaming request (`body.stream: true`) is checked chunk by chunk: use `schema: chat.completion.chunk`",
        ));
    }
    for k in &case.known_divergences {
        let (l, c) = (k.referenced.line(), k.referenced.column());
        if k.value.rule.is_none() && k.value.path.is_none() {
            return Err(LoadError::at(file, text, l, c, "a known divergence needs a `rule`, a `path`, or both"));
        }
        if k.value.targets.is_empty() {
            return Err(LoadError::at(file, text, l, c, "a known divergence needs at least one target in `targets`"));
        }
    }
    Ok(())
}

/// Deserializes YAML into `T` with the project's options, mapping errors to [`LoadError`]s
/// (with a did-you-mean for unknown keys). Used for case files and for `targets.yaml`.
pub fn parse_yaml<T: serde::de::DeserializeOwned>(file: &str, text: &str) -> Result<T, LoadError> {
    // Strict booleans: `yes`/`on` stay strings, so a typo never silently becomes `true`.
    let options = serde_saphyr::options! { strict_booleans: true };
    serde_saphyr::from_str_with_options::<T>(text, options).map_err(|e| {
        let plain = e.render_with_options(serde_saphyr::render_options! { snippets: serde_saphyr::SnippetMode::Off });
        let message = with_did_you_mean(strip_location_suffix(&plain));
        match e.location() {
            Some(loc) if loc.line() > 0 => LoadError::at(file, text, loc.line(), loc.column(), message),
            _ => LoadError::whole_file(file, message),
        }
    })
}

fn strip_location_suffix(s: &str) -> String {
    static SUFFIX: LazyLock<Regex> = LazyLock::new(|| Regex::new(r" at line \d+, column \d+$").unwrap());
    SUFFIX.replace(s.trim_end(), "").into_owned()
}

/// Rewrites "unknown field `x`, expected one of a, b" into "unknown key `x` (did you mean `a`?); expected one of …".
fn with_did_you_mean(message: String) -> String {
    static UNKNOWN: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^unknown (field|variant) `([^`]*)`, expected (?:one of )?(.*)$").unwrap());
    let Some(c) = UNKNOWN.captures(&message) else { return message };
    let what = if &c[1] == "field" { "key" } else { "value" };
    let unknown = &c[2];
    let candidates: Vec<&str> = c[3].split(", ").map(|s| s.trim_matches('`')).filter(|s| !s.is_empty()).collect();
    let best = candidates.iter().map(|cand| (edit_distance(unknown, cand), *cand)).min();
    let expected = candidates.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ");
    match best {
        Some((d, cand)) if d <= (unknown.len().max(cand.len()) / 3).max(2) => {
            format!("unknown {what} `{unknown}`: did you mean `{cand}`? (expected one of {expected})")
        }
        _ => format!("unknown {what} `{unknown}` (expected one of {expected})"),
    }
}

/// Levenshtein distance, for did-you-mean suggestions.
fn edit_distance(a: &str, b: &str) -> usize {
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

fn id_line(text: &str) -> u64 {
    key_line(text, "id").unwrap_or(1)
}

/// Line of a top-level key (no indentation), for errors about rules spanning keys.
fn key_line(text: &str, key: &str) -> Option<u64> {
    let needle = format!("{key}:");
    text.lines().position(|l| l.starts_with(&needle)).map(|i| i as u64 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn did_you_mean_picks_the_closest_key() {
        let m = with_did_you_mean("unknown field `staus`, expected one of status, schema, assert".into());
        assert_eq!(m, "unknown key `staus`: did you mean `status`? (expected one of `status`, `schema`, `assert`)");
        let far = with_did_you_mean("unknown field `zzzzzz`, expected one of status, schema".into());
        assert_eq!(far, "unknown key `zzzzzz` (expected one of `status`, `schema`)");
    }

    #[test]
    fn renders_rustc_style() {
        let e = LoadError::at("cases/a/b.yaml", "id: b\n  staus: 2\n", 2, 3, "bad");
        assert_eq!(e.to_string(), "error: cases/a/b.yaml:2:3: bad\n  --> cases/a/b.yaml:2:3\n  |\n2 |   staus: 2\n  |   ^\n");
    }
}
