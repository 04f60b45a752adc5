//! Snapshots of normalized responses, stored as insta `.snap` files under `snapshots/<target>/`.
//!
//! [`normalize`] is the one place volatile fields are redacted: ids (not model ids, which are stable names),
//! timestamps, token counts, generated text, error messages, tool-call arguments, vectors and images, opaque
//! signatures. For a stream the snapshot holds the redacted chunks (consecutive identical ones collapsed, so
//! chunking differences between runs do not matter) and the reassembled message. [`compare`] reads the stored
//! snapshot with insta and compares it as insta does, without side effects; [`sync_with_insta`] — called by the
//! `cargo test` entry's session, never by the run layer — hands a changed or missing snapshot to
//! `insta::assert_snapshot!`, so insta decides by its own rules whether to write a `.snap.new` for
//! `cargo insta review`, fail without writing (CI), or accept (`INSTA_UPDATE=always`). `compat run` never
//! involves insta's assertion (no panic text, no files) and follows a [`SnapshotPolicy`] instead, writing
//! `.snap.new` files only under `--snapshots update`.

use std::path::Path;

use serde_json::{Map, Value, json};

use crate::outcome::{SnapshotCheck, SnapshotStatus};

/// What a run does with snapshots (`compat run --snapshots`). The policy a maintainer wants: replay compares
/// and fails on any change (the fixtures are fixed, so a change is ours); a live run compares only where the
/// target has snapshots and reports a changed shape as a note, since answers vary from night to night.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SnapshotPolicy {
    /// `strict` in replay, `note` live (the default).
    #[default]
    Auto,
    /// A changed or missing snapshot fails the case.
    Strict,
    /// Compared where one is stored; a change is a note that fails nothing; none stored is not a failure (and
    /// not shown).
    Note,
    /// As `note`, and the run writes `<name>.snap.new` beside each changed or missing snapshot for
    /// `cargo insta review`.
    Update,
    /// No comparison.
    Off,
}

impl std::str::FromStr for SnapshotPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "auto" => SnapshotPolicy::Auto,
            "strict" => SnapshotPolicy::Strict,
            "note" => SnapshotPolicy::Note,
            "update" => SnapshotPolicy::Update,
            "off" => SnapshotPolicy::Off,
            other => return Err(format!("`{other}` is not a snapshot policy (auto, strict, note, update, off)")),
        })
    }
}

impl SnapshotPolicy {
    /// `Auto` resolved for a run: strict in replay, note live.
    pub fn resolve(self, live: bool) -> SnapshotPolicy {
        match self {
            SnapshotPolicy::Auto if live => SnapshotPolicy::Note,
            SnapshotPolicy::Auto => SnapshotPolicy::Strict,
            other => other,
        }
    }

    /// The comparison as the policy keeps it: `None` when off, else the check with `gating` set (a missing
    /// snapshot that does not gate is kept only so that recording can write it).
    pub fn apply(self, check: SnapshotCheck) -> Option<SnapshotCheck> {
        let gating = matches!(self, SnapshotPolicy::Strict | SnapshotPolicy::Auto);
        (self != SnapshotPolicy::Off).then_some(SnapshotCheck { gating, ..check })
    }
}

/// The snapshot name of a case: `<feature>__<id>`.
pub fn snapshot_name(feature: &str, id: &str) -> String {
    format!("{feature}__{id}")
}

/// Root-relative path of a snapshot file.
pub fn snapshot_file(target: &str, name: &str) -> String {
    format!("snapshots/{target}/{name}.snap")
}

/// The normalized snapshot text of a response: a JSON body, or a stream's chunks plus reassembled message.
pub fn normalize(body: Option<&Value>, chunks: &[Value], reassembled: Option<&Value>, status: u16) -> String {
    let mut doc = Map::new();
    doc.insert("status".into(), json!(status));
    if let Some(message) = reassembled {
        let mut collapsed: Vec<Value> = Vec::new();
        for c in chunks {
            let r = redact(c, "");
            if collapsed.last() != Some(&r) {
                collapsed.push(r);
            }
        }
        doc.insert("chunks".into(), Value::Array(collapsed));
        doc.insert("reassembled".into(), redact(message, ""));
    } else if let Some(b) = body {
        doc.insert("body".into(), redact(b, ""));
    }
    serde_json::to_string_pretty(&Value::Object(doc)).expect("a Value serializes")
}

