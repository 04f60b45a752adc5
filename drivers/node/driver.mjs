// Drives the official `openai` npm package against `compat serve` and says what an SDK user would get.
//
// The same protocol as drivers/python/driver.py: for every case of the server's index it makes the call a user
// of the SDK makes — `chat.completions.create`, stream iteration *and* the `chat.completions.stream` helper with
// `finalChatCompletion()`, `parse` for structured output, embeddings, models, images, batches — compares what the
// SDK returned with what was on the wire (fetched again with plain `fetch`), and classifies the case `ok`,
// `degraded` (data lost or changed, wrong error class, the server's message missing, no exception where an
// error was due) or `breaks` (an exception where a result was due). Prints one JSON document.
// Usage: drivers/node/node_modules/.bin/node drivers/node/driver.mjs --serve http://127.0.0.1:8080/ [--only S]

import OpenAI from 'openai';
import { VERSION } from 'openai/version';

const RANK = { 'n/a': -1, ok: 0, degraded: 1, breaks: 2 };
const ERROR_CLASSES = {
  400: OpenAI.BadRequestError,
  401: OpenAI.AuthenticationError,
  403: OpenAI.PermissionDeniedError,
  404: OpenAI.NotFoundError,
  409: OpenAI.ConflictError,
  422: OpenAI.UnprocessableEntityError,
  429: OpenAI.RateLimitError,
};

async function rawFetch(c) {
  const req = c.request;
  const body = req.body != null ? JSON.stringify(req.body) : req.raw_body ?? undefined;
  const r = await fetch(c.base_url + req.path, { method: req.method, body, headers: { 'content-type': 'application/json' } });
  return { status: r.status, text: await r.text() };
}

function sseChunks(text) {
  const out = [];
  for (const block of text.replace(/\r\n/g, '\n').split('\n\n')) {
    const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, '')).join('\n');
    if (!data || data.trim() === '[DONE]') continue;
    try {
      out.push(JSON.parse(data));
    } catch {}
  }
  return out;
}

function findMessage(v) {
  if (Array.isArray(v)) {
    for (const x of v) {
      const m = findMessage(x);
      if (m) return m;
    }
  } else if (v && typeof v === 'object') {
    if (typeof v.message === 'string' && v.message) return v.message;
    // FastAPI's error body (llama-cpp-python, vLLM's routes): {"detail": "..."}.
    if (typeof v.detail === 'string' && v.detail) return v.detail;
    for (const x of Object.values(v)) {
      const m = findMessage(x);
      if (m) return m;
    }
  }
  return null;
}

// What the server said in an error body: `error.message` (or the like) of JSON, an `error` string, or, for a body
// that is not JSON (a text or HTML page), the start of its text.
function serverMessage(text) {
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    return String(text ?? '').trim().slice(0, 60) || null;
  }
  if (body && typeof body.error === 'string' && body.error) return body.error;
  return findMessage(body);
}

const g = (o, ...names) => names.reduce((x, n) => (x == null ? undefined : x[n]), o);
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const excText = (e) => `${e?.constructor?.name ?? 'Error'}: ${e?.message ?? e}`.slice(0, 400);

// What a tool loop does with each function call: JSON.parse(arguments) (throws on anything but JSON text).
function parseToolArguments(choices) {
  for (const c of Array.isArray(choices) ? choices : []) {
    const calls = g(c, 'message', 'tool_calls');
    for (const t of Array.isArray(calls) ? calls : []) if (t.type !== 'custom') JSON.parse(g(t, 'function', 'arguments'));
  }
}

function chatView(choices) {
  return (Array.isArray(choices) ? choices : []).map((c) => ({
    content: g(c, 'message', 'content') || null,
    finish_reason: g(c, 'finish_reason') ?? null,
    tool_calls: (Array.isArray(g(c, 'message', 'tool_calls')) ? g(c, 'message', 'tool_calls') : []).map((t) => [g(t, 'id') ?? null, g(t, 'function', 'name') ?? null, g(t, 'function', 'arguments') ?? null]),
  }));
}

