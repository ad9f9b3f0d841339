/**
 * One readiness probe of a formal run's endpoint (activities/inference/endpointReadiness.ts), against
 * the reference model and a bare server: ready when the model is listed, or when the list does not
 * say so but a completion comes back; not ready, to be probed again, while the endpoint is down or
 * starting; not ready for good when it refuses the key or sits in a refused network.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeEndpoint, type EndpointTarget } from '../../activities/inference/endpointReadiness';
import { parseDeniedNetworks } from '../../config/endpointNetworks';
import { startReferenceModel, type ReferenceModel } from '../../stack/referenceModel/server';
import { freePort } from '../support/ports';

let model: ReferenceModel;
let locked: ReferenceModel;
let bare: http.Server;
let bareUrl: string;
/** What the bare server answers on GET /v1/models. */
let modelsStatus = 404;
let completions = 0;

beforeAll(async () => {
  model = await startReferenceModel({ port: 0, knobs: { skill: 1 } });
  locked = await startReferenceModel({ port: 0, knobs: { requiredApiKey: 'sk-right' } });
  bare = http.createServer((req, res) => {
    if (req.url === '/v1/models') {
      res.writeHead(modelsStatus, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ error: { message: `status ${modelsStatus}` } }));
    }
    completions += 1;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        id: 'c1',
        object: 'chat.completion',
        created: 1,
        model: 'served',
        choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'OK' } }],
        usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 },
      }),
    );
  });
  await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
  bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/v1`;
});

afterAll(async () => {
  await model.close();
  await locked.close();
  await new Promise((resolve) => bare.close(resolve));
});

const target = (endpoint: string, o: Partial<EndpointTarget> = {}): EndpointTarget => ({
  endpoint,
  apiKey: null,
  onlineModelName: 'proctor-reference',
  apiMode: 'chat',
  ...o,
});

describe('a readiness probe', () => {
  it('is ready when the endpoint lists the model, without asking for a completion', async () => {
    const before = model.stats().requests;
    expect(await probeEndpoint(target(model.url), 5_000, {})).toEqual({
      ready: true,
      detail: 'proctor-reference is listed',
    });
    expect(model.stats().requests).toBe(before);
  });

  it('is ready with no model named when the endpoint lists one, the one a run asks', async () => {
    expect(await probeEndpoint(target(model.url, { onlineModelName: null }), 5_000, {})).toEqual({
      ready: true,
      detail: 'it lists proctor-reference, which the run asks',
    });
  });

  it('is not ready, to be probed again, when the named model is neither listed nor answers', async () => {
    const probe = await probeEndpoint(target(model.url, { onlineModelName: 'gpt-9' }), 5_000, {});
    expect(probe).toMatchObject({ ready: false, final: false });
    expect(probe.ready ? '' : probe.error).toMatch(
      /^gpt-9 is not among the 1 model\(s\) listed, and a chat completion of gpt-9 failed: /,
    );
  });

  it('is not ready, to be probed again, when nothing listens', async () => {
    const probe = await probeEndpoint(target(`http://127.0.0.1:${await freePort()}/v1`), 5_000, {});
    expect(probe).toMatchObject({ ready: false, final: false });
    expect(probe.ready ? '' : probe.error).toMatch(/^the endpoint could not be reached: connection refused/);
  });

  it('asks for a completion when the endpoint has no model list, and is ready when it answers', async () => {
    modelsStatus = 404;
    const before = completions;
    const probe = await probeEndpoint(target(bareUrl, { onlineModelName: 'served' }), 5_000, {});
    expect(probe).toMatchObject({ ready: true });
    expect(probe.ready ? probe.detail : '').toMatch(
      /^listing its models failed: .*, but served answered a completion$/,
    );
    expect(completions).toBe(before + 1);
  });

  it('is not ready while the model list answers 503 (still loading), and asks for no completion', async () => {
    modelsStatus = 503;
    const before = completions;
    const probe = await probeEndpoint(target(bareUrl, { onlineModelName: 'served' }), 5_000, {});
    expect(probe).toMatchObject({ ready: false, final: false });
    expect(probe.ready ? '' : probe.error).toMatch(/^listing its models failed: .*503/);
    expect(completions).toBe(before);
  });

  it('is not ready for good when the endpoint refuses the key', async () => {
    const probe = await probeEndpoint(target(locked.url, { apiKey: 'sk-wrong' }), 5_000, {});
    expect(probe).toMatchObject({ ready: false, final: true });
    expect(await probeEndpoint(target(locked.url, { apiKey: 'sk-right' }), 5_000, {})).toMatchObject({ ready: true });
  });

  it('is not ready for good when the endpoint is in a refused network, and sends nothing', async () => {
    const before = model.stats().modelListings;
    const probe = await probeEndpoint(target(`http://localhost:${model.port}/v1`), 5_000, {
      networks: parseDeniedNetworks('loopback'),
    });
    expect(probe).toMatchObject({ ready: false, final: true });
    expect(probe.ready ? '' : probe.error).toMatch(/is in a network this platform does not call \(loopback\)/);
    expect(model.stats().modelListings).toBe(before);
  });
});
