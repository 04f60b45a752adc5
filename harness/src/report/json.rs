//! `results.json`: the versioned results document every other report is rendered from.
//!
//! A [`Results`] is a run header ([`RunInfo`]: date, harness and spec versions, targets with base URL, mode and
//! counts), counts per verdict, fixture provenance counts and every [`Outcome`], sorted by name. Its shape is
//! documented by `harness/schemas/results.schema.json` ([`FORMAT`] / [`VERSION`]); a change to the shape that
//! old readers cannot take bumps [`VERSION`]. The HTML, JUnit and Markdown renderers ([`super::html`],
//! [`super::junit`], [`super::markdown`]) take a [`Results`] and nothing else: the one a run built, or the one
//! [`parse`] reads back from disk, which is equal to it (a test holds every replay outcome to that), so the
//! file on disk is the source of truth.
//!
//! Volatile values — the run date and measured durations — sit at the JSON pointers in [`VOLATILE`]; every
//! other value is a function of the cases, fixtures and targets, so two replays give equal documents once
//! those are masked ([`mask_volatile`]).

use serde::{Deserialize, Serialize};

use crate::outcome::{Mode, Outcome, Verdict};

/// The `format` tag of a results document.
pub const FORMAT: &str = "compat-results";

/// The schema version this harness writes and reads.
pub const VERSION: u32 = 1;

/// The JSON Schema of the document (`harness/schemas/results.schema.json`).
pub const SCHEMA: &str = include_str!("../../schemas/results.schema.json");

/// JSON pointers of the values that change between two runs of the same fixtures (`*` = every array item).
pub const VOLATILE: &[&str] = &["/run/date", "/outcomes/*/timing/duration_ms"];

/// The results of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// Always [`FORMAT`].
    pub format: String,
    /// Schema version, [`VERSION`].
    pub version: u32,
    /// Who ran what, when.
    pub run: RunInfo,
    /// Outcomes per verdict over all targets.
    pub counts: Counts,
    /// How the replayed or written fixtures came to be.
    pub fixtures: FixtureCounts,
    /// Every outcome, sorted by `<target>::<feature>::<id>`.
    pub outcomes: Vec<Outcome>,
}

/// The run header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// When the run happened, RFC 3339 UTC (volatile).
    pub date: String,
    /// Version of the harness that ran it.
    pub harness_version: String,
    /// The specification the spec tier follows (`SchemaSet::spec_version`).
    pub spec_version: String,
    /// The targets run, in order.
    pub targets: Vec<TargetInfo>,
}

/// One target of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetInfo {
    /// Its name in `cases/targets.yaml`.
    pub name: String,
    /// The base URL its cases address (in replay: the configured one; wiremock served the fixtures).
    pub base_url: String,
    /// Replay or live.
    pub mode: Mode,
    /// Its outcomes per verdict (filled by [`build`]).
    #[serde(default)]
    pub counts: Counts,
    /// A control target (`control: true` in `cases/targets.yaml`): left out of the interop score.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub control: bool,
}

/// Outcomes per verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// `pass`
    pub pass: usize,
    /// `known`
    pub known: usize,
    /// `diverges`
    pub diverges: usize,
    /// `fixed`
    pub fixed: usize,
    /// `error`
    pub error: usize,
    /// `skipped`
    pub skipped: usize,
    /// Outcomes that fail the run (a failing verdict, or a changed or missing snapshot).
    pub failing: usize,
}

impl Counts {
    /// Counts `outcomes`.
    pub fn of<'a>(outcomes: impl IntoIterator<Item = &'a Outcome>) -> Counts {
        let mut c = Counts::default();
        for o in outcomes {
            *c.slot(o.verdict()) += 1;
            c.failing += usize::from(o.fails());
        }
        c
    }

    fn slot(&mut self, v: Verdict) -> &mut usize {
        match v {
            Verdict::Pass => &mut self.pass,
            Verdict::Known => &mut self.known,
            Verdict::Diverges => &mut self.diverges,
            Verdict::Fixed => &mut self.fixed,
            Verdict::Error => &mut self.error,
            Verdict::Skipped => &mut self.skipped,
        }
    }

    /// The count of one verdict.
    pub fn get(&self, v: Verdict) -> usize {
        let mut copy = *self;
        *copy.slot(v)
    }

    /// All outcomes counted.
    pub fn total(&self) -> usize {
        Verdict::ALL.iter().map(|v| self.get(*v)).sum()
    }
}

/// How many outcomes were served from (or wrote) a recorded fixture, a synthesized one, or none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixtureCounts {
    /// Captured from a live endpoint.
    pub recorded: usize,
    /// Written by hand from documented or reported behaviour.
    pub synthesized: usize,
    /// No fixture (live without recording, skipped, or missing).
    pub none: usize,
}