/// Redacts volatile values; `key` is the key under which `value` sits.
fn redact(value: &Value, key: &str) -> Value {
    match value {
        Value::Object(map) => {
            // A model's id is its stable name (and Gemini's `models/` prefix is worth seeing); an error's message
            // is endpoint prose that changes without notice.
            let is_model = map.get("object").and_then(Value::as_str) == Some("model");
            let redacted = map.iter().map(|(k, v)| {
                let kept = match k.as_str() {
                    "id" if is_model => v.clone(),
                    "message" if key == "error" && v.is_string() => json!("[message]"),
                    // llama.cpp's `timings` (durations, rates, counts) are measured anew on every answer; their
                    // keys are kept, so a change of shape still shows.
                    _ if key == "timings" && v.is_number() => json!("[measured]"),
                    _ => redact_field(k, v),
                };
                (k.clone(), kept)
            });
            Value::Object(redacted.collect())
        }
        Value::Array(items) if key == "embedding" => json!(format!("[vector of {}]", items.len())),
        Value::Array(items) => Value::Array(items.iter().map(|v| redact(v, key)).collect()),
        other => other.clone(),
    }
}

fn redact_field(key: &str, value: &Value) -> Value {
    let placeholder = match (key, value) {
        (_, Value::Null) => None,
        ("id" | "tool_call_id" | "input_file_id" | "output_file_id" | "error_file_id", Value::String(_)) => Some("[id]"),
        ("created" | "created_at", _) => Some("[timestamp]"),
        (k, Value::Number(_)) if k.ends_with("_at") => Some("[timestamp]"),
        (k, Value::Number(_)) if k.ends_with("_tokens") || k == "total" || k == "completed" || k == "failed" => Some("[count]"),
        ("content" | "refusal" | "reasoning_content" | "thought" | "transcript", Value::String(_)) => Some("[text]"),
        ("arguments" | "input", Value::String(_)) => Some("[arguments]"),
        ("system_fingerprint" | "thought_signature" | "signature" | "obfuscation", Value::String(_)) => Some("[opaque]"),
        ("b64_json" | "data", Value::String(s)) if s.len() > 64 => Some("[base64]"),
        ("embedding", Value::String(_)) => Some("[base64 vector]"),
        _ => None,
    };
    match placeholder {
        Some(p) => Value::String(p.into()),
        None => redact(value, key),
    }
}

/// Compares `content` with the stored snapshot (read-only).
pub fn compare(root: &Path, target: &str, name: &str, content: String) -> SnapshotCheck {
    let file = snapshot_file(target, name);
    let path = root.join(&file);
    // Most snapshots match: the stored text equal to the new one settles it without insta's YAML reader (which
    // cost more than the rest of a replayed case's checks). Anything else takes insta's path.
    if std::fs::read_to_string(&path).is_ok_and(|stored| stored_text_is(&stored, &content)) {
        return SnapshotCheck { name: name.to_owned(), file, status: SnapshotStatus::Matched, diff: None, gating: true, content };
    }
    let new = insta::internals::TextSnapshotContents::new(content.clone(), insta::TextSnapshotKind::File);
    let (status, diff) = match insta::Snapshot::from_file(&path) {
        Err(_) => (SnapshotStatus::Missing, None),
        Ok(old) => match old.contents() {
            insta::internals::SnapshotContents::Text(old_text) if *old_text == new || same_json(&old_text.to_string(), &content) => {
                (SnapshotStatus::Matched, None)
            }
            insta::internals::SnapshotContents::Text(old_text) => {
                // insta trims trailing newlines; put one back so the diff has no "No newline" noise.
                let old_s = format!("{old_text}\n");
                let new_s = format!("{new}\n");
                let diff = similar::TextDiff::from_lines(old_s.as_str(), new_s.as_str())
                    .unified_diff()
                    .context_radius(3)
                    .header(&format!("{file} (stored)"), "new")
                    .to_string();
                (SnapshotStatus::Changed, Some(diff))
            }
            _ => (SnapshotStatus::Changed, Some("the stored snapshot is binary".into())),
        },
    };
    SnapshotCheck { name: name.to_owned(), file, status, diff, gating: true, content }
}

