//! The census: what `index.html` opens with. Feature areas (rows) × implementations (columns), each cell the
//! share of the cases run meeting each tier — SDK-safe, typed, exact — as three small bars, the endpoints the
//! implementation does not serve in that area, and a link to its cases in the matrix. The first column is
//! interop (every non-control implementation); the control comes last, apart. A column head says what the
//! implementation is (the server and version its fixtures were recorded from, else its base URL's host) and
//! how its fixtures were obtained (recorded / synthesized, from the fixtures' `origin`).
//!
//! Static and small: one table, no script; about 300 bytes a cell, so 10 implementations × 20 areas is some
//! 60 KB. On a phone the table scrolls sideways under a sticky first column. Every figure is also in `data-*`
//! attributes (`data-ran`, `data-sdk-safe`, `data-typed`, `data-exact`, `data-not-implemented`), for tests and
//! readers' scripts.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use super::{esc, feature_anchor};
use crate::outcome::{Origin, Tier};
use crate::report::interop::{AreaScore, Implementation, Scores, TierCounts, percent};
use crate::report::json::Results;

/// How an implementation's fixtures were obtained, and from which server.
#[derive(Default)]
struct Provenance {
    recorded: usize,
    synthesized: usize,
    none: usize,
    servers: BTreeSet<String>,
}

fn provenance(results: &Results) -> BTreeMap<&str, Provenance> {
    let mut out: BTreeMap<&str, Provenance> = BTreeMap::new();
    for o in &results.outcomes {
        let p = out.entry(o.target.as_str()).or_default();
        match o.fixture.as_ref().map(|f| &f.origin) {
            Some(Origin::Recorded { server, .. }) => {
                p.recorded += 1;
                if let Some(s) = server {
                    p.servers.insert(s.clone());
                }
            }
            Some(Origin::Synthesized { .. }) => p.synthesized += 1,
            None => p.none += 1,
        }
    }
    out
}

/// The host of a base URL (`generativelanguage.googleapis.com`).
fn host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split(['/', '?']).next().unwrap_or(rest)
}

/// Appends the census section.
pub(super) fn render(out: &mut String, results: &Results, s: &Scores) {
    let prov = provenance(results);
    let order: Vec<usize> = (0..s.implementations.len())
        .filter(|i| !s.implementations[*i].control)
        .chain((0..s.implementations.len()).filter(|i| s.implementations[*i].control))
        .collect();
    let judged = s.implementations.iter().filter(|i| !i.control).count();
    let _ = writeln!(out, "<section id=\"census\">\n<h2>Census: {judged} implementations × {} feature areas</h2>", s.areas.len());
    let _ = writeln!(
        out,
        "<p class=\"legend\">Share of the cases run meeting <span class=\"tk tk-s\">S</span> SDK-safe · \
         <span class=\"tk tk-t\">T</span> typed · <span class=\"tk tk-e\">E</span> exact; ∅ not implemented. \
         <a href=\"#census-how\">How to read it</a>.</p>"
    );
    let _ = writeln!(out, "<div class=\"scroll\"><table class=\"census\">\n<thead><tr><th>feature area</th>");
    if judged > 0 {
        let _ = writeln!(out, "<th class=\"interop\">interop<br><small>{judged} implementations</small></th>");
    }
    for &i in &order {
        head(out, &s.implementations[i], prov.get(s.implementations[i].name.as_str()), results);
    }
    let _ = writeln!(out, "</tr></thead>\n<tbody>");
    for a in std::iter::once(&s.overall).chain(&s.areas) {
        row(out, s, a, &order, judged > 0);
    }
    let _ = writeln!(out, "</tbody>\n</table></div>");
    let _ = writeln!(
        out,
        "<p class=\"legend\" id=\"census-how\">Each cell: the share of the cases run (skipped left out) that meet \
         <span class=\"tk tk-s\">S</span> <b>SDK-safe</b> — {}; <span class=\"tk tk-t\">T</span> <b>typed</b> — {}; \
         <span class=\"tk tk-e\">E</span> <b>exact</b> — {}. Declared (known) findings count: this is what a client sees. \
         Error and <b>∅ not implemented</b> (no route for the endpoint) meet no tier. <b>Interop</b>: cases meeting the tier on \
         every implementation but the control, over the cases none of them skipped. Suite <code>{}</code>, {} cases.</p>",
        esc(Tier::SdkSafe.meaning()),
        esc(Tier::Typed.meaning()),
        esc(Tier::Exact.meaning()),
        esc(&s.suite_id),
        s.overall.cases
    );
    let _ = writeln!(out, "</section>");
}

