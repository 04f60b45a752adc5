//! OpenAI object schemas in two tiers, compiled once per run, and the violations they report.
//!
//! The project writes its own schemas from the facts of OpenAI's OpenAPI document (see `harness/schemas/openai/`):
//! the `client` tier holds what the official SDKs need (failing it is a **breaking** divergence), the `spec` tier
//! the full letter of the document (failing only it is a **spec** divergence). Fields the spec tier does not define
//! are **extensions**, listed but never failures ([`extensions`]). `--spec FILE` swaps the spec tier for an official
//! OpenAPI document ([`official`]). Every [`Violation`] carries the instance path, the rule (the component and
//! keyword), expected and actual.

pub mod extensions;
pub mod official;
mod violation;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::case::ObjectKind;
pub use violation::Violation;
pub(crate) use violation::{compact, pointer_to_path};

/// Which tier a schema belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// What the official SDKs need.
    Client,
    /// The full letter of the specification.
    Spec,
}

impl Tier {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Tier::Client => "client",
            Tier::Spec => "spec",
        }
    }
}

/// The project's client-tier schemas.
pub const CLIENT_SCHEMAS: &str = include_str!("../../schemas/openai/client.json");
/// The project's spec-tier schemas.
pub const SPEC_SCHEMAS: &str = include_str!("../../schemas/openai/spec.json");

/// One compiled object schema and the document it was compiled from (kept to name rules and find extensions).
struct Compiled {
    /// Built on first use for the builtin tiers (a run of one case needs one or two of some thirty: building
    /// them all was most of `compat run`'s start-up), at once for an official document (to report its errors).
    validator: OnceLock<jsonschema::Validator>,
    /// The document `pointer` is read in.
    root: Root,
    /// Pointer of the object's schema inside its document (`/$defs/chat.completion`).
    pointer: String,
}

/// Where a [`Compiled`] object's document comes from.
enum Root {
    /// Given at once: an official document, shared by every object.
    Given(Arc<Value>),
    /// Made on first use from the entries of a builtin tier the object reaches ([`TierText::document_for`]).
    Tier(Arc<TierText>, OnceLock<Value>),
}

/// A builtin tier as start-up reads it: the top level parsed, each `$defs` entry kept as its JSON text and
/// parsed only when an object that reaches it is first compiled. A run of one case needs a handful of the
/// entries; parsing all 34 KB of both files took 0.25–0.4 ms of every run's start-up, before its first request.
struct TierText {
    /// The file's `$schema`.
    dialect: Option<Value>,
    /// Its `$defs`, unparsed (the files are compiled in, so the text lives as long as the program).
    defs: HashMap<String, &'static RawValue>,
}

/// A tier file's top level, as [`TierText`] reads it.
#[derive(Deserialize)]
struct TierFile<'a> {
    #[serde(rename = "$schema", default)]
    dialect: Option<Value>,
    #[serde(rename = "x-spec-version", default)]
    spec_version: Option<String>,
    #[serde(rename = "$defs", borrow)]
    defs: HashMap<String, &'a RawValue>,
}

impl TierText {
    /// Reads a builtin tier file (`name` for the error), and its `x-spec-version`.
    fn read(text: &'static str, name: &str) -> Result<(Arc<TierText>, Option<String>), String> {
        let file: TierFile<'static> = serde_json::from_str(text).map_err(|e| format!("schema file {name} is not a tier file: {e}"))?;
        Ok((Arc::new(TierText { dialect: file.dialect, defs: file.defs }), file.spec_version))
    }

    /// The document an object's schema at `pointer` (`/$defs/<name>`) is compiled from: `$schema` and the
    /// `$defs` entries it reaches through local `$ref`s, transitively, each parsed once. Every pointer the
    /// object can reach reads in it as in the whole file.
    fn document_for(&self, pointer: &str) -> Value {
        let mut defs = serde_json::Map::new();
        let mut todo: Vec<String> = def_name(pointer).into_iter().collect();
        let mut refs = Vec::new();
        while let Some(name) = todo.pop() {
            if defs.contains_key(&name) {
                continue;
            }
            let Some(raw) = self.defs.get(&name) else { continue }; // a dangling `$ref`: the build says so
            let def: Value = serde_json::from_str(raw.get()).expect("an entry of a tier file read as JSON parses");
            local_refs(&def, &mut refs);
            todo.extend(refs.drain(..).filter_map(|r| def_name(&r)));
            defs.insert(name, def);
        }
        let mut doc = serde_json::Map::new();
        if let Some(dialect) = &self.dialect {
            doc.insert("$schema".into(), dialect.clone());
        }
        doc.insert("$defs".into(), Value::Object(defs));
        Value::Object(doc)
    }
}

