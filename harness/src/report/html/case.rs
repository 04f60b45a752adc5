//! One outcome's section of `index.html`: a `<details>` (open when the outcome fails or has findings — known
//! divergences are what a reader needs to see) holding where the case
//! is, the error, each finding (path, rule, severity, message, expected vs actual or their diff, why it
//! matters), the known divergences with reason and link, the snapshot and its diff, extensions, timing, and
//! the exchange — the request, then the response as pretty JSON, or for a stream its chunk list and the
//! reassembled message; for a multi-step case, each step with its captures and exchanges. Every value is
//! escaped with [`super::esc`].

use std::fmt::Write;

use serde_json::Value;

use super::size::{View, pre, pre_of};
use super::{VOLATILE_OPEN, anchor, esc, linkify};
use crate::outcome::{Exchange, Finding, ObservedBody, Origin, Outcome, SnapshotStatus, Verdict, past_string};
use crate::report::structured_diff;

/// Appends the section of `o`.
pub(super) fn render(out: &mut String, o: &Outcome, view: &View) {
    let v = o.verdict();
    let sev = o.severity().map_or("none", |s| s.name());
    let _ = writeln!(
        out,
        "<section class=\"outcome v-{v}\" id=\"{}\" data-verdict=\"{v}\" data-severity=\"{sev}\" data-feature=\"{}\" data-target=\"{}\">",
        anchor(&o.name()),
        esc(&o.feature),
        esc(&o.target)
    );
    let badge = format!("{} {}", v.symbol(), v.with_severity(o.severity()));
    let snap = super::snapshot_flag(o);
    let _ = writeln!(
        out,
        "<details{}><summary><span class=\"v v-{v}\">{badge}</span>{snap} <b>{}</b> <span class=\"title\">— {}</span></summary>\n<div class=\"body\">",
        if o.fails() || !o.findings().is_empty() || o.error().is_some() { " open" } else { "" },
        esc(&o.name()),
        esc(&o.title)
    );
    where_line(out, o);
    if let Some(endpoint) = o.not_implemented() {
        let status = o.exchange.as_ref().map_or(String::new(), |x| format!(" (status {})", x.status));
        let _ = writeln!(
            out,
            "<p class=\"v v-ni\">∅ not implemented: this target has no route for <code>{}</code>{status} — it meets no tier.</p>",
            esc(&endpoint)
        );
    }
    if let Some(reason) = &o.skip_reason() {
        let _ = writeln!(out, "<p><b>skipped:</b> {}</p>", esc(reason));
    }
    if let Some(e) = &o.error() {
        let _ = writeln!(out, "<h3>Error ({})</h3>\n<pre>{}</pre>", esc(e.kind.as_str()), esc(&e.message));
        if let Some(diff) = &e.diff {
            let _ = writeln!(out, "<p>recorded request → sent request:</p>");
            diff_block(out, diff);
        }
    }
    findings(out, o);
    known(out, o);
    clients(out, o);
    snapshot(out, o);
    if !o.extensions().is_empty() {
        let items: Vec<String> = o.extensions().iter().map(|e| format!("<code>{}</code>", esc(e))).collect();
        let _ = writeln!(out, "<h3>Extensions</h3>\n<p>fields the spec does not define (not failures): {}</p>", items.join(", "));
    }
    if o.steps.is_empty() {
        if let Some(x) = &o.exchange {
            exchange(out, x, o.fails(), view, "exchange");
        }
    } else {
        steps(out, o, view);
    }
    let _ = writeln!(out, "</div>\n</details>\n</section>");
}

