/**
 * The console's form for every domain, in Chromium against the real API (no workers: nothing is
 * launched): the form follows the domain table the API serves (Safety API only with the online
 * model name and key required, Audio without model type or robustness, CV private with its
 * evaluation tasks and adaptation methods); a CV evaluation created by clicking, the API's 400s
 * placed on the model-name field and on the evaluation task that has no dataset; its page shows the
 * domain's upload layout and, after [Get upload token], the exact command, which uploads a
 * directory when run as shown; the version's check problems on the page as the API reports them;
 * the edit form filled in, an adaptation the API refuses shown on that task's adaptation field.
 * Screenshots in .test-data/artifacts/console-domains/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM_PATH } from '../leaderboard/boardInBrowser';
import { requireEnv } from '../support/env';
import { useTestStack } from '../support/testStack';
import { approvedImageId } from '../support/evaluationBodies';

const stack = useTestStack({ api: true });
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SCREENSHOTS = path.join(path.dirname(requireEnv('PROCTOR_TEST_DATA_DIR')), 'artifacts', 'console-domains');

let browser: Browser;
let page: Page;
let ada: { id: string; apiKey: string };
let uploadDir: string;
let cvImageId: string;
const pageErrors: string[] = [];

beforeAll(async () => {
  await rm(SCREENSHOTS, { recursive: true, force: true });
  await mkdir(SCREENSHOTS, { recursive: true });
  uploadDir = await mkdtemp(path.join(os.tmpdir(), 'proctor-console-upload-'));
  ada = await stack.api.createUser('user');
  cvImageId = await approvedImageId(stack.api, ada.apiKey, ['cv']);
  browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-background-networking'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    // Chromium logs every 4xx answer as a failed resource; the form places those on its fields.
    if (message.type() === 'error' && !/responded with a status of 4\d\d/.test(message.text()))
      pageErrors.push(message.text());
  });
  await page.goto(`${stack.api.url}/console/`);
  await page.getByLabel('API key', { exact: true }).fill(ada.apiKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#sign-out').waitFor();
});

afterAll(async () => {
  await browser?.close();
  await rm(uploadDir, { recursive: true, force: true });
});

const shot = (name: string) => page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
const label = (text: string) => page.getByLabel(text, { exact: true });
const optionValues = (text: string) =>
  label(text)
    .locator('option')
    .evaluateAll((os) => os.map((o) => (o as unknown as { value: string }).value));
const errorOf = (id: string) => page.locator(`#${id}-error`);

describe('the evaluation form, per domain', () => {
  let evaluationId: string;

  it('follows the domain table: NLP every method, Multimodal the API fields required, Safety API only, Audio without model type or robustness', async () => {
    await page.goto(`${stack.api.url}/console/#/evaluations/new`);
    // NLP first: every method, the key optional; a private deployment offers only images serving NLP.
    expect(await label('Evaluation domain').inputValue()).toBe('nlp');
    expect(await optionValues('Deployment method')).toEqual(['api', 'private', 'predictions']);
    await label('API key of the model service (optional)').waitFor();
    await label('Deployment method').selectOption('private');
    expect(await page.locator('#api-deployment').isHidden()).toBe(true);
    expect(await label('Image').locator('option').allTextContents()).toContain('proctor-nlp-serving:1 (preloaded)');
    expect(await optionValues('Image')).not.toContain(cvImageId);
    await label('Evaluation domain').selectOption('multimodal');
    expect(await label('Deployment method').inputValue()).toBe('private');
    expect(await optionValues('Image')).not.toContain(cvImageId);
    await label('Deployment method').selectOption('api');
    await label('Online model name (required)').waitFor();

    await label('Evaluation domain').selectOption('safety');
    expect(await optionValues('Deployment method')).toEqual(['api']);
    await label('Online model name (required)').waitFor();
    await label('API key of the model service (required)').waitFor();
    expect(await page.locator('[data-field-wrap="modelInfo.type"]').isHidden()).toBe(true);
    expect(await page.locator('[data-field-wrap="robustness"]').isHidden()).toBe(true);
    expect(await page.locator('#domain-rules').textContent()).toMatch(/No inference verification/);

    await label('Evaluation domain').selectOption('audio');
    expect(await optionValues('Deployment method')).toEqual(['private']);
    expect(await page.locator('[data-field-wrap="modelInfo.type"]').isHidden()).toBe(true);
    expect(
      await page
        .locator('#backbone-tasks input[type=checkbox]')
        .evaluateAll((os) => os.map((o) => (o as unknown as { value: string }).value)),
    ).toEqual(['keyword_spotting', 'speaker_id']);
    await shot('01-audio-form');
  });

  it('creates a CV evaluation by clicking: tasks and adaptation, the 400s on the model name and on the task without a dataset', async () => {
    await label('Evaluation domain').selectOption('cv');
    expect(await optionValues('Deployment method')).toEqual(['private']);
    expect(await optionValues('Model type')).toEqual(['backbone']);
    expect(await page.locator('#model-name-rule').textContent()).toMatch(
      /^Rule of domain CV: must be 3–128 characters/,
    );
    expect(await page.locator('#inference').isHidden()).toBe(true);
    // No task chosen: no dataset offered; each task brings its own.
    expect(await optionValues('Datasets')).toEqual([]);
    await label('Classification').check();
    await label('Semantic segmentation').check();
    expect(await optionValues('Adaptation method for Semantic segmentation')).toEqual(['upernet', 'setr']);
    await label('Adaptation method for Semantic segmentation').selectOption('setr');
    expect(await optionValues('Datasets')).toEqual(['cv-shapes', 'cv-shapes-seg']);

    await label('Model name').fill('ResNet 50');
    await label('Datasets').selectOption(['cv-shapes']);
    // Approved images that serve CV only: the NLP serving image is not offered.
    expect(await optionValues('Image')).toContain(cvImageId);
    expect(await label('Image').locator('option').allTextContents()).not.toContain('proctor-nlp-serving:1 (preloaded)');
    await label('Image').selectOption(cvImageId);
    await label('GPU type').selectOption('cpu');
    await label('I confirm the model was not trained on the test sets’ annotations').check();
    await page.getByRole('button', { name: 'Submit' }).click();

    await expect
      .poll(() => page.locator('[data-error-for="modelName"]').textContent())
      .toMatch(/\(rule of domain cv\)$/);
    expect(await label('Model name').getAttribute('aria-invalid')).toBe('true');
    expect(await page.evaluate('document.activeElement?.id')).toBe('f-modelName');
    // Every error at once: the segmentation task (backbone.tasks[1].task) has no dataset chosen.
    expect(await errorOf('task-segmentation').textContent()).toMatch(/^has no dataset among datasets/);
    await shot('02-cv-create-errors');
    expect((await stack.api.request('GET', '/v1/evaluations', { key: ada.apiKey })).body.items).toEqual([]);

    const name = `ResNet_50.v${randomUUID().slice(0, 6)}`;
    await label('Model name').fill(name);
    await page.getByRole('button', { name: 'Submit' }).click();
    // The API names the second task by its index in the body: backbone.tasks[1].task, the segmentation row.
    await expect.poll(() => errorOf('task-segmentation').textContent()).toMatch(/has no dataset among datasets/);
    expect(await label('Semantic segmentation').getAttribute('aria-invalid')).toBe('true');
    expect(await errorOf('task-classification').textContent()).toBe('');
    expect(await page.locator('[data-error-for="modelName"]').textContent()).toBe('');

    await label('Datasets').selectOption(['cv-shapes', 'cv-shapes-seg']);
    await page.getByRole('button', { name: 'Submit' }).click();
    await page.waitForURL(/#\/evaluations\/[0-9a-f-]{36}$/);
    evaluationId = /#\/evaluations\/([\w-]+)$/.exec(page.url())![1]!;
    const created = await stack.api.request('GET', `/v1/evaluations/${evaluationId}`, { key: ada.apiKey });
    expect(created.body).toMatchObject({
      domain: 'cv',
      modelName: name,
      datasets: ['cv-shapes', 'cv-shapes-seg'],
      deployment: { method: 'private', gpuType: 'cpu', gpuCount: 1, priority: 'medium' },
      modelInfo: { type: 'backbone' },
      backbone: {
        tasks: [
          { task: 'classification', adaptation: 'linear' },
          { task: 'segmentation', adaptation: 'setr' },
        ],
      },
    });
  });

  it('shows the upload layout, a token with the exact command (which uploads as shown), and the version’s check problems', async () => {
    await page.locator('#upload-layout').waitFor();
    const parameters = await page
      .locator('#parameters')
      .evaluate((dl) =>
        Object.fromEntries(
          [...dl.querySelectorAll('dt')].map((dt) => [dt.textContent, dt.nextElementSibling?.textContent]),
        ),
      );
    expect(parameters).toMatchObject({
      Image: expect.stringMatching(/^img-[0-9a-f]{8}:v1 \(approved\)$/),
      GPU: '1 × cpu',
      'Evaluation tasks': 'classification (linear), segmentation (setr)',
    });
    // A backbone is not prompted; CV has verification.
    expect(parameters).not.toHaveProperty('Inference');
    await page.getByRole('button', { name: 'Inference Verification' }).waitFor();
    expect(await page.locator('#upload-layout tbody td:first-child').allTextContents()).toEqual([
      'meta.json',
      'model/checkpoint.pth',
      'model_adapter.py',
    ]);
    expect(await page.locator('#no-uploads').textContent()).toBe('Nothing uploaded yet.');
    await page.getByRole('button', { name: 'Get upload token' }).click();
    const token = (await page.locator('#upload-token').textContent())!;
    expect(token).toMatch(/^pup_/);
    const command = (await page.locator('#upload-command').textContent())!;
    expect(command).toBe(`npm run proctor -- upload --server=${stack.api.url} --token=${token} DIR`);
    expect(await page.locator('#upload-command-flageval').textContent()).toBe(
      `flageval-serving upload --host=${stack.api.url} --token=${token} DIR`,
    );
    await shot('03-upload-instructions');

    // A CV upload missing its adapter, with a meta.json that lacks most fields: stored, with its problems.
    await mkdir(path.join(uploadDir, 'model'));
    await writeFile(path.join(uploadDir, 'model/checkpoint.pth'), 'weights');
    await writeFile(path.join(uploadDir, 'meta.json'), JSON.stringify({ model_name: 'resnet' }));
    const args = command
      .split(' ')
      .slice(command.split(' ').indexOf('--') + 1)
      .map((a) => (a === 'DIR' ? uploadDir : a));
    await promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(ROOT, 'cli/proctor.ts'), ...args], {
      cwd: ROOT,
    });

    await page.getByRole('button', { name: 'Refresh versions' }).click();
    await page.locator('[data-version="1"]').waitFor();
    const versions = await stack.api.request('GET', `/v1/evaluations/${evaluationId}/uploads`, { key: ada.apiKey });
    const problems = versions.body[0].check.problems as { path: string; rule: string; message: string }[];
    expect(problems.map((p) => p.path)).toContain('model_adapter.py');
    expect(await page.locator('[data-version="1"] [data-check]').getAttribute('data-check')).toBe('problems');
    const rows = await page
      .locator('[data-version="1"] table.problems tbody tr')
      .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(rows).toEqual(problems.map((p) => [p.path || '/', p.rule, p.message]));
    await shot('04-upload-version-problems');
  });

  it('edits the CV evaluation: the form filled in, an adaptation the API refuses shown on that task’s field, then saved', async () => {
    await page.getByRole('link', { name: 'Edit' }).click();
    await page.waitForURL('**/edit');
    await label('Semantic segmentation').waitFor();
    expect(await label('Classification').isChecked()).toBe(true);
    expect(await label('Retrieval').isChecked()).toBe(false);
    expect(await label('Adaptation method for Semantic segmentation').inputValue()).toBe('setr');
    expect(
      await label('Datasets').evaluate((s) =>
        [...(s as unknown as { selectedOptions: { value: string }[] }).selectedOptions].map((o) => o.value),
      ),
    ).toEqual(['cv-shapes', 'cv-shapes-seg']);
    expect(await label('Model name').getAttribute('readonly')).toBe('');

    // A page opened before the table changed may offer a method the API no longer takes for the task.
    await label('Adaptation method for Semantic segmentation').evaluate((select) => {
      const option = select.ownerDocument.createElement('option');
      option.value = option.textContent = 'knn';
      select.append(option);
    });
    await label('Adaptation method for Semantic segmentation').selectOption('knn');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect
      .poll(() => errorOf('task-segmentation-adaptation').textContent())
      .toMatch(/^must be one of upernet, setr for task segmentation \(rule of domain cv\)$/);
    expect(await label('Adaptation method for Semantic segmentation').getAttribute('aria-invalid')).toBe('true');
    await shot('05-cv-edit-adaptation-error');

    await label('Adaptation method for Semantic segmentation').selectOption('upernet');
    await label('Description (optional)').fill('edited in the console');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.waitForURL(/#\/evaluations\/[0-9a-f-]{36}$/);
    const edited = await stack.api.request('GET', `/v1/evaluations/${evaluationId}`, { key: ada.apiKey });
    expect(edited.body).toMatchObject({
      description: 'edited in the console',
      backbone: {
        tasks: [
          { task: 'classification', adaptation: 'linear' },
          { task: 'segmentation', adaptation: 'upernet' },
        ],
      },
    });
    expect(pageErrors).toEqual([]);
  });
});
