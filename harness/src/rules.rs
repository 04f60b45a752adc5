//! The rule table: every rule a finding can name, defined once, with its default severity, what it checks and
//! why it matters to a user of the official SDKs.
//!
//! Checks build findings from these entries ([`crate::outcome::Finding::new`]); a case's known divergence must
//! name a rule of this table or a prefix of one at a `.` boundary (`stream`, `schema`), which the case loader
//! checks with a did-you-mean. The README's rule table is generated from [`RULES`] (`compat rules --write`) and a
//! test fails when that copy is stale. [`Severity`] lives here because a severity is a property of a rule first.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How much a divergence matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Only the letter of OpenAI's specification: the official SDKs return the data whole, and their types hold.
    Spec,
    /// The official SDKs return the response, but it violates their typed contract (a field their types call
    /// required is missing or of another type), so code that trusts the types breaks.
    Typed,
    /// An official SDK raises, or silently loses or changes data (shown by the client drivers, `drivers/`).
    Breaking,
}

impl Severity {
    /// Lower-case name, as in reports.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Spec => "spec",
            Severity::Typed => "typed",
            Severity::Breaking => "breaking",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One rule.
#[derive(Debug, PartialEq, Eq)]
pub struct Rule {
    /// The id findings and known divergences name: `status`, `schema.client`, `stream.usage`, …
    pub id: &'static str,
    /// The severity of its findings unless a check says otherwise (see `severities`).
    pub severity: Severity,
    /// Every severity its findings can have, when more than the default (`"spec / breaking"`), for the README.
    pub severities: &'static str,
    /// What it checks, in a line.
    pub checks: &'static str,
    /// Why it matters to a user of the official SDKs, in a line.
    pub why: &'static str,
}

macro_rules! rules {
    ($($name:ident = $id:literal, $sev:ident, $sevs:literal, $checks:literal, $why:literal;)*) => {
        $(
            #[doc = concat!("`", $id, "`: ", $checks)]
            pub const $name: Rule = Rule { id: $id, severity: Severity::$sev, severities: $sevs, checks: $checks, why: $why };
        )*
        /// Every rule, in the README's order.
        pub const RULES: &[&Rule] = &[$(&$name),*];
    };
}

rules! {
    STATUS = "status", Breaking, "",
        "the status the case expects",
        "the SDKs turn any non-2xx status into an exception, and a 2xx into a result";
    BODY_JSON = "body.json", Breaking, "",
        "a JSON body where one is due (a success's object, or an error status's error object)",
        "the SDKs parse every non-streamed body as JSON; on an error status openai-python 3.60.0 raises without the server's text (`str(e)` is `Error code: 404`)";
    BODY_STREAM = "body.stream", Breaking, "",
        "an event stream for `stream: true`",
        "the SDKs read a streamed answer only from server-sent events";
    SCHEMA_CLIENT = "schema.client", Breaking, "breaking / typed",
        "the body, or every chunk, against the **client** tier of its OpenAI object (typed where `client.json`'s `x-severity` says so)",
        "where the SDKs process a field (stream chunks, error bodies, embeddings data) they raise or lose data without it; elsewhere they return the object and only code trusting their types breaks";
    SCHEMA_SPEC = "schema.spec", Spec, "",
        "the same against the **spec** tier (a client violation is not repeated here)",
        "only the letter of OpenAI's document; strict validators and typed clients may still reject it";
    STREAM_DONE = "stream.done", Spec, "spec / breaking",
        "`[DONE]` ends the stream (spec), with its closing blank line (spec: openai-python 3.60.0 and openai-node 7.60.0 lose no chunk without it), nothing after it (breaking: the SDKs drop it)",
        "clients stop reading at `[DONE]`; what follows is lost, and a missing one leaves them waiting for the close";
    STREAM_ID = "stream.id", Spec, "",
        "the same `id` on every chunk",
        "code that groups chunks by id splits one answer in two";
    STREAM_OBJECT = "stream.object", Breaking, "",
        "the same `object` on every chunk",
        "openai-python's stream helper drops a chunk whose `object` is not chat.completion.chunk: its delta is lost";
    STREAM_FINISH_REASON = "stream.finish_reason", Spec, "spec / breaking",
        "each choice gets exactly one `finish_reason` (breaking when none: openai-node raises), no content after it",
        "clients learn why generation stopped (length, tool_calls) only from finish_reason";
    STREAM_TOOL_CALL_INDEX = "stream.tool_call_index", Breaking, "",
        "tool-call deltas number calls 0, 1, 2…; a call's first delta has its id and name, later ones repeat neither",
        "the SDK helpers index a list by it (a gap raises) and take id and name from the first delta (openai-python concatenates repeats)";
    STREAM_ROLE = "stream.role", Breaking, "",
        "each choice's `role` comes on exactly one delta",
        "openai-python's stream helper concatenates repeated roles (`assistantassistant`); openai-node's raises on a missing one";
    STREAM_USAGE = "stream.usage", Spec, "",
        "usage once, in a final chunk with `choices: []`, only with `stream_options.include_usage`",
        "code that reads usage from the final chunk, or skips chunks with empty choices, relies on this shape";
    STREAM_CHUNK_JSON = "stream.chunk_json", Breaking, "",
        "every data line but `[DONE]` is JSON",
        "the SDKs parse every data line except [DONE] as JSON and raise on anything else";
    SEMANTIC_TOOL_ARGUMENTS = "semantic.tool_arguments", Breaking, "breaking / spec",
        "tool calls name a declared tool; `arguments` parse (breaking) and validate against the tool's `parameters` (spec)",
        "a tool loop dispatches on the name and calls json.loads / JSON.parse on the arguments";
    SEMANTIC_STRUCTURED_OUTPUT = "semantic.structured_output", Breaking, "breaking / spec",
        "structured output parses (breaking) and validates against `response_format`'s schema (breaking when `strict`)",
        "the SDKs' parse helpers (client.beta.chat.completions.parse) raise on it";
    SEMANTIC_CHOICES = "semantic.choices", Breaking, "",
        "`n` choices with indexes 0..n-1",
        "code reads choices[i] for i < n";
    SEMANTIC_FINISH_REASON = "semantic.finish_reason", Spec, "",
        "a message with tool calls finishes with `tool_calls` (not where the request forced one function by name: OpenAI answers `stop` there)",
        "agent loops branch on finish_reason == \"tool_calls\" and stop at `stop`; openai-python 3.60.0 and openai-node 7.60.0 return the calls either way";
    SEMANTIC_USAGE = "semantic.usage", Spec, "",
        "`usage.total_tokens` is `prompt_tokens + completion_tokens`",
        "cost and quota accounting that sums prompt and completion tokens disagrees with total_tokens";
    SEMANTIC_EMBEDDINGS = "semantic.embeddings", Breaking, "",
        "one embedding per input, indexes 0..k-1, requested `dimensions` (base64 vectors decoded)",
        "callers zip inputs with data[] by index and size their vector index by the requested dimension";
    SEMANTIC_TOOL_CALL_ID = "semantic.tool_call_id", Breaking, "breaking / spec",
        "the tool calls of a message have non-empty, distinct ids (breaking); each `role: tool` message of an answered request names a call of an earlier assistant message (spec: OpenAI answers 400)",
        "a tool result names its call only by tool_call_id: with an empty or repeated id a tool loop cannot match results to calls (pydantic-ai had to invent ids for Gemini's empty ones, PR #1892; autogen #4878)";
    SEMANTIC_MODEL = "semantic.model", Spec, "",
        "the answer's `model` is the requested one or a dated snapshot of it (`gpt-4o-mini-2024-07-18`); a `models/` prefix is reported (in `compat check` too, without the request)",
        "code that keys cost tables, logs or routing on response.model sees a name it was not configured with";
    SEMANTIC_MODEL_ID = "semantic.model_id", Spec, "",
        "a model object's `id` is the name callers send, not the resource name `models/…` (`compat check`; cases assert it)",
        "code compares listed ids with the names it sends as `model`, and the prefix fails that comparison";
    BATCH_OUTPUT_LINE = "batch.output_line", Spec, "",
        "a Batch output line is `{id, custom_id, response: {status_code, request_id, body}, error}` as OpenAI documents it (`compat check` on `.jsonl`)",
        "code that reads a batch's results matches lines to requests by `custom_id`, checks `error`, and logs `request_id`; the SDKs hand the file over as bytes and check none of it";
    STEP_CAPTURE = "step.capture", Breaking, "",
        "in a multi-step case, each capture finds a value in its step's answer (later steps are not sent without it)",
        "a client loop takes the id, tool call or signature from this answer to make its next request";
    ASSERT_EQUALS = "assert.equals", Spec, "the assertion's `severity`",
        "a case assertion: the value at a path equals the one given",
        "the case's own statement of the documented behaviour";
    ASSERT_ONE_OF = "assert.one_of", Spec, "the assertion's `severity`",
        "a case assertion: the value is one of those given",
        "the case's own statement of the documented behaviour";
    ASSERT_TYPE = "assert.type", Spec, "the assertion's `severity`",
        "a case assertion: the value has the JSON type given",
        "the case's own statement of the documented behaviour";
    ASSERT_MATCHES = "assert.matches", Spec, "the assertion's `severity`",
        "a case assertion: the string matches a regular expression",
        "the case's own statement of the documented behaviour";
    ASSERT_LENGTH = "assert.length", Spec, "the assertion's `severity`",
        "a case assertion: the array or string has the length given",
        "the case's own statement of the documented behaviour";
    ASSERT_EXISTS = "assert.exists", Spec, "the assertion's `severity`",
        "a case assertion: the path exists",
        "the case's own statement of the documented behaviour";
    ASSERT_ABSENT = "assert.absent", Spec, "the assertion's `severity`",
        "a case assertion: the path is absent",
        "the case's own statement of the documented behaviour";
}

/// The rule with this id.
pub fn lookup(id: &str) -> Option<&'static Rule> {
    RULES.iter().copied().find(|r| r.id == id)
}