fn where_line(out: &mut String, o: &Outcome) {
    let mut parts = vec![format!("<code>{}:{}</code>", esc(&o.file), o.line)];
    if !o.doc.is_empty() {
        parts.push(format!("doc: {}", linkify(&o.doc)));
    }
    parts.push(o.mode.as_str().to_owned());
    if let Some(f) = &o.fixture {
        let origin = match &f.origin {
            Origin::Synthesized { basis } => format!("synthesized from {}", linkify(basis)),
            Origin::Recorded { date, model, base_url, server } => {
                let by = server.as_deref().map(|s| format!("{} at ", esc(s))).unwrap_or_default();
                format!("recorded {} from {by}{} with {}", esc(date), esc(base_url), esc(model))
            }
        };
        parts.push(format!("fixture <code>{}</code> ({origin})", esc(&f.path)));
    }
    let t = &o.timing;
    let plural = |n: u32, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let mut timing = format!(
        "{VOLATILE_OPEN}{}</span> · {} · {}",
        duration(t.duration_ms),
        plural(t.attempts, "attempt"),
        if t.retries == 1 { "1 retry".to_owned() } else { format!("{} retries", t.retries) }
    );
    if let Some(q) = t.queued_ms {
        // Live: the wall time split into waiting behind the pacer and time on the wire (last request).
        let _ = write!(timing, " (queued behind the pacer {VOLATILE_OPEN}{}</span>", duration(q));
        if let (Some(head), Some(body)) = (t.first_byte_ms, t.body_ms) {
            let _ =
                write!(timing, "; on the wire: first byte {VOLATILE_OPEN}{}</span>, body {VOLATILE_OPEN}{}</span>", duration(head), duration(body));
        }
        timing.push(')');
    }
    if t.flaky {
        timing.push_str(" · <b>flaky</b> (passed only after a retry)");
    }
    if let Some(r) = &o.repeats {
        let _ = write!(timing, " · pass^{}: {} of {} runs passed", r.total, r.passed, r.total);
    }
    parts.push(timing);
    let _ = writeln!(out, "<p class=\"where\">{}</p>", parts.join(" · "));
}

fn duration(ms: f64) -> String {
    if !ms.is_finite() || ms < 0.0 {
        "? ms".into()
    } else if ms >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else {
        format!("{ms:.1} ms")
    }
}

fn findings(out: &mut String, o: &Outcome) {
    if o.findings().is_empty() {
        return;
    }
    let _ = writeln!(out, "<h3>Findings</h3>\n<ol class=\"findings\">");
    for g in super::super::group_findings(o.findings()) {
        finding(out, g.first, o, &g.more_line());
    }
    let _ = writeln!(out, "</ol>");
}

fn finding(out: &mut String, f: &Finding, o: &Outcome, more: &str) {
    let sev = f.severity.name();
    let place = f.location();
    let known = match f.known {
        Some(i) => format!("<span class=\"tag-known\">≈ known #{i}</span>"),
        None => String::new(),
    };
    let _ = writeln!(
        out,
        "<li class=\"finding\" data-severity=\"{sev}\"><div><code class=\"path\">{}</code><span class=\"rule\">{}</span><span class=\"sev sev-{sev}\">{sev}</span>{known}</div>",
        esc(&place),
        esc(&f.rule)
    );
    let _ = writeln!(out, "<p>{}</p>", esc(&f.message));
    if !more.is_empty() {
        let _ = writeln!(out, "<p class=\"detail\">{}</p>", esc(more));
    }
    let line = f.line.unwrap_or(o.line);
    let detail = if f.detail.is_empty() { String::new() } else { format!("{} · ", esc(&f.detail)) };
    let _ = writeln!(out, "<p class=\"detail\">{detail}<code>{}:{line}</code></p>", esc(&o.file));
    if !f.expected.is_empty() || !f.actual.is_empty() {
        match structured_diff(&f.expected, &f.actual) {
            Some(diff) => {
                let _ = writeln!(out, "<p class=\"detail\">expected → actual (-expected +actual):</p>");
                diff_block(out, &diff);
            }
            None => {
                let _ = writeln!(
                    out,
                    "<table class=\"ea\"><tr><th>expected</th><td><code>{}</code></td></tr><tr><th>actual</th><td><code>{}</code></td></tr></table>",
                    esc(&f.expected),
                    esc(&f.actual)
                );
            }
        }
    }
    if let Some(why) = &f.why {
        let _ = writeln!(out, "<p class=\"why\">why it matters: {}</p>", esc(why));
    }
    let _ = writeln!(out, "</li>");
}

