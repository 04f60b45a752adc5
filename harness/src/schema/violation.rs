//! Turning `jsonschema` errors into [`Violation`]s a user can act on.
//!
//! A raw error says `"/choices/0" is not valid under any of the schemas`; a violation says
//! `$.choices[0].delta.tool_calls[0].index: required property is missing`, names the rule
//! (`ChatCompletionMessageToolCallChunk.required`), and gives expected and actual. `anyOf`/`oneOf` failures are
//! opened up: the branch the value was evidently meant to match (no type mismatch at the value itself, fewest
//! errors) is reported instead of the bare "not valid under any of the schemas".

use jsonschema::ValidationError;
use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde::Serialize;
use serde_json::Value;

use super::Tier;
use crate::case::{JsonType, ObjectKind};

/// One schema violation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Violation {
    /// The tier whose schema failed.
    pub tier: Tier,
    /// The object schema that was applied.
    pub object: ObjectKind,
    /// Instance path (`$.choices[0].message.refusal`); for a missing property, the path of that property.
    pub path: String,
    /// The rule: the nearest titled schema (an OpenAI component) and the keyword, e.g. `Error.required`.
    pub rule: String,
    /// The JSON Schema keyword that failed (`required`, `type`, `enum`, …).
    pub keyword: String,
    /// JSON pointer of the failing keyword in the schema document.
    pub schema_path: String,
    /// What the schema wants.
    pub expected: String,
    /// What the response has.
    pub actual: String,
    /// Why it matters, from the nearest `x-why` of the client tier.
    pub why: Option<String>,
    /// The nearest `x-severity` of the client tier says `typed`: the SDKs return such a response whole and only
    /// their types are broken (measured by the client drivers, `drivers/`), so the finding is `typed`, not breaking.
    pub typed: bool,
}

/// Appends the violations `error` stands for to `out`.
pub(super) fn flatten(error: &ValidationError<'_>, root: &Value, start: &str, tier: Tier, object: ObjectKind, out: &mut Vec<Violation>) {
    let here = error.instance_path().as_str().to_owned();
    if let ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } = error.kind() {
        let intended = context
            .iter()
            .filter(|branch| !branch.is_empty())
            .filter(|branch| !branch.iter().any(|e| e.instance_path().as_str() == here && matches!(e.kind(), ValidationErrorKind::Type { .. })))
            .min_by_key(|branch| branch.len());
        if let Some(branch) = intended {
            for e in branch {
                flatten(e, root, start, tier, object, out);
            }
            return;
        }
    }
    let schema_path = error.schema_path().as_str().to_owned();
    let trail = walk(root, start, &schema_path);
    let keyword = schema_path.rsplit('/').next().unwrap_or_default().to_owned();
    let mut path = pointer_to_path(&here);
    let instance: &Value = error.instance();
    let (expected, actual) = match error.kind() {
        ValidationErrorKind::Required { property } => {
            if let Some(name) = property.as_str() {
                crate::case::push_path_name(&mut path, name);
            }
            ("present".to_owned(), "missing".to_owned())
        }
        ValidationErrorKind::Type { kind } => (describe_type_kind(kind), JsonType::of(instance).name().to_owned()),
        ValidationErrorKind::Enum { options } => (format!("one of {}", compact(options, 200)), compact(instance, 120)),
        ValidationErrorKind::Constant { expected_value } => (compact(expected_value, 120), compact(instance, 120)),
        ValidationErrorKind::AnyOf { .. } | ValidationErrorKind::OneOfNotValid { .. } => {
            (describe_branches(root, start, &schema_path), format!("{} {}", JsonType::of(instance).name(), compact(instance, 80)))
        }
        ValidationErrorKind::OneOfMultipleValid { .. } => ("exactly one matching schema".into(), "several match".into()),
        _ => (error.to_string(), compact(instance, 120)),
    };
    out.push(Violation {
        tier,
        object,
        path,
        rule: trail.rule(&keyword),
        keyword,
        schema_path,
        expected,
        actual,
        why: trail.why,
        typed: trail.typed,
    });
}

/// What walking a schema path found: the nearest title, the steps after it, and the nearest `x-why`.
struct Trail {
    title: Option<String>,
    steps: Vec<String>,
    why: Option<String>,
    typed: bool,
}

impl Trail {
    fn rule(&self, keyword: &str) -> String {
        let mut parts: Vec<&str> = self.title.iter().map(String::as_str).collect();
        parts.extend(self.steps.iter().map(String::as_str).filter(|s| *s != keyword));
        parts.push(keyword);
        parts.join(".")
    }
}

