//! Lint: no string of a case file is cut by an unquoted ` #`. In a plain YAML scalar, ` #` starts a comment, so
//! `why: … (gemini-compat.md #13)` silently loses everything from `#13` on (it did, in
//! `cases/thought-signatures/parallel_calls.yaml`). A comment is written `# text` after the value; a ` #`
//! followed by anything but a space, or one that leaves a bracket of the value open, is a cut string.

use std::path::{Path, PathBuf};

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(p);
        }
    }
}

/// The line's cut, if any: the plain scalar value before ` #` and what the comment swallowed.
fn cut_at(line: &str) -> Option<(String, String)> {
    let body = line.trim_start().trim_start_matches("- ");
    let (_, value) = body.split_once(": ")?;
    let value = value.trim_start();
    if value.is_empty() || value.starts_with(['"', '\'', '|', '>', '{', '[', '&', '*', '!']) {
        return None; // quoted, a block scalar or a flow collection: ` #` inside is not this lint's concern
    }
    let at = value.find(" #")?;
    let (kept, comment) = (&value[..at], &value[at + 2..]);
    let open = kept.matches('(').count() > kept.matches(')').count() || kept.matches('[').count() > kept.matches(']').count();
    let glued = !comment.is_empty() && !comment.starts_with(' ');
    (open || glued).then(|| (kept.trim_end().to_owned(), comment.to_owned()))
}

#[test]
fn no_case_string_is_cut_at_an_unquoted_hash() {
    let root = compat::suite::default_root();
    let mut files = Vec::new();
    yaml_files(&root.join("cases"), &mut files);
    assert!(files.len() >= 50, "the project's case files: {}", files.len());
    let mut cut = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let mut block: Option<usize> = None; // indentation of a block scalar's key
        for (n, line) in text.lines().enumerate() {
            let indent = line.len() - line.trim_start().len();
            if let Some(b) = block {
                if line.trim().is_empty() || indent > b {
                    continue;
                }
                block = None;
            }
            if line.trim_end().ends_with(['|', '>']) || line.trim_end().ends_with("|-") || line.trim_end().ends_with(">-") {
                block = Some(indent);
            }
            if let Some((kept, lost)) = cut_at(line) {
                cut.push(format!("{}:{}: `{kept}` loses `#{lost}` (quote the string)", file.display(), n + 1));
            }
        }
    }
    assert!(cut.is_empty(), "case strings cut by an unquoted ` #`:\n{}", cut.join("\n"));
}

#[test]
fn the_lint_catches_what_it_is_for() {
    assert!(cut_at("      why: refuses the tool loop (gemini-compat.md #13)").is_some(), "an open bracket");
    assert!(cut_at("    why: see issue #13 of the tracker").is_some(), "a hash glued to its text");
    assert!(cut_at("    when: sometimes          # only when the model thought").is_none(), "a comment");
    assert!(cut_at("    link: \"gemini-compat.md #2\"").is_none(), "quoted");
    assert!(cut_at("      why: \"the loop (gemini-compat.md #13)\"").is_none(), "quoted");
}
