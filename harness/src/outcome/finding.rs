//! A finding: one thing a response got wrong, as a plain value every report renders.
//!
//! The checks ([`crate::check`]) produce findings from the rules of [`crate::rules`]; the verdict logic
//! ([`super::decide`]) marks the ones a known divergence explains.

use serde::{Deserialize, Serialize};

use crate::rules::{Rule, Severity};

/// One thing a response got wrong.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Rule id, one of [`crate::rules::RULES`].
    pub rule: String,
    /// What exactly: the schema and component rule, the assertion as written, the invariant's statement.
    pub detail: String,
    /// How much it matters.
    pub severity: Severity,
    /// In a multi-step case, the name of the step whose answer it concerns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// The stream chunk it concerns (0-based), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk: Option<usize>,
    /// JSON path in the body, chunk or reassembled message.
    pub path: String,
    /// One sentence.
    pub message: String,
    /// What a conformant response has.
    pub expected: String,
    /// What this one has.
    pub actual: String,
    /// Why it matters to a user of the SDKs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// Line in the case file the finding comes from (an assertion's line), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// Index of the known divergence (in the case) that explains it; set when the verdict is decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known: Option<usize>,
}

impl Finding {
    /// A finding of `rule` at `path`, with the rule's default severity and its `why` (the one place rule metadata
    /// comes from: [`crate::rules`]); the other fields default to none. A check whose finding has evidence of its
    /// own (another severity, one SDK's exact failure) says so with [`Finding::why`].
    pub fn new(rule: &Rule, path: impl Into<String>, message: impl Into<String>) -> Self {
        Finding {
            rule: rule.id.to_owned(),
            detail: String::new(),
            severity: rule.severity,
            step: None,
            chunk: None,
            path: path.into(),
            message: message.into(),
            expected: String::new(),
            actual: String::new(),
            why: Some(rule.why.to_owned()),
            line: None,
            known: None,
        }
    }

    /// Sets a severity other than the rule's default (rules whose findings vary, such as an assertion's).
    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// `rule at path` (`… in step <name>` in a multi-step case), as every report names a finding in one line (and
    /// `compat diff` pairs them).
    pub fn rule_at_path(&self) -> String {
        match &self.step {
            Some(step) => format!("{} at {} in step {step}", self.rule, self.path),
            None => format!("{} at {}", self.rule, self.path),
        }
    }

    /// Where in the response: `chunk 2, $.choices[0]…` for a stream chunk, else the path; in a multi-step
    /// case prefixed by the step (`step poll, $.status`).
    pub fn location(&self) -> String {
        let place = match self.chunk {
            Some(c) => format!("chunk {c}, {}", self.path),
            None => self.path.clone(),
        };
        match &self.step {
            Some(step) => format!("step {step}, {place}"),
            None => place,
        }
    }

    /// Sets expected and actual.
    pub fn expecting(mut self, expected: impl Into<String>, actual: impl Into<String>) -> Self {
        self.expected = expected.into();
        self.actual = actual.into();
        self
    }

    /// Sets the detail.
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    /// Sets why it matters.
    pub fn why(mut self, why: impl Into<String>) -> Self {
        self.why = Some(why.into());
        self
    }

    /// Marks the step concerned.
    pub fn in_step(mut self, step: &str) -> Self {
        self.step = Some(step.to_owned());
        self
    }

    /// Marks the stream chunk concerned.
    pub fn in_chunk(mut self, chunk: usize) -> Self {
        self.chunk = Some(chunk);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RULES;

    #[test]
    fn a_finding_says_why_from_its_rule_unless_a_check_has_its_own_evidence() {
        for rule in RULES {
            let f = Finding::new(rule, "$", "m");
            assert_eq!((f.rule.as_str(), f.severity, f.why.as_deref()), (rule.id, rule.severity, Some(rule.why)));
        }
        let own = Finding::new(&crate::rules::STREAM_ROLE, "$", "m").why("openai-node raises");
        assert_eq!(own.why.as_deref(), Some("openai-node raises"));
    }
}
