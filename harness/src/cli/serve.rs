//! `compat serve`: a target's fixtures served on loopback as an OpenAI-compatible endpoint.
//!
//! Every case gets a base URL of its own, `http://HOST:PORT/<target>/<feature>/<id>/`, under which its fixture
//! answers its method and path (`…/chat/completions`) with exactly the status, headers and bytes replay puts on
//! the wire ([`response_template`], the builder replay uses). A planted-divergence corpus (`--planted`) is served
//! the same way under `/planted/<name>/`. Requests are routed by prefix, method and path only, because an SDK
//! adds fields of its own to a request (`encoding_format: "base64"` on embeddings) that a fixture recorded from
//! the harness does not have; `--match-body` demands the fixture's JSON body exactly, as replay does. A multi-step
//! fixture serves its exchanges in order: a request that a later exchange answers too (a poll) gets each answer once.
//! `GET /_compat/index.json` lists every case: its base URL, the request, the status and object it expects —
//! what the client drivers under `drivers/` read. Binds 127.0.0.1 unless `--host` says otherwise; runs until
//! killed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use compat::case::Case;
use compat::fixture::replay::{request_mock, response_template};
use compat::fixture::{Fixture, fixture_path, load_fixtures};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Arguments of `compat serve`.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// Targets whose fixtures to serve (repeatable). Default: every target with fixtures.
    #[arg(long = "target")]
    targets: Vec<String>,
    /// Address to bind. Default loopback; anything else exposes the fixtures to the network.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to bind; 0 picks a free one (the first line printed says which).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Also serve a planted-divergence corpus (`drivers/planted/corpus.json`) under `/planted/<name>/`.
    #[arg(long)]
    planted: Option<PathBuf>,
    /// Answer only a request whose JSON body equals the fixture's, as replay does (SDKs add fields of their own,
    /// so the drivers run without it).
    #[arg(long)]
    match_body: bool,
}

/// One thing served: a fixture under a prefix, and the case it answers.
struct Served {
    target: String,
    name: String,
    prefix: String,
    case: Case,
    fixture: Fixture,
    /// The exchanges after the first of a multi-step fixture (create, then poll), served in order.
    later: Vec<Fixture>,
}

/// Runs `compat serve`: exit 2 on a configuration error, otherwise serves until killed.
pub fn run(root: &Path, args: ServeArgs) -> ExitCode {
    let suite = match super::load_suite(root) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let names: Vec<String> =
        if args.targets.is_empty() { suite.replayable_targets().iter().map(|t| t.name.clone()).collect() } else { args.targets.clone() };
    let mut served = Vec::new();
    for name in &names {
        let Some(target) = suite.target(name) else {
            eprintln!("error: no target `{name}` in {}", compat::target::TARGETS_FILE);
            return ExitCode::from(2);
        };
        for c in &suite.cases {
            let rel = fixture_path(&target.fixtures_dir(), &c.case.feature, &c.case.id);
            match load_fixtures(root, &rel) {
                Ok(Some(mut all)) if !all.is_empty() => served.push(Served {
                    target: name.clone(),
                    name: format!("{name}::{}::{}", c.case.feature, c.case.id),
                    prefix: format!("/{name}/{}/{}/", c.case.feature, c.case.id),
                    case: c.case.clone(),
                    fixture: all.remove(0),
                    later: all,
                }),
                Ok(Some(_)) => {}
                Ok(None) => {}
                Err(e) => {
                    eprint!("{e}");
                    return ExitCode::from(2);
                }
            }
        }
    }
    if let Some(file) = &args.planted {
        match planted(file, &suite.cases) {
            Ok(more) => served.extend(more),
            Err(e) => {
                eprintln!("error: {}: {e}", file.display());
                return ExitCode::from(2);
            }
        }
    }
    let listener = match std::net::TcpListener::bind((args.host.as_str(), args.port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot bind {}:{}: {e}", args.host, args.port);
            return ExitCode::from(2);
        }
    };
    let address = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a tokio runtime starts");
    runtime.block_on(async {
        let server = MockServer::builder().listener(listener).disable_request_recording().start().await;
        let base = format!("http://{address}");
        let mut index = Vec::new();
        for s in &served {
            let exchanges: Vec<&Fixture> = std::iter::once(&s.fixture).chain(&s.later).collect();
            for (i, fixture) in exchanges.iter().enumerate() {
                let route = format!("{}{}", s.prefix, fixture.request.path.trim_start_matches('/'));
                let mock = if args.match_body {
                    request_mock(fixture, &s.prefix)
                } else {
                    Mock::given(method(fixture.request.method.as_str())).and(path(route))
                };
                // A request a later exchange answers too (a poll) gets this answer once, then the next one's.
                let repeated =
                    exchanges[i + 1..].iter().any(|l| l.request.method == fixture.request.method && l.request.path == fixture.request.path);
                let mock = mock.respond_with(response_template(fixture)).named(s.name.as_str());
                if repeated { mock.up_to_n_times(1).mount(&server).await } else { mock.mount(&server).await }
            }
            index.push(json!({
                "name": s.name,
                "target": s.target,
                "feature": s.case.feature,
                "id": s.case.id,
                "base_url": format!("{base}{}", s.prefix),
                "request": s.fixture.request,
                // The first step's (a driver replays one-step cases: the agreement test leaves multi-step ones out).
                "expect": { "status": s.case.steps[0].value.expect.status, "schema": s.case.steps[0].value.expect.schema },
                "stream": s.case.steps[0].value.is_streaming(),
                "exchanges": exchanges.len(),
            }));
        }
        Mock::given(method("GET"))
            .and(path("/_compat/index.json"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "cases": index })))
            .named("index")
            .mount(&server)
            .await;
        // Drivers and tests read this line for the address; say it before anything else.
        println!("serving {} cases at {base}/ (index: {base}/_compat/index.json)", served.len());
        use std::io::Write;
        let _ = std::io::stdout().flush();
        std::future::pending::<()>().await;
    });
    ExitCode::SUCCESS
}

/// The planted corpus: `{"mutations": [{"name", "case": "<feature>/<id>", "description", "fixture"}]}`.
fn planted(file: &Path, cases: &[compat::case::LoadedCase]) -> Result<Vec<Served>, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read: {e}"))?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))?;
    let mut out = Vec::new();
    for m in doc["mutations"].as_array().ok_or("no `mutations` array")? {
        let name = m["name"].as_str().ok_or("a mutation without `name`")?;
        let case_ref = m["case"].as_str().ok_or_else(|| format!("{name}: no `case`"))?;
        let case =
            cases.iter().find(|c| format!("{}/{}", c.case.feature, c.case.id) == case_ref).ok_or_else(|| format!("{name}: no case `{case_ref}`"))?;
        let fixture: Fixture = serde_json::from_value(m["fixture"].clone()).map_err(|e| format!("{name}: fixture: {e}"))?;
        out.push(Served {
            target: "planted".into(),
            name: format!("planted::{name}"),
            prefix: format!("/planted/{name}/"),
            case: case.case.clone(),
            fixture,
            later: Vec::new(),
        });
    }
    Ok(out)
}