/// A unified or line diff, each line classed by its sign.
fn diff_block(out: &mut String, diff: &str) {
    out.push_str("<pre class=\"diff\">");
    for line in diff.lines() {
        let class = if line.starts_with("+++") || line.starts_with("---") || line.starts_with("@@") {
            "hunk"
        } else if line.starts_with('+') {
            "add"
        } else if line.starts_with('-') {
            "del"
        } else {
            ""
        };
        if class.is_empty() {
            let _ = writeln!(out, "{}", esc(line));
        } else {
            let _ = writeln!(out, "<span class=\"{class}\">{}</span>", esc(line));
        }
    }
    out.push_str("</pre>\n");
}

fn known(out: &mut String, o: &Outcome) {
    if o.known().is_empty() {
        return;
    }
    let _ = writeln!(out, "<h3>Known divergences</h3>\n<ul>");
    for k in o.known() {
        let d = &k.divergence;
        let what = d.rule_at_path();
        let mut runs = k.runs_observed.zip(o.repeats.as_ref()).map(|(n, r)| format!(", in {n} of {} runs", r.total)).unwrap_or_default();
        if let Some([seen, nights]) = k.nights_observed {
            let _ = write!(runs, "; observed on {seen} of the last {nights} nights");
        }
        let status = if k.observed == 0 && !k.due {
            format!("<span class=\"v v-skipped\">not observed</span> — not due on this answer (it shows only sometimes){runs}")
        } else if k.observed == 0 {
            format!("<span class=\"v v-fixed\">{} not observed</span> — if the target really changed, remove the entry", Verdict::Fixed.symbol())
        } else {
            format!("<span class=\"v v-known\">{} observed ×{}</span>{runs}", Verdict::Known.symbol(), k.observed)
        };
        let severity = d.severity.map(|s| format!(" ({s})")).unwrap_or_default();
        let _ = writeln!(
            out,
            "<li>#{} <code>{}</code>{severity}: {status}<br>{} — {} <span class=\"title\">(<code>{}:{}</code>)</span></li>",
            k.index,
            esc(&what),
            esc(&d.reason),
            linkify(&d.link),
            esc(k.file.as_deref().unwrap_or(&o.file)),
            k.line
        );
    }
    let _ = writeln!(out, "</ul>");
}

