/**
 * The web console in Chromium, through the real stack (API, workers, a stand-in model): the
 * README's quick start done by clicking — sign in, create an evaluation (a field the API refuses is
 * shown beside that field first) and edit it, verify and read the answers as the seed's table, launch with the
 * quota shown, watch the run to its end without a reload, read its log and results page by page,
 * download its report, stop another run from its page — then another user
 * opening that run's URL sees "not found"; an owner launches a run's manual evaluation from its
 * page, a reviewer finds it in the queue, scores its forty answers by keyboard (saved as they go) and completes it, and the run ends
 * with those scores; an admin reads an imported image's Dockerfile with its warnings on their
 * lines, approves it and rejects another (a missing reason shown on its field first); sign-out.
 * The files themselves:
 * types, the CSP, no inline script, nothing outside the assets folder. Each page is saved as a
 * screenshot in .test-data/artifacts/console/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type Download, type Page } from 'playwright-core';
import { ARITH_BASIC_ID } from '../../datasets/builtin/arithBasic';
import { WORD_REVERSE_ID } from '../../datasets/builtin/wordReverse';
import type { RunView } from '../../contracts/run';
import { CONSOLE_ASSETS_DIR } from '../../api/console/consoleRoutes';
import { CHROMIUM_PATH } from '../leaderboard/boardInBrowser';
import { requireEnv } from '../support/env';
import { nlpEvaluationBody } from '../support/evaluationBodies';
import { ZH_OPEN_QA_ID } from '../../datasets/builtin/zhOpenQa';
import { launchSubjectiveRun, waitForReviewStatus, waitForRunEnd } from '../review/support';
import { useTestStack } from '../support/testStack';

const stack = useTestStack({
  api: true,
  workers: true,
  model: { skill: 0.9, seed: 2301, latencyMs: 10 },
  // Slow enough that a run of it is still going when the stop button is pressed.
  models: { slow: { skill: 0.9, seed: 2302, latencyMs: 3_000 } },
});

/**
 * Beside the run directories in .test-data, which a run removes when it ends, so the screenshots
 * outlive the run (like the vitest results file); replaced by each run of this file.
 */
const SCREENSHOTS = path.join(path.dirname(requireEnv('PROCTOR_TEST_DATA_DIR')), 'artifacts', 'console');
const RUN_TIMEOUT_MS = 120_000;
/** An imported image's Dockerfile, with a line the image rules warn about (COPY without a comment). */
const DOCKERFILE = [
  'FROM nvcr.io/nvidia/pytorch:23.03-py3',
  'RUN apt-get update && apt-get install -y --no-install-recommends curl',
  'COPY serve.py /app/serve.py',
  '# the model weights',
  'COPY weights /app/weights',
  'CMD ["python", "/app/serve.py"]',
  '',
].join('\n');

let browser: Browser;
let ada: { id: string; apiKey: string };
let bob: { id: string; apiKey: string };
/** Errors the pages raised or logged (a CSP violation is logged), across the file. */
const pageErrors: string[] = [];

beforeAll(async () => {
  await rm(SCREENSHOTS, { recursive: true, force: true });
  await mkdir(SCREENSHOTS, { recursive: true });
  ada = await stack.api.createUser('user');
  bob = await stack.api.createUser('user');
  browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-background-networking'],
  });
});

afterAll(async () => {
  await browser?.close();
});

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    // Chromium logs every 4xx answer as a failed resource; the pages handle those (a refused key, a
    // 400 placed on its field, another user's run).
    if (message.type() === 'error' && !/responded with a status of 4\d\d/.test(message.text()))
      pageErrors.push(message.text());
  });
  return page;
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

async function signIn(page: Page, key: string): Promise<void> {
  await page.goto(`${stack.api.url}/console/`);
  await page.getByLabel('API key', { exact: true }).fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#sign-out').waitFor();
}

async function apiRun(runId: string): Promise<RunView> {
  const res = await stack.api.request('GET', `/v1/runs/${runId}`, { key: ada.apiKey });
  expect(res.status, res.text).toBe(200);
  return res.body as RunView;
}

