//! `index.html`: the compatibility report a person reads — one self-contained file.
//!
//! Rendered from a results document ([`super::json::Results`]) and, with `--baseline`, the
//! [`super::changes::Changes`] since it. The page has, in order: the census (feature areas × implementations,
//! each cell the three tiers, the private `census` module) on the first screen; a header (targets and base
//! URLs, date, spec and harness versions, counts per verdict, fixture provenance); the changes since the
//! baseline; filters; the
//! compatibility matrix (features × cases, one column per target, each cell a verdict by colour **and**
//! symbol, linking to its outcome); then one `<details>` section per outcome, rendered by the private `case` module.
//!
//! Self-contained: CSS and JS are inline (`html/report.css`, `html/report.js`), there is no external request,
//! and a Content-Security-Policy allows only that one script (by hash), so the page works from `file://` and
//! GitHub Pages and — should escaping ever fail — no injected script or handler could run. Everything is
//! readable without JS (the filter form stays hidden then). Every value from a case or a response goes through
//! [`esc`]; links are emitted only for `http(s)` URLs.
//!
//! Deterministic: the only values that differ between two runs of the same fixtures are the run date and
//! measured durations, each inside `<span data-volatile>…</span>` (see [`VOLATILE_OPEN`]).

mod case;
mod census;
mod size;

use std::collections::BTreeMap;
use std::fmt::Write;

use base64::Engine;

use super::changes::Changes;
use super::json::Results;
use crate::outcome::{Outcome, Verdict};

const CSS: &str = include_str!("html/report.css");
const JS: &str = include_str!("html/report.js");

/// Opens every volatile value (run date, durations); it closes with `</span>` and holds no other tag.
pub const VOLATILE_OPEN: &str = "<span data-volatile>";

/// Renders `index.html`.
pub fn render(results: &Results, changes: Option<&Changes>) -> String {
    let mut out = String::with_capacity(64 * 1024 + results.outcomes.len() * 8 * 1024);
    let names: Vec<&str> = results.run.targets.iter().map(|t| t.name.as_str()).collect();
    let hash = base64::engine::general_purpose::STANDARD.encode(ring::digest::digest(&ring::digest::SHA256, JS.as_bytes()));
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{hash}'; base-uri 'none'; form-action 'none'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>compat report — {}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n",
        esc(&names.join(", "))
    );
    let scores = super::interop::scores(results);
    let c = &results.counts;
    let _ = writeln!(
        out,
        "<h1>compat report</h1>\n<p class=\"lead\">{} outcomes, {} failing · {VOLATILE_OPEN}{}</span> · spec {} · \
         <a href=\"#matrix\">matrix</a> · <a href=\"#outcomes\">every case</a></p>",
        c.total(),
        c.failing,
        esc(&results.run.date),
        esc(&results.run.spec_version)
    );
    census::render(&mut out, results, &scores);
    header(&mut out, results);
    if let Some(c) = changes {
        changes_section(&mut out, c);
    }
    filters(&mut out, results);
    matrix(&mut out, results);
    let _ = writeln!(out, "<h2 id=\"outcomes\">Outcomes</h2>");
    // Where each outcome sits in results.json, for the pointers of cut bodies and compact sections.
    let index: std::collections::HashMap<String, usize> = results.outcomes.iter().enumerate().map(|(i, o)| (o.name(), i)).collect();
    for o in ordered(results) {
        let view = size::View::choose(o, index.get(&o.name()).copied().unwrap_or(0), results.outcomes.len(), out.len());
        if view.full { case::render(&mut out, o, &view) } else { size::compact(&mut out, o, &view) }
    }
    let _ = write!(out, "<script>{JS}</script>\n</body>\n</html>\n");
    out
}

/// Outcomes in reading order: by feature, case, then target (the document itself is sorted by target first).
fn ordered(results: &Results) -> Vec<&Outcome> {
    let rank = |t: &str| results.run.targets.iter().position(|x| x.name == t).unwrap_or(usize::MAX);
    let mut v: Vec<&Outcome> = results.outcomes.iter().collect();
    v.sort_by(|a, b| (&a.feature, &a.id, rank(&a.target)).cmp(&(&b.feature, &b.id, rank(&b.target))));
    v
}