/// Whether `stored`, a `.snap` file in insta's format (a `---` header of `key: value` lines, `---`, the
/// contents), holds exactly `content` as insta compares text: trailing whitespace and CRLF line ends do not
/// count. A file of another shape (a legacy or binary snapshot) is not judged here.
fn stored_text_is(stored: &str, content: &str) -> bool {
    let Some(header_and_body) = stored.strip_prefix("---\n") else { return false };
    let Some((header, body)) = header_and_body.split_once("\n---\n") else { return false };
    let plain_header = header.lines().all(|l| l.contains(": ") && !l.starts_with("snapshot_kind"));
    let normalize = |s: &str| s.trim_end().replace("\r\n", "\n");
    plain_header && normalize(body) == normalize(content)
}

/// Whether two snapshot texts hold the same JSON: the snapshot is the meaning of an answer, and an endpoint that
/// orders an object's keys otherwise answers the same thing.
fn same_json(stored: &str, new: &str) -> bool {
    match (serde_json::from_str::<Value>(stored), serde_json::from_str::<Value>(new)) {
        (Ok(a), Ok(b)) => json_equal(&a, &b),
        _ => false,
    }
}

/// JSON equality with objects compared as maps (key order ignored), arrays in order.
fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w))),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(v, w)| json_equal(v, w)),
        _ => a == b,
    }
}

/// Hands an outcome's changed or missing snapshot to insta ([`sync_with_insta`]); when insta accepted it
/// (`INSTA_UPDATE=always`), the outcome's snapshot is marked matched. A [`Session`](crate::session::Session)
/// settles through insta only for `cargo test` (`SnapshotSink::Insta`); `compat run` never calls it.
pub fn settle(root: &Path, outcome: &mut crate::outcome::Outcome) {
    let accepted = outcome.snapshot.as_ref().is_some_and(|snap| sync_with_insta(root, &outcome.target, snap, &outcome.file));
    if let (true, Some(snap)) = (accepted, outcome.snapshot.as_mut()) {
        snap.status = SnapshotStatus::Matched;
        snap.diff = None;
    }
}

/// Lets insta handle a changed or missing snapshot: depending on `INSTA_UPDATE`/`CI` it writes
/// `<name>.snap.new` (review with `cargo insta review`), writes the `.snap` (`INSTA_UPDATE=always`), or only
/// fails. Returns `true` when the stored snapshot now matches (accepted). Prints what insta prints.
pub fn sync_with_insta(root: &Path, target: &str, check: &SnapshotCheck, case_file: &str) -> bool {
    if check.status == SnapshotStatus::Matched {
        return true;
    }
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(root.join("snapshots").join(target));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_input_file(root.join(case_file));
    let name = check.name.clone();
    let content = check.content.clone();
    let accepted =
        settings.bind(|| std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| insta::assert_snapshot!(name.as_str(), content.as_str()))).is_ok());
    accepted && compare(root, target, &check.name, check.content.clone()).status == SnapshotStatus::Matched
}

