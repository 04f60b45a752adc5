//! The project's spec tier against OpenAI's official OpenAPI document, on every fixture.
//!
//! Uses `reference/openai-openapi.json` of the reference material (`../shared/` beside the project root, or the
//! cache `scripts/fetch-shared.sh` fills; third-party text, not part of the repository); otherwise it prints
//! `skipped: …`, and fails under `CI=true` with the command that fetches it. For every fixture whose case
//! names a schema, every instance — the JSON body, or each chunk of a stream — must get the same spec-tier
//! violations (instance path and keyword) from the project's `spec.json` as from the official document,
//! normalized, but for the deliberate differences in [`DELIBERATE`]. Each disagreement is listed by fixture name.

use std::collections::BTreeSet;

use compat::check::Observed;
use compat::fixture::{fixture_path, load_fixture};
use compat::outcome::ObservedBody;
use compat::schema::{SchemaSet, Tier};
use compat::suite::{Suite, default_root, shared_material};
use serde_json::Value;

/// Where the project's spec tier differs from the document on purpose: (the violation's path with indexes
/// generalized, its keyword) and why.
const DELIBERATE: &[(&str, &str, &str)] = &[(
    "$.choices[*].message.function_call",
    "type",
    "the document types `function_call` an object, but OpenAI's own examples (GET/POST /chat/completions/{completion_id}) send \
     null, and openai_examples.rs holds the project's tiers to them",
)];

#[test]
fn spec_tier_agrees_with_the_official_document_on_every_fixture() {
    let root = default_root();
    let Some(official_path) = shared_material(&root, "reference/openai-openapi.json") else { return };
    let text = std::fs::read_to_string(&official_path).expect("the official document reads");
    let document: Value = serde_json::from_str(&text).expect("the official document is JSON");
    let official = SchemaSet::with_openapi(&document, "openai-openapi.json").expect("the official document compiles once normalized");
    let ours = SchemaSet::builtin().unwrap();
    let suite = Suite::load(&root).unwrap_or_else(|e| panic!("{e}"));

    let mut checked = 0;
    let mut disagreements = Vec::new();
    for target in suite.replayable_targets() {
        for case in &suite.cases {
            let Some(kind) = case.case.steps[0].value.expect.schema else { continue };
            let rel = fixture_path(&target.fixtures_dir(), &case.case.feature, &case.case.id);
            // No fixture (a skipped case) is nothing to check; a fixture that does not load fails here, not silently.
            let Some(fixture) = load_fixture(&root, &rel).unwrap_or_else(|e| panic!("{e}")) else { continue };
            let (bytes, content_type) = fixture.response.wire_body();
            let observed = Observed::from_bytes(fixture.response.status, vec![("content-type".into(), content_type.into())], &bytes);
            let instances: Vec<(String, Value)> = match observed.body {
                ObservedBody::Json { value } => vec![(rel.clone(), value)],
                ObservedBody::Stream { events, .. } => events
                    .iter()
                    .enumerate()
                    .filter_map(|(i, e)| serde_json::from_str(&e.data).ok().map(|v| (format!("{rel} chunk {i}"), v)))
                    .collect(),
                _ => Vec::new(),
            };
            for (name, instance) in instances {
                let key = |set: &SchemaSet| -> BTreeSet<(String, String)> {
                    let deliberate =
                        |path: &str, keyword: &str| DELIBERATE.iter().any(|(p, k, _)| *p == compat::case::generalize_indexes(path) && *k == keyword);
                    set.validate(Tier::Spec, kind, &instance).into_iter().map(|v| (v.path, v.keyword)).filter(|(p, k)| !deliberate(p, k)).collect()
                };
                let (mine, theirs) = (key(&ours), key(&official));
                checked += 1;
                if mine != theirs {
                    disagreements.push(format!("{name} ({kind}): project spec tier {mine:?}, official document {theirs:?}"));
                }
            }
        }
    }
    assert!(checked > 0, "no fixture was checked");
    assert!(disagreements.is_empty(), "{} of {checked} instances disagree:\n{}", disagreements.len(), disagreements.join("\n"));
    eprintln!("{checked} fixture instances agree with the official document");
}
