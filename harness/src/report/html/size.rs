//! How much of each outcome `index.html` shows, so that a report of thousands of outcomes stays a page a
//! browser opens at once (the bar: 5,000 outcomes in at most 8 MB).
//!
//! - Every body (request, response, a stream's chunk list, the reassembled message) longer than
//!   [`View::body_limit`] is cut there, with its full size and the JSON pointer of the whole value in
//!   `results.json` (which always keeps the full exchange).
//! - Up to [`FULL_UP_TO`] outcomes, every section is complete, bodies cut at [`BODY_LIMIT`].
//! - Beyond that, a section is complete (bodies cut at [`LARGE_BODY_LIMIT`]) while it fails — what a reader
//!   must act on — and the page so far is under [`FULL_BUDGET`]; any other section is [`compact`]: its
//!   summary, where the case and fixture are, the error's first line, one line per finding (at most
//!   [`COMPACT_FINDINGS`]) and the pointer to the outcome in `results.json`.
//!
//! Sections also carry `content-visibility: auto` (in `report.css`): the browser lays out only those on
//! screen, and a closed `<details>` renders its body only once opened.

use std::fmt::Write;

use super::{VOLATILE_OPEN, anchor, esc, esc_into};
use crate::outcome::Outcome;

/// Outcomes up to which every section is complete.
pub const FULL_UP_TO: usize = 1000;
/// A body is shown whole up to this many bytes (of its pretty text), in a report of up to [`FULL_UP_TO`].
pub const BODY_LIMIT: usize = 64 * 1024;
/// The same, in a larger report.
pub const LARGE_BODY_LIMIT: usize = 2 * 1024;
/// In a larger report, failing sections are complete while the page is under this many bytes.
pub const FULL_BUDGET: usize = 5 * 1024 * 1024;
/// Findings listed in a compact section.
pub const COMPACT_FINDINGS: usize = 4;

/// How one section is rendered.
#[derive(Debug, Clone, Copy)]
pub struct View {
    /// The outcome's index in `results.json`'s `outcomes`, for pointers into it.
    pub index: usize,
    /// Complete, or compact.
    pub full: bool,
    /// Bodies longer than this are cut.
    pub body_limit: usize,
}

impl View {
    /// The view of an outcome at `index`, given the run's size and the page's length so far.
    pub fn choose(o: &Outcome, index: usize, outcomes: usize, page_len: usize) -> View {
        if outcomes <= FULL_UP_TO {
            return View { index, full: true, body_limit: BODY_LIMIT };
        }
        View { index, full: o.fails() && page_len < FULL_BUDGET, body_limit: LARGE_BODY_LIMIT }
    }

    /// The JSON pointer of `rest` (`exchange/body/value`, …) in this outcome.
    pub fn pointer(&self, rest: &str) -> String {
        format!("/outcomes/{}/{rest}", self.index)
    }
}

/// Appends `text` in a `<pre>`, cut at the view's limit (on a character boundary) with its size and where
/// the whole of it is.
pub fn pre(out: &mut String, text: &str, view: &View, rest: &str) {
    pre_of(out, text, text.len(), view, rest);
}

/// [`pre`] of a text of `len` bytes of which `text` is the start: all of it, or at least the view's limit.
pub fn pre_of(out: &mut String, text: &str, len: usize, view: &View, rest: &str) {
    if len <= view.body_limit {
        out.push_str("<pre>");
        esc_into(out, text);
        out.push_str("</pre>\n");
        return;
    }
    let mut cut = view.body_limit.min(text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    out.push_str("<pre>");
    esc_into(out, &text[..cut]);
    let _ = writeln!(
        out,
        "\n…</pre>\n<p class=\"cut\">cut at {} of {} bytes; the whole value is in <code>results.json</code> at <code>{}</code></p>",
        cut,
        len,
        esc(&view.pointer(rest))
    );
}

/// A compact section: the same element, id and `data-*` attributes as a complete one (the matrix links and
/// the filters work alike), with one line per finding and a pointer to the full outcome.
pub fn compact(out: &mut String, o: &Outcome, view: &View) {
    let v = o.verdict();
    let sev = o.severity().map_or("none", |s| s.name());
    let badge = format!("{} {}", v.symbol(), v.with_severity(o.severity()));
    let _ = writeln!(
        out,
        "<section class=\"outcome v-{v}\" id=\"{}\" data-verdict=\"{v}\" data-severity=\"{sev}\" data-feature=\"{}\" data-target=\"{}\">\n\
         <details><summary><span class=\"v v-{v}\">{badge}</span>{} <b>{}</b> <span class=\"title\">— {}</span></summary>\n<div class=\"body\">",
        anchor(&o.name()),
        esc(&o.feature),
        esc(&o.target),
        super::snapshot_flag(o),
        esc(&o.name()),
        esc(&o.title)
    );
    let fixture = o.fixture.as_ref().map(|f| format!(" · fixture <code>{}</code> ({})", esc(&f.path), f.origin.kind())).unwrap_or_default();
    let _ = writeln!(
        out,
        "<p class=\"where\"><code>{}:{}</code>{fixture} · {VOLATILE_OPEN}{:.1} ms</span> · in full: <code>results.json</code> at <code>{}</code></p>",
        esc(&o.file),
        o.line,
        o.timing.duration_ms,
        view.pointer("")
    );
    if let Some(reason) = &o.skip_reason() {
        let _ = writeln!(out, "<p><b>skipped:</b> {}</p>", esc(reason));
    }
    if let Some(e) = &o.error() {
        let _ = writeln!(out, "<p><b>error:</b> {}</p>", esc(e.message.lines().next().unwrap_or("")));
    }
    if !o.findings().is_empty() {
        out.push_str("<ul class=\"findings\">\n");
        for f in o.findings().iter().take(COMPACT_FINDINGS) {
            let known = f.known.map(|i| format!(" <span class=\"tag-known\">≈ known #{i}</span>")).unwrap_or_default();
            let _ = writeln!(
                out,
                "<li><code class=\"path\">{}</code> <span class=\"rule\">{}</span> <span class=\"sev sev-{2}\">{2}</span>{known} {3}</li>",
                esc(&f.path),
                esc(&f.rule),
                f.severity.name(),
                esc(&f.message)
            );
        }
        if o.findings().len() > COMPACT_FINDINGS {
            let _ = writeln!(out, "<li>… and {} more</li>", o.findings().len() - COMPACT_FINDINGS);
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</div>\n</details>\n</section>\n");
}