/// The `$defs` entry a local pointer starts in (`/$defs/a/properties/b` → `a`), unescaped.
fn def_name(pointer: &str) -> Option<String> {
    let rest = pointer.strip_prefix("/$defs/")?;
    Some(rest.split('/').next().unwrap_or(rest).replace("~1", "/").replace("~0", "~"))
}

/// Where the spec tier came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "detail")]
pub enum SpecSource {
    /// The project's own `spec.json`.
    Builtin,
    /// An official OpenAPI document given with `--spec` (its path).
    OpenApi(String),
}

/// All object schemas of both tiers, compiled. Build it once per run and share it.
pub struct SchemaSet {
    client: HashMap<ObjectKind, Compiled>,
    spec: HashMap<ObjectKind, Compiled>,
    spec_source: SpecSource,
    spec_version: String,
}

impl SchemaSet {
    /// The project's own schemas (both tiers), each compiled when first used; every one compiles (a test
    /// compiles them all).
    pub fn builtin() -> Result<Self, String> {
        let (client, _) = TierText::read(CLIENT_SCHEMAS, "client.json")?;
        let (spec, version) = TierText::read(SPEC_SCHEMAS, "spec.json")?;
        let spec_version = version.unwrap_or_else(|| "unknown".to_owned());
        Ok(SchemaSet { client: defs(&client)?, spec: defs(&spec)?, spec_source: SpecSource::Builtin, spec_version })
    }

    /// Compiles the client tier from the project and the spec tier from an official OpenAPI document,
    /// normalized first (see [`official::normalize`]).
    pub fn with_openapi(document: &Value, path: &str) -> Result<Self, String> {
        let (client, _) = TierText::read(CLIENT_SCHEMAS, "client.json")?;
        let version = document.pointer("/info/version").and_then(Value::as_str).unwrap_or("unknown");
        Ok(SchemaSet {
            client: defs(&client)?,
            spec: official::compile(document)?,
            spec_source: SpecSource::OpenApi(path.to_owned()),
            spec_version: format!("openai-openapi {version} (from {path})"),
        })
    }

    /// Where the spec tier came from.
    pub fn spec_source(&self) -> &SpecSource {
        &self.spec_source
    }

    /// The specification version the spec tier follows.
    pub fn spec_version(&self) -> &str {
        &self.spec_version
    }

    /// Builds the validators of `kinds`, both tiers at once on threads of their own, and returns at once: the
    /// first check of a kind then finds its validator built, or waits for the build already under way, instead
    /// of building it while the run waits (building two is a third of a one-case live run; meanwhile the run
    /// starts its runtime and sends the request). The work is the same; only its timing changes.
    pub fn prepare(self: &Arc<Self>, kinds: &[ObjectKind]) {
        for tier in [Tier::Client, Tier::Spec] {
            let (set, kinds) = (Arc::clone(self), kinds.to_vec());
            std::thread::spawn(move || {
                for kind in kinds {
                    set.compiled(tier, kind).validator();
                }
            });
        }
    }

    fn compiled(&self, tier: Tier, kind: ObjectKind) -> &Compiled {
        match tier {
            Tier::Client => &self.client[&kind],
            Tier::Spec => &self.spec[&kind],
        }
    }

    /// Validates `instance` against one tier's schema for `kind`.
    pub fn validate(&self, tier: Tier, kind: ObjectKind, instance: &Value) -> Vec<Violation> {
        let compiled = self.compiled(tier, kind);
        if compiled.validator().is_valid(instance) {
            return Vec::new(); // the common case, and several times cheaper than collecting no errors
        }
        let mut out = Vec::new();
        for error in compiled.validator().iter_errors(instance) {
            violation::flatten(&error, compiled.root(), &compiled.pointer, tier, kind, &mut out);
        }
        out
    }

