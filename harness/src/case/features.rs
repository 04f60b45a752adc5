//! The feature list, `cases/features.yaml`: every documented feature with the request its documentation
//! shows, one entry per `cases/<feature>/` folder. A feature without cases says why under `not_covered`;
//! a case whose feature is not listed does not load, so the coverage table cannot silently miss one.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::load::parse_yaml;
use crate::diagnostic::Diagnostic;

/// The root-relative path of the feature list.
pub const FEATURES_FILE: &str = "cases/features.yaml";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FeaturesFile {
    features: BTreeMap<String, Feature>,
}

/// One documented feature.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Feature {
    /// Human name.
    pub title: String,
    /// The request(s) the documentation shows for it.
    pub documented: String,
    /// Where it is documented.
    pub doc: String,
    /// Why the feature has no cases, when it has none.
    #[serde(default)]
    pub not_covered: Option<String>,
}

/// The features in file order, by folder name.
pub type Features = Vec<(String, Feature)>;

/// Reads `cases/features.yaml`; `Ok(None)` when the project has none.
pub fn load_features(root: &Path) -> Result<Option<Features>, Diagnostic> {
    let text = match std::fs::read_to_string(root.join(FEATURES_FILE)) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Diagnostic::whole_file(FEATURES_FILE, format!("cannot read: {e}"))),
    };
    let file: FeaturesFile = parse_yaml(FEATURES_FILE, &text)?;
    // Keep the file's order, which is the documentation's order, not the map's.
    let mut ordered: Vec<(usize, String, Feature)> =
        file.features.into_iter().map(|(name, f)| (text.find(&format!("\n  {name}:")).unwrap_or(usize::MAX), name, f)).collect();
    ordered.sort_by_key(|(pos, name, _)| (*pos, name.clone()));
    Ok(Some(ordered.into_iter().map(|(_, n, f)| (n, f)).collect()))
}
