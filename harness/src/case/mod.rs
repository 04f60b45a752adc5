//! The case model: what a YAML case file says, as plain serde data.
//!
//! A case is one behaviour of one feature: a request, what a conformant response must look like, and the
//! divergences already known on particular targets. Nothing here does I/O except [`load`], which reads case
//! files and turns every problem into a [`Diagnostic`](crate::diagnostic::Diagnostic) carrying `file:line:col`. The run layer
//! ([`crate::run`]) consumes these types; nothing here knows how a request is sent.

mod assertion;
pub mod expectations;
pub mod features;
pub mod load;
mod path;
pub mod steps;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::rules::Severity;

pub use assertion::{Assertion, AssertionCheck, JsonType, LengthSpec, Subject};
pub use load::{LoadedCase, load_case_file};
pub(crate) use path::push_name as push_path_name;
pub use path::{JsonPathExpr, PathPattern, generalize_indexes};

/// A position in a case file (1-based line and column).
pub type Spanned<T> = serde_saphyr::Spanned<T>;

/// One conformance case: a request or several, in order (`steps`), what each answer must look like, and the
/// divergences already known on particular targets. A case written with `request` + `expect` is one unnamed step;
/// the run layer treats both forms alike.
#[derive(Debug, Clone)]
pub struct Case {
    /// Stable identifier; must equal the file's stem (`[a-z0-9_]+`).
    pub id: String,
    /// Feature group; must equal the name of the folder the file sits in (`[a-z0-9-]+`).
    pub feature: String,
    /// One line saying what behaviour the case checks.
    pub title: String,
    /// The documented feature the case checks: a URL, or a document and section.
    pub doc: String,
    /// The model role the request needs; each target maps roles to real model names. Default `chat`.
    pub model: String,
    /// What the case tests: OpenAI's API (`openai`, any implementation should pass it) or a vendor's extension
    /// (`gemini`). A target runs the cases of the profiles it lists.
    pub profile: String,
    /// The requests, in order; never empty. A case written as `request` + `expect` has one step without a name.
    pub steps: Vec<Spanned<Step>>,
    /// Divergences already known on some targets: observed ones give `known`, missing ones give `fixed`.
    pub known_divergences: Vec<Spanned<KnownDivergence>>,
    /// Run the case this many times; the verdict needs every run to agree (pass^k). Default 1.
    pub repeat: u32,
    /// Known divergences declared outside the case, in per-target expectations files
    /// (`cases/expectations/<target>.yaml`), merged in by the suite loader. Not part of the case format.
    pub expected: Vec<expectations::Expected>,
}

/// A case file as written: either `request` (+ `expect`) or `steps`. [`load`] checks which and makes a [`Case`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CaseFile {
    pub id: String,
    pub feature: String,
    pub title: String,
    pub doc: String,
    #[serde(default = "default_role")]
    pub model: String,
    #[serde(default = "default_profile")]
    pub profile: String,
    #[serde(default)]
    pub request: Option<Spanned<Request>>,
    #[serde(default)]
    pub expect: Option<Expect>,
    #[serde(default)]
    pub steps: Vec<Spanned<Step>>,
    #[serde(default)]
    pub known_divergences: Vec<Spanned<KnownDivergence>>,
    #[serde(default = "default_repeat")]
    pub repeat: u32,
}

fn default_role() -> String {
    "chat".to_owned()
}

/// The profile of OpenAI's own API, which every target runs unless it lists others.
pub const OPENAI_PROFILE: &str = "openai";

fn default_profile() -> String {
    OPENAI_PROFILE.to_owned()
}

fn default_repeat() -> u32 {
    1
}

/// Whether a request body asks for a server-sent-event stream (`stream: true`).
pub fn asks_for_stream(body: Option<&Value>) -> bool {
    body.and_then(|b| b.get("stream")).and_then(Value::as_bool) == Some(true)
}

impl Case {
    /// Trial-style name without the target: `<feature>::<id>`.
    pub fn name(&self) -> String {
        format!("{}::{}", self.feature, self.id)
    }

    /// Whether the case is written as `steps` (its steps have names, and outcomes list them).
    pub fn is_multi_step(&self) -> bool {
        self.steps.iter().any(|s| s.value.name.is_some())
    }

    /// The first step's request (what a benchmark or a listing shows as "the case's request").
    pub fn first_request(&self) -> &Request {
        &self.steps[0].value.request
    }