/// Follows `schema_path` through `root` (jumping at each `$ref`), noting titles, property names and `x-why`s.
fn walk(root: &Value, start: &str, schema_path: &str) -> Trail {
    let mut trail = Trail { title: None, steps: Vec::new(), why: None, typed: false };
    let mut node = root;
    let segments: Vec<String> = schema_path.split('/').skip(1).map(unescape).collect();
    let mut i = 0;
    while i < segments.len() {
        let seg = segments[i].as_str();
        let next = if seg == "$ref" {
            // The compiled wrapper's own `$ref` points at the object; inner ones are written in the node.
            let target = if i == 0 { format!("#{start}") } else { node.get("$ref").and_then(Value::as_str).unwrap_or("#").to_owned() };
            root.pointer(target.trim_start_matches('#'))
        } else if let Ok(n) = seg.parse::<usize>() {
            node.get(n).or_else(|| node.get(seg))
        } else {
            node.get(seg)
        };
        let Some(next) = next else { break };
        node = next;
        let is_container = matches!(seg, "properties" | "$defs" | "anyOf" | "oneOf" | "allOf" | "items" | "$ref") || seg.parse::<usize>().is_ok();
        let in_properties = i > 0 && segments[i - 1] == "properties";
        if let Some(t) = node.get("title").and_then(Value::as_str) {
            trail.title = Some(t.to_owned());
            trail.steps.clear();
        } else if in_properties || (!is_container && i + 1 < segments.len()) {
            trail.steps.push(seg.to_owned());
        }
        if let Some(w) = node.get("x-why").and_then(Value::as_str) {
            trail.why = Some(w.to_owned());
        }
        if let Some(sev) = node.get("x-severity").and_then(Value::as_str) {
            trail.typed = sev == "typed";
        }
        i += 1;
    }
    trail
}

/// "string or null" for an `anyOf` of simple branches, else the titles of referenced branches.
fn describe_branches(root: &Value, start: &str, schema_path: &str) -> String {
    let mut node = Some(root);
    let segments: Vec<String> = schema_path.split('/').skip(1).map(unescape).collect();
    for (i, seg) in segments.iter().enumerate() {
        node = node.and_then(|n| {
            if seg == "$ref" {
                let target = if i == 0 { format!("#{start}") } else { n.get("$ref")?.as_str()?.to_owned() };
                root.pointer(target.trim_start_matches('#'))
            } else {
                n.get(seg.as_str())
            }
        });
    }
    let Some(branches) = node.and_then(Value::as_array) else { return "one of the allowed shapes".into() };
    let names: Vec<String> = branches
        .iter()
        .map(|b| {
            if let Some(r) = b.get("$ref").and_then(Value::as_str) {
                root.pointer(r.trim_start_matches('#')).and_then(|t| t.get("title")).and_then(Value::as_str).unwrap_or(r).to_owned()
            } else if let Some(t) = b.get("type") {
                t.as_str().map(str::to_owned).unwrap_or_else(|| t.to_string())
            } else {
                "schema".into()
            }
        })
        .collect();
    names.join(" or ")
}

fn describe_type_kind(kind: &TypeKind) -> String {
    match kind {
        TypeKind::Single(t) => t.to_string(),
        TypeKind::Multiple(ts) => ts.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(" or "),
    }
}

fn unescape(seg: &str) -> String {
    seg.replace("~1", "/").replace("~0", "~")
}

/// `/choices/0/message` → `$.choices[0].message`.
pub(crate) fn pointer_to_path(pointer: &str) -> String {
    let mut out = String::from("$");
    for seg in pointer.split('/').skip(1) {
        let seg = unescape(seg);
        if !seg.is_empty() && seg.chars().all(|c| c.is_ascii_digit()) {
            out.push_str(&format!("[{seg}]"));
        } else {
            crate::case::push_path_name(&mut out, &seg);
        }
    }
    out
}

/// Compact JSON, cut at `max` characters.
pub(crate) fn compact(value: &Value, max: usize) -> String {
    let s = value.to_string();
    if s.chars().count() <= max { s } else { format!("{}…", s.chars().take(max).collect::<String>()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_become_readable_paths() {
        assert_eq!(pointer_to_path(""), "$");
        assert_eq!(pointer_to_path("/choices/0/delta/tool_calls/1"), "$.choices[0].delta.tool_calls[1]");
        assert_eq!(pointer_to_path("/a~1b/x y"), r#"$["a/b"]["x y"]"#);
    }
}