fn header(out: &mut String, results: &Results) {
    let run = &results.run;
    let _ = writeln!(out, "<header>\n<h2>Run</h2>");
    let _ = writeln!(out, "<dl class=\"meta\">");
    let _ = writeln!(out, "<dt>targets</dt><dd><ul class=\"plain\">");
    for t in &run.targets {
        let mode = t.mode.as_str();
        let url = if t.base_url.is_empty() { String::new() } else { format!(" <code>{}</code>", esc(&t.base_url)) };
        let _ = writeln!(out, "<li><b>{}</b>{url} <span class=\"title\">({mode})</span></li>", esc(&t.name));
    }
    let _ = writeln!(out, "</ul></dd>");
    let _ = writeln!(out, "<dt>date</dt><dd>{VOLATILE_OPEN}{}</span></dd>", esc(&run.date));
    let _ = writeln!(out, "<dt>spec</dt><dd>{}</dd>", esc(&run.spec_version));
    let _ = writeln!(out, "<dt>harness</dt><dd>compat {}</dd>", esc(&run.harness_version));
    let f = &results.fixtures;
    let _ = writeln!(out, "<dt>fixtures</dt><dd>{} recorded · {} synthesized · {} without fixture</dd>", f.recorded, f.synthesized, f.none);
    let c = &results.counts;
    let _ = writeln!(out, "<dt>outcomes</dt><dd>{} total, {} failing</dd>\n</dl>", c.total(), c.failing);
    let _ = writeln!(out, "<ul class=\"counts\" aria-label=\"counts per verdict\">");
    for v in Verdict::ALL {
        let _ = writeln!(out, "<li class=\"v v-{v}\" title=\"{}\">{} {v} <b>{}</b></li>", v.meaning(), v.symbol(), c.get(v));
    }
    let _ = writeln!(out, "</ul>\n</header>");
}

fn changes_section(out: &mut String, changes: &Changes) {
    let _ = writeln!(out, "<section class=\"changes\" id=\"changes\">");
    let _ = writeln!(out, "<h2>Changed since {}: {}</h2>", esc(&changes.baseline_date), esc(&changes.summary()));
    if changes.is_empty() {
        let _ = writeln!(out, "<p>No verdict changed.</p>");
    }
    for (title, items) in changes.groups() {
        if items.is_empty() {
            continue;
        }
        let _ = writeln!(out, "<h3>{title}</h3>\n<ul>");
        for c in items {
            let after = c.after.or(c.before).unwrap_or(Verdict::Skipped);
            let note = if c.note.is_empty() { String::new() } else { format!(" — {}", esc(&c.note)) };
            let target = if c.after.is_some() { format!("<a href=\"#{}\">{}</a>", anchor(&c.name), esc(&c.name)) } else { esc(&c.name) };
            let _ = writeln!(out, "<li>{target}: <span class=\"v v-{after}\">{}</span>{note}</li>", esc(&c.transition()));
        }
        let _ = writeln!(out, "</ul>");
    }
    let _ = writeln!(out, "</section>");
}

fn filters(out: &mut String, results: &Results) {
    let _ = writeln!(out, "<form id=\"filters\" hidden>");
    let _ = writeln!(out, "<fieldset><legend>verdict</legend>");
    for v in Verdict::ALL {
        let _ = writeln!(out, "<label class=\"v v-{v}\"><input type=\"checkbox\" name=\"verdict\" value=\"{v}\" checked> {} {v}</label>", v.symbol());
    }
    let _ = writeln!(out, "</fieldset>\n<fieldset><legend>severity</legend>");
    for (value, label) in [("breaking", "breaking"), ("typed", "typed"), ("spec", "spec"), ("none", "none")] {
        let _ = writeln!(out, "<label><input type=\"checkbox\" name=\"severity\" value=\"{value}\" checked> {label}</label>");
    }
    let _ = writeln!(out, "</fieldset>\n<label>feature <select name=\"feature\"><option value=\"\">all</option>");
    let features: std::collections::BTreeSet<&str> = results.outcomes.iter().map(|o| o.feature.as_str()).collect();
    for f in features {
        let _ = writeln!(out, "<option value=\"{0}\">{0}</option>", esc(f));
    }
    let _ = writeln!(out, "</select></label>");
    let _ = writeln!(out, "<label>target <select name=\"target\"><option value=\"\">all</option>");
    for t in &results.run.targets {
        let _ = writeln!(out, "<option value=\"{0}\">{0}</option>", esc(&t.name));
    }
    let _ = writeln!(out, "</select></label>");
    let _ = writeln!(out, "<label>search <input type=\"search\" name=\"q\" placeholder=\"case, path, rule, text…\"></label>");
    let _ = writeln!(out, "<span id=\"shown\" class=\"title\"></span>\n</form>");
}

