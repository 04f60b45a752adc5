//! What the official SDKs did with each fixture: the client drivers' evidence, attached to replay outcomes.
//!
//! `harness/tests/agreement.rs` serves every fixture with `compat serve`, runs the client drivers (`drivers/`:
//! openai-python and openai-node) against it and writes what each SDK did to [`EVIDENCE_FILE`], keyed by trial
//! name and the fixture's digest. A replay outcome whose fixture has the same digest carries that evidence in
//! `clients`, so results.json and the HTML say per driver what the SDK did with this very response; an edited
//! fixture has no evidence until the agreement test runs again (never stale evidence).

use std::path::Path;

use serde::{Deserialize, Serialize};

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
    /// [`fixture_digest`](crate::fixture::fixture_digest) of the fixture the drivers saw.
    pub fixture_sha256: String,
    /// One entry per driver.
    pub clients: Vec<ClientRun>,
}

impl Evidence {
    /// The evidence file of the project at `root`: none when there is no file; an error naming the file when it
    /// cannot be read or parsed (stale or hand-edited evidence is never taken for none).
    pub fn load(root: &Path) -> Result<Evidence, String> {
        let path = root.join(EVIDENCE_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                serde_json::from_str(&text).map_err(|e| format!("{EVIDENCE_FILE} does not parse: {e} (refresh it: cargo test --test agreement)"))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Evidence::default()),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }

    /// The drivers' evidence for trial `name` when it was produced from exactly the fixture of this
    /// [`fixture_digest`](crate::fixture::fixture_digest); empty otherwise.
    pub fn for_digest(&self, name: &str, digest: &str) -> Vec<ClientRun> {
        match self.cases.iter().find(|c| c.name == name) {
            Some(entry) if entry.fixture_sha256 == digest => entry.clients.clone(),
            _ => Vec::new(),
        }
    }
}
