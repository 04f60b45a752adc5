//! The spec tier taken from an official OpenAPI document (`--spec FILE`).
//!
//! OpenAI's document declares OpenAPI 3.1 but still uses 3.0 forms that JSON Schema ignores or rejects:
//! `nullable: true` (so an unmodified validator rejects real `finish_reason: null` chunks) and boolean
//! `exclusiveMinimum`/`exclusiveMaximum` (which do not compile). [`normalize`] rewrites both before compiling.
//! Each component gets its name as `title`, so violations name the component as with the project's schemas.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::{Compiled, compile_at};
use crate::case::ObjectKind;

/// Rewrites OpenAPI 3.0 forms in place: `{…, nullable: true}` → `{anyOf: [{…}, {type: null}]}`, and
/// `{minimum: x, exclusiveMinimum: true}` → `{exclusiveMinimum: x}` (likewise for maximum; `false` is dropped).
pub fn normalize(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for child in map.values_mut() {
                normalize(child);
            }
            fix_exclusive(map, "exclusiveMinimum", "minimum");
            fix_exclusive(map, "exclusiveMaximum", "maximum");
            if map.get("nullable") == Some(&Value::Bool(true)) {
                map.remove("nullable");
                let inner = std::mem::take(map);
                map.insert("anyOf".into(), json!([Value::Object(inner), {"type": "null"}]));
            } else if map.get("nullable") == Some(&Value::Bool(false)) {
                map.remove("nullable");
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalize),
        _ => {}
    }
}

fn fix_exclusive(map: &mut Map<String, Value>, exclusive: &str, inclusive: &str) {
    match map.get(exclusive) {
        Some(Value::Bool(true)) => {
            let bound = map.remove(inclusive).unwrap_or(Value::Null);
            map.insert(exclusive.into(), bound);
        }
        Some(Value::Bool(false)) => {
            map.remove(exclusive);
        }
        _ => {}
    }
}

/// Compiles the spec tier of every object from `document`'s components, normalized.
pub(super) fn compile(document: &Value) -> Result<HashMap<ObjectKind, Compiled>, String> {
    let mut components = document.get("components").cloned().ok_or("the document has no `components`")?;
    normalize(&mut components);
    if let Some(schemas) = components.get_mut("schemas").and_then(Value::as_object_mut) {
        for (name, schema) in schemas.iter_mut() {
            if let Some(obj) = schema.as_object_mut() {
                obj.entry("title").or_insert_with(|| Value::String(name.clone()));
            }
        }
    }
    let root = Arc::new(json!({ "components": components }));
    ObjectKind::ALL.iter().map(|&kind| compile_at(&root, &format!("/components/schemas/{}", kind.openapi_component())).map(|c| (kind, c))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nullable_and_boolean_exclusive_bounds_are_rewritten() {
        let mut v = json!({"properties": {
            "a": {"type": "string", "nullable": true},
            "b": {"$ref": "#/x", "nullable": true},
            "c": {"type": "number", "minimum": 0, "exclusiveMinimum": true},
            "d": {"type": "number", "maximum": 2, "exclusiveMaximum": false},
            "nullable": {"type": "boolean"}
        }});
        normalize(&mut v);
        assert_eq!(
            v,
            json!({"properties": {
                "a": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                "b": {"anyOf": [{"$ref": "#/x"}, {"type": "null"}]},
                "c": {"type": "number", "exclusiveMinimum": 0},
                "d": {"type": "number", "maximum": 2},
                "nullable": {"type": "boolean"}
            }})
        );
    }
}