fn matrix(out: &mut String, results: &Results) {
    let targets: Vec<&str> = results.run.targets.iter().map(|t| t.name.as_str()).collect();
    // (feature, id) → (title, target → outcome)
    type Cells<'a> = BTreeMap<&'a str, &'a Outcome>;
    let mut rows: BTreeMap<(&str, &str), (&str, Cells)> = BTreeMap::new();
    for o in &results.outcomes {
        rows.entry((o.feature.as_str(), o.id.as_str())).or_insert_with(|| (o.title.as_str(), BTreeMap::new())).1.insert(o.target.as_str(), o);
    }
    let _ = writeln!(out, "<h2 id=\"matrix\">Compatibility matrix</h2>");
    let mut legend: Vec<String> =
        Verdict::ALL.iter().map(|v| format!("<span class=\"v v-{v}\">{} {v}</span>: {}", v.symbol(), v.meaning())).collect();
    legend.push("<span class=\"v v-ni\">∅ not implemented</span>: no route for the endpoint (404, 405 or 501), whatever the verdict".to_owned());
    let _ = writeln!(out, "<p class=\"legend\">{}</p>", legend.join(" · "));
    let _ = writeln!(out, "<table class=\"matrix\">\n<thead><tr><th>case</th>");
    for t in &targets {
        let _ = writeln!(out, "<th>{}</th>", esc(t));
    }
    let _ = writeln!(out, "</tr></thead>");
    let mut current: Option<&str> = None;
    for ((feature, id), (title, cells)) in &rows {
        if current != Some(feature) {
            if current.is_some() {
                let _ = writeln!(out, "</tbody>");
            }
            current = Some(feature);
            let _ = writeln!(
                out,
                "<tbody data-feature=\"{0}\" id=\"{2}\"><tr><th colspan=\"{1}\">{0}</th></tr>",
                esc(feature),
                targets.len() + 1,
                feature_anchor(feature)
            );
        }
        let _ = writeln!(out, "<tr class=\"case\"><td><b>{}</b> <span class=\"title\">{}</span></td>", esc(id), esc(title));
        for t in &targets {
            match cells.get(t) {
                Some(o) => {
                    let v = o.verdict();
                    let sev = o.severity().map_or("none", |s| s.name());
                    // Not implemented is its own answer: the endpoint, not the status finding behind it.
                    let (class, label) = match o.not_implemented() {
                        Some(endpoint) => ("v-ni".to_owned(), format!("∅ not implemented <small>{}</small>", esc(&endpoint))),
                        None => (format!("v-{v}"), format!("{} {}", v.symbol(), v.with_severity(o.severity()))),
                    };
                    let snap = snapshot_flag(o);
                    let _ = writeln!(
                        out,
                        "<td class=\"cell v {class}\" data-verdict=\"{v}\" data-severity=\"{sev}\" data-feature=\"{}\"><a href=\"#{}\" title=\"{}\">{label}{snap}</a></td>",
                        esc(feature),
                        anchor(&o.name()),
                        esc(&o.name())
                    );
                }
                None => {
                    let _ = writeln!(
                        out,
                        "<td class=\"cell v v-none\" data-verdict=\"none\" data-severity=\"none\" data-feature=\"{}\">– not run</td>",
                        esc(feature)
                    );
                }
            }
        }
        let _ = writeln!(out, "</tr>");
    }
    if current.is_some() {
        let _ = writeln!(out, "</tbody>");
    }
    let _ = writeln!(out, "</table>");
}

