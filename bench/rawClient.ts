/**
 * The physical limit a run is compared with: the same requests Proctor sends (chat completions,
 * the same prompts and sampling parameters), `concurrency` at a time, in a plain loop with no
 * workflow, database or scoring in between. Run as its own process, like the worker, so it has a
 * core to itself and does not share an event loop with the stand-in model:
 *
 *   node --import tsx bench/rawClient.ts '{"url":"http://127.0.0.1:PORT/v1","n":20000,"concurrency":128,"client":"http"}'
 *
 * prints one JSON line: elapsed time, requests per second and per-request latency percentiles.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { generateArithBasic } from '../datasets/builtin/arithBasic';
import { nodeHttpFetch } from '../activities/inference/nodeHttpFetch';

export interface RawClientOptions {
  url: string;
  model?: string;
  n: number;
  concurrency: number;
  /**
   * `http`: node:http with kept-alive connections and nothing else, the cheapest client there is,
   * so what it reaches is the limit of the stand-in and the machine. `sdk`: the OpenAI SDK, as
   * most clients would do it.
   */
  client: RawClientKind;
}

/**
 * `sdk-node-http`: the SDK with the fetch Proctor gives it (activities/inference/nodeHttpFetch.ts).
 */
export type RawClientKind = 'http' | 'sdk' | 'sdk-node-http';

export interface RawClientResult {
  client: RawClientKind;
  n: number;
  concurrency: number;
  errors: number;
  elapsedMs: number;
  perSecond: number;
  /** This client's own CPU time per request (user + system). */
  cpuMsPerRequest: number;
  latencyMs: { mean: number; p50: number; p99: number; max: number };
}

type Send = (prompt: string) => Promise<unknown>;

function sdkSender(o: RawClientOptions): Send {
  const client = new OpenAI({
    baseURL: o.url,
    ...(o.client === 'sdk-node-http' ? { fetch: nodeHttpFetch } : {}),
    apiKey: 'none',
    maxRetries: 0,
    timeout: 60_000,
    adminAPIKey: null,
    organization: null,
    project: null,
    webhookSecret: null,
  });
  return (prompt) =>
    client.chat.completions.create({ ...sampling(o), messages: [{ role: 'user', content: prompt }], stream: false });
}

function httpSender(o: RawClientOptions): Send {
  const agent = new http.Agent({ keepAlive: true });
  const url = new URL(`${o.url.replace(/\/+$/, '')}/chat/completions`);
  return (prompt) =>
    new Promise((resolve, reject) => {
      const body = JSON.stringify({ ...sampling(o), messages: [{ role: 'user', content: prompt }], stream: false });
      const req = http.request(
        url,
        {
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            authorization: 'Bearer none',
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            res.statusCode === 200
              ? resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')))
              : reject(new Error(`HTTP ${res.statusCode}`)),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
}

function sampling(o: RawClientOptions) {
  return { model: o.model ?? 'proctor-reference', max_tokens: 512, temperature: 0, top_p: 1 };
}

export async function rawClientLoop(o: RawClientOptions): Promise<RawClientResult> {
  const send = o.client === 'http' ? httpSender(o) : sdkSender(o);
  const prompts = generateArithBasic(o.n).map((i) => i.prompt);
  const latencies = new Float64Array(o.n);
  let next = 0;
  let errors = 0;
  const lane = async () => {
    while (next < prompts.length) {
      const i = next++;
      const t = performance.now();
      try {
        await send(prompts[i]!);
      } catch {
        errors += 1;
      }
      latencies[i] = performance.now() - t;
    }
  };
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  await Promise.all(Array.from({ length: Math.min(o.concurrency, o.n) }, lane));
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpu0);
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return {
    client: o.client,
    n: o.n,
    concurrency: o.concurrency,
    errors,
    elapsedMs,
    perSecond: (o.n / elapsedMs) * 1000,
    cpuMsPerRequest: (cpu.user + cpu.system) / 1000 / o.n,
    latencyMs: {
      mean: sorted.reduce((s, x) => s + x, 0) / sorted.length,
      p50: at(0.5),
      p99: at(0.99),
      max: sorted[sorted.length - 1]!,
    },
  };
}

const SELF = fileURLToPath(import.meta.url);

/** Runs the loop in a child process and returns what it printed. */
export function rawClientInChild(o: RawClientOptions): Promise<RawClientResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', SELF, JSON.stringify(o)], {
      cwd: path.resolve(path.dirname(SELF), '..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`raw client exited with ${code}: ${err}`));
      resolve(JSON.parse(out.trim().split('\n').pop()!) as RawClientResult);
    });
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === SELF) {
  const result = await rawClientLoop(JSON.parse(process.argv[2] ?? '{}') as RawClientOptions);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
