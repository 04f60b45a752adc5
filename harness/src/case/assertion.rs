//! Assertions on JSON paths: the `expect.assert` list of a case.
//!
//! In YAML each assertion is a map with a `path` and exactly one check:
//! `equals`, `one_of`, `type`, `matches`, `length`, `exists` or `absent`. Loading validates the path and the
//! regex and that exactly one check is given, so a broken assertion is a load error at its line.

use regex::Regex;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::JsonPathExpr;
use crate::rules::{self, Rule, Severity};

/// JSON types an assertion can require.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JsonType {
    /// A JSON string.
    String,
    /// Any JSON number.
    Number,
    /// A number without a fractional part.
    Integer,
    /// `true` or `false`.
    Boolean,
    /// A JSON array.
    Array,
    /// A JSON object.
    Object,
    /// `null`.
    Null,
}

impl JsonType {
    /// Whether `value` is of this type.
    pub fn admits(self, value: &Value) -> bool {
        match self {
            JsonType::String => value.is_string(),
            JsonType::Number => value.is_number(),
            JsonType::Integer => value.is_i64() || value.is_u64(),
            JsonType::Boolean => value.is_boolean(),
            JsonType::Array => value.is_array(),
            JsonType::Object => value.is_object(),
            JsonType::Null => value.is_null(),
        }
    }

    /// The type of a value, as these names spell it.
    pub fn of(value: &Value) -> JsonType {
        match value {
            Value::Null => JsonType::Null,
            Value::Bool(_) => JsonType::Boolean,
            Value::Number(n) if n.is_i64() || n.is_u64() => JsonType::Integer,
            Value::Number(_) => JsonType::Number,
            Value::String(_) => JsonType::String,
            Value::Array(_) => JsonType::Array,
            Value::Object(_) => JsonType::Object,
        }
    }

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            JsonType::String => "string",
            JsonType::Number => "number",
            JsonType::Integer => "integer",
            JsonType::Boolean => "boolean",
            JsonType::Array => "array",
            JsonType::Object => "object",
            JsonType::Null => "null",
        }
    }
}

/// A length requirement: an exact count, or bounds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LengthSpec {
    /// Inclusive lower bound.
    pub min: Option<usize>,
    /// Inclusive upper bound.
    pub max: Option<usize>,
}

impl LengthSpec {
    /// Whether `len` satisfies the requirement.
    pub fn admits(&self, len: usize) -> bool {
        self.min.is_none_or(|m| len >= m) && self.max.is_none_or(|m| len <= m)
    }

    /// Human form: `2`, `>= 1`, `1..=3`.
    pub fn describe(&self) -> String {
        match (self.min, self.max) {
            (Some(a), Some(b)) if a == b => a.to_string(),
            (Some(a), Some(b)) => format!("{a}..={b}"),
            (Some(a), None) => format!(">= {a}"),
            (None, Some(b)) => format!("<= {b}"),
            (None, None) => "any".into(),
        }
    }
}

impl<'de> Deserialize<'de> for LengthSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Exact(usize),
            Range(Bounds),
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Bounds {
            min: Option<usize>,
            max: Option<usize>,
        }
        match Raw::deserialize(d)? {
            Raw::Exact(n) => Ok(LengthSpec { min: Some(n), max: Some(n) }),
            Raw::Range(Bounds { min: None, max: None }) => Err(serde::de::Error::custom("`length` needs a number or at least one of `min`, `max`")),
            Raw::Range(b) => Ok(LengthSpec { min: b.min, max: b.max }),
        }
    }
}

/// What an assertion checks at its path.
#[derive(Debug, Clone)]
pub enum AssertionCheck {
    /// Every selected value equals this JSON value.
    Equals(Value),
    /// Every selected value equals one of these.
    OneOf(Vec<Value>),
    /// Every selected value is of one of these types.
    Type(Vec<JsonType>),
    /// Every selected value is a string matching this regex (unanchored; anchor with `^…$`).
    Matches(Regex),
    /// Every selected array, string or object has this many items, characters or keys.
    Length(LengthSpec),
    /// The path selects at least one value.
    Exists,
    /// The path selects nothing.
    Absent,
}

