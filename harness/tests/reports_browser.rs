//! The HTML report in a real browser (Debian's headless chromium): content holding `<script>`,
//! `<img src=x onerror=…>` and `</pre>` shows literally and runs nothing, while the report's own script does
//! run. A control page shows that a script which does run is visible in the dumped DOM, so the test can tell.
//!
//! chromium is installed by `.ci/run`. Absent, this test fails under CI (`CI` set) and skips with a message
//! elsewhere. `CHROMIUM` names another binary.

mod reports_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use compat::report::html;
use reports_support::{HOSTILE, info, replay_once, zoo_results};

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHROMIUM").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|p| p.is_file())
}

/// The DOM of `page` after load, as chromium serializes it.
fn dump_dom(browser: &Path, page: &Path, profile: &Path) -> String {
    dump_dom_query(browser, page, "", profile)
}

/// As [`dump_dom`], with a query string (`?verdict=…`) on the page's URL.
fn dump_dom_query(browser: &Path, page: &Path, query: &str, profile: &Path) -> String {
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}{query}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", browser.display()));
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        match child.try_wait().expect("waiting for chromium") {
            Some(_) => break,
            None if Instant::now() > deadline => {
                let _ = child.kill();
                panic!("chromium did not finish within 90 s");
            }
            None => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    let out = child.wait_with_output().expect("chromium's output");
    let dom = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(dom.contains("</html>"), "chromium dumped no DOM; stderr:\n{}", String::from_utf8_lossy(&out.stderr));
    dom
}

#[test]
fn hostile_content_shows_literally_and_runs_nothing_in_chromium() {
    let Some(browser) = chromium() else {
        if std::env::var_os("CI").is_some() {
            panic!("chromium is not installed, and CI is set: .ci/run installs it (apt-get install -y chromium)");
        }
        eprintln!("skipped: chromium is not installed (apt-get install -y chromium); CI fails here instead");
        return;
    };
    let dir = tempfile::tempdir().unwrap();

    // Control: in this browser, a script that runs leaves its mark in the dumped DOM.
    let control = dir.path().join("control.html");
    std::fs::write(
        &control,
        "<!doctype html><title>before</title><body><script>document.title='RAN';document.body.setAttribute('data-pwned','control')</script>",
    )
    .unwrap();
    let dom = dump_dom(&browser, &control, &dir.path().join("profile-control"));
    assert!(dom.contains("<title>RAN</title>") && dom.contains("data-pwned=\"control\""), "the control script ran:\n{dom}");

    let page = dir.path().join("index.html");
    std::fs::write(&page, html::render(&zoo_results(), None)).unwrap();
    let dom = dump_dom(&browser, &page, &dir.path().join("profile"));

    assert!(dom.contains("<title>compat report — gemini, openai-reference</title>"), "the title is untouched:\n{}", &dom[..dom.len().min(600)]);
    assert!(!dom.contains("PWNED-script</title>") && !dom.contains("PWNED-img</title>"));
    let attribute = regex::Regex::new(r"<[a-zA-Z][^>]*\sdata-pwned=").unwrap();
    assert!(!attribute.is_match(&dom), "no injected script or handler set an attribute");
    let element = regex::Regex::new(r"<img[\s>/]").unwrap();
    assert!(!element.is_match(&dom), "no <img> element was created from content");
    // The text appears literally (chromium serializes text with <, > and & escaped).
    assert!(dom.contains("&lt;/pre&gt;&lt;script&gt;document.title='PWNED-script';"), "script text shows literally");
    assert!(dom.contains("&lt;img src=x onerror=\"document.title='PWNED-img';"), "img text shows literally");
    assert!(HOSTILE.contains("</pre><script>"));
    // The report's own script did run (the CSP hash matches): it revealed the filters and counted the sections.
    assert!(dom.contains("<form id=\"filters\">"), "the filter form is revealed by the report's script");
    assert!(dom.contains("<span id=\"shown\" class=\"title\">7 shown</span>"), "the report's script ran");
}

