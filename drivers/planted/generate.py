"""Writes drivers/planted/corpus.json: divergences planted one at a time in openai-reference control fixtures.

Each mutation takes one control fixture (conformant by construction: every case passes on openai-reference),
changes one thing the way a real endpoint might, and says what it changed. The agreement test
(harness/tests/agreement.rs) serves every mutation with `compat serve --planted`, runs both SDK drivers against
it, and compares the drivers' worst outcome with the harness's highest severity. Rerun after editing:
`python3 drivers/planted/generate.py` (standard library only; output is deterministic).
"""

import copy
import json
import os

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
REF = os.path.join(ROOT, "fixtures", "openai-reference")


def load(case):
    with open(os.path.join(REF, case + ".json")) as f:
        return json.load(f)


def body(fx):
    return fx["response"]["body"]


def chunks(fx):
    return [e["data"] for e in fx["response"]["events"] if isinstance(e["data"], dict)]


def choice0(fx):
    return body(fx)["choices"][0]


def call0(fx):
    return choice0(fx)["message"]["tool_calls"][0]


def delete(obj, key):
    obj.pop(key, None)


def set_(obj, key, value):
    obj[key] = value


def each_delta(fx, f):
    for c in chunks(fx):
        for ch in c.get("choices", []):
            f(ch)


def tool_deltas(fx):
    return [t for c in chunks(fx) for ch in c.get("choices", []) for t in ch["delta"].get("tool_calls") or []]


def raw(fx, text, ctype):
    r = fx["response"]
    r.pop("body", None)
    r.pop("events", None)
    r["raw_body"] = text
    r["headers"] = {"content-type": ctype}


def sse_text(fx):
    """The fixture's stream as the bytes a server sends (each event `data: …` and a blank line)."""
    out = []
    for e in fx["response"]["events"]:
        d = e["data"]
        out.append("data: " + (d if isinstance(d, str) else json.dumps(d, separators=(",", ":"))) + "\n\n")
    return "".join(out)


def insert_event(fx, at, data):
    fx["response"]["events"].insert(at, {"data": data})


def drop_usage_chunk(fx):
    fx["response"]["events"] = [e for e in fx["response"]["events"] if not (isinstance(e["data"], dict) and e["data"].get("choices") == [])]


def role_on_every_delta(fx):
    each_delta(fx, lambda ch: ch["delta"].update(role="assistant") if ch["delta"] or ch["finish_reason"] is None else None)


def id_on_every_tool_delta(fx):
    first = tool_deltas(fx)[0]
    for t in tool_deltas(fx)[1:]:
        t["id"] = first["id"]


def name_on_every_tool_delta(fx):
    first = tool_deltas(fx)[0]
    for t in tool_deltas(fx)[1:]:
        t.setdefault("function", {})["name"] = first["function"]["name"]


def shift_tool_index(fx):
    for t in tool_deltas(fx):
        t["index"] += 1


def no_tool_index(fx):
    for t in tool_deltas(fx):
        t.pop("index")


def no_finish_reason(fx):
    each_delta(fx, lambda ch: ch.update(finish_reason=None))


def second_finish_reason(fx):
    evs = fx["response"]["events"]
    last = next(i for i, e in reversed(list(enumerate(evs))) if isinstance(e["data"], dict) and e["data"]["choices"])
    dup = copy.deepcopy(evs[last])
    dup["data"]["choices"][0]["delta"] = {}
    evs.insert(last + 1, dup)


def content_after_finish(fx):
    evs = fx["response"]["events"]
    last = next(i for i, e in reversed(list(enumerate(evs))) if isinstance(e["data"], dict) and e["data"]["choices"])
    extra = copy.deepcopy(evs[last])
    extra["data"]["choices"][0].update(delta={"content": " more"}, finish_reason=None)
    evs.insert(last + 1, extra)


def usage_on_every_chunk(fx):
    u = next(c["usage"] for c in chunks(fx) if c.get("usage"))
    for c in chunks(fx):
        c["usage"] = u


def content_parts(fx):
    m = choice0(fx)["message"]
    m["content"] = [{"type": "text", "text": m["content"]}]


def error_field(fx, key):
    body(fx)["error"].pop(key)


def custom_tool_call(fx):
    m = choice0(fx)["message"]
    c = m["tool_calls"][0]
    m["tool_calls"][0] = {"id": c["id"], "type": "custom", "custom": {"name": "get_weather", "input": "Boston, MA"}}


def batch_nulls(fx):
    # OpenAI's own Batch example (openai-openapi.json, Batch.x-oaiMeta.example) and live answers carry these nulls.
    b = body(fx)
    b.update(errors=None, error_file_id=None,
             failed_at=None, expired_at=None, cancelling_at=None, cancelled_at=None, metadata=None)