impl AssertionCheck {
    /// The check's key in YAML, used as the rule id suffix (`assert.equals`).
    /// The rule its findings name (`assert.<key>`).
    pub fn rule(&self) -> &'static Rule {
        match self {
            AssertionCheck::Equals(_) => &rules::ASSERT_EQUALS,
            AssertionCheck::OneOf(_) => &rules::ASSERT_ONE_OF,
            AssertionCheck::Type(_) => &rules::ASSERT_TYPE,
            AssertionCheck::Matches(_) => &rules::ASSERT_MATCHES,
            AssertionCheck::Length(_) => &rules::ASSERT_LENGTH,
            AssertionCheck::Exists => &rules::ASSERT_EXISTS,
            AssertionCheck::Absent => &rules::ASSERT_ABSENT,
        }
    }

    /// The key it is written with in a case (`equals`, `one_of`, …).
    pub fn key(&self) -> &'static str {
        match self {
            AssertionCheck::Equals(_) => "equals",
            AssertionCheck::OneOf(_) => "one_of",
            AssertionCheck::Type(_) => "type",
            AssertionCheck::Matches(_) => "matches",
            AssertionCheck::Length(_) => "length",
            AssertionCheck::Exists => "exists",
            AssertionCheck::Absent => "absent",
        }
    }
}

/// What an assertion's path is evaluated against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    /// The JSON body; for a stream, the reassembled message shaped as a `chat.completion`. The default.
    #[default]
    Response,
    /// For a stream, the array of parsed chunks (`$[0].usage`, `$[*].choices`).
    Chunks,
}

/// One assertion of `expect.assert`.
#[derive(Debug, Clone)]
pub struct Assertion {
    /// The JSONPath query.
    pub path: JsonPathExpr,
    /// The check applied to what it selects.
    pub check: AssertionCheck,
    /// What the path is evaluated against. Default `response`.
    pub on: Subject,
    /// Severity of a failure. Default `spec`; say `breaking` when SDK users break without it.
    pub severity: Severity,
    /// Why the assertion matters, shown with a failure.
    pub why: Option<String>,
}

/// The YAML form, before the one-check rule is applied.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAssertion {
    path: JsonPathExpr,
    #[serde(default, deserialize_with = "present")]
    equals: Option<Value>,
    #[serde(default)]
    one_of: Option<Vec<Value>>,
    #[serde(default, rename = "type")]
    type_: Option<OneOrMany<JsonType>>,
    #[serde(default)]
    matches: Option<String>,
    #[serde(default)]
    length: Option<LengthSpec>,
    #[serde(default)]
    exists: Option<bool>,
    #[serde(default)]
    absent: Option<bool>,
    #[serde(default)]
    on: Subject,
    #[serde(default)]
    severity: Option<Severity>,
    #[serde(default)]
    why: Option<String>,
}

/// Distinguishes `equals: null` (present, null) from a missing key.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<'de> Deserialize<'de> for Assertion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let raw = RawAssertion::deserialize(d)?;
        let mut checks = Vec::new();
        if let Some(v) = raw.equals {
            checks.push(AssertionCheck::Equals(v));
        }
        if let Some(v) = raw.one_of {
            checks.push(AssertionCheck::OneOf(v));
        }
        if let Some(t) = raw.type_ {
            checks.push(AssertionCheck::Type(match t {
                OneOrMany::One(t) => vec![t],
                OneOrMany::Many(ts) => ts,
            }));
        }
        if let Some(pattern) = raw.matches {
            let re = Regex::new(&pattern).map_err(|e| D::Error::custom(format!("invalid regex in `matches`: {e}")))?;
            checks.push(AssertionCheck::Matches(re));
        }
        if let Some(l) = raw.length {
            checks.push(AssertionCheck::Length(l));
        }
        match raw.exists {
            Some(true) => checks.push(AssertionCheck::Exists),
            Some(false) => checks.push(AssertionCheck::Absent),
            None => {}
        }
        match raw.absent {
            Some(true) => checks.push(AssertionCheck::Absent),
            Some(false) => checks.push(AssertionCheck::Exists),
            None => {}
        }
        if checks.len() != 1 {
            let keys: Vec<_> = checks.iter().map(|c| format!("`{}`", c.key())).collect();
            return Err(D::Error::custom(format!(
                "assertion on `{}` needs exactly one of `equals`, `one_of`, `type`, `matches`, `length`, `exists`, `absent`; found {}",
                raw.path,
                if keys.is_empty() { "none".to_owned() } else { keys.join(", ") }
            )));
        }
        Ok(Assertion { path: raw.path, check: checks.remove(0), on: raw.on, severity: raw.severity.unwrap_or(Severity::Spec), why: raw.why })
    }
}
