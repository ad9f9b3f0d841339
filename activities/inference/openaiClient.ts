/**
 * The OpenAI SDK client for an endpoint a user named (a model under evaluation or a judge). Three
 * things hold for every such client: the worker's own OPENAI_* settings are never sent to it (the
 * SDK would otherwise fill key, organisation and project from the environment and hand the
 * operator's credentials to whatever URL a user typed); the SDK does not retry, so the caller alone
 * decides and counts attempts; and requests go over kept-alive node:http (nodeHttpFetch.ts), refusing
 * the networks the platform does not call when the URL is a user's, and answers past a size.
 */
import OpenAI from 'openai';
import { fetchOver, fetchStoppedBy, type EndpointTransport } from './nodeHttpFetch';

export interface EndpointClientOptions {
  baseURL: string;
  /** Null for endpoints without auth; the SDK insists on a key, so one that they ignore is sent. */
  apiKey: string | null;
  timeoutMs: number;
  /** Every request in flight ends when this aborts (a batch's stop), without a signal per call. */
  stop?: AbortSignal;
  /** The networks refused and the largest answer read (nodeHttpFetch.ts). */
  transport?: EndpointTransport;
}

export function createEndpointClient(o: EndpointClientOptions): OpenAI {
  return new OpenAI({
    baseURL: o.baseURL,
    apiKey: o.apiKey ?? 'none',
    adminAPIKey: null,
    organization: null,
    project: null,
    webhookSecret: null,
    maxRetries: 0,
    timeout: o.timeoutMs,
    fetch: o.stop ? fetchStoppedBy(o.stop, o.transport) : fetchOver(o.transport ?? {}),
  });
}
