// moeinfer serve driven by the official OpenAI Node SDK (openai@4): chat completion,
// streaming with reasoning_content deltas, and errors surfacing as the SDK's error types.
// The server runs with --test-script, a scripted token source standing in for the model
// (the fixture models are random and never close </think>); everything else is real.
//
// Env: MOEINFER_BIN (the moeinfer binary), MOEINFER_MODEL (a fixture GGUF).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import OpenAI from 'openai';

const SCRIPT = 'Let me think about it.\n</think>\n\nHello from the script.';
const API_KEY = 'sk-moeinfer-test';
let server;
let baseURL;

before(async () => {
  const bin = process.env.MOEINFER_BIN;
  const model = process.env.MOEINFER_MODEL;
  assert.ok(bin && model, 'MOEINFER_BIN and MOEINFER_MODEL must be set');
  server = spawn(bin, ['serve', '-m', model, '--port', '0', '-c', '2048', '-np', '2', '-t', '1', '-tb', '1',
                       '--api-key', API_KEY, '--test-script', SCRIPT], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('server did not start: ' + out)), 60000);
    server.stdout.on('data', (d) => {
      out += d.toString();
      const m = out.match(/listening on http:\/\/[^:]+:(\d+)/);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    server.on('error', (e) => reject(e));
    server.on('exit', (code) => reject(new Error('server exited with ' + code + ': ' + out)));
  });
  baseURL = `http://127.0.0.1:${port}/v1`;
  for (let i = 0; i < 600; ++i) {
    const r = await fetch(`http://127.0.0.1:${port}/health`);
    if (r.status === 200) return;
    await new Promise((r2) => setTimeout(r2, 50));
  }
  throw new Error('server never became ready');
});

after(() => { if (server) server.kill('SIGTERM'); });

const client = () => new OpenAI({ apiKey: API_KEY, baseURL, maxRetries: 0 });
const messages = [{ role: 'user', content: 'Say hello.' }];

test('chat completion', async () => {
  const r = await client().chat.completions.create({ model: 'moeinfer', messages });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(r.choices[0].message.content, 'Hello from the script.');
  assert.equal(r.choices[0].message.reasoning_content, 'Let me think about it.');
  assert.equal(r.choices[0].finish_reason, 'stop');
  assert.ok(r.usage.prompt_tokens > 0);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
});

test('streaming with reasoning_content deltas', async () => {
  const stream = await client().chat.completions.create({
    model: 'moeinfer', messages, stream: true, stream_options: { include_usage: true },
  });
  let reasoning = '';
  let content = '';
  let reasoningDeltas = 0;
  let finish = null;
  let usage = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    if (!chunk.choices.length) continue;
    const d = chunk.choices[0].delta;
    if (d.reasoning_content) { reasoning += d.reasoning_content; ++reasoningDeltas; }
    if (d.content) content += d.content;
    if (chunk.choices[0].finish_reason) finish = chunk.choices[0].finish_reason;
  }
  assert.equal(reasoning, 'Let me think about it.');
  assert.ok(reasoningDeltas > 1);
  assert.equal(content, 'Hello from the script.');
  assert.equal(finish, 'stop');
  assert.ok(usage && usage.completion_tokens > 0);
});

test('a 400 surfaces as BadRequestError', async () => {
  await assert.rejects(
    client().chat.completions.create({ model: 'moeinfer', messages, max_tokens: -1 }),
    (err) => err instanceof OpenAI.BadRequestError && err.status === 400 && typeof err.message === 'string');
  await assert.rejects(
    client().chat.completions.create({ model: 'moeinfer', messages: [] }),
    OpenAI.BadRequestError);
});

test('a wrong key surfaces as AuthenticationError', async () => {
  const bad = new OpenAI({ apiKey: 'wrong', baseURL, maxRetries: 0 });
  await assert.rejects(bad.models.list(), OpenAI.AuthenticationError);
  const models = await client().models.list();
  assert.equal(models.data.length, 1);
});