/// Whether a known divergence may name `name`: a rule id, or a prefix of one at a `.` boundary.
pub fn is_rule_or_prefix(name: &str) -> bool {
    RULES.iter().any(|r| r.id == name || r.id.strip_prefix(name).is_some_and(|rest| rest.starts_with('.')))
}

/// Marks the start of the generated rule table in the README.
pub const README_START: &str = "<!-- rules:start -->";

/// The document holding the rule table (between [`README_START`] and [`README_END`]).
pub const RULES_DOC: &str = "docs/checks.md";
/// Marks its end.
pub const README_END: &str = "<!-- rules:end -->";

/// The README's rule table, as Markdown.
pub fn render_table() -> String {
    let mut out = String::from("| rule id | what is checked | severity | why it matters |\n|---|---|---|---|\n");
    for r in RULES {
        let severity = if r.severities.is_empty() { r.severity.name() } else { r.severities };
        out.push_str(&format!("| `{}` | {} | {} | {} |\n", r.id, r.checks, severity, r.why));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_prefixes_resolve() {
        for (i, r) in RULES.iter().enumerate() {
            assert!(RULES[..i].iter().all(|o| o.id != r.id), "duplicate rule id {}", r.id);
        }
        assert!(is_rule_or_prefix("schema.client") && is_rule_or_prefix("stream") && is_rule_or_prefix("assert"));
        assert!(!is_rule_or_prefix("schema.clien") && !is_rule_or_prefix("stream.") && !is_rule_or_prefix("semantics"));
        assert_eq!(lookup("semantic.usage").map(|r| r.severity), Some(Severity::Spec));
    }
}
