//! `compat serve` answers as replay does: every fixture of every target under its own base URL, byte for byte.
//!
//! Starts the real binary on a free loopback port, reads the index, and for every case sends the fixture's
//! request to its base URL and compares status, content type and body bytes with what replay serves
//! (`FixtureResponse::wire_body`). Also: it binds 127.0.0.1 unless told otherwise, a request no fixture answers
//! gets 404, and `--match-body` demands the fixture's body.

use compat::fixture::{fixture_path, load_fixture};
use compat::suite::{Suite, default_root};
use serde_json::Value;

mod serve_support;

fn start(extra: &[&str]) -> (serve_support::Served, String) {
    serve_support::compat_serve(&default_root(), extra)
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default(); // reqwest is built without a default provider
    reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build().unwrap()
}

#[tokio::test]
async fn serve_answers_every_case_byte_for_byte_as_replay() {
    let (_server, url) = start(&[]);
    assert!(url.starts_with("http://127.0.0.1:"), "binds loopback by default: {url}");
    let root = default_root();
    let suite = Suite::load(&root).unwrap_or_else(|e| panic!("{e}"));
    let http = client();
    let index: Value = http.get(format!("{url}_compat/index.json")).send().await.unwrap().json().await.unwrap();
    let cases = index["cases"].as_array().unwrap();
    let mut checked = 0;
    for target in suite.replayable_targets() {
        for c in &suite.cases {
            let rel = fixture_path(&target.fixtures_dir(), &c.case.feature, &c.case.id);
            // No fixture (a skipped case) is nothing to serve; a fixture that does not load fails here, not silently.
            let Some(fixture) = load_fixture(&root, &rel).unwrap_or_else(|e| panic!("{e}")) else { continue };
            let name = format!("{}::{}::{}", target.name, c.case.feature, c.case.id);
            let entry = cases.iter().find(|e| e["name"] == name.as_str()).unwrap_or_else(|| panic!("{name} is not in the index"));
            let base = entry["base_url"].as_str().unwrap();
            assert_eq!(base, format!("{url}{}/{}/{}/", target.name, c.case.feature, c.case.id));
            let req = &fixture.request;
            let method = reqwest::Method::from_bytes(req.method.as_str().as_bytes()).unwrap();
            let mut builder = http.request(method, format!("{base}{}", req.path));
            if let Some(body) = &req.body {
                builder = builder.json(body);
            } else if let Some(raw) = &req.raw_body {
                builder = builder.header("content-type", "application/json").body(raw.clone());
            }
            let resp = builder.send().await.unwrap();
            let (bytes, content_type) = fixture.response.wire_body();
            assert_eq!(resp.status().as_u16(), fixture.response.status, "{name}");
            assert_eq!(resp.headers()["content-type"].to_str().unwrap(), content_type, "{name}");
            assert_eq!(resp.bytes().await.unwrap().as_ref(), bytes.as_slice(), "{name}: body differs from replay's");
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} fixtures checked");
    let other = http.post(format!("{url}openai-reference/chat/basic/embeddings")).json(&serde_json::json!({})).send().await.unwrap();
    assert_eq!(other.status().as_u16(), 404, "a path no fixture serves");
}

#[tokio::test]
async fn match_body_demands_the_fixture_body() {
    let (_server, url) = start(&["--match-body", "--target", "openai-reference"]);
    let base = format!("{url}openai-reference/chat/basic/chat/completions");
    let wrong = client().post(&base).json(&serde_json::json!({"model": "x", "messages": []})).send().await.unwrap();
    assert_eq!(wrong.status().as_u16(), 404);
    let fixture = load_fixture(&default_root(), "fixtures/openai-reference/chat/basic.json").unwrap().unwrap();
    let right = client().post(&base).json(fixture.request.body.as_ref().unwrap()).send().await.unwrap();
    assert_eq!(right.status().as_u16(), 200);
}