function wireStreamView(chunks) {
  const acc = new Map();
  for (const ch of chunks) {
    for (const c of ch.choices ?? []) {
      const i = c.index ?? 0;
      if (!acc.has(i)) acc.set(i, { role: null, content: '', finish_reason: null, calls: new Map() });
      const a = acc.get(i);
      const d = c.delta ?? {};
      if (d.role && a.role == null) a.role = d.role;
      if (typeof d.content === 'string') a.content += d.content;
      for (const t of d.tool_calls ?? []) {
        const k = t.index ?? null;
        if (!a.calls.has(k)) a.calls.set(k, [null, null, '']);
        const s = a.calls.get(k);
        s[0] = s[0] || (t.id ?? null);
        s[1] = s[1] || (g(t, 'function', 'name') ?? null);
        s[2] += g(t, 'function', 'arguments') ?? '';
      }
      if (c.finish_reason != null) a.finish_reason = c.finish_reason;
    }
  }
  return acc;
}


class Driver {
  constructor(c) {
    this.c = c;
    this.client = new OpenAI({ apiKey: 'compat-driver', baseURL: c.base_url, maxRetries: 0, timeout: 10000 });
    this.body = { ...(c.request.body ?? {}) };
    this.calls = [];
  }

  record(call, outcome, detail = '') {
    this.calls.push({ call, outcome, detail });
  }

  expectError() {
    return this.c.expect.status >= 400;
  }

  async attempt(call, fn, check) {
    let result;
    try {
      result = await fn();
    } catch (e) {
      if (e instanceof OpenAI.APIError && e.status && this.expectError()) this.checkError(call, e);
      else this.record(call, 'breaks', excText(e));
      return;
    }
    if (this.expectError()) {
      this.record(call, 'degraded', `no exception, although the server answered ${this.wire.status}`);
      return;
    }
    try {
      const [outcome, detail] = await check(result);
      this.record(call, outcome, detail ?? '');
    } catch (e) {
      this.record(call, 'breaks', excText(e));
    }
  }

  checkError(call, e) {
    const want = this.c.expect.status;
    const cls = ERROR_CLASSES[want] ?? (want >= 500 ? OpenAI.InternalServerError : OpenAI.APIError);
    const message = serverMessage(this.wire.text);
    if (!(e instanceof cls)) this.record(call, 'degraded', `${e.constructor.name} where ${cls.name} was due: ${e.message}`.slice(0, 400));
    else if (message && !String(e.message).includes(message) && !String(e.message).includes(JSON.stringify(message).slice(1, -1)))
      this.record(call, 'degraded', `the server's message ${JSON.stringify(message)} is not in the exception: ${e.message}`.slice(0, 400));
    else this.record(call, 'ok', excText(e));
  }

  wireJson() {
    return JSON.parse(this.wire.text);
  }

  chatBody() {
    const b = { ...this.body };
    b.messages ??= []; // a request the SDK cannot send without them (errors::missing_messages)
    b.model ??= 'model';
    delete b.stream;
    return b;
  }

  async run() {
    this.wire = await rawFetch(this.c);
    const path = this.c.request.path.replace(/^\/+|\/+$/g, '');
    const cl = this.client;
    if (path === 'chat/completions') await this.chat();
    else if (path === 'embeddings') {
      const b = { ...this.body };
      if (b.encoding_format === 'base64') delete b.encoding_format; // the SDK's default, decoded by the SDK
      await this.attempt('embeddings.create', () => cl.embeddings.create(b), (r) => this.checkEmbeddings(r));
    } else if (path === 'models') {
      await this.attempt('models.list', async () => { const out = []; for await (const m of cl.models.list()) out.push(m); return out; }, (ms) => this.checkModels(ms));
    } else if (path.startsWith('models/')) {
      await this.attempt('models.retrieve', () => cl.models.retrieve(path.slice('models/'.length)), (m) => this.checkModel(m));
    } else if (path === 'images/generations') {
      await this.attempt('images.generate', () => cl.images.generate(this.body), (r) => this.checkImages(r));
    } else if (path === 'batches') {
      await this.attempt('batches.create', () => cl.batches.create(this.body), (b) => this.checkBatch(b));
    } else if (path === 'responses') {
      await this.attempt('responses.create', () => cl.responses.create(this.body), (r) => {
        const w = this.wireJson();
        const want = [w.id ?? null, (w.output ?? []).length];
        const got = [r.id ?? null, (r.output ?? []).length];
        return same(got, want) ? ['ok'] : ['degraded', `response ${JSON.stringify(got)} vs the wire's ${JSON.stringify(want)}`];
      });
    } else if (path.startsWith('batches/')) {
      await this.attempt('batches.retrieve', () => cl.batches.retrieve(path.slice('batches/'.length)), (b) => this.checkBatch(b));
    } else this.record('none', 'n/a', `no SDK call for ${this.c.request.method} ${path}`);
    // `n/a` only when no call was made: any call's outcome outranks it.
    const outcome = this.calls.reduce((w, c) => (RANK[c.outcome] > RANK[w] ? c.outcome : w), 'n/a');
    return { name: this.c.name, outcome, calls: this.calls };
  }

