//! JSON paths as case files write them.
//!
//! Two kinds: [`JsonPathExpr`] is an RFC 9535 JSONPath query that assertions evaluate (parsed when the case
//! loads, so a bad path is a load error at its line), and [`PathPattern`] is the simpler form known
//! divergences use to match the concrete paths of findings (`$.choices[*].delta.tool_calls[*].index`).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json_path::JsonPath;

/// A JSONPath query (RFC 9535), validated at load time.
#[derive(Clone)]
pub struct JsonPathExpr {
    source: String,
    query: JsonPath,
}

impl JsonPathExpr {
    /// Parses a query; the error says what is wrong with it.
    pub fn parse(source: &str) -> Result<Self, String> {
        let query = JsonPath::parse(source).map_err(|e| format!("invalid JSON path `{source}`: {e}"))?;
        Ok(Self { source: source.to_owned(), query })
    }

    /// The query as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The nodes the query selects, each with its normalized path (`$.choices[0].message`).
    pub fn select<'v>(&self, value: &'v serde_json::Value) -> Vec<(String, &'v serde_json::Value)> {
        self.query.query_located(value).into_iter().map(|node| (display_normalized(node.location()), node.node())).collect()
    }
}

fn display_normalized(path: &serde_json_path::NormalizedPath<'_>) -> String {
    let mut out = String::from("$");
    for element in path.iter() {
        match element {
            serde_json_path::PathElement::Name(name) => push_name(&mut out, name),
            serde_json_path::PathElement::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// Appends `.name`, or `["name"]` when the name is not a plain identifier.
pub(crate) fn push_name(out: &mut String, name: &str) {
    let plain = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !name.starts_with(|c: char| c.is_ascii_digit());
    if plain {
        out.push('.');
        out.push_str(name);
    } else {
        out.push_str(&format!("[{}]", serde_json::Value::String(name.to_owned())));
    }
}

impl PartialEq for JsonPathExpr {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl fmt::Debug for JsonPathExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JsonPathExpr({})", self.source)
    }
}

impl fmt::Display for JsonPathExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl<'de> Deserialize<'de> for JsonPathExpr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        JsonPathExpr::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl Serialize for JsonPathExpr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}

/// One step of a concrete or pattern path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Name(String),
    Index(usize),
    /// `[*]` or `.*`: any one index or name.
    Any,
}

/// A path pattern for known divergences: `$`, then `.name`, `["name"]`, `[0]`, `[*]` or `.*` steps.
/// It matches a finding's path segment for segment; `[*]`/`.*` match any single step.
#[derive(Clone, PartialEq, Eq)]
pub struct PathPattern {
    source: String,
    segments: Vec<Segment>,
}

impl PathPattern {
    /// Parses a pattern, saying what is wrong when it is not one.
    pub fn parse(source: &str) -> Result<Self, String> {
        let segments = parse_segments(source, true).map_err(|e| format!("invalid path pattern `{source}`: {e}"))?;
        Ok(Self { source: source.to_owned(), segments })
    }