#[test]
fn filters_by_verdict_feature_severity_and_text_in_chromium() {
    let Some(browser) = chromium() else {
        assert!(std::env::var_os("CI").is_none(), "chromium is not installed, and CI is set: .ci/run installs it");
        eprintln!("skipped: chromium is not installed (apt-get install -y chromium)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("index.html");
    std::fs::write(&page, html::render(&zoo_results(), None)).unwrap();
    let hidden = |dom: &str, name: &str| {
        let id = html::anchor(name);
        let tag = regex::Regex::new(&format!(r#"<section [^>]*id="{}"[^>]*>"#, regex::escape(&id))).unwrap();
        tag.find(dom).unwrap_or_else(|| panic!("no section {name}")).as_str().contains(" hidden")
    };
    let zoo = zoo_results();
    let reference = zoo.outcomes.iter().filter(|o| o.target == "openai-reference").count();
    let gemini_chat = zoo.outcomes.iter().filter(|o| o.target == "gemini" && o.feature == "chat").count();
    assert!(reference > 0 && gemini_chat > 0);
    let cases = [
        ("", 7, "gemini::chat::fixed", false),
        ("?verdict=diverges,error", 2, "gemini::chat::fixed", true),
        ("?verdict=diverges,error", 2, "gemini::errors::broken", false),
        ("?feature=errors", 2, "gemini::chat::diverging", true),
        ("?severity=spec", 0, "gemini::chat::diverging", true),
        ("?severity=breaking", 2, "gemini::streaming::known", false),
        ("?q=TOOL_CALLS", 1, "gemini::streaming::known", false),
        ("?q=no-such-text", 0, "gemini::streaming::known", true),
        // The census links to an implementation's cases of an area: `?feature=…&target=…`.
        ("?target=openai-reference", reference, "gemini::chat::diverging", true),
        ("?feature=chat&target=gemini", gemini_chat, "gemini::chat::diverging", false),
    ];
    for (i, (query, shown, name, is_hidden)) in cases.into_iter().enumerate() {
        let dom = dump_dom_query(&browser, &page, query, &dir.path().join(format!("profile-{i}")));
        assert!(dom.contains(&format!("<span id=\"shown\" class=\"title\">{shown} shown</span>")), "{query}: {shown} shown");
        assert_eq!(hidden(&dom, name), is_hidden, "{query}: {name} hidden = {is_hidden}");
    }
}

/// A screenshot of `page` at `width` × `height` CSS pixels, written to `png`.
fn screenshot(browser: &Path, page: &Path, png: &Path, (width, height): (u32, u32), profile: &Path) {
    let status = Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run", "--disable-background-networking"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--window-size={width},{height}"))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("chromium runs");
    assert!(status.success(), "chromium's screenshot failed");
}

#[test]
fn the_census_at_a_phone_width_in_chromium() {
    let Some(browser) = chromium() else {
        assert!(std::env::var_os("CI").is_none(), "chromium is not installed, and CI is set: .ci/run installs it");
        eprintln!("skipped: chromium is not installed (apt-get install -y chromium)");
        return;
    };
    // Kept under target/ so a person can look at it: `target/tmp/census-phone.png`.
    let out = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let page = out.join("census-phone.html");
    let doc = compat::report::json::build(info(), replay_once().clone());
    std::fs::write(&page, html::render(&doc, None)).unwrap();
    let png = out.join("census-phone.png");
    let _ = std::fs::remove_file(&png);
    let dir = tempfile::tempdir().unwrap();
    screenshot(&browser, &page, &png, (390, 844), &dir.path().join("profile-phone"));
    let bytes = std::fs::read(&png).expect("a screenshot");
    assert_eq!(&bytes[1..4], b"PNG");
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    assert_eq!(width, 390, "the page is laid out at the phone's width");
    // The census, with its tiers, is what the page opens with; its table scrolls inside its own box (a small
    // document: dumping the 2 MB replay page takes chromium over a minute on two shared cores).
    let small = dir.path().join("index.html");
    std::fs::write(&small, html::render(&zoo_results(), None)).unwrap();
    let dom = dump_dom(&browser, &small, &dir.path().join("profile-dom"));
    let census = dom.find("<section id=\"census\">").expect("the census");
    assert!(census < dom.find("<header>").unwrap() && census < dom.find("id=\"matrix\"").unwrap());
    assert!(dom.contains("<div class=\"scroll\"><table class=\"census\">"));
    eprintln!("phone screenshot: {}", png.display());
}
