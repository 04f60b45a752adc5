//! Filling a step's request for a target: `{{model}}` / `{{model.<role>}}` by the target's model names, and
//! `{{<capture>}}` by a value an earlier step captured.

use serde_json::Value;

use crate::case::{LoadedCase, Request};
use crate::outcome::SentRequest;
use crate::target::Target;

/// The request with `{{model}}` / `{{model.<role>}}` replaced by the target's model names.
/// The first step's request of `loaded` (the only one of a one-step case), resolved for `target`.
pub fn resolve_request(loaded: &LoadedCase, target: &Target) -> Result<SentRequest, String> {
    resolve_with(loaded, loaded.case.first_request(), target, &Captures::new())
}

/// Values captured by earlier steps of a multi-step case, by name.
pub type Captures = std::collections::BTreeMap<String, Value>;

/// `request` with its placeholders filled: `{{model}}` / `{{model.<role>}}` by the target's model names, and
/// `{{<capture>}}` by a value an earlier step captured. A body string that is exactly one capture placeholder
/// becomes the captured JSON value itself (an object, an array); inside a longer string a capture is inserted
/// as text (a string as is, anything else as compact JSON).
pub(super) fn resolve_with(loaded: &LoadedCase, request: &Request, target: &Target, captures: &Captures) -> Result<SentRequest, String> {
    let case = &loaded.case;
    let model_for = |role: &str| {
        target
            .model_for(&case.feature, &case.id, role)
            .ok_or_else(|| format!("target `{}` has no model for role `{role}` (add it under `models` in cases/targets.yaml)", target.name))
    };
    let substitute = |s: &str| -> Result<String, String> {
        let mut out = String::new();
        let mut rest = s;
        while let Some(start) = rest.find("{{") {
            let end = rest[start..].find("}}").map(|e| start + e).ok_or_else(|| format!("unclosed `{{{{` in `{s}`"))?;
            out.push_str(&rest[..start]);
            let name = rest[start + 2..end].trim();
            match (name, captures.get(name)) {
                (_, Some(Value::String(v))) => out.push_str(v),
                (_, Some(other)) => out.push_str(&other.to_string()),
                ("model", None) => out.push_str(&model_for(&case.model)?),
                (other, None) => {
                    let role = other.strip_prefix("model.").ok_or_else(|| format!("unknown placeholder `{{{{{other}}}}}`"))?;
                    out.push_str(&model_for(role)?);
                }
            }
            rest = &rest[end + 2..];
        }
        out.push_str(rest);
        Ok(out)
    };
    let whole = |s: &str| -> Option<Value> {
        let inner = s.trim().strip_prefix("{{")?.strip_suffix("}}")?;
        (!inner.contains("{{")).then(|| captures.get(inner.trim()).cloned()).flatten()
    };
    fn walk(v: &Value, f: &dyn Fn(&str) -> Result<String, String>, whole: &dyn Fn(&str) -> Option<Value>) -> Result<Value, String> {
        Ok(match v {
            Value::String(s) if s.contains("{{") => match whole(s) {
                Some(value) => value,
                None => Value::String(f(s)?),
            },
            Value::Array(items) => Value::Array(items.iter().map(|i| walk(i, f, whole)).collect::<Result<_, _>>()?),
            Value::Object(map) => Value::Object(map.iter().map(|(k, v)| Ok((k.clone(), walk(v, f, whole)?))).collect::<Result<_, String>>()?),
            other => other.clone(),
        })
    }
    Ok(SentRequest {
        method: request.method,
        path: substitute(&request.path)?,
        body: request.body.as_ref().map(|b| walk(b, &substitute, &whole)).transpose()?,
        raw_body: request.raw_body.as_ref().map(|r| substitute(r)).transpose()?,
    })
}