    /// The object kinds whose schemas the checks of this case use, one per step that names one.
    pub fn schema_kinds(&self) -> Vec<ObjectKind> {
        self.steps.iter().filter_map(|s| s.value.expect.schema).collect()
    }

    /// The known divergences declared for `target`: the case's own, then those of expectations files, each
    /// with its index (expectations number on after the case's entries) and the file declaring it when that
    /// is not the case file.
    pub fn known_for<'a>(&'a self, target: &'a str) -> impl Iterator<Item = (usize, Option<&'a str>, &'a Spanned<KnownDivergence>)> + 'a {
        let own = self.known_divergences.iter().map(|k| (None, k));
        let expected = self.expected.iter().map(|e| (Some(e.file.as_str()), &e.divergence));
        own.chain(expected).enumerate().filter(move |(_, (_, k))| k.value.targets.iter().any(|t| t == target)).map(|(i, (f, k))| (i, f, k))
    }
}

/// HTTP method of a case's request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// `GET`
    Get,
    /// `POST` (the default)
    #[default]
    Post,
    /// `DELETE`
    Delete,
}

impl Method {
    /// The method's name as sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Delete => "DELETE",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The request a case sends.
///
/// Strings in `path` and `body` may hold `{{model}}` (the target's model for the case's role) or
/// `{{model.<role>}}` (the model for another role); they are substituted per target before sending.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// HTTP method. Default `POST`.
    #[serde(default)]
    pub method: Method,
    /// Path relative to the target's base URL, without a leading slash (`chat/completions`).
    pub path: String,
    /// JSON body. Absent for `GET`. A body whose `stream` is `true` makes the case a streaming case.
    #[serde(default)]
    pub body: Option<Value>,
    /// A raw body sent verbatim instead of `body` (for malformed-JSON cases), with `content-type: application/json`.
    #[serde(default)]
    pub raw_body: Option<String>,
    /// Extra request headers. The auth header is never written here; targets add it from the environment.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Send the request without credentials (for the bad-key case, see `auth`). Default `target`.
    #[serde(default)]
    pub auth: AuthMode,
}

/// How a case authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    /// The target's key from its environment variable (the default).
    #[default]
    Target,
    /// A syntactically plausible but invalid key, to observe the bad-key error.
    Invalid,
}

/// The OpenAI objects the harness has schemas for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
pub enum ObjectKind {
    /// `CreateChatCompletionResponse`
    #[serde(rename = "chat.completion")]
    ChatCompletion,
    /// `CreateChatCompletionStreamResponse`, checked on every chunk of a stream.
    #[serde(rename = "chat.completion.chunk")]
    ChatCompletionChunk,
    /// `CreateEmbeddingResponse`
    #[serde(rename = "embedding.list")]
    EmbeddingList,
    /// `ListModelsResponse`
    #[serde(rename = "model.list")]
    ModelList,
    /// `Model`
    #[serde(rename = "model")]
    Model,
    /// `ErrorResponse`
    #[serde(rename = "error")]
    Error,
    /// `ImagesResponse`
    #[serde(rename = "images.response")]
    ImagesResponse,
    /// `Batch`
    #[serde(rename = "batch")]
    Batch,
    /// `VideoResource` (a video generation job, `POST videos` / `GET videos/{id}`)
    #[serde(rename = "video")]
    Video,
}

impl ObjectKind {
    /// Every kind, in a stable order.
    pub const ALL: [ObjectKind; 9] = [
        ObjectKind::ChatCompletion,
        ObjectKind::ChatCompletionChunk,
        ObjectKind::EmbeddingList,
        ObjectKind::ModelList,
        ObjectKind::Model,
        ObjectKind::Error,
        ObjectKind::ImagesResponse,
        ObjectKind::Batch,
        ObjectKind::Video,
    ];