/// ` ✗ snapshot changed` (or `missing`) when the snapshot fails an outcome whose verdict does not; ` ≠ snapshot
/// changed` when it changed without failing (a live run's note).
pub(crate) fn snapshot_flag(o: &Outcome) -> String {
    match o.snapshot.as_ref().map(|s| s.status) {
        Some(s) if !o.verdict().fails() && o.fails() => format!(" <span class=\"v v-diverges\">✗ snapshot {s}</span>"),
        Some(_) if o.snapshot_note() => " <span class=\"v v-known\" title=\"a note: live answers vary\">≠ snapshot changed</span>".to_owned(),
        _ => String::new(),
    }
}

/// The fragment id of an outcome's section: `o-` and the name with anything but `[A-Za-z0-9_-]` encoded.
pub fn anchor(name: &str) -> String {
    let mut out = String::from("o-");
    for c in name.chars() {
        match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '_' | '-' => out.push(c),
            ':' => out.push('.'),
            c => {
                let _ = write!(out, "~{:x}", c as u32);
            }
        }
    }
    out
}

/// The fragment id of a feature area's rows in the matrix: `m-` and the name encoded as in [`anchor`].
pub fn feature_anchor(feature: &str) -> String {
    format!("m-{}", &anchor(feature)[2..])
}

/// Escapes text for HTML element content and double- or single-quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    esc_into(&mut out, s);
    out
}

/// [`esc`], appended to `out`: the text between the characters it replaces is copied a run at a time (they
/// are all ASCII, so a byte scan never splits a character). The next of each group of three is found with
/// `memchr3`, a block at a time: a report escapes megabytes of bodies, most of them runs of numbers with
/// nothing to replace (a table lookup a byte was a quarter of `index.html`'s time).
pub fn esc_into(out: &mut String, s: &str) {
    let b = s.as_bytes();
    let markup = |from: usize| memchr::memchr3(b'&', b'<', b'>', &b[from..]).map_or(usize::MAX, |k| from + k);
    let quotes = |from: usize| memchr::memchr3(b'"', b'\'', b'\0', &b[from..]).map_or(usize::MAX, |k| from + k);
    let (mut run, mut next_markup, mut next_quote) = (0, markup(0), quotes(0));
    loop {
        let i = next_markup.min(next_quote);
        if i == usize::MAX {
            break;
        }
        out.push_str(&s[run..i]);
        out.push_str(REPLACEMENTS[usize::from(ESCAPED[usize::from(b[i])]) - 1]);
        run = i + 1;
        if next_markup == i {
            next_markup = markup(run);
        }
        if next_quote == i {
            next_quote = quotes(run);
        }
    }
    out.push_str(&s[run..]);
}

/// What [`esc_into`] replaces, and with what: `ESCAPED[b]` is 0 for a byte kept as is, else 1 + its index in
/// `REPLACEMENTS`.
const REPLACEMENTS: [&str; 6] = ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;", "\u{FFFD}"];
const ESCAPED: [u8; 256] = {
    let mut table = [0; 256];
    let bytes = [b'&', b'<', b'>', b'"', b'\'', b'\0'];
    let mut i = 0;
    while i < bytes.len() {
        table[bytes[i] as usize] = i as u8 + 1;
        i += 1;
    }
    table
};

/// A link when `text` starts with an `http(s)` URL (the URL, then any words after it as plain text); other
/// text is escaped as is. `owner/repo#123` references become GitHub links.
pub fn linkify(text: &str) -> String {
    let (first, rest) = text.split_once(char::is_whitespace).map_or((text, ""), |(a, b)| (a, b));
    let mut out = String::new();
    if first.starts_with("https://") || first.starts_with("http://") {
        let _ = write!(out, "<a href=\"{0}\" rel=\"noreferrer noopener\">{0}</a>", esc(first));
        if !rest.is_empty() {
            out.push(' ');
            out.push_str(&github_refs(rest));
        }
    } else {
        out.push_str(&github_refs(text));
    }
    out
}