CHAT = "chat/basic"
TOOL = "function-calling/tool_choice_required"
STREAM = "streaming/text"
STREAM_TOOL = "streaming/tool_call"
USAGE = "streaming/include_usage"
ERR = "errors/unknown_model"

# (name, case, description, mutation)
MUTATIONS = [
    ("chat_no_choice_index", CHAT, "choices[0].index removed", lambda fx: delete(choice0(fx), "index")),
    ("chat_no_message_role", CHAT, "choices[0].message.role removed", lambda fx: delete(choice0(fx)["message"], "role")),
    ("chat_role_model", CHAT, "choices[0].message.role is `model`", lambda fx: set_(choice0(fx)["message"], "role", "model")),
    ("chat_content_parts", CHAT, "message.content is an array of text parts", content_parts),
    ("chat_content_number", CHAT, "message.content is a number", lambda fx: set_(choice0(fx)["message"], "content", 42)),
    ("chat_no_content", CHAT, "message.content removed", lambda fx: delete(choice0(fx)["message"], "content")),
    ("chat_no_choices", CHAT, "choices removed", lambda fx: delete(body(fx), "choices")),
    ("chat_choices_object", CHAT, "choices is an object, not an array", lambda fx: set_(body(fx), "choices", choice0(fx))),
    ("chat_no_message", CHAT, "choices[0].message removed", lambda fx: delete(choice0(fx), "message")),
    ("chat_finish_reason_upper", CHAT, "finish_reason `STOP`", lambda fx: set_(choice0(fx), "finish_reason", "STOP")),
    ("chat_no_finish_reason", CHAT, "finish_reason removed", lambda fx: delete(choice0(fx), "finish_reason")),
    ("chat_total_tokens_string", CHAT, "usage.total_tokens is a string", lambda fx: set_(body(fx)["usage"], "total_tokens", str(body(fx)["usage"]["total_tokens"]))),
    ("chat_no_usage", CHAT, "usage removed", lambda fx: delete(body(fx), "usage")),
    ("chat_no_id", CHAT, "top-level id removed", lambda fx: delete(body(fx), "id")),
    ("chat_created_string", CHAT, "created is a string", lambda fx: set_(body(fx), "created", str(body(fx)["created"]))),
    ("chat_object_wrong", CHAT, "object is `chat.completions`", lambda fx: set_(body(fx), "object", "chat.completions")),
    ("chat_no_model", CHAT, "model removed", lambda fx: delete(body(fx), "model")),
    ("chat_no_refusal", CHAT, "message.refusal removed", lambda fx: delete(choice0(fx)["message"], "refusal")),
    ("chat_extension_field", CHAT, "an unknown top-level field", lambda fx: set_(body(fx), "x_vendor", {"a": 1})),
    ("chat_body_text", CHAT, "a plain-text body with status 200", lambda fx: raw(fx, "OK", "text/plain")),
    ("chat_body_cut", CHAT, "JSON cut short", lambda fx: raw(fx, json.dumps(body(fx))[:60], "application/json")),
    ("tool_no_id", TOOL, "tool_calls[0].id removed", lambda fx: delete(call0(fx), "id")),
    ("tool_no_type", TOOL, "tool_calls[0].type removed", lambda fx: delete(call0(fx), "type")),
    ("tool_arguments_object", TOOL, "function.arguments is an object", lambda fx: set_(call0(fx)["function"], "arguments", json.loads(call0(fx)["function"]["arguments"]))),
    ("tool_arguments_not_json", TOOL, "function.arguments is not JSON", lambda fx: set_(call0(fx)["function"], "arguments", "{location: Boston")),
    ("tool_arguments_wrong_schema", TOOL, "arguments miss a required parameter", lambda fx: set_(call0(fx)["function"], "arguments", "{}")),
    ("tool_custom_call", TOOL, "a spec-valid custom tool call", custom_tool_call),
    ("tool_calls_object", TOOL, "tool_calls is an object", lambda fx: set_(choice0(fx)["message"], "tool_calls", call0(fx))),
    ("stream_role_every_delta", STREAM, "role `assistant` repeated on every delta (gemini-compat #15)", role_on_every_delta),
    ("stream_no_role", STREAM, "no delta carries a role", lambda fx: each_delta(fx, lambda ch: ch["delta"].pop("role", None))),
    ("stream_no_finish_reason", STREAM, "no finish_reason at all, [DONE] kept", no_finish_reason),
    ("stream_no_done", STREAM, "no [DONE]", lambda fx: fx["response"]["events"].pop()),
    ("stream_event_after_done", STREAM, "a chunk after [DONE]", lambda fx: fx["response"]["events"].append({"data": chunks(fx)[1]})),
    ("stream_chunk_not_json", STREAM, "a data line that is not JSON", lambda fx: insert_event(fx, 1, "{not json")),
    ("stream_id_changes", STREAM, "the id changes mid-stream", lambda fx: set_(chunks(fx)[1], "id", "chatcmpl-other")),
    ("stream_object_wrong", STREAM, "object `chat.completion` on a chunk", lambda fx: set_(chunks(fx)[1], "object", "chat.completion")),
    ("stream_no_choice_index", STREAM, "choices[].index removed from every chunk", lambda fx: each_delta(fx, lambda ch: ch.pop("index"))),
    ("stream_no_delta", STREAM, "delta removed from the last chunk", lambda fx: chunks(fx)[-1]["choices"][0].pop("delta")),
    ("stream_content_number", STREAM, "a delta's content is a number", lambda fx: set_(chunks(fx)[1]["choices"][0]["delta"], "content", 7)),
    ("stream_second_finish_reason", STREAM, "finish_reason sent twice", second_finish_reason),
    ("stream_content_after_finish", STREAM, "content after finish_reason", content_after_finish),
    ("stream_tool_index_from_1", STREAM_TOOL, "tool-call indexes start at 1", shift_tool_index),
    ("stream_tool_no_index", STREAM_TOOL, "tool-call deltas without index (gemini-compat #9)", no_tool_index),
    ("stream_tool_id_every_delta", STREAM_TOOL, "the call id repeated on every tool-call delta", id_on_every_tool_delta),
    ("stream_tool_name_every_delta", STREAM_TOOL, "the function name repeated on every tool-call delta", name_on_every_tool_delta),
    ("stream_tool_first_no_id", STREAM_TOOL, "the first tool-call delta lacks its id", lambda fx: tool_deltas(fx)[0].pop("id")),
    ("stream_usage_total_string", USAGE, "usage.total_tokens is a string in the usage chunk", lambda fx: [set_(c["usage"], "total_tokens", str(c["usage"]["total_tokens"])) for c in chunks(fx) if c.get("usage")]),
    ("stream_finish_reason_upper", STREAM, "finish_reason `STOP`", lambda fx: [ch.update(finish_reason="STOP") for c in chunks(fx) for ch in c["choices"] if ch["finish_reason"]]),
    ("stream_empty_choices_chunk", STREAM, "a chunk with empty choices mid-stream", lambda fx: insert_event(fx, 2, dict(chunks(fx)[1], choices=[]))),
    ("stream_tool_arguments_not_json", STREAM_TOOL, "streamed tool arguments that are not JSON", lambda fx: set_(tool_deltas(fx)[-1]["function"], "arguments", "}{")),
    ("stream_usage_every_chunk", USAGE, "usage on every chunk (gemini-compat #14)", usage_on_every_chunk),
    ("stream_no_usage_chunk", USAGE, "no usage chunk although include_usage", drop_usage_chunk),
    ("embeddings_no_index", "embeddings/string_array", "data[].index removed", lambda fx: [d.pop("index") for d in body(fx)["data"]]),
    ("embeddings_no_data", "embeddings/string_array", "data removed", lambda fx: delete(body(fx), "data")),
    ("embeddings_no_usage", "embeddings/string_array", "usage removed", lambda fx: delete(body(fx), "usage")),
    ("embeddings_base64_cut", "embeddings/encoding_base64", "a base64 vector cut to a length that is not whole float32s", lambda fx: set_(body(fx)["data"][0], "embedding", "AAAAAAAA" + "AAA=")),
    ("embeddings_floats_for_base64", "embeddings/encoding_base64", "float arrays although base64 was asked", lambda fx: set_(body(fx)["data"][0], "embedding", [0.25, -0.5, 0.125])),
    ("embeddings_base64_not_base64", "embeddings/encoding_base64", "a vector string that is not base64", lambda fx: set_(body(fx)["data"][0], "embedding", "not base64!")),
    ("embeddings_object_wrong", "embeddings/single_string", "object `embeddings`", lambda fx: set_(body(fx), "object", "embeddings")),
    ("models_no_id", "models/list", "data[0].id removed", lambda fx: delete(body(fx)["data"][0], "id")),
    ("models_created_string", "models/list", "data[0].created is a string", lambda fx: set_(body(fx)["data"][0], "created", "1686935002")),
    ("model_no_id", "models/retrieve", "id removed", lambda fx: delete(body(fx), "id")),
    ("model_no_owned_by", "models/retrieve", "owned_by removed", lambda fx: delete(body(fx), "owned_by")),
    ("images_no_data", "image-generation/b64_json", "data removed", lambda fx: delete(body(fx), "data")),
    ("images_no_created", "image-generation/b64_json", "created removed", lambda fx: delete(body(fx), "created")),
    ("batch_openai_nulls", "batch/retrieve", "the null fields of OpenAI's own Batch example", batch_nulls),
    ("batch_no_status", "batch/retrieve", "status removed", lambda fx: delete(body(fx), "status")),
    ("batch_no_id", "batch/retrieve", "id removed", lambda fx: delete(body(fx), "id")),
    ("batch_status_unknown", "batch/retrieve", "status `done`", lambda fx: set_(body(fx), "status", "done")),
    ("error_code_number", ERR, "error.code is a number", lambda fx: set_(body(fx)["error"], "code", 404)),
    ("error_message_object", ERR, "error.message is an object", lambda fx: set_(body(fx)["error"], "message", {"text": "model not found"})),
    ("chat_finish_reason_null", CHAT, "finish_reason null", lambda fx: set_(choice0(fx), "finish_reason", None)),
    ("chat_tool_calls_empty", CHAT, "an empty tool_calls array", lambda fx: set_(choice0(fx)["message"], "tool_calls", [])),
    ("error_no_message", ERR, "error.message removed", lambda fx: error_field(fx, "message")),
    ("error_no_type", ERR, "error.type removed", lambda fx: error_field(fx, "type")),
    ("error_array_body", ERR, "the error object wrapped in an array (gemini-compat #17)", lambda fx: set_(fx["response"], "body", [body(fx)])),
    ("error_text_body", ERR, "a plain-text error body", lambda fx: raw(fx, "model not found", "text/plain")),
    ("error_wrong_status", ERR, "400 where 404 is due", lambda fx: set_(fx["response"], "status", 400)),
    ("structured_not_json", "structured-output/json_schema_strict", "strict structured output that is not JSON", lambda fx: set_(choice0(fx)["message"], "content", "Sure! Here it is.")),
    # Issue 19: classes the severities were measured on (openai-python 3.60.0, openai-node 7.60.0).
    ("embeddings_no_embedding", "embeddings/string_array", "data[0].embedding removed", lambda fx: delete(body(fx)["data"][0], "embedding")),
    ("error_string", ERR, "error is a string, not an object", lambda fx: set_(fx["response"], "body", {"error": "some message"})),
    ("error_html_body", ERR, "an HTML error page from a proxy", lambda fx: raw(fx, "<html><body><h1>404 Not Found</h1></body></html>", "text/html")),
    ("chat_no_prompt_tokens", CHAT, "usage.prompt_tokens removed", lambda fx: delete(body(fx)["usage"], "prompt_tokens")),
    ("chat_no_completion_tokens", CHAT, "usage.completion_tokens removed", lambda fx: delete(body(fx)["usage"], "completion_tokens")),
    ("chat_no_created", CHAT, "created removed", lambda fx: delete(body(fx), "created")),
    ("stream_chunk_no_id", STREAM, "id removed from every chunk", lambda fx: [c.pop("id") for c in chunks(fx)]),
    ("stream_created_string", STREAM, "created is a string on every chunk", lambda fx: [set_(c, "created", str(c["created"])) for c in chunks(fx)]),
    ("tool_finish_reason_stop", TOOL, "finish_reason `stop` on a message with tool calls", lambda fx: set_(choice0(fx), "finish_reason", "stop")),
    ("stream_done_unterminated", STREAM, "the final data: [DONE] without its closing blank line", lambda fx: raw(fx, sse_text(fx)[: -2], "text/event-stream")),
    ("structured_wrong_schema", "structured-output/json_schema_strict", "strict structured output missing a required key", lambda fx: set_(choice0(fx)["message"], "content", "{}")),
]


def corpus():
    """The corpus document, as written to corpus.json."""
    out = []
    for name, case, description, mutate in MUTATIONS:
        fx = load(case)
        mutate(fx)
        fx["origin"] = {"kind": "synthesized", "basis": f"planted divergence: {description}; from fixtures/openai-reference/{case}.json by drivers/planted/generate.py"}
        out.append({"name": name, "case": case, "description": description, "fixture": fx})
    names = [m["name"] for m in out]
    assert len(names) == len(set(names)), "mutation names must be unique"
    return json.dumps({"generated_by": "drivers/planted/generate.py", "mutations": out}, indent=1) + "\n"


def main():
    """Writes corpus.json; `--stdout` prints the document instead (the agreement test compares it with the file)."""
    import sys

    text = corpus()
    if "--stdout" in sys.argv[1:]:
        sys.stdout.write(text)
        return
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus.json")
    with open(path, "w") as f:
        f.write(text)
    count = len(json.loads(text)["mutations"])
    print(f"{count} mutations -> {os.path.relpath(path, ROOT)}")


if __name__ == "__main__":
    main()
