//! "Not implemented": a target that does not serve an endpoint at all (no route), told apart from one that
//! serves it and answers wrongly.
//!
//! [`no_route`] is the one decision, a pure function of the expected and observed status, the request as sent
//! and the body. [`Outcome::not_implemented`] applies it to a finished outcome: everything it needs is in
//! results.json already — a status mismatch is always exactly one `status` finding (its `expected` is the
//! case's expected status) and the exchange of that step keeps the status, request and body — so nothing in
//! the run path decides it and results.json is unchanged. The verdict stays what the run decided (a `known` or
//! `diverges` status finding, so `cargo test` gates on it as before); the reports show the answer as
//! "not implemented", once per endpoint, and it meets no tier (`report::tiers`).

use serde_json::Value;

use super::{Exchange, JsonText, ObservedBody, Outcome, SentRequest};
use crate::case::ObjectKind;

/// Statuses a server answers for a path or method it has no route for.
pub const NO_ROUTE_STATUSES: [u16; 3] = [404, 405, 501];

/// Whether an answer says the endpoint is not served: a 404, 405 or 501 where the case expected another
/// status, whose body does not name anything the request sent (the model, or an id in the path) — "model
/// `x` not found" or "batch `b1` not found" is the endpoint answering about a resource, not a missing route.
///
/// Bodies seen from servers without the route: `{"detail": "Not Found"}` (FastAPI: vLLM, llama-cpp-python,
/// `transformers serve`), `{"error": {"code": 404, "message": "Method not found.", "status": "NOT_FOUND"}}`
/// (Gemini), `{"error": {"code": 404, "message": "File Not Found", "type": "not_found_error"}}` (llama-server),
/// `404 page not found` (Go's mux: Ollama), an empty body.
pub fn no_route(expected: u16, observed: u16, request: &SentRequest, body: &ObservedBody<JsonText>) -> bool {
    if expected == observed || !NO_ROUTE_STATUSES.contains(&observed) {
        return false;
    }
    let text = match body {
        ObservedBody::Empty => return true,
        ObservedBody::Json { value } => value.get().to_owned(),
        ObservedBody::Text { text, .. } => text.clone(),
        // An event stream is an endpoint answering.
        ObservedBody::Stream { .. } => return false,
    };
    let text = text.to_lowercase();
    let mut named: Vec<String> = Vec::new();
    if let Some(Value::String(model)) = request.body.as_ref().and_then(|b| b.get("model")) {
        named.push(model.to_lowercase());
    }
    // Path segments after the collection are ids (`batches/b1`, `models/m`, `videos/v1/content`'s `v1`).
    let path = request.path.split(['?', '#']).next().unwrap_or_default().trim_matches('/');
    named.extend(path.split('/').skip(1).filter(|s| s.len() > 2).map(str::to_lowercase));
    // A name of one or two letters would be found in any text ("m" in "method not allowed").
    !named.iter().any(|n| n.len() > 2 && text.contains(n.as_str()))
}

/// The endpoint a request addresses, as the reports name it: the endpoint table's (`models/{id}`,
/// `chat/completions`), else the first segment of the path (`responses`).
pub fn endpoint_of(request: &SentRequest) -> String {
    match ObjectKind::answering(request.method, &request.path, request.body.as_ref()) {
        Some(kind) => kind.endpoint().to_owned(),
        None => request.path.split(['?', '#', '/']).find(|s| !s.is_empty()).unwrap_or_default().to_owned(),
    }
}

impl Outcome {
    /// The endpoint this target does not serve, when a judged outcome's status finding is a [`no_route`]
    /// answer; `None` otherwise (a pass, an error, a skip, any other divergence).
    pub fn not_implemented(&self) -> Option<String> {
        let status = self.findings().iter().find(|f| f.rule == crate::rules::STATUS.id)?;
        let expected: u16 = status.expected.trim().parse().ok()?;
        let exchange: &Exchange = match &status.step {
            Some(step) => self.steps.iter().find(|s| s.name.as_deref() == Some(step.as_str()))?.exchanges.last()?,
            None => self.exchange.as_ref()?,
        };
        no_route(expected, exchange.status, &exchange.request, &exchange.body).then(|| endpoint_of(&exchange.request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::Method;
    use serde_json::json;

    fn req(method: Method, path: &str, body: Option<Value>) -> SentRequest {
        SentRequest { method, path: path.into(), body, raw_body: None }
    }

    fn json_body(v: Value) -> ObservedBody<JsonText> {
        ObservedBody::Json { value: JsonText::from_value(&v) }
    }

    #[test]
    fn a_missing_route_is_not_implemented() {
        let videos = req(Method::Post, "videos", Some(json!({"model": "m", "prompt": "p"})));
        assert!(no_route(200, 404, &videos, &json_body(json!({"detail": "Not Found"}))));
        assert!(no_route(200, 405, &videos, &json_body(json!({"detail": "Method Not Allowed"}))));
        assert!(no_route(200, 501, &videos, &ObservedBody::Empty));
        let text = ObservedBody::Text { text: "404 page not found".into(), content_type: Some("text/plain".into()) };
        assert!(no_route(200, 404, &videos, &text));
        let gemini = json_body(json!([{"error": {"code": 404, "message": "Method not found.", "status": "NOT_FOUND"}}]));
        assert!(no_route(200, 404, &req(Method::Post, "responses", Some(json!({"model": "g"}))), &gemini));
        // An invalid request answered by a missing route is not implemented either.
        assert!(no_route(400, 404, &videos, &json_body(json!({"detail": "Not Found"}))));
    }

    #[test]
    fn an_unknown_model_or_resource_or_an_expected_status_is_not() {
        let chat = req(Method::Post, "chat/completions", Some(json!({"model": "compat-no-such-model"})));
        let unknown = json_body(json!({"error": {"message": "The model `compat-no-such-model` does not exist"}}));
        assert!(!no_route(200, 404, &chat, &unknown), "the endpoint answered about the model");
        let batch = req(Method::Get, "batches/batch_abc123", None);
        assert!(!no_route(200, 404, &batch, &json_body(json!({"error": {"message": "No batch batch_abc123"}}))));
        assert!(!no_route(404, 404, &batch, &json_body(json!({"detail": "Not Found"}))), "the case expected 404");
        assert!(!no_route(200, 400, &batch, &ObservedBody::Empty), "400 is an answer");
        assert!(!no_route(200, 500, &batch, &ObservedBody::Empty));
    }

    #[test]
    fn endpoints_are_named_by_the_endpoint_table() {
        assert_eq!(endpoint_of(&req(Method::Get, "models/x", None)), "models/{id}");
        assert_eq!(endpoint_of(&req(Method::Post, "videos", None)), "videos");
        assert_eq!(endpoint_of(&req(Method::Post, "/responses?x=1", None)), "responses");
    }
}