    /// The name used in case files and schema file names.
    pub fn name(self) -> &'static str {
        match self {
            ObjectKind::ChatCompletion => "chat.completion",
            ObjectKind::ChatCompletionChunk => "chat.completion.chunk",
            ObjectKind::EmbeddingList => "embedding.list",
            ObjectKind::ModelList => "model.list",
            ObjectKind::Model => "model",
            ObjectKind::Error => "error",
            ObjectKind::ImagesResponse => "images.response",
            ObjectKind::Batch => "batch",
            ObjectKind::Video => "video",
        }
    }

    /// The object a success on `method path` returns, by OpenAI's endpoints (`path` relative to a base URL, as a
    /// case writes it): the one table from endpoint to object kind. `models` and `models/{id}` are taken by path
    /// alone, since some recorders store every request as `POST`; `None` for an endpoint the harness has no
    /// schema for.
    pub fn answering(method: Method, path: &str, body: Option<&Value>) -> Option<ObjectKind> {
        let path = path.split(['?', '#']).next().unwrap_or_default().trim_matches('/');
        let segments: Vec<&str> = path.split('/').collect();
        let get = method == Method::Get;
        Some(match segments.as_slice() {
            ["chat", "completions"] if !get => {
                if asks_for_stream(body) {
                    ObjectKind::ChatCompletionChunk
                } else {
                    ObjectKind::ChatCompletion
                }
            }
            ["embeddings"] if !get => ObjectKind::EmbeddingList,
            ["models"] => ObjectKind::ModelList,
            // `models/x:generateContent` is Gemini's native API, not an OpenAI model object.
            ["models", id @ ..] if !id.is_empty() && !id.iter().any(|s| s.contains(':')) => ObjectKind::Model,
            ["images", "generations" | "edits" | "variations"] if !get => ObjectKind::ImagesResponse,
            ["batches"] if !get => ObjectKind::Batch,
            ["batches", _] if get => ObjectKind::Batch,
            ["batches", _, "cancel"] if !get => ObjectKind::Batch,
            ["videos"] if !get => ObjectKind::Video,
            ["videos", _] if get => ObjectKind::Video,
            _ => return None,
        })
    }

    /// The endpoint that returns this object (the inverse of [`ObjectKind::answering`]); empty for `error`,
    /// which any endpoint may return.
    pub fn endpoint(self) -> &'static str {
        match self {
            ObjectKind::ChatCompletion | ObjectKind::ChatCompletionChunk => "chat/completions",
            ObjectKind::EmbeddingList => "embeddings",
            ObjectKind::ModelList => "models",
            ObjectKind::Model => "models/{id}",
            ObjectKind::ImagesResponse => "images/generations",
            ObjectKind::Batch => "batches",
            ObjectKind::Video => "videos",
            ObjectKind::Error => "",
        }
    }

    /// The component of OpenAI's OpenAPI document this object follows.
    pub fn openapi_component(self) -> &'static str {
        match self {
            ObjectKind::ChatCompletion => "CreateChatCompletionResponse",
            ObjectKind::ChatCompletionChunk => "CreateChatCompletionStreamResponse",
            ObjectKind::EmbeddingList => "CreateEmbeddingResponse",
            ObjectKind::ModelList => "ListModelsResponse",
            ObjectKind::Model => "Model",
            ObjectKind::Error => "ErrorResponse",
            ObjectKind::ImagesResponse => "ImagesResponse",
            ObjectKind::Batch => "Batch",
            ObjectKind::Video => "VideoResource",
        }
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a conformant response looks like.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Expected HTTP status. Default 200.
    #[serde(default = "default_status")]
    pub status: u16,
    /// The OpenAI object the body (or, for a stream, every chunk) must conform to. Default: none.
    #[serde(default)]
    pub schema: Option<ObjectKind>,
    /// Assertions on JSON paths of the body (or of the reassembled stream message).
    #[serde(default)]
    pub assert: Vec<Spanned<Assertion>>,
    /// Run the semantic checks that apply to the request (tool arguments, structured output, `n`,
    /// embedding count and dimension). Default `true`.
    #[serde(default = "default_true")]
    pub semantic: bool,
    /// Compare the normalized response with its insta snapshot. Default `true`.
    #[serde(default = "default_true")]
    pub snapshot: bool,
}

impl Step {
    /// Whether its request asks for a server-sent-event stream.
    pub fn is_streaming(&self) -> bool {
        asks_for_stream(self.request.body.as_ref())
    }
}

impl Default for Expect {
    fn default() -> Self {
        Expect { status: default_status(), schema: None, assert: Vec::new(), semantic: true, snapshot: true }
    }
}

