//! The models of an ad-hoc target (`--live --base-url` without `--model`), asked of the server.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use compat::target::{ROLES, Target};

use super::{EXIT_UNREACHABLE, usage_error};

/// Bounds the model discovery of an ad-hoc target (`GET models`).
const DISCOVERY_TIMEOUT_MS: u64 = 10_000;

/// The models of an ad-hoc target from the server's `GET models`, a note saying which model each role got;
/// bounded by [`DISCOVERY_TIMEOUT_MS`].
pub(super) fn discover_models(target: &Target) -> Result<BTreeMap<String, String>, ExitCode> {
    let url = format!("{}models", target.config.base_url);
    let key = target.key().unwrap_or_default().unwrap_or_default(); // checked before: a key named is set
    let headers: Vec<_> = target.auth_header(&key).into_iter().collect();
    let request = compat::transport::WireRequest { method: compat::case::Method::Get, url: url.clone(), headers, body: None };
    let timeouts = compat::target::Timeouts { connect_ms: 5_000, first_byte_ms: DISCOVERY_TIMEOUT_MS, idle_ms: 5_000 };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime starts");
    let answer = runtime.block_on(async {
        let client = compat::transport::HttpClients::default().client(&timeouts, compat::transport::Proxy::FromEnv, &url);
        tokio::time::timeout(Duration::from_millis(DISCOVERY_TIMEOUT_MS), compat::transport::send(&client, &request, &timeouts)).await
    });
    let how = "name the models with --model NAME (every role) or --model ROLE=NAME";
    let response = match answer {
        Err(_) => return Err(usage_error(format!("GET {url} did not answer within {} s: {how}", DISCOVERY_TIMEOUT_MS / 1000))),
        Ok(Err(e @ (compat::transport::TransportError::Connect(_) | compat::transport::TransportError::Tls(_)))) => {
            eprintln!("error: target `{}` is unreachable: GET {url}: {e}", target.name);
            return Err(ExitCode::from(EXIT_UNREACHABLE));
        }
        Ok(Err(e)) => return Err(usage_error(format!("GET {url}: {e}: {how}"))),
        Ok(Ok(r)) => r,
    };
    let ids: Vec<String> = serde_json::from_slice::<serde_json::Value>(&response.body)
        .ok()
        .and_then(|v| v["data"].as_array().map(|d| d.iter().filter_map(|m| m["id"].as_str().map(str::to_owned)).collect()))
        .unwrap_or_default();
    if response.status != 200 || ids.is_empty() {
        return Err(usage_error(format!("GET {url} answered {} without a model list: {how}", response.status)));
    }
    let models = choose_models(&ids);
    let mut by_model: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (role, model) in &models {
        by_model.entry(model.as_str()).or_default().push(role.as_str());
    }
    let chosen: Vec<String> = by_model.iter().map(|(m, roles)| format!("{m} for {}", roles.join(", "))).collect();
    let missing: Vec<&str> = ROLES.iter().copied().filter(|r| !models.contains_key(*r)).collect();
    eprintln!(
        "note: no --model given: GET {url} lists {} model{}; using {}{} (choose with --model NAME or --model ROLE=NAME)",
        ids.len(),
        if ids.len() == 1 { "" } else { "s" },
        chosen.join("; "),
        if missing.is_empty() { String::new() } else { format!("; no model for {} (their cases are skipped)", missing.join(", ")) }
    );
    Ok(models)
}

/// A model for each role from a server's model ids, by their names: embedding, image and video models by
/// what they are called, the first other model for chat, vision, audio and reasoning. `reasoning_none` and
/// `reasoning_minimal` are never guessed.
fn choose_models(ids: &[String]) -> BTreeMap<String, String> {
    let has = |id: &str, words: &[&str]| words.iter().any(|w| id.to_ascii_lowercase().contains(w));
    let (embedding, image, video) = (["embed"], ["image", "dall-e", "imagen"], ["sora", "veo", "video"]);
    let other = ["tts", "whisper", "transcribe", "moderation", "rerank", "realtime", "search"];
    let mut models = BTreeMap::new();
    let mut first = |role: &str, pick: &dyn Fn(&str) -> bool| {
        if let Some(id) = ids.iter().find(|i| pick(i)) {
            models.insert(role.to_owned(), id.clone());
        }
    };
    first("embedding", &|i| has(i, &embedding));
    first("image", &|i| has(i, &image));
    first("video", &|i| has(i, &video));
    let chat = |i: &str| !has(i, &embedding) && !has(i, &image) && !has(i, &video) && !has(i, &other);
    for role in ["chat", "vision", "audio", "reasoning"] {
        first(role, &chat);
    }
    if let Some(audio) = ids.iter().find(|i| has(i, &["audio"]) && chat(i)) {
        models.insert("audio".to_owned(), audio.clone());
    }
    models
}
