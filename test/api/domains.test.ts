/**
 * GET /v1/domains: the table the API serves is the one it enforces — each domain's entry equals
 * DOMAIN_RULES, MODEL_NAME_RULES, PRIVATE_PROTOCOL_BY_DOMAIN, the backbone task tables and the
 * upload layouts; the served pattern judges names as the API's rule does; the upload layout lists
 * exactly the paths the layout check reports missing from an empty upload, with the words it uses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startApi, type TestApi } from '../support/apiServer';
import {
  DOMAIN_RULES,
  DOMAINS,
  MODEL_NAME_RULES,
  PRIVATE_PROTOCOL_BY_DOMAIN,
  type Domain,
} from '../../contracts/domain';
import { ADAPTATIONS_BY_TASK, METRIC_BY_TASK, TASKS_BY_DOMAIN } from '../../contracts/backbone';
import { UPLOAD_LAYOUTS } from '../../contracts/uploadLayout';
import type { DomainView } from '../../contracts/domainTable';
import { checkUploadTree } from '../../storage/uploadCheck';

let api: TestApi;
let user: { id: string; apiKey: string };
let reviewer: { id: string; apiKey: string };
let emptyDir: string;

beforeAll(async () => {
  api = await startApi();
  user = await api.createUser('user');
  reviewer = await api.createUser('reviewer');
  emptyDir = await mkdtemp(path.join(os.tmpdir(), 'proctor-empty-upload-'));
});

afterAll(async () => {
  await api?.close();
  await rm(emptyDir, { recursive: true, force: true });
});

async function table(key: string): Promise<DomainView[]> {
  const res = await api.request('GET', '/v1/domains', { key });
  expect(res.status, res.text).toBe(200);
  return res.body.items as DomainView[];
}

describe('GET /v1/domains', () => {
  it('serves every domain, in order, with the rules the API enforces', async () => {
    const items = await table(user.apiKey);
    expect(items.map((d) => d.domain)).toEqual([...DOMAINS]);
    for (const served of items) {
      const d = served.domain;
      const rules = DOMAIN_RULES[d];
      expect(served, d).toMatchObject({
        deploymentMethods: [...rules.deploymentMethods],
        apiRequires: [...rules.apiRequires],
        modelTypes: [...rules.modelTypes],
        verification: rules.verification,
        robustness: rules.robustness,
        unavailable: rules.unavailable,
        modelName: { pattern: MODEL_NAME_RULES[d].pattern.source, rule: MODEL_NAME_RULES[d].rule },
        privateProtocol: PRIVATE_PROTOCOL_BY_DOMAIN[d],
        upload: UPLOAD_LAYOUTS[d],
      });
      const tasks = d === 'cv' || d === 'audio' ? TASKS_BY_DOMAIN[d] : [];
      expect(served.tasks, d).toEqual(
        tasks.map((task) => ({ task, adaptations: [...ADAPTATIONS_BY_TASK[task]], metric: METRIC_BY_TASK[task] })),
      );
    }
    // The seeds' table, spelled out where a mistake in the sources would hide from the comparison above.
    const by = Object.fromEntries(items.map((d) => [d.domain, d])) as Record<Domain, DomainView>;
    expect(by.safety.deploymentMethods).toEqual(['api']);
    expect(by.cv.deploymentMethods).toEqual(['private']);
    expect(by.cv.tasks.find((t) => t.task === 'segmentation')?.adaptations).toEqual(['upernet', 'setr']);
    expect(by.audio.modelTypes).toEqual([]);
    expect(by.safety.upload).toBeNull();
  });

  it('serves a name pattern that accepts and refuses what the API does', async () => {
    const items = await table(user.apiKey);
    const names = ['abc', 'ResNet_50.v1', 'vit-b16', 'A', 'has space', 'x'.repeat(40), 'ab-', '9lives'];
    for (const served of items) {
      const pattern = new RegExp(served.modelName.pattern);
      for (const name of names)
        expect(pattern.test(name), `${served.domain} ${name}`).toBe(MODEL_NAME_RULES[served.domain].pattern.test(name));
    }
    const cv = items.find((d) => d.domain === 'cv')!;
    expect(new RegExp(cv.modelName.pattern).test('ResNet_50.v1')).toBe(true);
    const nlp = items.find((d) => d.domain === 'nlp')!;
    expect(new RegExp(nlp.modelName.pattern).test('ResNet_50.v1')).toBe(false);
  });

  it("lists in each upload layout exactly what the layout check requires, in the check's words", async () => {
    for (const served of await table(user.apiKey)) {
      if (served.upload === null) continue;
      const report = await checkUploadTree(emptyDir, served.domain);
      const required = report.problems.filter((p) => p.rule === 'required');
      expect(required.map((p) => p.path).sort(), served.domain).toEqual(served.upload.files.map((f) => f.path).sort());
      for (const file of served.upload.files) {
        const problem = required.find((p) => p.path === file.path)!;
        expect(problem.message, `${served.domain} ${file.path}`).toContain(file.what);
      }
    }
  });

  it('answers every role the same, and no caller without a key', async () => {
    expect(await table(reviewer.apiKey)).toEqual(await table(user.apiKey));
    expect((await api.request('GET', '/v1/domains')).status).toBe(401);
  });
});