    /// Both tiers; a spec violation at the same path and keyword as a client one is dropped, since the client
    /// (breaking) one already says it.
    pub fn validate_both(&self, kind: ObjectKind, instance: &Value) -> Vec<Violation> {
        let mut all = self.validate(Tier::Client, kind, instance);
        let spec = self.validate(Tier::Spec, kind, instance);
        for v in spec {
            if !all.iter().any(|c| c.path == v.path && c.keyword == v.keyword) {
                all.push(v);
            }
        }
        all
    }

    /// Paths of fields in `instance` that the spec tier does not define for `kind`.
    pub fn extensions(&self, kind: ObjectKind, instance: &Value) -> Vec<String> {
        let compiled = &self.spec[&kind];
        let root = compiled.root();
        let schema = root.pointer(&compiled.pointer).unwrap_or(&Value::Null);
        let mut out = Vec::new();
        extensions::collect(root, schema, instance, "$", &mut out);
        out
    }
}

/// Every object of [`ObjectKind::ALL`] from a builtin tier whose `$defs` hold them by name, each compiled
/// on first use.
fn defs(tier: &Arc<TierText>) -> Result<HashMap<ObjectKind, Compiled>, String> {
    ObjectKind::ALL
        .iter()
        .map(|&kind| {
            let pointer = format!("/$defs/{}", kind.name());
            if !tier.defs.contains_key(kind.name()) {
                return Err(format!("no schema at {pointer}"));
            }
            Ok((kind, Compiled { validator: OnceLock::new(), root: Root::Tier(Arc::clone(tier), OnceLock::new()), pointer }))
        })
        .collect()
}

/// Compiles the subschema at `pointer` of `root` now, resolving local `$ref`s against `root`.
fn compile_at(root: &Arc<Value>, pointer: &str) -> Result<Compiled, String> {
    let compiled = Compiled::in_document(root, pointer)?;
    let _ = compiled.validator.set(build(root, pointer)?);
    Ok(compiled)
}

impl Compiled {
    /// The subschema at `pointer` of a given document `root`, not compiled yet.
    fn in_document(root: &Arc<Value>, pointer: &str) -> Result<Compiled, String> {
        if root.pointer(pointer).is_none() {
            return Err(format!("no schema at {pointer}"));
        }
        Ok(Compiled { validator: OnceLock::new(), root: Root::Given(Arc::clone(root)), pointer: pointer.to_owned() })
    }

    /// The document the object's pointer reads in (made from its tier on first use).
    fn root(&self) -> &Value {
        match &self.root {
            Root::Given(document) => document,
            Root::Tier(tier, made) => made.get_or_init(|| tier.document_for(&self.pointer)),
        }
    }

    fn validator(&self) -> &jsonschema::Validator {
        // Only the builtin tiers are lazy, and the `every_builtin_schema_compiles` test builds each of them.
        self.validator.get_or_init(|| build(self.root(), &self.pointer).expect("the builtin schemas compile (tested)"))
    }
}

fn build(root: &Value, pointer: &str) -> Result<jsonschema::Validator, String> {
    // Only what the object reaches is copied, at the same pointers (so error paths walk `root` unchanged): a
    // `--spec` document is megabytes, and a whole copy per object kind cost ~30 copies of it.
    let mut wrapper = reachable(root, pointer);
    if let Some(obj) = wrapper.as_object_mut() {
        obj.insert("$ref".into(), Value::String(format!("#{pointer}")));
        if let Some(dialect) = root.get("$schema") {
            obj.insert("$schema".into(), dialect.clone());
        }
    }
    jsonschema::options().with_draft(jsonschema::Draft::Draft202012).build(&wrapper).map_err(|e| format!("schema at {pointer} does not compile: {e}"))
}

/// A document holding, at their pointers in `root`, the subschema at `pointer` and every subschema its local
/// `$ref`s reach (transitively); nothing else of `root` is copied.
fn reachable(root: &Value, pointer: &str) -> Value {
    let mut out = Value::Object(serde_json::Map::new());
    let mut todo = vec![pointer.to_owned()];
    let mut seen = std::collections::HashSet::new();
    while let Some(p) = todo.pop() {
        if !seen.insert(p.clone()) {
            continue;
        }
        let Some(node) = root.pointer(&p) else { continue }; // a dangling `$ref`: the build says so
        local_refs(node, &mut todo);
        let mut slot = &mut out;
        for segment in p.split('/').skip(1) {
            let key = segment.replace("~1", "/").replace("~0", "~");
            let Value::Object(map) = slot else { break };
            slot = map.entry(key).or_insert_with(|| Value::Object(serde_json::Map::new()));
        }
        *slot = node.clone();
    }
    out
}