/// What each official SDK did with this fixture (the client drivers' evidence, replay only).
fn clients(out: &mut String, o: &Outcome) {
    if o.clients.is_empty() {
        return;
    }
    let _ = writeln!(out, "<h3>What the official SDKs did</h3>\n<ul class=\"clients\">");
    for c in &o.clients {
        let calls: Vec<String> = c
            .calls
            .iter()
            .map(|k| {
                let detail = if k.detail.is_empty() { String::new() } else { format!(": {}", esc(&k.detail)) };
                format!(
                    "<li><code>{}</code> <span class=\"client-{}\">{}</span>{detail}</li>",
                    esc(&k.call),
                    esc(k.outcome.as_str()),
                    esc(k.outcome.as_str())
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "<li><b>{}</b>: <span class=\"client-{1}\">{1}</span><ul>{2}</ul></li>",
            esc(&c.driver),
            esc(c.outcome.as_str()),
            calls.join("")
        );
    }
    let _ = writeln!(out, "</ul>");
}

fn snapshot(out: &mut String, o: &Outcome) {
    let Some(s) = &o.snapshot else { return };
    match s.status {
        SnapshotStatus::Matched => {
            let _ = writeln!(out, "<p class=\"detail\">snapshot <code>{}</code> matched</p>", esc(&s.file));
        }
        SnapshotStatus::Missing if !s.gating => {
            let _ = writeln!(out, "<p class=\"detail\">no stored snapshot <code>{}</code> (not compared)</p>", esc(&s.file));
        }
        SnapshotStatus::Missing => {
            let _ = writeln!(out, "<h3>Snapshot</h3>\n<p><code>{}</code> is missing (review with <code>cargo insta review</code>)</p>", esc(&s.file));
        }
        SnapshotStatus::Changed if !s.gating => {
            let _ = writeln!(
                out,
                "<h3>Snapshot changed (a note)</h3>\n<p><code>{}</code> (stored → new); live answers vary, so this fails nothing (<code>--snapshots strict</code> would):</p>",
                esc(&s.file)
            );
            diff_block(out, s.diff.as_deref().unwrap_or(""));
        }
        SnapshotStatus::Changed => {
            let _ = writeln!(out, "<h3>Snapshot changed</h3>\n<p><code>{}</code> (stored → new):</p>", esc(&s.file));
            diff_block(out, s.diff.as_deref().unwrap_or(""));
        }
    }
}

/// A multi-step case: each step with its line, what it captured and its exchanges (every attempt of a poll,
/// the last one — the one checked — open when the outcome fails).
fn steps(out: &mut String, o: &Outcome, view: &View) {
    let _ = writeln!(out, "<h3>Steps</h3>");
    for (k, step) in o.steps.iter().enumerate() {
        let _ = writeln!(out, "<h4>step {}</h4>", esc(&step.summary()));
        if !step.captured.is_empty() {
            let items: Vec<String> =
                step.captured.iter().map(|(k, v)| format!("<code>{}</code> = <code>{}</code>", esc(k), esc(&v.to_string()))).collect();
            let _ = writeln!(out, "<p>captured: {}</p>", items.join(", "));
        }
        let n = step.exchanges.len();
        for (i, x) in step.exchanges.iter().enumerate() {
            if n > 1 {
                let _ = writeln!(out, "<p>attempt {} of {n}</p>", i + 1);
            }
            exchange(out, x, o.fails() && i + 1 == n, view, &format!("steps/{k}/exchanges/{i}"));
        }
    }
}

/// `base` is where the exchange sits in the outcome (`exchange`, `steps/0/exchanges/1`), for the pointers of cut
/// bodies.
fn exchange(out: &mut String, x: &Exchange, open: bool, view: &View, base: &str) {
    let r = &x.request;
    let _ = writeln!(out, "<details><summary>Request: {} <code>{}</code></summary>", r.method.as_str(), esc(&r.path));
    if let Some(body) = &r.body {
        pre(out, &pretty(body), view, &format!("{base}/request/body"));
    }
    if let Some(raw) = &r.raw_body {
        pre(out, raw, view, &format!("{base}/request/raw_body"));
    }
    let _ = writeln!(out, "</details>");
    let ct = x.content_type.as_deref().map(|c| format!(" <code>{}</code>", esc(c))).unwrap_or_default();
    let _ = writeln!(out, "<details{}><summary>Response: {}{ct}</summary>", if open { " open" } else { "" }, x.status);
    match &x.body {
        ObservedBody::Empty => {
            let _ = writeln!(out, "<p>(empty body)</p>");
        }
        ObservedBody::Json { value } => {
            // Re-indented only as far as the view shows it (an embeddings answer is hundreds of KB pretty).
            let (text, len) = pretty_compact_capped(value.get(), view.body_limit.saturating_add(1));
            pre_of(out, &text, len, view, &format!("{base}/body/value"));
        }
        ObservedBody::Text { text, .. } => {
            let _ = writeln!(out, "<p>not JSON, shown as text:</p>");
            pre(out, text, view, &format!("{base}/body/text"));
        }
        ObservedBody::Stream { events, truncated } => {
            let cut = if *truncated { " — <b>the body ends inside its last event</b> (no closing blank line)" } else { "" };
            // Items are listed until the view's limit; the rest are counted, with where they are.
            let (items, what): (Vec<String>, &str) = if x.chunks.is_empty() {
                let _ = writeln!(out, "<p>{} events{cut}:</p>\n<ol class=\"chunks\" start=\"0\">", events.len());
                let items =
                    events.iter().map(|e| e.event.as_deref().map(|n| format!("event: {}\n", esc(n))).unwrap_or_default() + &esc(&e.data)).collect();
                (items, "body/events")
            } else {
                let _ = writeln!(out, "<p>{} chunks ({} events){cut}:</p>\n<ol class=\"chunks\" start=\"0\">", x.chunks.len(), events.len());
                (x.chunks.iter().map(|c| esc(c.get())).collect(), "chunks")
            };
            let (mut bytes, mut listed) = (0, 0);
            for item in &items {
                if listed > 0 && bytes + item.len() > view.body_limit {
                    break;
                }
                bytes += item.len();
                listed += 1;
                let _ = writeln!(out, "<li>{item}</li>");
            }
            let _ = writeln!(out, "</ol>");
            if listed < items.len() {
                let _ = writeln!(
                    out,
                    "<p class=\"cut\">{} more; all of them are in <code>results.json</code> at <code>{}</code></p>",
                    items.len() - listed,
                    esc(&view.pointer(&format!("{base}/{what}")))
                );
            }
            if let Some(m) = &x.reassembled {
                let _ = writeln!(out, "<p>reassembled message:</p>");
                pre(out, &pretty(m), view, &format!("{base}/reassembled"));
            }
        }
    }
    let _ = writeln!(out, "</details>");
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

/// [`pretty`] of the document whose compact text (as serde_json writes it: no whitespace outside strings) is
/// `compact`, re-indented without parsing it: an answer's numbers are not read and written again (at
/// thousands of embedding floats, that was most of the report's time). Text that is not such JSON is
/// parsed and printed the long way. It is written only while shorter than `cap` bytes (a report cuts a body
/// there) and counted all the way: the start of the text (all of it, or at least `cap` bytes) and the whole
/// one's length.
fn pretty_compact_capped(compact: &str, cap: usize) -> (String, usize) {
    let b = compact.as_bytes();
    let mut out = Capped { text: String::with_capacity((b.len() + b.len() / 2).min(cap.saturating_add(64))), cap, len: 0 };
    let (mut depth, mut i, mut run) = (0usize, 0, 0);
    let long_way = || {
        let text = pretty(&serde_json::from_str(compact).unwrap_or(Value::Null));
        let len = text.len();
        (text, len)
    };
    while i < b.len() {
        // A run of scalars and commas (an embedding's numbers) is taken in one go, its commas found with memchr
        // rather than stepping through every digit: written a line per comma while under the cap, and past it
        // only counted — its bytes, and a line break and indentation per comma (most of a large answer lies
        // past the cap).
        if run == i {
            let rest = &b[i..];
            let end =
                [memchr::memchr3(b'"', b'{', b'[', rest), memchr::memchr3(b'}', b']', b':', rest)].into_iter().flatten().min().unwrap_or(rest.len());
            let scalars = &rest[..end];
            if end > 0 && memchr::memchr3(b' ', b'\n', b'\r', scalars).is_none() && memchr::memchr(b'\t', scalars).is_none() {
                if out.text.len() >= out.cap {
                    out.len += end + memchr::memchr_iter(b',', scalars).count() * (1 + 2 * depth);
                    run = i + end;
                } else {
                    for comma in memchr::memchr_iter(b',', scalars).map(|k| i + k) {
                        out.push(&compact[run..=comma]);
                        out.newline(depth);
                        run = comma + 1;
                    }
                }
                i += end;
                continue;
            }
        }
        match b[i] {
            b'"' => i = past_string(b, i),
            open @ (b'{' | b'[') => {
                let empty = if open == b'{' { b'}' } else { b']' };
                if b.get(i + 1) == Some(&empty) {
                    i += 2; // `{}` and `[]` stay on their line
                    continue;
                }
                out.push(&compact[run..=i]);
                depth += 1;
                out.newline(depth);
                i += 1;
                run = i;
            }
            b'}' | b']' => {
                out.push(&compact[run..i]);
                let Some(d) = depth.checked_sub(1) else { return long_way() };
                depth = d;
                out.newline(depth);
                run = i;
                i += 1;
            }
            b',' | b':' => {
                out.push(&compact[run..=i]);
                if b[i] == b',' {
                    out.newline(depth)
                } else {
                    out.push(" ")
                }
                i += 1;
                run = i;
            }
            b' ' | b'\n' | b'\r' | b'\t' => return long_way(),
            _ => i += 1,
        }
    }
    out.push(compact.get(run..).unwrap_or_default());
    (out.text, out.len)
}

/// A text written until it reaches its cap, and counted all the way.
struct Capped {
    text: String,
    cap: usize,
    len: usize,
}

impl Capped {
    fn push(&mut self, piece: &str) {
        self.len += piece.len();
        if self.text.len() < self.cap {
            self.text.push_str(piece);
        }
    }

    fn newline(&mut self, depth: usize) {
        if self.text.len() >= self.cap {
            self.len += 1 + 2 * depth; // past the cap only counted (an embedding has a line per number)
            return;
        }
        // A line break and its indentation in one piece (an embedding has a line per number).
        const INDENT: &str = concat!("\n", "                                                                ");
        match INDENT.get(..1 + 2 * depth) {
            Some(piece) => self.push(piece),
            None => {
                self.push("\n");
                (0..depth).for_each(|_| self.push("  "));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{pretty, pretty_compact_capped};
    use serde_json::{Value, json};

    fn pretty_compact(compact: &str) -> String {
        pretty_compact_capped(compact, usize::MAX).0
    }

    fn agrees(v: &Value) {
        assert_eq!(pretty_compact(&serde_json::to_string(v).unwrap()), pretty(v), "{v}");
    }

    /// Re-indenting the compact text gives serde_json's own pretty text, byte for byte.
    #[test]
    fn pretty_compact_is_serde_jsons_pretty() {
        for v in [
            json!(null),
            json!(1.5e-7),
            json!("a \"quoted\" {brace}, [bracket]: colon \\ back\u{1}slash"),
            json!([]),
            json!({}),
            json!({"a": [], "b": {}, "c": [[], {}], "d": [1, -2.25, 3e300], "e": {"f": {"g": [true, false, null]}}}),
            json!([{"x": "y:z,w"}, [1, [2, [3]]], "é😀"]),
        ] {
            agrees(&v);
        }
        // Every JSON document the fixtures hold: real and synthesized answers of every target.
        fixture_documents().iter().for_each(agrees);
    }

    /// Every fixture file of every target, parsed.
    fn fixture_documents() -> Vec<Value> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
        let (mut docs, mut dirs) = (Vec::new(), vec![root]);
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "json") {
                    docs.push(serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap());
                }
            }
        }
        assert!(docs.len() > 100, "{} fixture files", docs.len());
        docs
    }

    /// Capped, the text is the same as far as it goes (at least the cap), and its length is the whole one's.
    #[test]
    fn a_capped_text_starts_as_the_whole_one_and_counts_it_all() {
        let v = json!({"data": [{"embedding": (0..500).map(|i| f64::from(i) / 7.0).collect::<Vec<_>>(), "index": 0}], "s": "x".repeat(300)});
        let compact = serde_json::to_string(&v).unwrap();
        let whole = pretty(&v);
        for cap in [0, 1, 10, 100, 4096, whole.len() - 1, whole.len(), whole.len() + 1, usize::MAX] {
            let (text, len) = pretty_compact_capped(&compact, cap);
            assert_eq!(len, whole.len(), "cap {cap}");
            assert!(whole.starts_with(&text) && text.len() >= cap.min(whole.len()), "cap {cap}: {} bytes", text.len());
        }
        // Text that is not compact JSON: whole, the long way.
        assert_eq!(pretty_compact_capped("{ \"a\": 1 }", 3), (pretty(&json!({"a": 1})), pretty(&json!({"a": 1})).len()));
        // Every fixture's JSON, cut anywhere: past the cap runs of scalars are counted in one go, exactly.
        for v in fixture_documents() {
            let (compact, whole) = (serde_json::to_string(&v).unwrap(), pretty(&v));
            for cap in [0, 7, 100, 1000, whole.len() / 2, whole.len() - 1] {
                let (text, len) = pretty_compact_capped(&compact, cap);
                assert_eq!(len, whole.len(), "cap {cap}: {compact:.200}");
                assert!(whole.starts_with(&text), "cap {cap}");
            }
        }
    }

    #[test]
    fn text_that_is_not_compact_json_is_printed_the_long_way() {
        assert_eq!(pretty_compact("{ \"a\": 1 }"), pretty(&json!({"a": 1})));
        assert_eq!(pretty_compact("]"), "null");
    }
}
