"""Drives the official `openai` Python package against `compat serve` and says what an SDK user would get.

For every case in the server's index (`GET /_compat/index.json`) it makes the call a user of the SDK makes for
that request -- `chat.completions.create`, stream iteration *and* the `chat.completions.stream` helper with its
final completion, `parse` for structured output, embeddings, models, images, batches -- and compares what the
SDK returned with what was on the wire (fetched again with the standard library). Each case is classified:

- ``ok``: the SDK returned the wire's data (or, for an error case, raised the error class the status calls for
  with the server's message in it);
- ``degraded``: no exception, but data lost or changed (the helper's role or text differs from the wire's),
  a wrong error class, the server's message missing from the exception, or no exception where an error was due;
- ``breaks``: an exception where a result was due (including a JSON parse of structured output).

Prints one JSON document: ``{"driver", "sdk_version", "results": [{"name", "outcome", "calls": [...]}]}``.
Usage: ``drivers/python/.venv/bin/python drivers/python/driver.py --serve http://127.0.0.1:8080/ [--only S]``.
"""

from __future__ import annotations

import argparse
import base64
import inspect
import json
import struct
import sys
import traceback
import urllib.error
import urllib.request
import warnings

import openai
import pydantic

RANK = {"n/a": -1, "ok": 0, "degraded": 1, "breaks": 2}
HTTP = openai.DefaultHttpxClient(timeout=10)
ERROR_CLASSES = {
    400: openai.BadRequestError,
    401: openai.AuthenticationError,
    403: openai.PermissionDeniedError,
    404: openai.NotFoundError,
    409: openai.ConflictError,
    422: openai.UnprocessableEntityError,
    429: openai.RateLimitError,
}


