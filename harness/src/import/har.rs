//! HAR 1.2 files (browsers' "Save all as HAR", mitmproxy's `--set hardump=`, proxies): `log.entries[]` of
//! `{request: {method, url, postData.text}, response: {status, headers[], content: {text, encoding}}}`.
//!
//! A body HAR stores base64 (`content.encoding: "base64"`) is decoded. Entries without a response (status 0:
//! aborted or blocked) or whose body the exporter did not keep are left out with that reason, not checked as
//! empty. Each entry is located by the line where it starts, found by a scan of the text (serde_json keeps no
//! positions).

use base64::Engine;
use serde::Deserialize;

use super::{Imported, LeftOut, RecordedExchange, kind_of, request_json};
use crate::check::Observed;
use crate::diagnostic::Diagnostic;

#[derive(Deserialize)]
struct Har {
    log: Log,
}

#[derive(Deserialize)]
struct Log {
    entries: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    request: Request,
    response: Response,
}

#[derive(Deserialize)]
struct Request {
    method: String,
    url: String,
    #[serde(default, rename = "postData")]
    post_data: Option<PostData>,
}

#[derive(Deserialize)]
struct PostData {
    #[serde(default)]
    text: Option<String>,
}

#[derive(Deserialize)]
struct Response {
    status: i64,
    #[serde(default)]
    headers: Vec<Header>,
    #[serde(default)]
    content: Content,
}

#[derive(Deserialize)]
struct Header {
    name: String,
    value: String,
}

#[derive(Deserialize, Default)]
struct Content {
    #[serde(default)]
    size: i64,
    #[serde(default, rename = "mimeType")]
    mime_type: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    encoding: Option<String>,
}

/// Imports a HAR document.
pub fn import(file: &str, text: &str) -> Result<Imported, Diagnostic> {
    let har: Har = serde_json::from_str(text).map_err(|e| {
        let hint = if e.is_data() { " (a HAR file holds `log.entries[]` of `{request, response}`)" } else { "" };
        Diagnostic::at(file, text, e.line() as u64, e.column() as u64, format!("not a HAR file: {e}{hint}"))
    })?;
    let lines = entry_lines(text);
    let mut out = Imported { form: "HAR", exchanges: Vec::new(), left_out: Vec::new() };
    for (index, entry) in har.log.entries.into_iter().enumerate() {
        let line = lines.get(index).copied().unwrap_or(1);
        let Entry { request, response } = entry;
        let leave_out = |out: &mut Imported, reason: &str| {
            out.left_out.push(LeftOut { index, reason: format!("{} {} — {reason}", request.method, request.url) });
        };
        let mut notes = Vec::new();
        let body = request.post_data.as_ref().and_then(|p| p.text.as_deref()).and_then(|t| request_json(t, &mut notes));
        let endpoint = super::endpoint_of(&request.url);
        let kind = match kind_of(&request.method, &endpoint, body.as_ref()) {
            Ok(k) => k,
            Err(reason) => {
                leave_out(&mut out, &reason);
                continue;
            }
        };
        let Ok(status) = u16::try_from(response.status).map_err(drop).and_then(|s| if s >= 100 { Ok(s) } else { Err(()) }) else {
            leave_out(&mut out, "no response was recorded (status 0: aborted or blocked)");
            continue;
        };
        let bytes = match (&response.content.text, response.content.encoding.as_deref()) {
            (Some(t), Some("base64")) => match base64::engine::general_purpose::STANDARD.decode(t.trim()) {
                Ok(b) => b,
                Err(e) => {
                    return Err(Diagnostic::at(file, text, line, 1, format!("entry {index}: response.content.text is not valid base64: {e}")));
                }
            },
            (Some(t), _) => t.clone().into_bytes(),
            (None, _) if response.content.size > 0 => {
                leave_out(&mut out, "the exporter did not keep the response body (content.text is absent)");
                continue;
            }
            (None, _) => Vec::new(),
        };
        let mut headers: Vec<(String, String)> = response.headers.into_iter().map(|h| (h.name.to_ascii_lowercase(), h.value)).collect();
        if !headers.iter().any(|(k, _)| k == "content-type")
            && let Some(mime) = response.content.mime_type.filter(|m| !m.is_empty())
        {
            headers.push(("content-type".into(), mime));
        }
        out.exchanges.push(RecordedExchange {
            file: file.to_owned(),
            index,
            line,
            method: request.method.to_ascii_uppercase(),
            url: request.url,
            endpoint,
            kind,
            request_known: body.is_some(),
            request: body,
            response: Observed::from_bytes(status, headers, &bytes),
            items: false,
            nulls_ambiguous: false,
            batch_line: None,
            notes,
        });
    }
    Ok(out)
}

/// The 1-based line on which each item of the first `"entries"` array starts.
fn entry_lines(text: &str) -> Vec<u64> {
    let Some(key) = text.find("\"entries\"") else { return Vec::new() };
    let mut line = 1 + text[..key].matches('\n').count() as u64;
    let mut out = Vec::new();
    let (mut depth, mut in_string, mut escaped, mut started) = (0i32, false, false, false);
    for c in text[key + "\"entries\"".len()..].chars() {
        if c == '\n' {
            line += 1;
        }
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '[' | '{' => {
                if !started {
                    started = c == '[';
                    if !started {
                        return out; // `entries` is not an array: the parse reports it
                    }
                } else if depth == 1 && c == '{' {
                    out.push(line);
                }
                depth += 1;
            }
            ']' | '}' => {
                depth -= 1;
                if started && depth == 0 {
                    return out;
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn entry_lines_follow_the_text() {
        let text = "{\"log\": {\"entries\": [\n  {\"a\": \"[{\"},\n  {\"b\": [1, {\"c\": 2}]}\n]}}";
        assert_eq!(super::entry_lines(text), vec![2, 3]);
    }
}
