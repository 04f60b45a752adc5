//! The README's generated tables — coverage (`cargo run -- coverage --write`) and rules (`cargo run -- rules
//! --write`) — each with a test that fails when its copy is stale, showing the difference.

use compat::report::coverage::current;
use compat::suite::{Suite, coverage_table, default_root, replay_all};

#[test]
fn readme_coverage_table_is_current() {
    let root = default_root();
    let suite = Suite::load(&root).unwrap_or_else(|e| panic!("{e}"));
    let outcomes = replay_all(&suite).unwrap();
    let fresh = coverage_table(&suite, &outcomes);
    let readme = std::fs::read_to_string(root.join("docs/coverage.md")).unwrap();
    let stored = current(&readme).expect("docs/coverage.md has the coverage markers");
    if stored != fresh {
        let diff = similar::TextDiff::from_lines(stored, fresh.as_str()).unified_diff().header("docs", "generated").to_string();
        panic!("the README's coverage table is stale; run `cargo run -- coverage --write`\n{diff}");
    }
}

#[test]
fn every_documented_feature_has_cases_or_a_reason() {
    let suite = Suite::load(&default_root()).unwrap();
    assert!(!suite.features.is_empty(), "cases/features.yaml lists the documented features");
    for (name, feature) in &suite.features {
        let cases = suite.cases.iter().filter(|c| c.case.feature == *name).count();
        assert!(cases > 0 || feature.not_covered.is_some(), "feature `{name}` has no cases and no `not_covered` reason");
    }
    assert!(suite.broken.is_empty(), "every case loads: {:?}", suite.broken.iter().map(|e| e.headline()).collect::<Vec<_>>());
}

#[test]
fn readme_rule_table_is_current() {
    let readme = std::fs::read_to_string(default_root().join(compat::rules::RULES_DOC)).unwrap();
    let stored =
        compat::report::between(&readme, compat::rules::README_START, compat::rules::README_END).expect("docs/checks.md has the rule markers");
    let fresh = compat::rules::render_table();
    if stored != fresh {
        let diff = similar::TextDiff::from_lines(stored, fresh.as_str()).unified_diff().header("docs", "generated").to_string();
        panic!("the README's rule table is stale; run `cargo run -- rules --write`\n{diff}");
    }
}