/// Pushes the pointer of every local `$ref` (`#/…`) under `node`.
fn local_refs(node: &Value, out: &mut Vec<String>) {
    match node {
        Value::Object(map) => {
            if let Some(target) = map.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')) {
                out.push(target.to_owned());
            }
            map.values().for_each(|v| local_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| local_refs(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set() -> SchemaSet {
        SchemaSet::builtin().expect("builtin schemas compile")
    }

    #[test]
    fn every_builtin_schema_compiles() {
        for (name, text) in [("client.json", CLIENT_SCHEMAS), ("spec.json", SPEC_SCHEMAS)] {
            let (tier, _) = TierText::read(text, name).unwrap();
            for (kind, compiled) in defs(&tier).unwrap() {
                build(compiled.root(), &compiled.pointer).unwrap_or_else(|e| panic!("{name} {}: {e}", kind.name()));
            }
        }
        // And a broken one says where.
        let broken = Arc::new(json!({"$defs": {"x": {"type": "no-such-type"}}}));
        assert!(build(&broken, "/$defs/x").unwrap_err().starts_with("schema at /$defs/x does not compile"));
        assert_eq!(Compiled::in_document(&broken, "/$defs/y").err().unwrap(), "no schema at /$defs/y");
        let (no_chat, _) = TierText::read(r#"{"$defs": {"model": {}}}"#, "t").unwrap();
        assert_eq!(defs(&no_chat).err().unwrap(), "no schema at /$defs/chat.completion");
        assert!(TierText::read("[1]", "t.json").err().unwrap().starts_with("schema file t.json is not a tier file"));
    }

    #[test]
    fn an_object_compiles_from_the_entries_it_reaches_as_from_the_whole_file() {
        for (name, text) in [("client.json", CLIENT_SCHEMAS), ("spec.json", SPEC_SCHEMAS)] {
            let whole: Value = serde_json::from_str(text).unwrap();
            let (tier, version) = TierText::read(text, name).unwrap();
            assert_eq!(version.as_deref(), whole.get("x-spec-version").and_then(Value::as_str), "{name}");
            for (kind, compiled) in defs(&tier).unwrap() {
                let part = compiled.root();
                // What the validator is built from is the same document, and every entry in the part is the file's.
                assert_eq!(reachable(part, &compiled.pointer), reachable(&whole, &compiled.pointer), "{name} {}", kind.name());
                assert_eq!(part.get("$schema"), whole.get("$schema"));
                for (entry, value) in part["$defs"].as_object().unwrap() {
                    assert_eq!(Some(value), whole["$defs"].get(entry), "{name} {}: {entry}", kind.name());
                }
                assert!(part["$defs"].as_object().unwrap().len() <= whole["$defs"].as_object().unwrap().len());
            }
        }
        // Entries reached through a deeper pointer, transitively, and nothing else.
        let text: &'static str = r##"{"$defs": {"a": {"properties": {"b": {"$ref": "#/$defs/b"}}}, "b": {"properties": {"c": {"$ref": "#/$defs/c/properties/d"}}}, "c": {"properties": {"d": {"type": "string"}}}, "d/e": {}, "unrelated": {}}}"##;
        let (tier, _) = TierText::read(text, "t").unwrap();
        let doc = tier.document_for("/$defs/a");
        let names: Vec<&String> = doc["$defs"].as_object().unwrap().keys().collect();
        assert_eq!(names.len(), 3, "{doc}");
        assert!(doc.pointer("/$defs/c/properties/d").is_some() && doc.pointer("/$defs/unrelated").is_none());
        assert_eq!(def_name("/$defs/d~1e/x"), Some("d/e".to_owned()));
        assert_eq!(tier.document_for("/$defs/d~1e")["$defs"].as_object().unwrap().len(), 1);
        assert_eq!(def_name("/components/x"), None);
    }

    #[test]
    fn a_build_copies_only_what_the_object_reaches() {
        let root = json!({
            "$defs": {
                "a": {"type": "object", "properties": {"b": {"$ref": "#/$defs/b"}}},
                "b": {"type": "object", "properties": {"c": {"$ref": "#/$defs/c/properties/d"}}},
                "c": {"properties": {"d": {"type": "string"}, "e": {"type": "integer"}}},
                "unrelated": {"description": "x".repeat(10_000)}
            }
        });
        let copy = reachable(&root, "/$defs/a");
        assert_eq!(copy.pointer("/$defs/a"), root.pointer("/$defs/a"));
        assert_eq!(copy.pointer("/$defs/b"), root.pointer("/$defs/b"));
        assert_eq!(copy.pointer("/$defs/c/properties/d"), root.pointer("/$defs/c/properties/d"));
        assert!(copy.pointer("/$defs/c/properties/e").is_none() && copy.pointer("/$defs/unrelated").is_none(), "{copy}");
        // And it validates as the whole document does.
        let v = build(&Arc::new(root), "/$defs/a").unwrap();
        assert!(v.is_valid(&json!({"b": {"c": "s"}})) && !v.is_valid(&json!({"b": {"c": 1}})));
    }

    #[test]
    fn prepared_validators_are_built_in_the_background_and_judge_alike() {
        let prepared = Arc::new(set());
        let kinds = [ObjectKind::ChatCompletion, ObjectKind::ChatCompletionChunk];
        prepared.prepare(&kinds);
        let built = |s: &SchemaSet| kinds.iter().all(|&k| [Tier::Client, Tier::Spec].iter().all(|&t| s.compiled(t, k).validator.get().is_some()));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !built(&prepared) {
            assert!(std::time::Instant::now() < deadline, "prepare built nothing within a minute");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(prepared.compiled(Tier::Client, ObjectKind::EmbeddingList).validator.get().is_none(), "only the kinds asked for");
        // Same verdicts as validators built on first use, at the same paths.
        let answer = json!({"id": "x", "object": "chat.completion", "created": "1", "model": "m", "choices": [{"index": 0}]});
        let unprepared = set();
        assert_eq!(prepared.validate_both(ObjectKind::ChatCompletion, &answer), unprepared.validate_both(ObjectKind::ChatCompletion, &answer));
        assert!(!unprepared.validate_both(ObjectKind::ChatCompletion, &answer).is_empty());
    }

    #[test]
    fn conformant_completion_passes_both_tiers() {
        let ok = json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "finish_reason": "stop", "logprobs": null,
                         "message": {"role": "assistant", "content": "hi", "refusal": null}}]
        });
        assert!(set().validate_both(ObjectKind::ChatCompletion, &ok).is_empty());
    }

    #[test]
    fn missing_refusal_is_spec_only_with_exact_path() {
        let v = json!({
            "id": "x", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "finish_reason": "stop", "logprobs": null,
                         "message": {"role": "assistant", "content": "hi"}}]
        });
        let found = set().validate_both(ObjectKind::ChatCompletion, &v);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].tier, Tier::Spec);
        assert_eq!(found[0].path, "$.choices[0].message.refusal");
        assert_eq!(found[0].rule, "ChatCompletionResponseMessage.required");
    }

    #[test]
    fn tool_call_delta_without_index_is_breaking() {
        let chunk = json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "finish_reason": null,
              "delta": {"tool_calls": [{"id": "t", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}}]});
        let found = set().validate_both(ObjectKind::ChatCompletionChunk, &chunk);
        assert_eq!(found.len(), 1, "{found:?}");
        let v = &found[0];
        assert_eq!(
            (v.tier, v.path.as_str(), v.rule.as_str()),
            (Tier::Client, "$.choices[0].delta.tool_calls[0].index", "ChatCompletionMessageToolCallChunk.required")
        );
        assert!(v.why.as_deref().unwrap().contains("index tool-call deltas"));
    }

    #[test]
    fn array_error_body_is_breaking_and_extensions_are_listed() {
        let s = set();
        let found = s.validate_both(ObjectKind::Error, &json!([{"error": {"code": 400, "message": "x"}}]));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            (found[0].tier, found[0].path.as_str(), found[0].expected.as_str(), found[0].actual.as_str()),
            (Tier::Client, "$", "object", "array")
        );
        let ext = s.extensions(ObjectKind::ChatCompletion, &json!({"choices": [{"message": {"extra_content": {}}}], "x": 1}));
        assert_eq!(ext, vec!["$.choices[0].message.extra_content", "$.x"]);
    }
}
