/**
 * The endpoint a run's batches ask: the /func server of its own container when it is served
 * privately, otherwise the OpenAI-compatible endpoint its evaluation names, with the API key
 * unsealed only here, in the worker that makes the requests.
 */
import { openSecret } from '../../db/secretBox';
import type { getRun } from '../../db/queries/runRecords';
import { createFuncEndpoint } from './funcEndpoint';
import { createModelEndpoint, type ModelEndpoint } from './modelEndpoint';
import type { EndpointSettings } from '../../config/env';

type StoredRun = Awaited<ReturnType<typeof getRun>>;

export function runEndpoint(
  run: StoredRun,
  servingUrl: string | undefined,
  secretKey: Buffer,
  endpoints: EndpointSettings,
): ModelEndpoint {
  const { config } = run;
  if (servingUrl) {
    // The run's own container, started by the platform: any address, only the answer cap.
    return createFuncEndpoint({
      baseUrl: servingUrl,
      requestTimeoutMs: config.limits.requestTimeoutMs,
      engine: config.modelName,
      maxAnswerBytes: endpoints.maxAnswerBytes,
    });
  }
  return createModelEndpoint({
    endpoint: config.endpoint,
    apiKey: run.apiKeyCipher ? openSecret(secretKey, run.apiKeyCipher) : null,
    onlineModelName: config.onlineModelName,
    apiMode: config.apiMode,
    requestTimeoutMs: config.limits.requestTimeoutMs,
    systemPrompt: config.inference.systemPrompt,
    transport: endpoints,
  });
}