def raw_fetch(case):
    """The bytes on the wire for the case's request, without the SDK."""
    req = case["request"]
    data = None
    if req.get("body") is not None:
        data = json.dumps(req["body"]).encode()
    elif req.get("raw_body") is not None:
        data = req["raw_body"].encode()
    r = urllib.request.Request(case["base_url"] + req["path"], data=data, method=req["method"],
                               headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(r, timeout=10) as resp:
            return resp.status, resp.headers.get("content-type", ""), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("content-type", ""), e.read()


def sse_chunks(raw):
    """JSON chunks of an event stream (the data lines that parse; `[DONE]` and the rest skipped)."""
    out = []
    for block in raw.decode("utf-8", "replace").replace("\r\n", "\n").split("\n\n"):
        data = "\n".join(line[5:].lstrip(" ") for line in block.split("\n") if line.startswith("data:"))
        if not data or data.strip() == "[DONE]":
            continue
        try:
            out.append(json.loads(data))
        except ValueError:
            pass
    return out


def close(a, b):
    """Whether two vector elements agree: numbers within float32 rounding, anything else (a server's nested
    per-token vectors) by equality, so a driver's own comparison never raises."""
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(a - b) <= 1e-6 * max(1, abs(b))
    return a == b


def find_message(value):
    """The first `message` string anywhere in an error body."""
    if isinstance(value, dict):
        if isinstance(value.get("message"), str) and value["message"]:
            return value["message"]
        # FastAPI's error body (llama-cpp-python, vLLM's routes): {"detail": "..."}.
        if isinstance(value.get("detail"), str) and value["detail"]:
            return value["detail"]
        for v in value.values():
            m = find_message(v)
            if m:
                return m
    if isinstance(value, list):
        for v in value:
            m = find_message(v)
            if m:
                return m
    return None


def server_message(raw):
    """What the server said in an error body: `error.message` (or the like) of JSON, an `error` string, or, for a
    body that is not JSON (a text or HTML page), the start of its text."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw or "")
    try:
        body = json.loads(text)
    except ValueError:
        return text.strip()[:60] or None
    if isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"]:
        return body["error"]
    return find_message(body)


def g(obj, *names):
    """Attribute or key access that never raises: what a user reads, or None."""
    for n in names:
        if obj is None:
            return None
        if isinstance(obj, dict):
            obj = obj.get(n)
        elif isinstance(obj, list):
            obj = obj[n] if isinstance(n, int) and n < len(obj) else None
        else:
            obj = getattr(obj, n, None)
    return obj


def split_kwargs(fn, body):
    """The body as keyword arguments the SDK method takes, the rest as `extra_body` (what a user writes)."""
    params = inspect.signature(fn).parameters
    kw, extra = {}, {}
    for k, v in (body or {}).items():
        (kw if k in params and k not in ("extra_body", "extra_headers", "extra_query") else extra)[k] = v
    if extra:
        kw["extra_body"] = extra
    return kw


def chat_view(choices):
    """What a user reads of a completion's choices: role, text, finish reason, tool calls."""
    view = []
    for c in choices or []:
        calls = [(g(t, "id"), g(t, "function", "name"), g(t, "function", "arguments")) for t in (g(c, "message", "tool_calls") or [])]
        view.append({"content": g(c, "message", "content") or None, "finish_reason": g(c, "finish_reason"), "tool_calls": calls})
    return view


def wire_stream_view(chunks):
    """The stream's data as sent: per choice, text concatenated, tool calls by index (id and name as first sent,
    arguments concatenated), the last finish reason, and the first role sent."""
    acc = {}
    for ch in chunks:
        for c in ch.get("choices") or []:
            a = acc.setdefault(c.get("index", 0), {"role": None, "content": "", "finish_reason": None, "calls": {}})
            d = c.get("delta") or {}
            if d.get("role") and a["role"] is None:
                a["role"] = d["role"]
            if isinstance(d.get("content"), str):
                a["content"] += d["content"]
            for t in d.get("tool_calls") or []:
                slot = a["calls"].setdefault(t.get("index"), [None, None, ""])
                slot[0] = slot[0] or t.get("id")
                slot[1] = slot[1] or g(t, "function", "name")
                slot[2] += g(t, "function", "arguments") or ""
            if c.get("finish_reason") is not None:
                a["finish_reason"] = c["finish_reason"]
    return acc


JSON_TYPES = {"string": str, "integer": int, "number": float, "boolean": bool, "object": dict}


def model_from_schema(name, schema):
    """A pydantic model for a response_format's JSON schema, as a user of `parse` would write it."""
    fields = {}
    required = set(schema.get("required", []))
    for key, prop in (schema.get("properties") or {}).items():
        t = JSON_TYPES.get(prop.get("type"), object)
        if prop.get("type") == "array":
            t = list[JSON_TYPES.get((prop.get("items") or {}).get("type"), object)]
        elif prop.get("type") == "object" and prop.get("properties"):
            t = model_from_schema(name + "_" + key, prop)
        fields[key] = (t, ...) if key in required else (t | None, None)
    return pydantic.create_model(name, **fields)


def parse_tool_arguments(choices):
    """What a tool loop does with each function call: json.loads(arguments) (raises on anything but JSON text)."""
    for c in choices if isinstance(choices, list) else []:
        calls = g(c, "message", "tool_calls")
        for t in calls if isinstance(calls, list) else []:
            if g(t, "type") != "custom":
                json.loads(g(t, "function", "arguments"))


def worst(calls):
    """The worst outcome of the calls made; `n/a` when none was made (no SDK call exists for the endpoint)."""
    return max((c["outcome"] for c in calls), key=RANK.__getitem__, default="n/a")


def exc_text(e):
    return f"{type(e).__name__}: {e}"[:400]


class Driver:
    def __init__(self, case):
        self.case = case
        # One HTTP client for every case: building one (its TLS context) costs more than a replayed call.
        self.client = openai.OpenAI(api_key="compat-driver", base_url=case["base_url"], max_retries=0, timeout=10, http_client=HTTP)
        self.body = dict(case["request"].get("body") or {})
        self.status, self.ctype, self.raw = raw_fetch(case)
        self.calls = []

    def record(self, call, outcome, detail=""):
        self.calls.append({"call": call, "outcome": outcome, "detail": detail})

    def expect_error(self):
        return self.case["expect"]["status"] >= 400

    def attempt(self, call, fn, check):
        """Runs one SDK call; `check(result)` returns (outcome, detail) for a result."""
        try:
            result = fn()
        except openai.APIStatusError as e:
            if self.expect_error():
                self.check_error(call, e)
            else:
                self.record(call, "breaks", exc_text(e))
            return
        except Exception as e:  # noqa: BLE001 - any exception is what the user sees
            self.record(call, "breaks", exc_text(e) + " @ " + traceback.extract_tb(e.__traceback__)[-1].name)
            return
        if self.expect_error():
            self.record(call, "degraded", f"no exception, although the server answered {self.status}")
            return
        try:
            outcome, detail = check(result)
        except Exception as e:  # noqa: BLE001 - reading the result raised: a user reading it raises too
            outcome, detail = "breaks", exc_text(e)
        self.record(call, outcome, detail)

    def check_error(self, call, e):
        want = self.case["expect"]["status"]
        cls = ERROR_CLASSES.get(want, openai.InternalServerError if want >= 500 else openai.APIStatusError)
        message = server_message(self.raw)
        if not isinstance(e, cls):
            self.record(call, "degraded", f"{type(e).__name__} where {cls.__name__} was due: {e}"[:400])
        elif message and message not in str(e):
            self.record(call, "degraded", f"the server's message {message!r} is not in the exception: {e}"[:400])
        else:
            self.record(call, "ok", exc_text(e))

    # --- per endpoint -------------------------------------------------------------------------------------

    def run(self):
        req = self.case["request"]
        path = req["path"].strip("/")
        if path == "chat/completions":
            self.chat()
        elif path == "embeddings":
            self.embeddings()
        elif path == "models":
            self.attempt("models.list", lambda: [m for m in self.client.models.list()], self.check_models)
        elif path.startswith("models/"):
            self.attempt("models.retrieve", lambda: self.client.models.retrieve(path[len("models/"):]), self.check_model)
        elif path == "images/generations":
            fn = self.client.images.generate
            self.attempt("images.generate", lambda: fn(**split_kwargs(fn, self.body)), self.check_images)
        elif path == "batches":
            fn = self.client.batches.create
            self.attempt("batches.create", lambda: fn(**split_kwargs(fn, self.body)), self.check_batch)
        elif path == "responses":
            fn = self.client.responses.create
            self.attempt("responses.create", lambda: fn(**split_kwargs(fn, self.body)), self.check_response)
        elif path.startswith("batches/"):
            self.attempt("batches.retrieve", lambda: self.client.batches.retrieve(path[len("batches/"):]), self.check_batch)
        else:
            self.record("none", "n/a", f"no SDK call for {req['method']} {path}")
        return {"name": self.case["name"], "outcome": worst(self.calls), "calls": self.calls}

    def wire_json(self):
        return json.loads(self.raw)

    def chat_kwargs(self, fn):
        body = dict(self.body)
        body.setdefault("messages", [])  # a request the SDK cannot send without them (errors::missing_messages)
        body.setdefault("model", "model")
        body.pop("stream", None)
        return split_kwargs(fn, body)

    def chat(self):
        c = self.client.chat.completions
        if self.case["stream"]:
            kw = self.chat_kwargs(c.create)
            self.attempt("chat.completions.create(stream=True) iteration", lambda: list(c.create(stream=True, **kw)), self.check_iteration)

            def helper():
                with c.stream(**self.chat_kwargs(c.stream)) as s:
                    for _ in s:
                        pass
                    return s.get_final_completion()

            self.attempt("chat.completions.stream().get_final_completion()", helper, self.check_final)
            return
        kw = self.chat_kwargs(c.create)
        self.attempt("chat.completions.create", lambda: c.create(**kw), self.check_completion)
        tools = [t for t in self.body.get("tools") or [] if isinstance(t, dict) and t.get("type") == "function" and (t.get("function") or {}).get("name")]
        if tools:
            # The SDK's tool helper: parse() auto-parses the arguments of calls to strict function tools.
            strict = [{**t, "function": {**t["function"], "strict": True}} for t in tools]
            kw = self.chat_kwargs(c.parse)
            kw["tools"] = strict
            self.attempt("chat.completions.parse(tools=<strict function tools>) parsed_arguments", lambda: c.parse(**kw), self.check_parsed_arguments)
        fmt = self.body.get("response_format") or {}
        if fmt.get("type") == "json_object":
            self.attempt("chat.completions.parse + json.loads(content)", lambda: c.parse(**self.chat_kwargs(c.parse)), self.check_parsed)
        elif fmt.get("type") == "json_schema":
            # A user of parse() passes a model; the SDK validates the content against it.
            model = model_from_schema("Answer", (fmt.get("json_schema") or {}).get("schema") or {})
            kw = self.chat_kwargs(c.parse)
            kw["response_format"] = model
            self.attempt("chat.completions.parse(response_format=<pydantic model>)", lambda: c.parse(**kw), lambda r: ("ok", ""))

    def check_completion(self, r):
        parse_tool_arguments(r.choices)
        wire = chat_view(self.wire_json().get("choices"))
        got = chat_view(r.choices)
        if got != wire:
            return "degraded", f"the SDK's choices differ from the wire's: {got} vs {wire}"[:400]
        return "ok", ""

    def check_parsed_arguments(self, r):
        """Each function call the wire carries comes back with its arguments parsed, as a tool loop reads them."""
        choices = self.wire_json().get("choices") or [{}]
        wire = (choices[0] if isinstance(choices[0], dict) else {}).get("message") or {}
        wire_calls = [c for c in (wire.get("tool_calls") or []) if isinstance(c, dict) and isinstance(c.get("function"), dict)]
        got = [c for ch in r.choices for c in (ch.message.tool_calls or [])]
        for i, call in enumerate(wire_calls):
            sdk = got[i] if i < len(got) else None
            parsed = getattr(getattr(sdk, "function", None), "parsed_arguments", None)
            if parsed is None:
                return "degraded", f"tool call {i}: parsed_arguments is None (type {call.get('type')!r}, name {call['function'].get('name')!r})"
        return "ok", ""

    def check_parsed(self, r):
        content = r.choices[0].message.content
        json.loads(content)
        return "ok", ""

    def check_iteration(self, chunks):
        got = {}
        for ch in chunks:
            for c in ch.choices or []:
                got[c.index] = got.get(c.index, "") + (g(c, "delta", "content") or "")
        wire = {i: a["content"] for i, a in wire_stream_view(sse_chunks(self.raw)).items()}
        if got != wire:
            return "degraded", f"iterated text {got} differs from the wire's {wire}"[:400]
        return "ok", ""

    def check_final(self, final):
        parse_tool_arguments(final.choices)
        wire = wire_stream_view(sse_chunks(self.raw))
        problems = []
        for i, a in wire.items():
            c = next((c for c in final.choices if c.index == i), None)
            if c is None:
                problems.append(f"choice {i} missing from the final completion")
                continue
            m = c.message
            if a["role"] is not None and g(m, "role") != a["role"]:
                problems.append(f"choice {i}: role {g(m, 'role')!r}, the wire sent {a['role']!r}")
            if (g(m, "content") or "") != a["content"]:
                problems.append(f"choice {i}: content {g(m, 'content')!r}, the wire sent {a['content']!r}")
            if g(c, "finish_reason") != a["finish_reason"]:
                problems.append(f"choice {i}: finish_reason {g(c, 'finish_reason')!r}, the wire sent {a['finish_reason']!r}")
            calls = [(g(t, "id"), g(t, "function", "name"), g(t, "function", "arguments")) for t in (g(m, "tool_calls") or [])]
            want = [tuple(v) for _, v in sorted(a["calls"].items(), key=lambda kv: (kv[0] is None, kv[0] or 0))]
            if calls != want:
                problems.append(f"choice {i}: tool calls {calls}, the wire sent {want}")
        return ("degraded", "; ".join(problems)[:400]) if problems else ("ok", "")

    def embeddings(self):
        fn = self.client.embeddings.create
        body = dict(self.body)
        # The SDK sends encoding_format base64 by default and decodes it: a user leaves it out.
        if body.get("encoding_format") == "base64":
            body.pop("encoding_format")
        self.attempt("embeddings.create", lambda: fn(**split_kwargs(fn, body)), self.check_embeddings)

    def check_embeddings(self, r):
        wire = self.wire_json().get("data") or []
        if len(r.data) != len(wire):
            return "degraded", f"{len(r.data)} embeddings, the wire sent {len(wire)}"
        for mine, theirs in zip(r.data, wire):
            vec = theirs.get("embedding")
            if isinstance(vec, str):
                raw = base64.b64decode(vec)
                vec = list(struct.unpack(f"<{len(raw) // 4}f", raw))
            got = mine.embedding
            if not isinstance(got, list) or len(got) != len(vec) or any(not close(a, b) for a, b in zip(got, vec)):
                return "degraded", f"embedding {theirs.get('index')}: the SDK's vector differs from the wire's"
        return "ok", ""

    def check_models(self, models):
        wire = [m.get("id") for m in self.wire_json().get("data") or []]
        got = [g(m, "id") for m in models]
        return ("ok", "") if got == wire else ("degraded", f"model ids {got} vs the wire's {wire}"[:400])

    def check_model(self, m):
        wire = self.wire_json().get("id")
        return ("ok", "") if g(m, "id") == wire else ("degraded", f"id {g(m, 'id')!r} vs the wire's {wire!r}")

    def check_images(self, r):
        wire = [(d.get("b64_json"), d.get("url")) for d in self.wire_json().get("data") or []]
        got = [(g(d, "b64_json"), g(d, "url")) for d in r.data or []]
        return ("ok", "") if got == wire else ("degraded", "the SDK's images differ from the wire's")

    def check_response(self, r):
        wire = self.wire_json()
        want = (wire.get("id"), len(wire.get("output") or []))
        got = (g(r, "id"), len(g(r, "output") or []))
        return ("ok", "") if got == want else ("degraded", f"response {got} vs the wire's {want}")

    def check_batch(self, b):
        wire = self.wire_json()
        want = (wire.get("id"), wire.get("status"), wire.get("output_file_id"))
        got = (g(b, "id"), g(b, "status"), g(b, "output_file_id"))
        return ("ok", "") if got == want else ("degraded", f"batch {got} vs the wire's {want}")


def main():
    # pydantic warns when the SDK serializes a value of the wrong type: that is what the driver measures, not noise.
    warnings.simplefilter("ignore")
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--serve", required=True, help="base URL of `compat serve`")
    ap.add_argument("--only", action="append", default=[], help="only cases whose name contains this")
    args = ap.parse_args()
    with urllib.request.urlopen(args.serve.rstrip("/") + "/_compat/index.json", timeout=10) as r:
        index = json.load(r)["cases"]
    results = []
    for case in index:
        if args.only and not any(s in case["name"] for s in args.only):
            continue
        try:
            results.append(Driver(case).run())
        except Exception as e:  # noqa: BLE001 - a driver bug must not hide the other cases
            results.append({"name": case["name"], "outcome": "error", "calls": [{"call": "driver", "outcome": "error", "detail": exc_text(e)}]})
    json.dump({"driver": "openai-python", "sdk_version": openai.__version__, "results": results}, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