  async chat() {
    const cc = this.client.chat.completions;
    if (this.c.stream) {
      await this.attempt(
        'chat.completions.create({stream: true}) iteration',
        async () => { const out = []; for await (const ch of await cc.create({ ...this.chatBody(), stream: true })) out.push(ch); return out; },
        (chunks) => this.checkIteration(chunks),
      );
      await this.attempt(
        'chat.completions.stream().finalChatCompletion()',
        async () => { const s = cc.stream(this.chatBody()); for await (const _ of s) {} return await s.finalChatCompletion(); },
        (f) => this.checkFinal(f),
      );
      return;
    }
    await this.attempt('chat.completions.create', () => cc.create(this.chatBody()), (r) => this.checkCompletion(r));
    const fnTools = (this.body.tools ?? []).filter((t) => t?.type === 'function' && t.function?.name);
    if (fnTools.length) {
      // The tool-runner helper an agent uses: one round (call the model, run each tool it asks for).
      await this.attempt(
        'chat.completions.runTools (one round)',
        async () => {
          const tools = fnTools.map((t) => ({
            type: 'function',
            function: { name: t.function.name, parameters: t.function.parameters ?? { type: 'object' }, parse: JSON.parse, function: () => 'done' },
          }));
          const runner = cc.runTools({ ...this.chatBody(), tools }, { maxChatCompletions: 1 });
          return await runner.finalChatCompletion();
        },
        () => ['ok'],
      );
    }
    const fmt = this.body.response_format ?? {};
    if (fmt.type === 'json_schema' || fmt.type === 'json_object') {
      await this.attempt('chat.completions.parse', () => cc.parse(this.chatBody()), (r) => {
        const m = r.choices[0].message;
        if (fmt.type === 'json_object') JSON.parse(m.content); // what a user does with json_object
        return ['ok'];
      });
    }
  }

  checkCompletion(r) {
    parseToolArguments(r.choices);
    const wire = chatView(this.wireJson().choices);
    const got = chatView(r.choices);
    return same(got, wire) ? ['ok'] : ['degraded', `the SDK's choices differ from the wire's: ${JSON.stringify(got)} vs ${JSON.stringify(wire)}`.slice(0, 400)];
  }

  checkIteration(chunks) {
    const got = {};
    for (const ch of chunks) for (const c of ch.choices ?? []) got[c.index] = (got[c.index] ?? '') + (g(c, 'delta', 'content') ?? '');
    const wire = {};
    for (const [i, a] of wireStreamView(sseChunks(this.wire.text))) wire[i] = a.content;
    return same(got, wire) ? ['ok'] : ['degraded', `iterated text ${JSON.stringify(got)} differs from the wire's ${JSON.stringify(wire)}`.slice(0, 400)];
  }