/// One step of a case: a request, what its answer must look like, the values to take from the answer for
/// later steps, and optionally a poll that repeats the request until a condition holds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// The step's name (`[a-z0-9_]+`, unique in the case): findings, reports and known divergences name it.
    /// Required in `steps`; absent for the one step of a case written as `request` + `expect`.
    #[serde(default)]
    pub name: Option<String>,
    /// The request. Strings may hold `{{<capture>}}` for a value captured by an earlier step.
    pub request: Request,
    /// What a conformant answer looks like. Default: status 200, no schema, no assertions.
    #[serde(default)]
    pub expect: Expect,
    /// Values taken from the answer (its JSON body, or a stream's reassembled message), by name → JSON path.
    #[serde(default)]
    pub captures: BTreeMap<String, Spanned<JsonPathExpr>>,
    /// Repeat the request until `until` holds (a long-running job).
    #[serde(default)]
    pub poll: Option<Poll>,
}

/// How a step polls: the request is sent again every `interval_ms` until `until` holds on the answer, at most
/// `max_attempts` times; replay serves the recorded answers in order and does not wait.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Poll {
    /// The condition that ends the poll, written as an assertion (`{ path: $.status, one_of: [completed, failed] }`).
    pub until: Assertion,
    /// Wait between attempts, live (ms). Default 5000.
    #[serde(default = "default_interval_ms")]
    pub interval_ms: u64,
    /// Attempts before the step is an `error` (1..=1000). Default 60.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
}

fn default_interval_ms() -> u64 {
    5000
}

fn default_max_attempts() -> u32 {
    60
}

fn default_status() -> u16 {
    200
}

fn default_true() -> bool {
    true
}

impl KnownDivergence {
    /// `rule at path` (either alone when the other is not given), as every report names the declaration.
    pub fn rule_at_path(&self) -> String {
        let named = [self.rule.as_deref(), self.path.as_ref().map(|p| p.as_str())].into_iter().flatten().collect::<Vec<_>>().join(" at ");
        match &self.step {
            Some(step) => format!("{named} in step `{step}`"),
            None => named,
        }
    }
}

/// A divergence already known on some targets. It matches a finding when its `rule` (a rule id or a
/// prefix of one at a `.` boundary) and its `path` (a pattern where `[*]` matches any index) both match;
/// at least one of the two must be given.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KnownDivergence {
    /// Targets on which the divergence is known (names from `cases/targets.yaml`).
    pub targets: Vec<String>,
    /// Rule id or prefix, e.g. `schema.spec` or `stream.finish_reason`.
    #[serde(default)]
    pub rule: Option<String>,
    /// JSON path pattern of the findings it explains, e.g. `$.choices[*].message.refusal`.
    #[serde(default)]
    pub path: Option<PathPattern>,
    /// Why the target behaves so.
    pub reason: String,
    /// Where it was documented or reported.
    pub link: String,
    /// The severity the divergence is expected to have; a finding of another severity is not explained by it.
    #[serde(default)]
    pub severity: Option<Severity>,
    /// In a multi-step case, the step (by name) whose findings it explains; absent, it matches any step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// When it is due: `always` (the default: not observing it is `fixed`), `sometimes` (it depends on the
    /// answer; not observing it is not news), or `{ present: <JSONPath> }` (due only when that path of the
    /// response holds a value other than null, false, 0 or empty — "only if reasoning tokens were spent").
    #[serde(default, skip_serializing_if = "When::is_always")]
    pub when: When,
}

/// When a known divergence is due (see [`KnownDivergence::when`]).
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum When {
    /// Every run must show it.
    #[default]
    Always,
    /// It shows on some answers only; a run without it is not `fixed`.
    Sometimes,
    /// Due only when the path selects a value that is not null, false, 0 or empty.
    #[serde(untagged)]
    Present {
        /// The JSONPath of the condition, on the body or the reassembled stream message.
        present: JsonPathExpr,
    },
}

impl When {
    /// Whether it is the default.
    pub fn is_always(&self) -> bool {
        *self == When::Always
    }

    /// Whether the divergence is due on this response (`subject`: the body, or the reassembled message).
    pub fn due(&self, subject: Option<&Value>) -> bool {
        match self {
            When::Always => true,
            When::Sometimes => false,
            When::Present { present } => subject.is_some_and(|s| {
                present.select(s).iter().any(|(_, v)| match v {
                    Value::Null | Value::Bool(false) => false,
                    Value::Number(n) => n.as_f64() != Some(0.0),
                    Value::String(t) => !t.is_empty(),
                    Value::Array(a) => !a.is_empty(),
                    Value::Object(o) => !o.is_empty(),
                    Value::Bool(true) => true,
                })
            }),
        }
    }
}