/// Escapes `text`, turning `owner/repo#123` into a link to that issue or pull request.
fn github_refs(text: &str) -> String {
    static PATTERN: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    // ASCII classes and boundaries (GitHub names are ASCII): Unicode `\w` and `\b` took 2.5 ms to compile, the
    // largest part of rendering a one-case report.
    let re =
        PATTERN.get_or_init(|| regex::Regex::new(r"(?-u:\b)([A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9_.-]+)#([0-9]+)(?-u:\b)").expect("a valid regex"));
    let mut out = String::new();
    let mut last = 0;
    for m in re.captures_iter(text) {
        let (Some(all), Some(repo), Some(num)) = (m.get(0), m.get(1), m.get(2)) else { continue };
        out.push_str(&esc(&text[last..all.start()]));
        let _ = write!(
            out,
            "<a href=\"https://github.com/{}/issues/{}\" rel=\"noreferrer noopener\">{}</a>",
            esc(repo.as_str()),
            num.as_str(),
            esc(all.as_str())
        );
        last = all.end();
    }
    out.push_str(&esc(&text[last..]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_references_link_and_nothing_else_does() {
        let linked = github_refs("see openai/openai-python#2806, é <b>");
        assert_eq!(
            linked,
            "see <a href=\"https://github.com/openai/openai-python/issues/2806\" rel=\"noreferrer noopener\">openai/openai-python#2806</a>, é &lt;b&gt;"
        );
        assert_eq!(github_refs("gemini-compat.md #22 and a/b#x"), "gemini-compat.md #22 and a/b#x");
        assert_eq!(github_refs("ünï/cödé#1"), "ünï/cödé#1", "GitHub names are ASCII");
    }

    #[test]
    fn escapes_everything_that_could_open_markup() {
        assert_eq!(esc(r#"<script>"x" & 'y'</script>"#), "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;");
        assert_eq!(esc("a\0b"), "a\u{FFFD}b");
        assert_eq!(esc("é<ü>€ 😀&"), "é&lt;ü&gt;€ 😀&amp;", "text around the replaced characters is kept, whatever its width");
        // Against a replacement a character at a time, on every text of up to five characters over `a`, `é`
        // and the six it replaces.
        let alphabet = ['a', 'é', '&', '<', '>', '"', '\'', '\0'];
        let (mut level, mut texts) = (vec![String::new()], Vec::new());
        for _ in 0..5 {
            level = level.iter().flat_map(|t| alphabet.iter().map(move |c| format!("{t}{c}"))).collect();
            texts.extend(level.iter().cloned());
        }
        for t in &texts {
            let slow: String = t
                .chars()
                .map(|c| match c {
                    '&' => "&amp;".to_owned(),
                    '<' => "&lt;".to_owned(),
                    '>' => "&gt;".to_owned(),
                    '"' => "&quot;".to_owned(),
                    '\'' => "&#39;".to_owned(),
                    '\0' => "\u{FFFD}".to_owned(),
                    c => c.to_string(),
                })
                .collect();
            assert_eq!(esc(t), slow, "{t:?}");
        }
    }

    #[test]
    fn links_only_http_urls_and_github_refs() {
        assert_eq!(linkify("javascript:alert(1)"), "javascript:alert(1)");
        assert_eq!(
            linkify("https://x.test/a\"b c<d>"),
            "<a href=\"https://x.test/a&quot;b\" rel=\"noreferrer noopener\">https://x.test/a&quot;b</a> c&lt;d&gt;"
        );
        assert_eq!(
            linkify("gemini-compat.md #9 (openai/openai-python#2806)"),
            "gemini-compat.md #9 (<a href=\"https://github.com/openai/openai-python/issues/2806\" rel=\"noreferrer noopener\">openai/openai-python#2806</a>)"
        );
    }

    #[test]
    fn anchors_are_safe_and_distinct() {
        assert_eq!(anchor("gemini::chat::basic"), "o-gemini..chat..basic");
        assert_ne!(anchor("a b"), anchor("a_b"));
        assert!(anchor("\"><script>").chars().all(|c| c.is_ascii_alphanumeric() || "-_.~".contains(c)));
    }
}
