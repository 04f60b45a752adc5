//! `history.html`: the timeline of recorded nights — one self-contained page, inline SVG, no script at all.
//!
//! Rendered from [`super::history::rescore`] (every night scored against today's case list): overall, one
//! chart per tier (SDK-safe, typed, exact) with each implementation's share and the interop share night by
//! night; one SDK-safe chart per feature area; one
//! chart per target stacking its verdicts night by night (pass, known, diverges, fixed, error, skipped,
//! missing); and a table of every night with its three tiers. A night recorded before tiers has verdicts only:
//! it is absent from the tier charts and its row says "no tiers". A night whose case list differs from today's is
//! drawn hollow and its row says how many cases were added or dropped since. The page's
//! Content-Security-Policy allows no script and no request; every text goes through [`esc`].

use std::fmt::Write;

use super::history::Rescored;
use super::html::esc;
use super::interop::{AreaScore, Scores, TierCounts};
use crate::outcome::{Tier, Verdict};

/// Line colours for implementations, in order (the interop line is black and dashed).
const PALETTE: [&str; 10] = ["#0969da", "#cf222e", "#1a7f37", "#8250df", "#bc4c00", "#0598bc", "#bf3989", "#6e7781", "#9a6700", "#116329"];

/// Chart geometry: width, height, left and bottom margins.
const W: f64 = 640.0;
const H: f64 = 180.0;
const LEFT: f64 = 40.0;
const BOTTOM: f64 = 22.0;

/// Renders the page for `nights` (oldest first, as [`super::history::rescore`] returns them).
pub fn render(nights: &[Rescored]) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; form-action 'none'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>compat history</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>compat history</h1>\n<p><a href=\"index.html\">latest report</a></p>\n"
    );
    let Some(today) = nights.last() else {
        out.push_str("<p>No night recorded yet (<code>compat history add results.json</code>).</p>\n</body>\n</html>\n");
        return out;
    };
    let s = &today.scores;
    let _ = writeln!(
        out,
        "<p>{} nights, {} to {}. Every night is scored against today's {} cases (suite <code>{}</code>); a night whose case list \
         differed is drawn hollow: today's cases it did not have count as missing. Each tier's share is over the cases run \
         (skipped left out): SDK-safe, no breaking finding; typed, no breaking or typed finding; exact, no finding. Interop: \
         cases meeting the tier on every implementation but the control.</p>",
        nights.len(),
        esc(&nights[0].date),
        esc(&today.date),
        s.overall.cases,
        esc(&s.suite_id)
    );
    legend(&mut out, s);
    let _ = writeln!(out, "<h2>Overall</h2>\n<div class=\"grid\">");
    for tier in Tier::ALL {
        let _ = writeln!(out, "<div><h3>{} <span class=\"muted\">({})</span></h3>", tier.name(), esc(tier.meaning()));
        chart(&mut out, nights, tier, |n| &n.scores.overall);
        out.push_str("</div>\n");
    }
    let _ = writeln!(out, "</div>\n<h2>Per feature area: SDK-safe</h2>\n<div class=\"grid\">");
    for (i, area) in s.areas.iter().enumerate() {
        let plural = if area.cases == 1 { "" } else { "s" };
        let _ = writeln!(out, "<div><h3>{} <span class=\"muted\">({} case{plural})</span></h3>", esc(&area.feature), area.cases);
        chart(&mut out, nights, Tier::SdkSafe, |n| &n.scores.areas[i]);
        out.push_str("</div>\n");
    }
    let _ = writeln!(out, "</div>\n<h2>Per target: verdicts night by night</h2>\n<div class=\"grid\">");
    for (t, imp) in s.implementations.iter().enumerate() {
        let control = if imp.control { " <span class=\"muted\">(control)</span>" } else { "" };
        let _ = writeln!(out, "<div><h3>{}{control}</h3>", esc(&imp.name));
        stacked(&mut out, nights, t);
        out.push_str("</div>\n");
    }
    out.push_str("</div>\n");
    table(&mut out, nights);
    out.push_str("</body>\n</html>\n");
    out
}

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;color:#1b1f24;margin:0 auto;max-width:1400px;padding:1rem 1.5rem 3rem}\
h2{font-size:1.2rem;border-bottom:1px solid #d0d7de}h3{font-size:1rem;margin:.6rem 0 .2rem}.muted{color:#57606a;font-weight:normal}\
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:.5rem 1.5rem}svg{max-width:100%;height:auto}\
table{border-collapse:collapse}th,td{border:1px solid #d0d7de;padding:.2rem .45rem;text-align:right}th:first-child,td:first-child{text-align:left}\
.key{display:inline-block;width:1.4em;height:.25em;vertical-align:middle;margin-right:.3em}ul.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.3rem 1.2rem}";