/// Writes the snapshot of `check` in insta's file format: as `<name>.snap.new` when `pending` (for
/// `cargo insta review`), else as the stored `<name>.snap` (when a fixture was just recorded: the snapshot of a
/// new fixture is derived from it). Returns its root-relative path.
pub fn write_snapshot(root: &Path, check: &SnapshotCheck, case_file: &str, pending: bool) -> std::io::Result<String> {
    let rel = if pending { format!("{}.new", check.file) } else { check.file.clone() };
    let path = root.join(&rel);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&path, format!("---\nsource: harness/src/snapshot.rs\ninput_file: {case_file}\n---\n{}\n", check.content))?;
    Ok(rel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volatile_fields_are_redacted_and_shape_kept() {
        let body = json!({"id": "chatcmpl-9", "created": 17, "choices": [{"message": {"content": "hi", "tool_calls": [
            {"id": "c", "function": {"name": "f", "arguments": "{}"}}]}}], "usage": {"total_tokens": 5},
            "data": [{"embedding": [0.1, 0.2]}]});
        let s = normalize(Some(&body), &[], None, 200);
        let v: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["body"]["id"], "[id]");
        assert_eq!(v["body"]["created"], "[timestamp]");
        assert_eq!(v["body"]["choices"][0]["message"]["content"], "[text]");
        assert_eq!(v["body"]["choices"][0]["message"]["tool_calls"][0]["function"], json!({"name": "f", "arguments": "[arguments]"}));
        assert_eq!(v["body"]["usage"]["total_tokens"], "[count]");
        assert_eq!(v["body"]["data"][0]["embedding"], "[vector of 2]");
        let models = json!({"data": [{"id": "models/gemini-2.5-flash", "object": "model"}], "error": {"message": "no", "code": 4}});
        let v: Value = serde_json::from_str(&normalize(Some(&models), &[], None, 200)).unwrap();
        assert_eq!(v["body"]["data"][0]["id"], "models/gemini-2.5-flash");
        assert_eq!(v["body"]["error"], json!({"message": "[message]", "code": 4}));
        // llama.cpp's timings: numbers redacted, keys kept; a number of the same name elsewhere is kept.
        let timed = json!({"timings": {"prompt_n": 74, "prompt_ms": 1.393, "predicted_per_second": 8241.7}, "prompt_n": 2});
        let v: Value = serde_json::from_str(&normalize(Some(&timed), &[], None, 200)).unwrap();
        assert_eq!(
            v["body"],
            json!({"timings": {"prompt_n": "[measured]", "prompt_ms": "[measured]", "predicted_per_second": "[measured]"}, "prompt_n": 2})
        );
    }

    #[test]
    fn key_order_alone_is_no_change_but_a_value_is() {
        let stored = "{\n  \"status\": 200,\n  \"body\": {\"a\": 1, \"b\": [1, {\"c\": 2, \"d\": 3}]}\n}";
        assert!(same_json(stored, r#"{"body": {"b": [1, {"d": 3, "c": 2}], "a": 1}, "status": 200}"#));
        assert!(!same_json(stored, r#"{"body": {"b": [{"d": 3, "c": 2}, 1], "a": 1}, "status": 200}"#), "array order is meaning");
        assert!(!same_json(stored, r#"{"body": {"b": [1, {"d": 3, "c": 2}], "a": 2}, "status": 200}"#));
        assert!(!same_json(stored, r#"{"body": {"b": [1, {"d": 3, "c": 2}], "a": 1, "e": null}, "status": 200}"#));
        assert!(!same_json(stored, "not json"));
    }

    /// The text shortcut says "matched" only where insta would: the file `write_snapshot` writes, with CRLF line
    /// ends or trailing blank lines too; a changed value, a binary or header-less file is left to insta.
    #[test]
    fn stored_text_matches_only_where_insta_would() {
        let content = "{\n  \"status\": 200\n}";
        let dir = tempfile::tempdir().unwrap();
        let check = SnapshotCheck {
            name: "f__c".into(),
            file: snapshot_file("t", "f__c"),
            status: SnapshotStatus::Missing,
            diff: None,
            gating: true,
            content: content.into(),
        };
        write_snapshot(dir.path(), &check, "cases/f/c.yaml", false).unwrap();
        let stored = std::fs::read_to_string(dir.path().join(&check.file)).unwrap();
        assert!(stored_text_is(&stored, content));
        assert!(stored_text_is(&format!("{stored}\n\n"), content));
        assert!(stored_text_is(&stored.replace("200\n", "200\r\n"), content));
        assert!(!stored_text_is(&stored, &content.replace("200", "201")));
        assert!(!stored_text_is(&stored.replace("input_file", "snapshot_kind: binary\ninput_file"), content));
        assert!(!stored_text_is(content, content), "no header: insta reads it as a legacy snapshot");
        // Both ways through `compare`: the shortcut's verdict and insta's agree.
        assert_eq!(compare(dir.path(), "t", "f__c", content.into()).status, SnapshotStatus::Matched);
        let changed = compare(dir.path(), "t", "f__c", content.replace("200", "201"));
        assert_eq!(changed.status, SnapshotStatus::Changed);
        assert!(changed.diff.as_deref().is_some_and(|d| d.contains("-  \"status\": 200") && d.contains("+  \"status\": 201")), "{:?}", changed.diff);
        std::fs::write(dir.path().join(&check.file), stored.replace('\n', "\r\n")).unwrap();
        assert_eq!(compare(dir.path(), "t", "f__c", content.into()).status, SnapshotStatus::Matched, "CRLF: insta's path");
    }

    #[test]
    fn stream_chunks_collapse_after_redaction() {
        let c = |t: &str| json!({"id": "x", "choices": [{"index": 0, "delta": {"content": t}}]});
        let s = normalize(None, &[c("a"), c("b"), c("c")], Some(&json!({"choices": []})), 200);
        let v: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["chunks"].as_array().unwrap().len(), 1);
    }
}