fn head(out: &mut String, imp: &Implementation, p: Option<&Provenance>, results: &Results) {
    let info = results.run.targets.iter().find(|t| t.name == imp.name);
    let what = match p.filter(|p| !p.servers.is_empty()) {
        Some(p) => p.servers.iter().map(|s| esc(s)).collect::<Vec<_>>().join(", "),
        None => info.map_or(String::new(), |t| esc(host(&t.base_url))),
    };
    let mut how: Vec<String> = Vec::new();
    if let Some(p) = p {
        for (n, word) in [(p.recorded, "recorded"), (p.synthesized, "synthesized"), (p.none, "no fixture")] {
            if n > 0 {
                how.push(format!("{n} {word}"));
            }
        }
    }
    let mode = info.map_or("", |t| t.mode.as_str());
    let class = if imp.control { " class=\"control\"" } else { "" };
    let control = if imp.control { "<br><small><b>control</b>: not in interop</small>" } else { "" };
    let _ = writeln!(
        out,
        "<th{class} data-target=\"{}\">{}{control}<br><small class=\"server\">{what}</small><br><small>{mode}: {}</small></th>",
        esc(&imp.name),
        esc(&imp.name),
        how.join(" · ")
    );
}

fn row(out: &mut String, s: &Scores, a: &AreaScore, order: &[usize], interop: bool) {
    let all = a.feature == "all";
    let label = if all {
        "<b>all</b>".to_owned()
    } else {
        format!("<a href=\"#{}\">{}</a>", feature_anchor(&a.feature), esc(&a.feature).replace('-', "-<wbr>"))
    };
    let _ = writeln!(out, "<tr data-area=\"{}\"><th>{label}<br><small>{} cases</small></th>", esc(&a.feature), a.cases);
    if interop {
        cell(out, "interop", a.interop_tiers.as_ref(), &[], "interop", None);
    }
    for &i in order {
        let imp = &s.implementations[i];
        let unserved = a.not_implemented.get(i).map_or(&[][..], Vec::as_slice);
        let href = if all {
            format!("?target={}#matrix", esc(&imp.name))
        } else {
            format!("?feature={}&amp;target={}#{}", esc(&a.feature), esc(&imp.name), feature_anchor(&a.feature))
        };
        let class = if imp.control { "control" } else { "" };
        let t = a.targets.get(i);
        let note = t.map(|t| (t.skipped, t.error)).filter(|n| n.0 + n.1 > 0);
        cell(out, &imp.name, t.and_then(|t| t.tiers.as_ref()), unserved, class, Some((&href, note)));
    }
    let _ = writeln!(out, "</tr>");
}

type Link<'a> = (&'a str, Option<(usize, usize)>);

fn cell(out: &mut String, target: &str, t: Option<&TierCounts>, unserved: &[String], class: &str, link: Option<Link>) {
    let Some(t) = t else {
        let _ = writeln!(out, "<td class=\"tiers {class}\" data-target=\"{}\">–</td>", esc(target));
        return;
    };
    let _ = write!(
        out,
        "<td class=\"tiers {class}\" data-target=\"{}\" data-ran=\"{}\" data-sdk-safe=\"{}\" data-typed=\"{}\" data-exact=\"{}\" data-not-implemented=\"{}\">",
        esc(target),
        t.ran,
        t.sdk_safe,
        t.typed,
        t.exact,
        t.not_implemented
    );
    if let Some((href, _)) = link {
        let _ = write!(out, "<a href=\"{href}\" title=\"its cases\">");
    }
    if t.ran == 0 {
        out.push_str("<small>none run</small>");
    }
    for tier in Tier::ALL.into_iter().filter(|_| t.ran > 0) {
        let n = t.met(tier);
        let p = if t.ran == 0 { 0.0 } else { n as f64 * 100.0 / t.ran as f64 };
        let key = tier.key();
        let _ = write!(
            out,
            "<span class=\"bar b-{}\" style=\"--p:{p:.1}%\" title=\"{}: {n} of {}\"><span class=\"tk\">{key}</span> {}</span>",
            key.to_lowercase(),
            tier.name(),
            t.ran,
            percent(n, t.ran)
        );
    }
    if t.ran > 0 {
        let _ = write!(out, "<small>{}·{}·{} of {}</small>", t.sdk_safe, t.typed, t.exact, t.ran);
    }
    if let Some((_, Some((skipped, error)))) = link {
        let mut parts = Vec::new();
        if skipped > 0 {
            parts.push(format!("⊘ {skipped} skipped"));
        }
        if error > 0 {
            parts.push(format!("⚠ {error} error"));
        }
        let _ = write!(out, "<small class=\"apart\">{}</small>", parts.join(" · "));
    }
    if !unserved.is_empty() {
        let _ = write!(out, "<small class=\"ni\">∅ not implemented: {}</small>", unserved.iter().map(|e| esc(e)).collect::<Vec<_>>().join(", "));
    } else if t.not_implemented > 0 {
        let _ = write!(out, "<small class=\"ni\">∅ {} not implemented</small>", t.not_implemented);
    }
    if link.is_some() {
        out.push_str("</a>");
    }
    out.push_str("</td>\n");
}