fn legend(out: &mut String, s: &Scores) {
    out.push_str("<ul class=\"legend\">\n<li><span class=\"key\" style=\"background:#000\"></span>interop (dashed)</li>\n");
    for (i, imp) in s.implementations.iter().enumerate() {
        let control = if imp.control { " (control)" } else { "" };
        let _ = writeln!(out, "<li><span class=\"key\" style=\"background:{}\"></span>{}{control}</li>", PALETTE[i % PALETTE.len()], esc(&imp.name));
    }
    out.push_str("</ul>\n");
}

fn x_of(i: usize, n: usize) -> f64 {
    let span = W - LEFT - 10.0;
    if n <= 1 { LEFT + span / 2.0 } else { LEFT + span * i as f64 / (n - 1) as f64 }
}

fn y_of(fraction: f64) -> f64 {
    10.0 + (H - BOTTOM - 10.0) * (1.0 - fraction)
}

fn axes(out: &mut String, nights: &[Rescored]) {
    for pct in [0.0, 0.5, 1.0] {
        let y = y_of(pct);
        let _ = writeln!(
            out,
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#d0d7de\"/><text x=\"{}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"end\">{}%</text>",
            W - 10.0,
            LEFT - 4.0,
            y + 3.0,
            pct * 100.0
        );
    }
    let n = nights.len();
    let step = n.div_ceil(6).max(1);
    for (i, night) in nights.iter().enumerate().filter(|(i, _)| i % step == 0 || *i == n - 1) {
        let day = night.date.get(..10).unwrap_or(&night.date);
        // The first and last labels align inward so that neither is cut at the chart's edge.
        let anchor = if n > 1 && i == 0 {
            "start"
        } else if n > 1 && i == n - 1 {
            "end"
        } else {
            "middle"
        };
        let _ = writeln!(out, "<text x=\"{:.1}\" y=\"{}\" font-size=\"10\" text-anchor=\"{anchor}\">{}</text>", x_of(i, n), H - 6.0, esc(day));
    }
}

/// A line chart of one tier in one area over the nights: one line per implementation, interop dashed.
fn chart(out: &mut String, nights: &[Rescored], tier: Tier, area: impl Fn(&Rescored) -> &AreaScore) {
    let n = nights.len();
    let _ = writeln!(out, "<svg viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\">");
    axes(out, nights);
    let Some(last) = nights.last() else { return };
    let series = last.scores.implementations.len();
    for t in 0..=series {
        // t == series: the interop line.
        let counts = |r: &Rescored| -> Option<TierCounts> {
            let a = area(r);
            if t == series { a.interop_tiers } else { a.targets.get(t).and_then(|x| x.tiers) }
        };
        let fraction = |r: &Rescored| counts(r).filter(|c| c.ran > 0).map(|c| c.met(tier) as f64 / c.ran as f64);
        let (colour, dash) = if t == series { ("#000", " stroke-dasharray=\"5 3\"") } else { (PALETTE[t % PALETTE.len()], "") };
        let points: Vec<String> =
            nights.iter().enumerate().filter_map(|(i, r)| fraction(r).map(|f| format!("{:.1},{:.1}", x_of(i, n), y_of(f)))).collect();
        if points.len() > 1 {
            let _ = writeln!(out, "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.6\"{dash} points=\"{}\"/>", points.join(" "));
        }
        for (i, r) in nights.iter().enumerate() {
            let (Some(f), Some(c)) = (fraction(r), counts(r)) else { continue };
            let name = if t == series { "interop".to_owned() } else { last.scores.implementations[t].name.clone() };
            let fill = if r.differs() { "#fff" } else { colour };
            let _ = writeln!(
                out,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.6\" fill=\"{fill}\" stroke=\"{colour}\"><title>{} · {} {}: {} ({}/{}){}</title></circle>",
                x_of(i, n),
                y_of(f),
                esc(&r.date),
                esc(&name),
                tier.name(),
                super::interop::percent(c.met(tier), c.ran),
                c.met(tier),
                c.ran,
                if r.differs() { " — case list differed that night" } else { "" }
            );
        }
    }
    out.push_str("</svg>\n");
}

