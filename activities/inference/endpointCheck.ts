/**
 * The endpoint check's calls, on an inference worker: the evaluation's endpoint and key are read
 * and opened here, as a run's batch opens them, and the same client and network rules apply (the
 * refused networks, the answer cap). Nothing is stored and nothing is retried: the check reports
 * what one attempt of each call found.
 */
import { endpointSettingsOr, type ActivityDeps } from '../activityDeps';
import {
  ENDPOINT_CHECK_CALL_TIMEOUT_MS,
  ENDPOINT_CHECK_MAX_TOKENS,
  ENDPOINT_CHECK_PROMPT,
  type EndpointCheckInput,
  type EndpointCheckStep,
  type EndpointCheckView,
} from '../../contracts/endpointCheck';
import { evaluationsByIds } from '../../db/queries/evaluations';
import { openSecret } from '../../db/secretBox';
import { createEndpointClient } from './openaiClient';
import { createModelEndpoint } from './modelEndpoint';
import { classifyInferenceError, InferenceError } from './inferenceErrors';

export function createEndpointCheckActivities({ db, secretKey, endpoints: configured }: ActivityDeps) {
  const endpoints = endpointSettingsOr(configured);
  return {
    async checkEndpoint({ evaluationId }: EndpointCheckInput): Promise<EndpointCheckView> {
      const [evaluation] = await evaluationsByIds(db, [evaluationId]);
      if (!evaluation) throw new Error(`evaluation ${evaluationId} no longer exists`);
      const deployment = evaluation.deployment;
      if (deployment.method !== 'api') throw new Error(`evaluation ${evaluationId} has no API deployment`);
      const apiKey = evaluation.apiKeyCipher ? openSecret(secretKey, evaluation.apiKeyCipher) : null;
      const apiMode = deployment.apiMode ?? 'chat';
      const secrets = { timeoutMs: ENDPOINT_CHECK_CALL_TIMEOUT_MS, secrets: [apiKey] };
      const steps: EndpointCheckStep[] = [];
      const view = (model: string | null): EndpointCheckView => ({
        ok: steps.some((s) => s.step === 'completion' && s.status === 'passed'),
        endpoint: deployment.endpoint,
        model,
        apiMode,
        steps,
        checkedAt: new Date().toISOString(),
      });

      // 1. The model list: whether anything answers there, and what it serves.
      const client = createEndpointClient({
        baseURL: deployment.endpoint,
        apiKey,
        timeoutMs: ENDPOINT_CHECK_CALL_TIMEOUT_MS,
        transport: endpoints,
      });
      let listed: string[] | null = null;
      let started = performance.now();
      try {
        const page = await client.models.list();
        listed = (page?.data ?? []).flatMap((m) => (typeof m?.id === 'string' && m.id !== '' ? [m.id] : []));
        steps.push({
          step: 'reachable',
          status: 'passed',
          latencyMs: elapsed(started),
          detail: `GET ${deployment.endpoint.replace(/\/+$/, '')}/models answered with ${listed.length} model(s)`,
        });
      } catch (error) {
        const c = classifyInferenceError(error, secrets);
        const answered = !['connection', 'timeout', 'denied', 'aborted'].includes(c.kind);
        steps.push({
          step: 'reachable',
          status: answered ? 'passed' : 'failed',
          latencyMs: elapsed(started),
          detail: answered
            ? `the endpoint answered, but listing its models failed: ${c.message}`
            : `the endpoint could not be reached: ${c.message}`,
        });
        if (!answered) {
          steps.push(skipped('model', 'the endpoint could not be reached'));
          steps.push(skipped('completion', 'the endpoint could not be reached'));
          return view(deployment.onlineModelName ?? null);
        }
        if (c.kind === 'auth') {
          steps.push(skipped('model', `the endpoint refused the key: ${c.message}`));
          steps.push(skipped('completion', `the endpoint refused the key: ${c.message}`));
          return view(deployment.onlineModelName ?? null);
        }
      }

      // 2. The model: the one named, or the first listed (as a run chooses it).
      let model = deployment.onlineModelName ?? null;
      if (model && listed) {
        steps.push(
          listed.includes(model)
            ? { step: 'model', status: 'passed', latencyMs: null, detail: `${model} is listed` }
            : {
                step: 'model',
                status: 'warning',
                latencyMs: null,
                detail: `${model} is not among the ${listed.length} listed (${listed.slice(0, 10).join(', ')}${listed.length > 10 ? ', …' : ''}); the completion below says whether the endpoint serves it anyway`,
              },
        );
      } else if (model) {
        steps.push({
          step: 'model',
          status: 'warning',
          latencyMs: null,
          detail: `the endpoint's model list could not be read, so whether it serves ${model} is told by the completion below`,
        });
      } else if (listed && listed.length > 0) {
        model = listed[0]!;
        steps.push({
          step: 'model',
          status: 'passed',
          latencyMs: null,
          detail: `no online model name is set: runs ask the first listed model, ${model}`,
        });
      } else {
        steps.push({
          step: 'model',
          status: 'failed',
          latencyMs: null,
          detail: 'no online model name is set and the endpoint lists no models: set deployment.onlineModelName',
        });
        steps.push(skipped('completion', 'there is no model to ask'));
        return view(null);
      }

      // 3. One tiny completion, as a run's first sample would be asked.
      const endpoint = createModelEndpoint({
        endpoint: deployment.endpoint,
        apiKey,
        onlineModelName: model,
        apiMode,
        requestTimeoutMs: ENDPOINT_CHECK_CALL_TIMEOUT_MS,
        transport: endpoints,
      });
      started = performance.now();
      try {
        const answer = await endpoint.complete(
          ENDPOINT_CHECK_PROMPT,
          { maxTokens: ENDPOINT_CHECK_MAX_TOKENS, temperature: 0, topP: 1 },
          new AbortController().signal,
        );
        steps.push({
          step: 'completion',
          status: 'passed',
          latencyMs: elapsed(started),
          detail: `${model} answered ${JSON.stringify(answer.text.slice(0, 200))} (${answer.outputTokens} token(s))`,
        });
      } catch (error) {
        const message =
          error instanceof InferenceError ? error.message : classifyInferenceError(error, secrets).message;
        steps.push({
          step: 'completion',
          status: 'failed',
          latencyMs: elapsed(started),
          detail: `${apiMode} completion of ${model} failed: ${message}`,
        });
      }
      return view(model);
    },
  };
}

export type EndpointCheckActivities = ReturnType<typeof createEndpointCheckActivities>;

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}

function skipped(step: EndpointCheckStep['step'], why: string): EndpointCheckStep {
  return { step, status: 'skipped', latencyMs: null, detail: `not tried: ${why}` };
}