  checkFinal(f) {
    parseToolArguments(f.choices);
    const problems = [];
    for (const [i, a] of wireStreamView(sseChunks(this.wire.text))) {
      const c = (f.choices ?? []).find((c) => c.index === i);
      if (!c) { problems.push(`choice ${i} missing from the final completion`); continue; }
      const m = c.message ?? {};
      if (a.role != null && m.role !== a.role) problems.push(`choice ${i}: role ${JSON.stringify(m.role)}, the wire sent ${JSON.stringify(a.role)}`);
      if ((m.content ?? '') !== a.content) problems.push(`choice ${i}: content ${JSON.stringify(m.content)}, the wire sent ${JSON.stringify(a.content)}`);
      if ((c.finish_reason ?? null) !== a.finish_reason) problems.push(`choice ${i}: finish_reason ${JSON.stringify(c.finish_reason)}, the wire sent ${JSON.stringify(a.finish_reason)}`);
      const calls = (m.tool_calls ?? []).map((t) => [t.id ?? null, g(t, 'function', 'name') ?? null, g(t, 'function', 'arguments') ?? null]);
      const want = [...a.calls.entries()].sort((x, y) => (x[0] ?? 1e9) - (y[0] ?? 1e9)).map(([, v]) => v);
      if (!same(calls, want)) problems.push(`choice ${i}: tool calls ${JSON.stringify(calls)}, the wire sent ${JSON.stringify(want)}`);
    }
    return problems.length ? ['degraded', problems.join('; ').slice(0, 400)] : ['ok'];
  }

  checkEmbeddings(r) {
    const wire = this.wireJson().data ?? [];
    if ((r.data ?? []).length !== wire.length) return ['degraded', `${(r.data ?? []).length} embeddings, the wire sent ${wire.length}`];
    for (let k = 0; k < wire.length; k++) {
      let vec = wire[k].embedding;
      if (typeof vec === 'string') {
        const buf = Buffer.from(vec, 'base64');
        vec = Array.from(new Float32Array(buf.buffer, buf.byteOffset, Math.floor(buf.length / 4)));
      }
      const got = r.data[k].embedding;
      if (!Array.isArray(got) || got.length !== vec.length || got.some((x, j) => Math.abs(x - vec[j]) > 1e-6 * Math.max(1, Math.abs(vec[j]))))
        return ['degraded', `embedding ${wire[k].index}: the SDK's vector differs from the wire's`];
    }
    return ['ok'];
  }

  checkModels(ms) {
    const wire = (this.wireJson().data ?? []).map((m) => m.id ?? null);
    const got = ms.map((m) => m.id ?? null);
    return same(got, wire) ? ['ok'] : ['degraded', `model ids ${JSON.stringify(got)} vs the wire's ${JSON.stringify(wire)}`.slice(0, 400)];
  }

  checkModel(m) {
    const wire = this.wireJson().id;
    return m.id === wire ? ['ok'] : ['degraded', `id ${JSON.stringify(m.id)} vs the wire's ${JSON.stringify(wire)}`];
  }

  checkImages(r) {
    const wire = (this.wireJson().data ?? []).map((d) => [d.b64_json ?? null, d.url ?? null]);
    const got = (r.data ?? []).map((d) => [d.b64_json ?? null, d.url ?? null]);
    return same(got, wire) ? ['ok'] : ['degraded', "the SDK's images differ from the wire's"];
  }

  checkBatch(b) {
    const w = this.wireJson();
    const want = [w.id ?? null, w.status ?? null, w.output_file_id ?? null];
    const got = [b.id ?? null, b.status ?? null, b.output_file_id ?? null];
    return same(got, want) ? ['ok'] : ['degraded', `batch ${JSON.stringify(got)} vs the wire's ${JSON.stringify(want)}`];
  }
}

async function main() {
  const args = process.argv.slice(2);
  let serve = null;
  const only = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--serve') serve = args[++i];
    else if (args[i] === '--only') only.push(args[++i]);
  }
  if (!serve) {
    console.error('usage: driver.mjs --serve URL [--only SUBSTRING]...');
    process.exit(2);
  }
  const index = (await (await fetch(serve.replace(/\/+$/, '') + '/_compat/index.json')).json()).cases;
  const results = [];
  for (const c of index) {
    if (only.length && !only.some((s) => c.name.includes(s))) continue;
    try {
      results.push(await new Driver(c).run());
    } catch (e) {
      results.push({ name: c.name, outcome: 'error', calls: [{ call: 'driver', outcome: 'error', detail: excText(e) }] });
    }
  }
  process.stdout.write(JSON.stringify({ driver: 'openai-node', sdk_version: VERSION, results }, null, 1) + '\n');
}

main();