/// Verdict colours, as in the report.
fn colour(v: Option<Verdict>) -> &'static str {
    match v {
        Some(Verdict::Pass) => "#1a7f37",
        Some(Verdict::Known) => "#0969da",
        Some(Verdict::Diverges) => "#cf222e",
        Some(Verdict::Fixed) => "#8250df",
        Some(Verdict::Error) => "#bc4c00",
        Some(Verdict::Skipped) => "#8c959f",
        None => "#eaeef2",
    }
}

/// One target's verdicts night by night, as 100% stacked bars.
fn stacked(out: &mut String, nights: &[Rescored], t: usize) {
    let n = nights.len();
    let _ = writeln!(out, "<svg viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\">");
    axes(out, nights);
    let width = ((W - LEFT - 10.0) / n.max(1) as f64 * 0.7).clamp(2.0, 40.0);
    for (i, r) in nights.iter().enumerate() {
        let Some(tally) = r.scores.overall.targets.get(t) else { continue };
        let total = tally.total().max(1) as f64;
        let parts = [
            (Some(Verdict::Pass), tally.pass),
            (Some(Verdict::Known), tally.known),
            (Some(Verdict::Diverges), tally.diverges),
            (Some(Verdict::Fixed), tally.fixed),
            (Some(Verdict::Error), tally.error),
            (Some(Verdict::Skipped), tally.skipped),
            (None, tally.missing),
        ];
        let mut below = 0.0;
        for (v, count) in parts.into_iter().filter(|p| p.1 > 0) {
            let (bottom, top) = (below, below + count as f64 / total);
            let name = v.map_or("missing", Verdict::name);
            let _ = writeln!(
                out,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{width:.1}\" height=\"{:.1}\" fill=\"{}\"{}><title>{} · {name}: {count}</title></rect>",
                x_of(i, n) - width / 2.0,
                y_of(top),
                y_of(bottom) - y_of(top),
                colour(v),
                if r.differs() { " fill-opacity=\"0.5\"" } else { "" },
                esc(&r.date)
            );
            below = top;
        }
    }
    out.push_str("</svg>\n");
}

fn table(out: &mut String, nights: &[Rescored]) {
    let Some(last) = nights.last() else { return };
    let _ = writeln!(
        out,
        "<h2>Nights <span class=\"muted\">(SDK-safe · typed · exact)</span></h2>\n<table>\n<thead><tr><th>date</th><th>harness</th><th>case list</th><th>interop</th>"
    );
    for imp in &last.scores.implementations {
        let _ = writeln!(out, "<th>{}</th>", esc(&imp.name));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    let cell = |t: Option<&TierCounts>| t.map_or("no tiers".to_owned(), |t| format!("{} <span class=\"muted\">of {}</span>", t.percents(), t.ran));
    for r in nights.iter().rev() {
        let o = &r.scores.overall;
        let list = if r.differs() { format!("differed: {} added since, {} dropped", r.added, r.dropped) } else { "today's".to_owned() };
        let interop = if o.interop.is_some() { cell(o.interop_tiers.as_ref()) } else { "–".to_owned() };
        let _ = write!(out, "<tr><td>{}</td><td>{}</td><td>{list}</td><td>{interop}</td>", esc(&r.date), esc(&r.harness_version));
        for t in &o.targets {
            let _ = write!(out, "<td>{}</td>", cell(t.tiers.as_ref()));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}