    /// Whether a concrete path (as findings print them) matches this pattern.
    /// A finding of an assertion that found nothing keeps the assertion's own `[*]` in its path; such a step
    /// is matched by `[*]` in the pattern only.
    pub fn matches(&self, concrete: &str) -> bool {
        match parse_segments(concrete, true) {
            Ok(path) => path.len() == self.segments.len() && self.segments.iter().zip(&path).all(|(p, c)| *p == Segment::Any || p == c),
            Err(_) => false,
        }
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

fn parse_segments(s: &str, allow_wildcards: bool) -> Result<Vec<Segment>, String> {
    let rest = s.strip_prefix('$').ok_or("a path starts with `$`")?;
    let bytes = rest.as_bytes();
    let mut segments = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'.' => {
                let start = i + 1;
                let mut end = start;
                while end < bytes.len() && bytes[end] != b'.' && bytes[end] != b'[' {
                    end += 1;
                }
                let name = &rest[start..end];
                if name.is_empty() {
                    return Err(format!("empty name at offset {}", start + 1));
                }
                segments.push(if name == "*" && allow_wildcards { Segment::Any } else { Segment::Name(name.to_owned()) });
                i = end;
            }
            b'[' => {
                let close = rest[i..].find(']').map(|c| c + i).ok_or("unclosed `[`")?;
                let inner = &rest[i + 1..close];
                let segment = if inner == "*" && allow_wildcards {
                    Segment::Any
                } else if let Ok(n) = inner.parse::<usize>() {
                    Segment::Index(n)
                } else if inner.starts_with('"') {
                    // Quoted names may hold `]`; re-find the end after the JSON string.
                    let mut de = serde_json::Deserializer::from_str(&rest[i + 1..]).into_iter::<String>();
                    let name = de.next().ok_or("bad quoted name")?.map_err(|e| e.to_string())?;
                    let after = i + 1 + de.byte_offset();
                    if rest.as_bytes().get(after) != Some(&b']') {
                        return Err("expected `]` after quoted name".into());
                    }
                    segments.push(Segment::Name(name));
                    i = after + 1;
                    continue;
                } else if let Some(name) = inner.strip_prefix('\'').and_then(|n| n.strip_suffix('\'')) {
                    Segment::Name(name.to_owned())
                } else {
                    return Err(format!("`[{inner}]` is not an index, `[*]` or a quoted name"));
                };
                segments.push(segment);
                i = close + 1;
            }
            other => return Err(format!("unexpected `{}` at offset {}", other as char, i + 1)),
        }
    }
    Ok(segments)
}

impl fmt::Debug for PathPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PathPattern({})", self.source)
    }
}

impl fmt::Display for PathPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl<'de> Deserialize<'de> for PathPattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PathPattern::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl Serialize for PathPattern {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}

/// A concrete JSON path with every `[n]` replaced by `[*]`: the pattern that matches it at any index (how a
/// report groups findings across array elements, and how a drafted known divergence names a path).
pub fn generalize_indexes(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut rest = path;
    while let Some(open) = rest.find('[') {
        let close = rest[open..].find(']').map(|c| open + c);
        match close {
            Some(c) if c > open + 1 && rest[open + 1..c].bytes().all(|b| b.is_ascii_digit()) => {
                out.push_str(&rest[..open]);
                out.push_str("[*]");
                rest = &rest[c + 1..];
            }
            _ => {
                out.push_str(&rest[..=open]);
                rest = &rest[open + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_matches_wildcards_and_quoted_names() {
        let p = PathPattern::parse("$.choices[*].delta.tool_calls[*].index").unwrap();
        assert!(p.matches("$.choices[0].delta.tool_calls[3].index"));
        assert!(!p.matches("$.choices[0].delta.tool_calls[3]"));
        assert!(!p.matches("$.choices[0].message.tool_calls[3].index"));
        let q = PathPattern::parse(r#"$["a.b"][*]"#).unwrap();
        assert!(q.matches(r#"$["a.b"][2]"#));
        assert!(PathPattern::parse("$").unwrap().matches("$"));
        // An assertion path that found nothing keeps its `[*]`: only a `[*]` in the pattern matches it.
        assert!(p.matches("$.choices[0].delta.tool_calls[*].index"));
        assert!(!PathPattern::parse("$.a[0]").unwrap().matches("$.a[*]"));
    }

    #[test]
    fn bad_patterns_say_why() {
        assert!(PathPattern::parse("choices").unwrap_err().contains("starts with `$`"));
        assert!(PathPattern::parse("$.a[x]").unwrap_err().contains("`[x]`"));
        assert!(PathPattern::parse("$.a[0").unwrap_err().contains("unclosed"));
    }

    #[test]
    fn jsonpath_select_gives_normalized_paths() {
        let v = serde_json::json!({"choices": [{"message": {"role": "assistant"}}], "weird key": 1});
        let q = JsonPathExpr::parse("$.choices[*].message.role").unwrap();
        assert_eq!(q.select(&v), vec![("$.choices[0].message.role".to_owned(), &serde_json::json!("assistant"))]);
        let w = JsonPathExpr::parse("$['weird key']").unwrap();
        assert_eq!(w.select(&v)[0].0, r#"$["weird key"]"#);
        assert!(JsonPathExpr::parse("$.choices[").unwrap_err().contains("invalid JSON path"));
    }
}
