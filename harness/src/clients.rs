//! What the official SDKs did with each fixture: the client drivers' evidence, attached to replay outcomes.
//!
//! `harness/tests/agreement.rs` serves every fixture with `compat serve`, runs the client drivers (`drivers/`:
//! openai-python and openai-node) against it and writes what each SDK did to [`EVIDENCE_FILE`], keyed by trial
//! name and the fixture's digest. A replay outcome whose fixture has the same digest carries that evidence in
//! `clients`, so results.json and the HTML say per driver what the SDK did with this very response; an edited
//! fixture has no evidence until the agreement test runs again (never stale evidence).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::fixture::Fixture;
use crate::outcome::ClientRun;

/// Root-relative path of the evidence file.
pub const EVIDENCE_FILE: &str = "drivers/evidence.json";

/// The evidence file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// The drivers and SDK versions that produced it.
    pub drivers: Vec<String>,
    /// One entry per served fixture of a target.
    pub cases: Vec<CaseEvidence>,
}

/// What the drivers did with one fixture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseEvidence {
    /// `<target>::<feature>::<id>`.
    pub name: String,
    /// [`fixture_digest`] of the fixture the drivers saw.
    pub fixture_sha256: String,
    /// One entry per driver.
    pub clients: Vec<ClientRun>,
}

/// SHA-256 (hex) of the fixture as parsed and serialized again, so formatting does not count.
pub fn fixture_digest(fixture: &Fixture) -> String {
    let bytes = serde_json::to_vec(fixture).expect("a fixture serializes");
    ring::digest::digest(&ring::digest::SHA256, &bytes).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Evidence files already read, by project root (a missing or unreadable file is no evidence).
static LOADED: Mutex<Option<HashMap<PathBuf, Arc<Evidence>>>> = Mutex::new(None);

fn evidence(root: &Path) -> Arc<Evidence> {
    let mut loaded = LOADED.lock().unwrap_or_else(|e| e.into_inner());
    let map = loaded.get_or_insert_with(HashMap::new);
    Arc::clone(map.entry(root.to_owned()).or_insert_with(|| {
        let parsed = std::fs::read_to_string(root.join(EVIDENCE_FILE)).ok().and_then(|t| serde_json::from_str(&t).ok());
        Arc::new(parsed.unwrap_or_default())
    }))
}

/// The drivers' evidence for trial `name` when it was produced from exactly this fixture; empty otherwise.
pub fn for_fixture(root: &Path, name: &str, fixture: &Fixture) -> Vec<ClientRun> {
    let evidence = evidence(root);
    let Some(entry) = evidence.cases.iter().find(|c| c.name == name) else { return Vec::new() };
    if entry.fixture_sha256 == fixture_digest(fixture) { entry.clients.clone() } else { Vec::new() }
}