/** Watches the run page until it shows an ended run; returns every status it showed on the way. */
async function watchRun(page: Page): Promise<string[]> {
  const seen: string[] = [];
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const status = await page.locator('#run-status').getAttribute('data-status');
    if (status && seen.at(-1) !== status) seen.push(status);
    if (status && ['succeeded', 'failed', 'stopped'].includes(status)) return seen;
    await page.waitForTimeout(250);
  }
  throw new Error(`the run page did not show an ended run within ${RUN_TIMEOUT_MS} ms (saw ${seen.join(' → ')})`);
}

const runIdOf = (page: Page) => /#\/runs\/([\w-]+)$/.exec(page.url())?.[1] ?? '';

describe('the console, by clicking', () => {
  let page: Page;
  let evaluationId: string;
  let modelName: string;
  let formalRunId: string;

  it('refuses a wrong key on the sign-in page, then signs in and shows the navigation of a user', async () => {
    page = await newPage();
    await page.goto(`${stack.api.url}/console/`);
    await page.waitForURL('**/console/#/sign-in');
    await page.getByLabel('API key', { exact: true }).fill('not-a-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('#key-error').textContent()).toBe('This key is not valid.');
    expect(await page.getByLabel('API key', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    await shot(page, '01-sign-in-refused');

    await page.getByLabel('API key', { exact: true }).fill(ada.apiKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL('**/console/#/evaluations');
    expect(await page.locator('nav a').allTextContents()).toEqual(['Evaluations', 'Leaderboards']);
    expect(await page.locator('#who [data-role]').getAttribute('data-role')).toBe('user');
    // The key lives in this tab's session storage only: not in the URL, not in a cookie.
    expect(await page.evaluate("sessionStorage.getItem('proctor.apiKey')")).toBe(ada.apiKey);
    expect(page.url()).not.toContain(ada.apiKey);
    expect(await page.context().cookies()).toEqual([]);
    await page.locator('#no-evaluations').waitFor();
    await shot(page, '02-evaluations-empty');
  });

  it('creates an evaluation from the form: the API’s 400 shows beside its field, then the fixed form goes through', async () => {
    await page.getByRole('link', { name: 'Create Evaluation' }).click();
    await page.waitForURL('**/#/evaluations/new');
    modelName = `console-${randomUUID().slice(0, 8)}`;
    await page.getByLabel('Model name', { exact: true }).fill('Not A Valid Name');
    await page.getByLabel('Description (optional)', { exact: true }).fill('made in the console');
    await page.getByLabel('Datasets', { exact: true }).selectOption([ARITH_BASIC_ID, WORD_REVERSE_ID]);
    await page.getByLabel('API endpoint', { exact: true }).fill(stack.model.url);
    await page.getByLabel('Online model name (optional)', { exact: true }).fill('proctor-reference');
    await page
      .getByLabel('API key of the model service (optional)', { exact: true })
      .fill(`sk-console-${randomUUID()}`);
    await page.getByLabel('Model type', { exact: true }).selectOption('sft');
    await page.getByLabel('Max concurrency', { exact: true }).fill('24');
    await page.getByLabel('I confirm the model was not trained on the test sets’ annotations', { exact: true }).check();
    await page.getByRole('button', { name: 'Submit' }).click();

    const nameError = page.locator('[data-error-for="modelName"]');
    await expect.poll(() => nameError.textContent()).toMatch(/must be 3–32 characters .* \(rule of domain nlp\)/);
    expect(await page.getByLabel('Model name', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    // The error is read with its field, and the field has the focus.
    expect(await page.getByLabel('Model name', { exact: true }).getAttribute('aria-describedby')).toContain(
      'f-modelName-error',
    );
    expect(await page.evaluate('document.activeElement?.id')).toBe('f-modelName');
    // Only that field is marked.
    expect(await page.locator('[aria-invalid="true"]').count()).toBe(1);
    expect((await stack.api.request('GET', '/v1/evaluations', { key: ada.apiKey })).body.items).toEqual([]);
    await shot(page, '03-create-evaluation-error');

    await page.getByLabel('Model name', { exact: true }).fill(modelName);
    await page.getByRole('button', { name: 'Submit' }).click();
    await page.waitForURL(/#\/evaluations\/[0-9a-f-]{36}$/);
    evaluationId = /#\/evaluations\/([\w-]+)$/.exec(page.url())![1]!;
    const created = await stack.api.request('GET', `/v1/evaluations/${evaluationId}`, { key: ada.apiKey });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({
      modelName,
      domain: 'nlp',
      description: 'made in the console',
      datasets: [ARITH_BASIC_ID, WORD_REVERSE_ID],
      deployment: { method: 'api', endpoint: stack.model.url, onlineModelName: 'proctor-reference', apiKeySet: true },
      modelInfo: { type: 'sft' },
      robustness: false,
      limits: { maxConcurrency: 24 },
    });
  });

  it('edits the evaluation: the form comes filled in, a refused value shows on its field, the stored key is kept', async () => {
    await page.locator('#parameters').waitFor();
    await page.getByRole('link', { name: 'Edit', exact: true }).click();
    await page.waitForURL(`**/#/evaluations/${evaluationId}/edit`);
    const name = page.getByLabel('Model name', { exact: true });
    expect(await name.inputValue()).toBe(modelName);
    expect(await name.getAttribute('readonly')).not.toBeNull();
    expect(await page.getByLabel('Description (optional)', { exact: true }).inputValue()).toBe('made in the console');
    expect(await page.getByLabel('API endpoint', { exact: true }).inputValue()).toBe(stack.model.url);
    expect(await page.getByLabel('Temperature', { exact: true }).inputValue()).toBe('0');
    await page.getByLabel('Description (optional)', { exact: true }).fill('edited in the console');
    await page.getByLabel('Temperature', { exact: true }).fill('3');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect
      .poll(() => page.locator('[data-error-for="inference.temperature"]').textContent())
      .toBe('must be a number from 0 to 2');
    expect(await page.locator('[aria-invalid="true"]').count()).toBe(1);
    expect(
      (await stack.api.request('GET', `/v1/evaluations/${evaluationId}`, { key: ada.apiKey })).body.description,
    ).toBe('made in the console');
    await shot(page, '03b-edit-evaluation-error');
    await page.getByLabel('Temperature', { exact: true }).fill('0.5');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.waitForURL(`**/#/evaluations/${evaluationId}`);
    await page.locator('#parameters').waitFor();
    expect(await page.locator('#parameters').textContent()).toContain('edited in the console');
    const edited = (await stack.api.request('GET', `/v1/evaluations/${evaluationId}`, { key: ada.apiKey })).body;
    expect(edited).toMatchObject({
      modelName,
      description: 'edited in the console',
      inference: { temperature: 0.5 },
      deployment: { endpoint: stack.model.url, apiKeySet: true },
    });
  });

  it('shows the evaluation’s parameters and this month’s quota, and verifies: the answers as the seed’s table', async () => {
    await page.locator('#parameters').waitFor();
    const params = await page.locator('#parameters').textContent();
    expect(params).toContain(modelName);
    expect(params).toContain(`${ARITH_BASIC_ID}, ${WORD_REVERSE_ID}`);
    expect(params).toContain('set (never shown)');
    const me = (await stack.api.request('GET', '/v1/me', { key: ada.apiKey })).body;
    expect(await page.locator('#quota').textContent()).toContain(
      `left this month (${me.quota.month}): ${me.quota.formal.limit - me.quota.formal.used} of ${me.quota.formal.limit}`,
    );
    await shot(page, '04-evaluation-details');

    await page.getByRole('button', { name: 'Inference Verification' }).click();
    await page.waitForURL(/#\/runs\/[0-9a-f-]{36}$/);
    const runId = runIdOf(page);
    expect(await watchRun(page)).toContain('succeeded');
    const table = page.locator('#verification-results');
    await table.waitFor();
    expect(await table.locator('thead th').allTextContents()).toEqual(['ID', 'Dataset', 'Sample', 'Label', 'Predict']);
    const results = (await stack.api.request('GET', `/v1/runs/${runId}/results?limit=100`, { key: ada.apiKey })).body
      .items as { id: string; dataset: string; sample: string; label: string; predict: string | null }[];
    expect(results).toHaveLength(6);
    const rows = await table
      .locator('tbody tr')
      .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(rows).toEqual(results.map((r) => [r.id, r.dataset, r.sample, r.label, r.predict]));
    await shot(page, '05-verification-results');
  });

  it('launches a formal run with the quota shown, follows it to its end without a reload, and downloads its report', async () => {
    await page.getByRole('link', { name: '← The evaluation' }).click();
    await page.locator('#launch').waitFor();
    const versions = page.locator('#runs tbody tr');
    await versions.first().waitFor();
    expect(await versions.count()).toBe(1);
    expect(await versions.first().locator('td').nth(1).textContent()).toBe('inference verification');
    // Before the launch, what the verification foretells of the formal run.
    expect(await page.locator('#estimate').textContent()).toMatch(
      /^Estimate from verification v1: about .* prompt and .* completion tokens/,
    );
    await page.getByRole('button', { name: 'Launch' }).click();
    await page.waitForURL(/#\/runs\/[0-9a-f-]{36}$/);
    formalRunId = runIdOf(page);
    // A mark the page keeps only as long as it is not reloaded.
    await page.evaluate('window.notReloaded = true');
    await page.locator('#run-status').waitFor();
    await shot(page, '06-run-in-progress');
    const statuses = await watchRun(page);
    expect(['queued', 'running']).toContain(statuses[0]);
    expect(statuses.at(-1)).toBe('succeeded');
    expect(await page.evaluate('window.notReloaded')).toBe(true);

    // What the page shows is what the API says.
    const run = await apiRun(formalRunId);
    expect(run.status).toBe('succeeded');
    for (const d of run.datasets) {
      const row = page.locator(`#datasets tr[data-dataset="${d.dataset}"]`);
      expect(await row.getAttribute('data-status')).toBe('succeeded');
      expect(await row.locator('[data-cell="done"]').textContent()).toBe(`${d.total}/${d.total}`);
      expect(await row.locator('[data-cell="score"]').textContent()).toBe(d.metrics!.score.toFixed(4));
    }
    expect(await page.locator('#overall').textContent()).toContain(run.overallScore!.toFixed(4));
    expect(await page.locator('#run-tokens').textContent()).toBe(
      `${run.usage.promptTokens.toLocaleString('en-US')} prompt + ${run.usage.completionTokens.toLocaleString('en-US')} completion`,
    );
    expect(await page.locator('#stop').isHidden()).toBe(true);
    await shot(page, '07-run-succeeded');

    // The report is written just after the run closes: the page says so on a 409, so ask until it comes.
    let saved: Download | null = null;
    for (let attempt = 0; attempt < 20 && !saved; attempt++) {
      const [download] = await Promise.all([
        page.waitForEvent('download', { timeout: 3_000 }).catch(() => null),
        page.getByRole('button', { name: 'Download report (.xlsx)' }).click(),
      ]);
      saved = download;
    }
    expect(saved, 'the report was downloaded').not.toBeNull();
    const download = saved!;
    expect(download.suggestedFilename()).toBe(`${modelName}-v${run.version}.xlsx`);
    const bytes = await readFile((await download.path())!);
    const fromApi = await fetch(`${stack.api.url}/v1/runs/${formalRunId}/report.xlsx`, {
      headers: { authorization: `Bearer ${ada.apiKey}` },
    });
    expect(bytes.equals(Buffer.from(await fromApi.arrayBuffer()))).toBe(true);
    expect(bytes.subarray(0, 2).toString()).toBe('PK');
    expect(await page.locator('#run-message').textContent()).toBe(`Saved ${modelName}-v${run.version}.xlsx.`);

    // The log as the API has it (read on after the end: the report's line comes last), and the
    // results a page at a time, filtered by dataset.
    await expect.poll(() => page.locator('#log-lines').textContent(), { timeout: 15_000 }).toContain('report written');
    const apiLogs = async () =>
      (await stack.api.request('GET', `/v1/runs/${formalRunId}/logs?limit=1000`, { key: ada.apiKey })).body.items as {
        message: string;
      }[];
    // Every line the API has, and no other (a line written meanwhile shows at the page's next refresh).
    await expect
      .poll(async () => (await page.locator('#log-lines li').count()) - (await apiLogs()).length, { timeout: 10_000 })
      .toBe(0);
    const logs = await apiLogs();
    expect(await page.locator('#log-lines li').last().textContent()).toContain(logs.at(-1)!.message);
    const resultRows = page.locator('#results-table tbody tr');
    await expect.poll(() => resultRows.count()).toBe(50);
    await page.getByLabel('Dataset', { exact: true }).selectOption(WORD_REVERSE_ID);
    await expect
      .poll(() => resultRows.locator('td:nth-child(2)').allTextContents())
      .toEqual(Array(50).fill(WORD_REVERSE_ID));
    const firstPage = await stack.api.request(
      'GET',
      `/v1/runs/${formalRunId}/results?dataset=${WORD_REVERSE_ID}&limit=50`,
      {
        key: ada.apiKey,
      },
    );
    const secondPage = await stack.api.request(
      'GET',
      `/v1/runs/${formalRunId}/results?dataset=${WORD_REVERSE_ID}&limit=50&cursor=${encodeURIComponent(firstPage.body.nextCursor)}`,
      { key: ada.apiKey },
    );
    await page.getByRole('button', { name: 'Next page' }).click();
    await expect
      .poll(() => resultRows.locator('td:first-child').allTextContents())
      .toEqual(secondPage.body.items.map((r: { id: string }) => r.id));
    expect(await page.locator('#results-where').textContent()).toBe('Page 2, 50 results.');
    await shot(page, '07b-run-results-and-log');

    // Back on the evaluation, one formal launch fewer is left, and both versions are listed.
    await page.getByRole('link', { name: '← The evaluation' }).click();
    await page.locator('#runs tbody tr').nth(1).waitFor();
    const me = (await stack.api.request('GET', '/v1/me', { key: ada.apiKey })).body;
    expect(me.quota.formal.used).toBe(1);
    expect(await page.locator('#quota').textContent()).toContain(
      `${me.quota.formal.limit - 1} of ${me.quota.formal.limit}`,
    );
    expect(await page.locator('#runs tbody tr td[data-status]').allTextContents()).toEqual(['succeeded', 'succeeded']);
    await page.getByRole('link', { name: 'Evaluations', exact: true }).click();
    await page.locator(`#evaluations tr[data-evaluation-id="${evaluationId}"]`).waitFor();
    await shot(page, '08-evaluations-list');
  });

  it('stops a running run from its page: the page shows it stopped without a reload', async () => {
    const created = await stack.api.request('POST', '/v1/evaluations', {
      key: ada.apiKey,
      body: nlpEvaluationBody({
        datasets: [WORD_REVERSE_ID],
        deployment: { method: 'api', endpoint: stack.models.slow.url, onlineModelName: 'proctor-reference' },
      }),
    });
    expect(created.status, created.text).toBe(201);
    await page.goto(`${stack.api.url}/console/#/evaluations/${created.body.id}`);
    await page.getByRole('button', { name: 'Launch' }).click();
    await page.waitForURL(/#\/runs\/[0-9a-f-]{36}$/);
    const runId = runIdOf(page);
    await page.evaluate('window.notReloaded = true');
    // Queued or running (its first answers take seconds), it can be stopped.
    expect(['queued', 'running']).toContain(await page.locator('#run-status').getAttribute('data-status'));
    await page.getByRole('button', { name: 'Stop' }).click();
    await expect.poll(() => page.locator('#run-message').textContent()).toBe('Stop requested.');
    expect((await watchRun(page)).at(-1)).toBe('stopped');
    expect(await page.evaluate('window.notReloaded')).toBe(true);
    expect((await apiRun(runId)).status).toBe('stopped');
    expect(await page.locator('#stop').isHidden()).toBe(true);
    await shot(page, '07c-run-stopped');
  });

  it('shows another user “not found” for the run’s URL, exactly as for a run that does not exist', async () => {
    const other = await newPage();
    await signIn(other, bob.apiKey);
    await other.goto(`${stack.api.url}/console/#/runs/${formalRunId}`);
    await other.getByRole('heading', { name: 'Not found' }).waitFor();
    const shown = await other.locator('main').textContent();
    expect(shown).not.toContain(modelName);
    await shot(other, '09-other-users-run-not-found');
    await other.goto(`${stack.api.url}/console/#/runs/${randomUUID()}`);
    await other.getByRole('heading', { name: 'Not found' }).waitFor();
    expect(await other.locator('main').textContent()).toBe(shown);
    await other.goto(`${stack.api.url}/console/#/evaluations/${evaluationId}`);
    await other.getByRole('heading', { name: 'Not found' }).waitFor();
    await other.context().close();
  });

  it('lets the owner launch a run’s manual evaluation with the quota shown, and a reviewer score it by keyboard, saved as they go, to completion', async () => {
    // Carol's formal run over a subjective dataset waits, after inference, for her to launch its manual evaluation.
    const carol = await stack.api.createUser('user');
    const { runId } = await launchSubjectiveRun(stack.api, carol.apiKey, stack.model.url);
    const cp = await newPage();
    await signIn(cp, carol.apiKey);
    await cp.goto(`${stack.api.url}/console/#/runs/${runId}`);
    await expect
      .poll(() => cp.locator('#manual-status').getAttribute('data-status'), { timeout: RUN_TIMEOUT_MS })
      .toBe('awaiting-launch');
    const carolMe = (await stack.api.request('GET', '/v1/me', { key: carol.apiKey })).body;
    expect(await cp.locator('#manual-quota').textContent()).toBe(
      `Manual evaluations left this month (${carolMe.quota.month}): ${carolMe.quota.manual.limit - carolMe.quota.manual.used} of ${carolMe.quota.manual.limit}.`,
    );
    await shot(cp, '09b-manual-evaluation-awaiting-launch');
    await cp.getByRole('button', { name: 'Launch manual evaluation' }).click();
    await expect.poll(() => cp.locator('#manual-status').getAttribute('data-status')).toBe('in-review');
    expect(await cp.locator('#launch-manual').count()).toBe(0);
    const review = await waitForReviewStatus(stack.api, carol.apiKey, runId, 'in-review');
    expect((await stack.api.request('GET', '/v1/me', { key: carol.apiKey })).body.quota.manual.used).toBe(
      carolMe.quota.manual.used + 1,
    );

    const reviewer = await stack.api.createUser('reviewer');
    const rp = await newPage();
    await signIn(rp, reviewer.apiKey);
    await rp.waitForURL('**/#/reviews');
    expect(await rp.locator('nav a').allTextContents()).toEqual(['Reviews', 'Leaderboards']);
    const row = rp.locator(`#review-queue tr[data-review-id="${review.reviewId}"]`);
    await row.waitFor();
    expect(await row.locator('td').nth(3).textContent()).toBe(`0/${review.progress.total}`);
    await shot(rp, '10-review-queue');
    // Reviewers have no evaluation pages: the API would refuse them.
    await rp.goto(`${stack.api.url}/console/#/evaluations`);
    await rp.getByRole('heading', { name: 'Not found' }).waitFor();
    await rp.goto(`${stack.api.url}/console/#/reviews`);
    await row.locator('a').click();
    await rp.locator('#answer-heading').waitFor();

    const detail = (await stack.api.request('GET', `/v1/reviews/${review.reviewId}`, { key: reviewer.apiKey })).body;
    const total = review.progress.total;
    expect(await rp.locator('#review-progress').textContent()).toBe(`0 of ${total} answers scored.`);
    expect(await rp.locator('#complete').isDisabled()).toBe(true);
    // The first answer: question, reference, rubric and answer as the API has them; a comment with
    // digits in it is text, not scores; the score is given by clicking the rubric's label.
    const first = detail.items[0];
    expect(await rp.locator('#question').textContent()).toBe(first.question);
    expect(await rp.locator('#reference').textContent()).toBe(first.reference);
    expect(await rp.locator('#rubric').textContent()).toBe(first.rubric);
    expect(await rp.locator('#model-answer').textContent()).toBe(first.answer);
    await rp.getByLabel('Comment (optional, saved with the score)').fill('2 small slips, 1 typo');
    expect(await rp.locator('#review-progress').textContent()).toBe(`0 of ${total} answers scored.`);
    await shot(rp, '11-review-scoring');
    await rp.getByLabel(detail.rubricScale[4], { exact: true }).check();
    await expect.poll(() => rp.locator('#review-progress').textContent()).toBe(`1 of ${total} answers scored.`);

    // The rest by keyboard: a digit scores the answer shown and moves to the next.
    const given = new Map<string, number>([[first.itemId, 4]]);
    for (let n = 1; n < total; n++) {
      const heading = `Answer ${n + 1} of ${detail.items.length}`;
      await expect.poll(() => rp.locator('#answer-heading').textContent()).toBe(heading);
      const points = n % 6;
      given.set(detail.items[n].itemId, points);
      await rp.keyboard.press(String(points));
      await expect
        .poll(() => rp.locator('#review-progress').textContent())
        .toBe(`${n + 1} of ${total} answers scored.`);
    }
    // ← goes back, with the score given shown as chosen.
    await rp.keyboard.press('ArrowLeft');
    await expect.poll(() => rp.locator('#answer-heading').textContent()).toBe(`Answer ${total - 1} of ${total}`);
    expect(await rp.locator(`#score-${(total - 2) % 6}`).isChecked()).toBe(true);

    // Saved as they went: the API has every score, and the comment with the first.
    const saved = (await stack.api.request('GET', `/v1/reviews/${review.reviewId}`, { key: reviewer.apiKey })).body;
    expect(new Map(saved.items.map((i: { itemId: string; score: number }) => [i.itemId, i.score]))).toEqual(given);
    expect(saved.items[0].comment).toBe('2 small slips, 1 typo');

    await rp.getByRole('button', { name: 'Complete the review' }).click();
    await expect
      .poll(() => rp.locator('#review-done').textContent())
      .toBe('Review completed: the run closes with these scores.');
    await shot(rp, '12-review-completed');
    const run = await waitForRunEnd(stack.api, carol.apiKey, runId);
    expect(run.status).toBe('succeeded');
    // Carol's page, still open, followed the run to its end.
    expect((await watchRun(cp)).at(-1)).toBe('succeeded');
    expect(await cp.locator('#manual-status').getAttribute('data-status')).toBe('completed');
    await cp.context().close();
    const reviewed = run.datasets.find((d) => d.dataset === ZH_OPEN_QA_ID)!;
    const points = [...given.values()];
    expect(reviewed.metrics!.score).toBeCloseTo(points.reduce((a, b) => a + b, 0) / points.length / 5, 10);
    await rp.context().close();
  });

  it('lets an admin read an imported image’s Dockerfile with its warnings highlighted, approve one and reject another', async () => {
    const importImage = async (name: string) => {
      const res = await stack.api.request('POST', '/v1/images', {
        key: ada.apiKey,
        body: {
          name,
          tag: 'v1',
          url: 'nvcr.io/nvidia/pytorch:23.03-py3',
          dockerfile: DOCKERFILE,
          domains: ['nlp'],
        },
      });
      expect(res.status, res.text).toBe(201);
      return res.body as { id: string; warnings: { field: string; message: string }[] };
    };
    const good = await importImage(`console-good-${randomUUID().slice(0, 8)}`);
    const bad = await importImage(`console-bad-${randomUUID().slice(0, 8)}`);
    const flaggedLines = [...new Set(good.warnings.map((w) => Number(/^line (\d+):/.exec(w.message)![1])))];
    expect(flaggedLines.length).toBeGreaterThan(0);

    const ap = await newPage();
    await signIn(ap, stack.api.adminKey);
    expect(await ap.locator('nav a').allTextContents()).toEqual([
      'Evaluations',
      'Reviews',
      'Image approvals',
      'Leaderboards',
    ]);
    await ap.getByRole('link', { name: 'Image approvals' }).click();
    for (const image of [good, bad]) await ap.locator(`#image-queue tr[data-image-id="${image.id}"]`).waitFor();
    await shot(ap, '13-image-approvals');

    await ap.locator(`#image-queue tr[data-image-id="${good.id}"] a`).click();
    await ap.locator('#dockerfile').waitFor();
    // The Dockerfile as submitted, line by line; exactly the lines the rules warned about are flagged, with the warning.
    expect(await ap.locator('#dockerfile li code').allTextContents()).toEqual(DOCKERFILE.trimEnd().split('\n'));
    const flagged = await ap
      .locator('#dockerfile li.flagged')
      .evaluateAll((lis) => lis.map((li) => li.getAttribute('data-line')));
    expect(flagged.map(Number)).toEqual(flaggedLines);
    for (const w of good.warnings) {
      const [, line, message] = /^line (\d+): (.*)$/s.exec(w.message)!;
      expect(await ap.locator(`#dockerfile li[data-line="${line}"] .warning`).allTextContents()).toContain(
        `Warning: ${message}`,
      );
    }
    await shot(ap, '14-image-review');
    await ap.getByRole('button', { name: 'Approve' }).click();
    await expect.poll(() => ap.locator('#image-status').textContent()).toBe('Status: approved');
    const approved = await stack.api.request('GET', `/v1/images/${good.id}`, { key: ada.apiKey });
    expect(approved.body.status).toBe('approved');

    // A rejection needs a reason: the API's 400 lands on the reason field, then a reason goes through.
    await ap.getByRole('link', { name: '← Image approvals' }).click();
    await ap.locator(`#image-queue tr[data-image-id="${bad.id}"] a`).click();
    await ap.getByRole('button', { name: 'Reject' }).click();
    const reason = ap.getByLabel('Reason for rejecting (shown to the owner)', { exact: true });
    await expect.poll(() => ap.locator('#reject-reason-error').textContent()).toMatch(/1–1,024 characters/);
    expect(await reason.getAttribute('aria-invalid')).toBe('true');
    expect((await stack.api.request('GET', `/v1/images/${bad.id}`, { key: ada.apiKey })).body.status).toBe('pending');
    await reason.fill('pin the base image by digest');
    await ap.getByRole('button', { name: 'Reject' }).click();
    await expect
      .poll(() => ap.locator('#image-status').textContent())
      .toBe('Status: rejected (pin the base image by digest)');
    const rejected = (await stack.api.request('GET', `/v1/images/${bad.id}`, { key: ada.apiKey })).body;
    expect(rejected).toMatchObject({ status: 'rejected', rejectReason: 'pin the base image by digest' });
    await ap.getByRole('link', { name: '← Image approvals' }).click();
    await ap.locator('#images-empty, #image-queue').first().waitFor();
    expect(await ap.locator(`tr[data-image-id="${good.id}"], tr[data-image-id="${bad.id}"]`).count()).toBe(0);
    await ap.context().close();
  });

  it('signs out: the key is gone and the pages ask for it again', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL('**/#/sign-in');
    expect(await page.evaluate("sessionStorage.getItem('proctor.apiKey')")).toBeNull();
    expect(await page.locator('nav a').count()).toBe(0);
    await page.goto(`${stack.api.url}/console/#/runs/${formalRunId}`);
    await page.waitForURL('**/#/sign-in');
    await page.context().close();
  });

  it('raised no script error and no CSP violation on any page, and kept a screenshot of each', async () => {
    expect(pageErrors).toEqual([]);
    expect((await readdir(SCREENSHOTS)).filter((f) => f.endsWith('.png'))).toHaveLength(18);
  });
});

describe('the console’s files', () => {
  it('are served with their types and a CSP that allows only this origin’s scripts, with no inline script', async () => {
    const index = await fetch(`${stack.api.url}/console/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = index.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(index.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await index.text();
    // Every script is a file: no inline code, no inline handler.
    expect(html.match(/<script\b[^>]*>/g)).toEqual(['<script type="module" src="/console/app.js">']);
    expect(html).not.toMatch(/\son\w+=/i);

    for (const [name, type] of [
      ['app.js', 'text/javascript; charset=utf-8'],
      ['console.css', 'text/css; charset=utf-8'],
    ]) {
      const res = await fetch(`${stack.api.url}/console/${name}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe(type);
      expect(await res.text()).toBe(await readFile(path.join(CONSOLE_ASSETS_DIR, name), 'utf8'));
    }
  });

  it('serves nothing but the assets folder’s files (404 problem+json otherwise)', async () => {
    for (const asset of [
      'nope.js',
      '..%2Fconsole%2FconsoleRoutes.ts',
      '..%2F..%2F..%2Fpackage.json',
      '%2Fetc%2Fpasswd',
    ]) {
      const res = await fetch(`${stack.api.url}/console/${asset}`);
      expect(res.status, asset).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    }
    expect((await fetch(`${stack.api.url}/console/../package.json`)).status).toBe(404);
  });
});