/// Builds the document: sorts the outcomes by name, fills the counts, and adds a header entry for any target
/// that has outcomes but is not in `run.targets` (such as `load`, the pseudo-target of broken case files).
pub fn build(mut run: RunInfo, mut outcomes: Vec<Outcome>) -> Results {
    outcomes.sort_by_key(Outcome::name);
    for o in &outcomes {
        if !run.targets.iter().any(|t| t.name == o.target) {
            run.targets.push(TargetInfo { name: o.target.clone(), base_url: String::new(), mode: o.mode, counts: Counts::default(), control: false });
        }
    }
    for t in &mut run.targets {
        t.counts = Counts::of(outcomes.iter().filter(|o| o.target == t.name));
    }
    let mut fixtures = FixtureCounts::default();
    for o in &outcomes {
        match o.fixture.as_ref().map(|f| f.origin.kind()) {
            Some("recorded") => fixtures.recorded += 1,
            Some(_) => fixtures.synthesized += 1,
            None => fixtures.none += 1,
        }
    }
    Results { format: FORMAT.into(), version: VERSION, counts: Counts::of(&outcomes), fixtures, run, outcomes }
}

/// Outcomes up to which `results.json` is pretty-printed; a larger document is written compact (half the
/// size: every number of an embedding vector would otherwise get a line of its own).
pub const PRETTY_UP_TO: usize = 1000;

/// Writes the document as `results.json` holds it: JSON with a final newline, pretty up to [`PRETTY_UP_TO`]
/// outcomes. Streamed: a document of embedding answers is megabytes, never held whole in memory.
pub fn write_to(results: &Results, mut out: impl std::io::Write) -> std::io::Result<()> {
    if results.outcomes.len() <= PRETTY_UP_TO {
        serde_json::to_writer_pretty(&mut out, results)?;
    } else {
        serde_json::to_writer(&mut out, results)?;
    }
    out.write_all(b"\n")
}

/// The document as [`write_to`] writes it, as text (a document that cannot be serialized gives an `error`
/// object saying why).
pub fn to_string(results: &Results) -> String {
    let mut text = Vec::new();
    match write_to(results, &mut text) {
        Ok(()) => String::from_utf8_lossy(&text).into_owned(),
        Err(e) => format!("{{\"error\": {}}}\n", serde_json::Value::String(e.to_string())),
    }
}

/// Reads a results document, checking its format tag and version first so an old or foreign file gets a
/// clear message rather than a field error.
pub fn parse(text: &str) -> Result<Results, String> {
    // The tag and version are read first, skipping the rest unparsed; the document is then read straight into
    // `Results` — never as a `Value` tree, which at thousands of outcomes costs several times the text.
    #[derive(Deserialize)]
    struct Tag {
        format: Option<serde_json::Value>,
        version: Option<serde_json::Value>,
    }
    let tag: Tag = match serde_json::from_str(text) {
        Ok(tag) => tag,
        Err(e) if e.is_data() => Tag { format: None, version: None }, // JSON, but not an object
        Err(e) => return Err(format!("not JSON: {e}")),
    };
    match tag.format.as_ref().and_then(|f| f.as_str()) {
        Some(FORMAT) => {}
        Some(other) => return Err(format!("format is `{other}`, not `{FORMAT}`")),
        None => return Err(format!("no `format` key: not a {FORMAT} document")),
    }
    match tag.version.as_ref().and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(VERSION) => {}
        Some(v) => return Err(format!("version {v} is not supported (this harness reads version {VERSION})")),
        None => return Err("no `version` key".into()),
    }
    serde_json::from_str(text).map_err(|e| format!("does not match the {FORMAT} v{VERSION} schema: {e}"))
}

/// A copy of a JSON document with every [`VOLATILE`] value replaced by `"<volatile>"`.
pub fn mask_volatile(doc: &serde_json::Value) -> serde_json::Value {
    let mut doc = doc.clone();
    for pointer in VOLATILE {
        let parts: Vec<&str> = pointer.split('/').skip(1).collect();
        mask_at(&mut doc, &parts);
    }
    doc
}

fn mask_at(value: &mut serde_json::Value, parts: &[&str]) {
    let Some((first, rest)) = parts.split_first() else {
        *value = serde_json::Value::String("<volatile>".into());
        return;
    };
    match (value, *first) {
        (serde_json::Value::Array(items), "*") => items.iter_mut().for_each(|v| mask_at(v, rest)),
        (serde_json::Value::Object(map), key) => {
            if let Some(v) = map.get_mut(key) {
                mask_at(v, rest);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_refuses_other_formats_and_versions() {
        assert!(parse("[]").unwrap_err().contains("no `format`"));
        assert!(parse(r#"{"format": "junit"}"#).unwrap_err().contains("not `compat-results`"));
        assert!(parse(r#"{"format": "compat-results", "version": 9}"#).unwrap_err().contains("version 9 is not supported"));
        assert!(parse("{").unwrap_err().starts_with("not JSON"));
        let empty = build(RunInfo { date: "d".into(), harness_version: "h".into(), spec_version: "s".into(), targets: vec![] }, vec![]);
        assert_eq!(parse(&to_string(&empty)).unwrap(), empty);
    }

    #[test]
    fn masks_volatile_pointers_only() {
        let doc = serde_json::json!({"run": {"date": "x", "spec_version": "s"}, "outcomes": [{"timing": {"duration_ms": 1.5, "attempts": 1}}]});
        let masked = mask_volatile(&doc);
        assert_eq!(masked["run"]["date"], "<volatile>");
        assert_eq!(masked["run"]["spec_version"], "s");
        assert_eq!(masked["outcomes"][0]["timing"]["duration_ms"], "<volatile>");
        assert_eq!(masked["outcomes"][0]["timing"]["attempts"], 1);
    }
}
