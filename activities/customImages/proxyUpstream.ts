/**
 * Where the inference proxy sends a job's request: an OpenAI-compatible endpoint, with the real key
 * added and the endpoint network policy and answer cap of the batch activity (nodeHttpFetch.ts), or
 * a private deployment's `/func` service, spoken to in its own protocol (funcTranslation.ts). Either
 * way the answer comes back as a ProxyAnswer, and a failure as a ProxyError a job's client can read.
 */
import { estimateTokens } from '../inference/modelEndpoint';
import { nodeHttpFetch } from '../inference/nodeHttpFetch';
import { funcCompletions, funcRequest, openaiAnswer, shortDescription } from './funcTranslation';
import type { ProxyTarget } from './inferenceProxy';
import { badUpstream, errorBody, transportFailure, type ProxyAnswer } from './proxyErrors';

export type ProxyRoute = 'chat' | 'completions' | 'models';

export interface UpstreamRequest {
  route: ProxyRoute;
  /** The job's JSON body (POST routes), null for GET /v1/models. */
  body: Record<string, unknown> | null;
  /** Aborts when the job ends or its caller goes away; the caller tells which. */
  signal: AbortSignal;
}

export type Upstream = (request: UpstreamRequest) => Promise<ProxyAnswer>;

export function upstreamFor(target: ProxyTarget): Upstream {
  return target.kind === 'openai' ? openaiUpstream(target) : funcUpstream(target);
}

const OPENAI_PATHS: Record<ProxyRoute, string> = {
  chat: '/chat/completions',
  completions: '/completions',
  models: '/models',
};

/** Upstream headers a client may act on; nothing else of the upstream's is passed on. */
const PASSED_HEADERS = ['retry-after', 'retry-after-ms'];

function openaiUpstream(target: Extract<ProxyTarget, { kind: 'openai' }>): Upstream {
  const base = target.baseUrl.replace(/\/+$/, '');
  const what = 'the model endpoint';
  return async ({ route, body, signal }) => {
    // Only what the proxy itself decides is sent: never the job's token or any other of its headers.
    const headers: Record<string, string> = { accept: 'application/json' };
    if (target.apiKey) headers.authorization = `Bearer ${target.apiKey}`;
    let payload: string | undefined;
    if (body) {
      headers['content-type'] = 'application/json';
      // The user's key pays for the model the user chose; the job may not pick another.
      payload = JSON.stringify(target.model ? { ...body, model: target.model } : body);
    }
    const timeout = AbortSignal.timeout(target.requestTimeoutMs);
    let response: Response;
    let text: string;
    try {
      response = await nodeHttpFetch(
        `${base}${OPENAI_PATHS[route]}`,
        { method: body ? 'POST' : 'GET', headers, body: payload, signal: AbortSignal.any([signal, timeout]) },
        target.transport ?? {},
      );
      text = withoutSecret(await response.text(), target.apiKey);
    } catch (error) {
      if (signal.aborted) throw error;
      throw transportFailure(error, {
        what,
        timedOut: timeout.aborted,
        timeoutMs: target.requestTimeoutMs,
        secrets: [target.apiKey],
      });
    }
    const status = response.status;
    const json = parseJson(text);
    if (status >= 200 && status < 300) {
      if (json === undefined) throw badUpstream(`${what} answered HTTP ${status} with a body that is not JSON`);
      return { status, body: json, usage: route === 'models' ? undefined : reportedUsage(route, json) };
    }
    if (status < 400)
      throw badUpstream(
        `${what} answered HTTP ${status}, which the proxy neither follows nor passes on`,
        'upstream_status',
      );
    const passed: Record<string, string> = {};
    for (const name of PASSED_HEADERS) {
      const value = response.headers.get(name);
      if (value !== null) passed[name] = value;
    }
    // Its own error, as it sent it; a body that is not JSON (a gateway's HTML page) is described instead.
    return {
      status,
      headers: passed,
      body:
        json === undefined
          ? errorBody(`${what} answered HTTP ${status}: ${shortDescription(text)}`, 'upstream_error', 'upstream_status')
          : json,
    };
  };
}

function funcUpstream(target: Extract<ProxyTarget, { kind: 'func' }>): Upstream {
  const url = `${target.baseUrl.replace(/\/+$/, '')}/func`;
  const what = 'the model service';
  return async ({ route, body, signal }) => {
    if (route === 'models') return { status: 200, body: { object: 'list', data: [modelEntry(target.engine)] } };
    const request = funcRequest(route, body ?? {}, target.engine);
    const timeout = AbortSignal.timeout(target.requestTimeoutMs);
    let response: Response;
    let text: string;
    try {
      response = await nodeHttpFetch(
        url,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(request),
          signal: AbortSignal.any([signal, timeout]),
        },
        { maxAnswerBytes: target.maxAnswerBytes },
      );
      text = await response.text();
    } catch (error) {
      if (signal.aborted) throw error;
      throw transportFailure(error, {
        what,
        timedOut: timeout.aborted,
        timeoutMs: target.requestTimeoutMs,
        secrets: [],
      });
    }
    const json = parseJson(text);
    if (!response.ok) {
      const detail =
        json !== undefined && typeof json === 'object' && json !== null && 'error' in json ? json.error : text;
      throw badUpstream(`${what} answered HTTP ${response.status}: ${shortDescription(detail)}`, 'upstream_status');
    }
    if (json === undefined) throw badUpstream(`${what} answered with a body that is not JSON`);
    const answer = openaiAnswer(route, request, funcCompletions(json));
    return {
      status: 200,
      body: answer,
      usage: { promptTokens: answer.usage.prompt_tokens, completionTokens: answer.usage.completion_tokens },
    };
  };
}

function modelEntry(id: string) {
  return { id, object: 'model', created: 0, owned_by: 'proctor' };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * An upstream that echoes its request (or a misconfigured gateway) can put the key into its answer;
 * it is cut out, raw and as JSON escapes it, before the answer reaches the job.
 */
export function withoutSecret(text: string, secret: string | null): string {
  if (!secret) return text;
  let out = text.split(secret).join('[redacted]');
  const escaped = JSON.stringify(secret).slice(1, -1);
  if (escaped !== secret) out = out.split(escaped).join('[redacted]');
  return out;
}

/** The upstream's own count when it sent one; completion tokens estimated by words when it did not. */
function reportedUsage(
  route: 'chat' | 'completions',
  answer: unknown,
): { promptTokens: number; completionTokens: number } {
  const { usage, choices } = (answer ?? {}) as { usage?: unknown; choices?: unknown };
  const count = (name: string): number | null => {
    const value = (usage as Record<string, unknown> | null | undefined)?.[name];
    return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : null;
  };
  const completion =
    count('completion_tokens') ??
    (Array.isArray(choices)
      ? choices.reduce((sum: number, c: unknown) => sum + estimateTokens(choiceText(route, c)), 0)
      : 0);
  return { promptTokens: count('prompt_tokens') ?? 0, completionTokens: completion };
}

function choiceText(route: 'chat' | 'completions', choice: unknown): string {
  if (typeof choice !== 'object' || choice === null) return '';
  if (route === 'completions') {
    const text = (choice as { text?: unknown }).text;
    return typeof text === 'string' ? text : '';
  }
  const content = (choice as { message?: { content?: unknown } }).message?.content;
  return typeof content === 'string' ? content : '';
}
