//! Badges: one SVG per implementation with its three tiers (`SDK-safe 63% · typed 47% · exact 11%`, coloured by
//! SDK-safe, the tier a user of the SDKs needs), and one with the interop tiers, drawn in the
//! shields.io "flat" style (grey label, coloured message, rounded ends) so a README can embed them; plus the
//! same as shields.io endpoint JSON (`{"schemaVersion": 1, "label", "message", "color"}`) for those who
//! prefer shields' own rendering. Pure functions of [`super::interop::Scores`]; no font is fetched — text
//! widths come from a table of Verdana 11 px advances, as shields measures them.

use super::html::esc;
use super::interop::{Scores, TierCounts};
use crate::outcome::Tier;

/// One badge: the file stem (`<target>` or `interop`), the SVG and the endpoint JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct Badge {
    /// `<target>` or `interop`.
    pub name: String,
    /// The SVG document.
    pub svg: String,
    /// The shields.io endpoint JSON.
    pub json: String,
}

/// The badges of a scored document: one per implementation (control included), then `interop`; each says the
/// three tiers over the cases run. A record without tiers gives none.
pub fn badges(s: &Scores) -> Vec<Badge> {
    let mut out: Vec<Badge> = s
        .implementations
        .iter()
        .zip(&s.overall.targets)
        .filter_map(|(imp, t)| Some(make(&imp.name, &format!("OpenAI compat · {}", imp.name), &t.tiers?)))
        .collect();
    if let (Some(_), Some(t)) = (s.overall.interop, s.overall.interop_tiers) {
        out.push(make("interop", "OpenAI compat · interop", &t));
    }
    out
}

fn make(name: &str, label: &str, t: &TierCounts) -> Badge {
    let short = |tier: Tier| {
        if t.ran == 0 { "–".to_owned() } else { format!("{:.0}%", (t.met(tier) as f64 * 100.0 / t.ran as f64).floor()) }
    };
    let message = Tier::ALL.iter().map(|tier| format!("{} {}", tier.name(), short(*tier))).collect::<Vec<_>>().join(" · ");
    let fraction = if t.ran == 0 { 0.0 } else { t.sdk_safe as f64 / t.ran as f64 };
    let color = colour(fraction);
    let json = serde_json::json!({"schemaVersion": 1, "label": label, "message": message, "color": color.1}).to_string();
    Badge { name: name.to_owned(), svg: svg(label, &message, color.0), json }
}

/// (hex, shields colour name) by score: ≥ 90 % bright green, ≥ 75 % green, ≥ 50 % yellow, ≥ 25 % orange,
/// else red — shields' own colours.
fn colour(fraction: f64) -> (&'static str, &'static str) {
    match fraction {
        f if f >= 0.9 => ("#4c1", "brightgreen"),
        f if f >= 0.75 => ("#97ca00", "green"),
        f if f >= 0.5 => ("#dfb317", "yellow"),
        f if f >= 0.25 => ("#fe7d37", "orange"),
        _ => ("#e05d44", "red"),
    }
}

/// Width of `text` in Verdana 11 px, from per-character advances (wider for capitals and `m`/`w`/`%`).
fn text_width(text: &str) -> f64 {
    text.chars()
        .map(|c| match c {
            'i' | 'j' | 'l' | '.' | ',' | ':' | ';' | '|' | '!' | '\'' => 3.5,
            ' ' | 'f' | 'r' | 't' | '(' | ')' | '/' | '-' | '·' => 4.6,
            'm' | 'w' | 'M' | 'W' | '%' => 10.5,
            c if c.is_ascii_uppercase() => 7.7,
            c if c.is_ascii_digit() => 7.0,
            _ => 6.6,
        })
        .sum()
}

/// A shields-style flat badge.
fn svg(label: &str, message: &str, color: &str) -> String {
    let lw = (text_width(label) + 10.0).round();
    let mw = (text_width(message) + 10.0).round();
    let total = lw + mw;
    let (label, message) = (esc(label), esc(message));
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{total}\" height=\"20\" role=\"img\" aria-label=\"{label}: {message}\">\
<title>{label}: {message}</title>\
<linearGradient id=\"s\" x2=\"0\" y2=\"100%\"><stop offset=\"0\" stop-color=\"#bbb\" stop-opacity=\".1\"/><stop offset=\"1\" stop-opacity=\".1\"/></linearGradient>\
<clipPath id=\"r\"><rect width=\"{total}\" height=\"20\" rx=\"3\" fill=\"#fff\"/></clipPath>\
<g clip-path=\"url(#r)\"><rect width=\"{lw}\" height=\"20\" fill=\"#555\"/><rect x=\"{lw}\" width=\"{mw}\" height=\"20\" fill=\"{color}\"/>\
<rect width=\"{total}\" height=\"20\" fill=\"url(#s)\"/></g>\
<g fill=\"#fff\" text-anchor=\"middle\" font-family=\"Verdana,Geneva,DejaVu Sans,sans-serif\" font-size=\"11\">\
<text x=\"{:.1}\" y=\"15\" fill=\"#010101\" fill-opacity=\".3\">{label}</text><text x=\"{:.1}\" y=\"14\">{label}</text>\
<text x=\"{:.1}\" y=\"15\" fill=\"#010101\" fill-opacity=\".3\">{message}</text><text x=\"{:.1}\" y=\"14\">{message}</text></g></svg>\n",
        lw / 2.0,
        lw / 2.0,
        lw + mw / 2.0,
        lw + mw / 2.0
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_follow_the_score_and_text_is_escaped() {
        assert_eq!(colour(1.0).1, "brightgreen");
        assert_eq!(colour(0.8).1, "green");
        assert_eq!(colour(0.5).1, "yellow");
        assert_eq!(colour(0.3).1, "orange");
        assert_eq!(colour(0.0).1, "red");
        let t = TierCounts { ran: 3, sdk_safe: 2, typed: 1, exact: 0, not_implemented: 0 };
        let b = make("x", "a<b", &t);
        assert!(b.svg.contains("a&lt;b: SDK-safe 66% · typed 33% · exact 0%") && !b.svg.contains("a<b"), "{}", b.svg);
        assert!(b.json.contains("\"color\":\"yellow\""));
    }
}
