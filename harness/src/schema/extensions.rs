//! Extensions: fields a response carries that the spec tier does not define.
//!
//! OpenAI's schemas leave `additionalProperties` open, so extra fields never fail validation; they are still
//! worth listing (Gemini's `extra_content`, `display_name`). This walks the instance beside the spec schema,
//! following local `$ref`s and the union of `anyOf`/`oneOf`/`allOf` branches, and records the path of every key
//! no branch defines. Objects whose schema lists no properties at all are free-form and are not descended.

use serde_json::Value;

/// Appends to `out` the paths under `path` of keys `schema` does not define.
pub fn collect(root: &Value, schema: &Value, instance: &Value, path: &str, out: &mut Vec<String>) {
    if !instance.is_object() && !instance.is_array() {
        return; // scalars hold no keys; skipping them keeps long vectors cheap
    }
    let branches = resolve_branches(root, schema);
    match instance {
        Value::Object(map) => {
            // Borrowed, first branch wins: cloning the sub-schemas here cost more than the rest of the walk.
            let mut known: Vec<(&str, &Value)> = Vec::new();
            for b in &branches {
                if let Some(props) = b.get("properties").and_then(Value::as_object) {
                    for (k, v) in props {
                        if !known.iter().any(|(name, _)| *name == k) {
                            known.push((k, v));
                        }
                    }
                }
            }
            if known.is_empty() {
                return; // free-form object (metadata, moderation details)
            }
            for (key, value) in map {
                let sub = known.iter().find(|(name, _)| *name == key).map(|(_, sub)| *sub);
                if sub.is_some() && !value.is_object() && !value.is_array() {
                    continue; // a defined scalar: nothing below it
                }
                let mut child = path.to_owned();
                crate::case::push_path_name(&mut child, key);
                match sub {
                    Some(sub) => collect(root, sub, value, &child, out),
                    None => out.push(child),
                }
            }
        }
        Value::Array(items) => {
            let Some(item_schema) = branches.iter().find_map(|b| b.get("items")) else { return };
            for (i, item) in items.iter().enumerate().filter(|(_, item)| item.is_object() || item.is_array()) {
                collect(root, item_schema, item, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// The schema itself plus every branch reachable through `$ref`, `anyOf`, `oneOf` and `allOf`.
fn resolve_branches<'a>(root: &'a Value, schema: &'a Value) -> Vec<&'a Value> {
    let mut out = Vec::new();
    let mut stack = vec![schema];
    while let Some(s) = stack.pop() {
        if out.len() > 64 {
            break; // guards against reference cycles
        }
        if let Some(target) = s.get("$ref").and_then(Value::as_str).and_then(|r| root.pointer(r.trim_start_matches('#'))) {
            stack.push(target);
        }
        for key in ["anyOf", "oneOf", "allOf"] {
            if let Some(list) = s.get(key).and_then(Value::as_array) {
                stack.extend(list.iter().rev());
            }
        }
        out.push(s);
    }
    out
}
