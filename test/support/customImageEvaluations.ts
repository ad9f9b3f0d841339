/**
 * Custom-image evaluations as their owner makes them through the API: the platform's example image
 * found by name, the stand-in image (jobBehavioursImage.ts) imported as a user's image and approved,
 * an evaluation of an API endpoint given a customImage scoring block, and a run's log lines.
 */
import { randomUUID } from 'node:crypto';
import type { TestApi } from './apiServer';
import { nlpEvaluationBody } from './evaluationBodies';
import { JOB_BEHAVIOURS_IMAGE_REF } from './jobBehavioursImage';

function check(res: { status: number; text: string }, expected: number, what: string): void {
  if (res.status !== expected) throw new Error(`${what}: ${res.status} ${res.text}`);
}

/** The id of the platform's example evaluation image, as GET /v1/images lists it. */
export async function exampleImageId(api: TestApi): Promise<string> {
  const listed = await api.request('GET', '/v1/images?source=platform', { key: api.adminKey });
  check(listed, 200, 'could not list images');
  const image = (listed.body.items as { id: string; name: string }[]).find((i) => i.name === 'proctor-eval-example');
  if (!image) throw new Error(`no platform image proctor-eval-example in ${listed.text}`);
  return image.id;
}

/** The stand-in image as a user's would be: imported by its reference (on the engine already, so nothing is pulled) and approved. */
export async function importBehavioursImage(api: TestApi, key: string): Promise<string> {
  const imported = await api.request('POST', '/v1/images', {
    key,
    body: {
      name: `job-behaviours-${randomUUID().slice(0, 8)}`,
      tag: '1',
      url: JOB_BEHAVIOURS_IMAGE_REF,
      dockerfile: 'FROM python:3.12-slim\nCOPY proctor_job_behaviours /app/proctor_job_behaviours\nUSER 65534\n',
      domains: ['nlp'],
    },
  });
  check(imported, 201, 'could not import the stand-in image');
  const approved = await api.request('POST', `/v1/images/${imported.body.id}/approve`, { key: api.adminKey });
  check(approved, 200, 'could not approve the stand-in image');
  return imported.body.id as string;
}

/** Sets an evaluation's scoring to the custom image block given. */
export async function scoreWithCustomImage(
  api: TestApi,
  key: string,
  evaluationId: string,
  customImage: Record<string, unknown>,
): Promise<void> {
  const scoring = await api.request('PUT', `/v1/evaluations/${evaluationId}/scoring`, { key, body: { customImage } });
  check(scoring, 200, 'could not set the custom image scoring');
}

/** An evaluation of an OpenAI-compatible endpoint (chat) scored by a custom image; returns its id. */
export async function customApiEvaluation(
  api: TestApi,
  key: string,
  o: { url: string; apiKey: string; datasets: string[]; customImage: Record<string, unknown> },
): Promise<string> {
  const created = await api.request('POST', '/v1/evaluations', {
    key,
    body: nlpEvaluationBody({
      datasets: o.datasets,
      deployment: {
        method: 'api',
        endpoint: o.url,
        onlineModelName: 'proctor-reference',
        apiKey: o.apiKey,
        apiMode: 'chat',
      },
    }),
  });
  check(created, 201, 'could not create the evaluation');
  await scoreWithCustomImage(api, key, created.body.id as string, o.customImage);
  return created.body.id as string;
}

/** The messages of a run's log, oldest first. */
export async function runLogMessages(api: TestApi, key: string, runId: string): Promise<string[]> {
  const res = await api.request('GET', `/v1/runs/${runId}/logs?limit=1000`, { key });
  check(res, 200, 'could not read the run logs');
  return (res.body.items as { message: string }[]).map((l) => l.message);
}
