/**
 * Bad input, generated (fast-check) against the real API: every operation of the served OpenAPI
 * document that takes a body or a query string gets arbitrary JSON, near misses of a valid body,
 * Unicode edge cases in its names and text, wrong content types, malformed and oversize bodies,
 * and hostile query strings. Whatever comes in, the answer is never a 5xx, an invalid input is
 * never accepted, a refusal is problem+json naming the field, and a batch of refusals leaves every
 * stored row as it was.
 *
 * Reproducible: the seed is fixed and printed. FUZZ_SEED=<n> draws other inputs; FUZZ_RUNS=<n>
 * (default 40) sets the generated cases per operation and kind, e.g.
 *   FUZZ_RUNS=2000 npx vitest run test/api/fuzz.test.ts
 * A failure prints the request that broke the rule, shrunk by fast-check where it could, with
 * the seed and path that replay it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { startApi, type TestApi } from '../support/apiServer';
import { useFreshUploadDir } from '../uploads/uploadFixtures';
import { fuzzFixtures, type FuzzFixtures, type FuzzTarget } from '../support/fuzz/fuzzTargets';
import { fuzzHarness, type FuzzHarness } from '../support/fuzz/fuzzHarness';
import { operationsWithInput, type OpenApiDocument, type OperationInputs } from '../support/fuzz/openApiInputs';
import { rawRequest, type RawRequest, type RawResponse } from '../support/fuzz/rawRequest';
import type { Expectation } from '../support/fuzz/problemAnswer';
import { fingerprintChanges, storeFingerprint } from '../support/fuzz/storeFingerprint';
import { fieldOf, isFreeText, isValid, schemaAt, violations } from '../support/fuzz/schemaOracle';
import { stringPaths, valueAt, withValueAt } from '../support/fuzz/jsonPaths';
import { garbageJsonText } from '../support/fuzz/garbageJson';
import { nearMisses, randomNearMiss } from '../support/fuzz/nearMisses';
import { describeEdges, edgyText, edgyVariant, UNICODE_EDGES } from '../support/fuzz/unicodeEdges';
import { NOT_UTF8, notJson, withRawBytes, WRONG_CONTENT_TYPES } from '../support/fuzz/malformedBodies';
import { everyEdgeQuery, queryCase, type QueryCase } from '../support/fuzz/queryStrings';

const SEED = Number(process.env.FUZZ_SEED ?? 20_240_611);
const RUNS = Number(process.env.FUZZ_RUNS ?? 40);

let api: TestApi;
let fixtures: FuzzFixtures;
let operations: OperationInputs[];
let fuzz: FuzzHarness;

beforeAll(async () => {
  useFreshUploadDir();
  api = await startApi();
  fixtures = await fuzzFixtures(api);
  const doc = await api.request('GET', '/openapi.json');
  operations = operationsWithInput(doc.body as OpenApiDocument);
  fuzz = fuzzHarness(api, fixtures.targets, { seed: SEED, runs: RUNS });
  console.log(`fuzz: seed ${SEED}, ${RUNS} runs per operation and kind (FUZZ_SEED, FUZZ_RUNS to change)`);
});
afterAll(async () => {
  await api?.close();
});

const bodyOperations = () => operations.filter((op) => op.body);
const queryOperations = () => operations.filter((op) => op.query.length > 0);
const targetOf = (op: OperationInputs): FuzzTarget => fixtures.targets[op.key]!;
const failureOf = (op: OperationInputs) => (error: Error) => `${op.key}: ${error.message}`;

describe('coverage', () => {
  it('has a target for every operation of the document that takes a body or query string, and a valid seed for every body', () => {
    expect(bodyOperations().length).toBeGreaterThan(0);
    expect(queryOperations().length).toBeGreaterThan(0);
    const missing = operations.filter((op) => !fixtures.targets[op.key]).map((op) => op.key);
    expect(missing, 'operations with no fuzz target in test/support/fuzz/fuzzTargets.ts').toEqual([]);
    const unseeded = bodyOperations()
      .filter((op) => !targetOf(op).seed)
      .map((op) => op.key);
    expect(unseeded, 'body operations with no valid seed').toEqual([]);
    for (const op of bodyOperations()) {
      expect(
        violations(op.body!, targetOf(op).seed!(), { requiredDefaultsFilled: true }),
        `the seed of ${op.key}`,
      ).toEqual([]);
    }
    const unreachable = operations.flatMap((op) =>
      op.pathParameters
        .filter((name) => fixtures.targets[op.key]?.params?.[name] === undefined)
        .map((name) => `${op.key} {${name}}`),
    );
    expect(unreachable, 'path parameters with no value in the fuzz target').toEqual([]);
    const otherMedia = operations
      .filter((op) => op.otherBodyTypes.length > 0)
      .map((op) => `${op.key}: ${op.otherBodyTypes.join(', ')}`);
    expect(otherMedia, 'bodies of media types other than JSON, which no generator here makes').toEqual([]);
    const stale = Object.keys(fixtures.targets).filter((key) => !operations.some((op) => op.key === key));
    expect(stale, 'fuzz targets of operations the document no longer has').toEqual([]);
  });
});

describe('bodies', () => {
  it('refuses arbitrary JSON with a 400 (or 413) naming the body or a field', async () => {
    const failures: string[] = [];
    let validByChance = 0;
    const changed = await fuzz.storeChangesBy(async () => {
      for (const op of bodyOperations()) {
        await fuzz.holds(
          `${op.key} arbitrary JSON`,
          garbageJsonText(Object.keys(op.body!.properties ?? {})),
          async (text) => {
            // Valid by chance is not garbage: it is counted and not sent, so a batch of refusals is all that is sent.
            if (isValid(op.body!, JSON.parse(text), { requiredDefaultsFilled: true })) {
              validByChance++;
              return;
            }
            await fuzz.sendExpecting(fuzz.requestTo(op, { body: text }), { kind: 'invalid', statuses: [400, 413] });
          },
          failures,
        );
      }
    });
    console.log(`fuzz: ${validByChance} arbitrary bodies were valid by chance and not sent`);
    expect({ failures, changed }).toEqual({ failures: [], changed: '' });
  });

  it('refuses every near miss of a valid body with a 400 naming the broken field', async () => {
    const failures: string[] = [];
    let sent = 0;
    const changed = await fuzz.storeChangesBy(async () => {
      for (const op of bodyOperations()) {
        const seed = targetOf(op).seed!;
        for (const miss of nearMisses(op.body!, seed())) {
          sent++;
          const request = fuzz.requestTo(op, { body: JSON.stringify(miss.body) });
          await fuzz
            .sendExpecting(request, { kind: 'invalid', field: miss.field }, `${miss.field || 'body'}: ${miss.what}`)
            .catch((e: Error) => failures.push(failureOf(op)(e)));
        }
        await fuzz.holds(
          `${op.key} random near miss`,
          randomNearMiss(op.body!, seed()),
          async (miss) => {
            await fuzz.sendExpecting(
              fuzz.requestTo(op, { body: JSON.stringify(miss.body) }),
              { kind: 'invalid', field: miss.field },
              `${miss.field}: ${miss.what}`,
            );
          },
          failures,
        );
      }
    });
    console.log(`fuzz: ${sent} deterministic near misses sent`);
    expect({ failures, changed }).toEqual({ failures: [], changed: '' });
  });
});

/** What the API says it stored of an accepted body: its answer, or for a new user what the user's own key reads. */
async function storedView(op: OperationInputs, res: RawResponse): Promise<unknown> {
  if (op.key !== 'POST /v1/users') return res.body;
  return (
    await rawRequest(api.url, {
      method: 'GET',
      target: '/v1/me',
      headers: { authorization: `Bearer ${res.body.apiKey}` },
    })
  ).body;
}

describe('Unicode in names and text', () => {
  it('refuses look-alikes of valid names and stores any other text exactly as sent, never failing with a 5xx', async () => {
    const failures: string[] = [];
    const tally = { accepted: 0, refused: 0 };
    for (const op of bodyOperations()) {
      const target = targetOf(op);
      const example = target.seed!();
      const paths = stringPaths(example);
      if (paths.length === 0) continue;
      const edit = fc.constantFrom(...paths).chain((path) => {
        const limit = Math.min(schemaAt(op.body!, example, path)?.maxLength ?? 64, 64);
        return fc.oneof(edgyVariant(valueAt(example, path) as string), edgyText(limit)).map((text) => ({ path, text }));
      });
      await fuzz.holds(
        `${op.key} Unicode`,
        edit,
        async ({ path, text }) => {
          // Fresh each time: an edit that is accepted must not collide with the last one.
          const body = withValueAt(target.seed!(), path, text);
          const field = fieldOf(path);
          const mustRefuse =
            !isValid(op.body!, body, { requiredDefaultsFilled: true }) || (target.slugs?.includes(field) ?? false);
          const what = `${field} = ${describeEdges(text)}`;
          const before = await storeFingerprint(api.deps.db);
          const res = await fuzz.sendExpecting(
            fuzz.requestTo(op, { body: JSON.stringify(body) }),
            mustRefuse ? { kind: 'invalid', field } : { kind: 'any' },
            what,
          );
          if (res.status >= 400) {
            tally.refused++;
            const changed = fingerprintChanges(before, await storeFingerprint(api.deps.db));
            if (changed)
              throw new Error(
                `refused with ${res.status} but stored something: ${changed} (${what})\n  request: ${JSON.stringify(body).slice(0, 400)}`,
              );
            return;
          }
          tally.accepted++;
          const stored = valueAt(await storedView(op, res), path);
          if (stored !== undefined && stored !== text) {
            throw new Error(
              `accepted ${what} but stored ${JSON.stringify(stored)} for ${JSON.stringify(text)}\n  request: ${op.method} ${op.path} ${JSON.stringify(body).slice(0, 400)}`,
            );
          }
        },
        failures,
      );
    }
    console.log(`fuzz: Unicode edits: ${tally.accepted} accepted (stored as sent), ${tally.refused} refused`);
    expect(failures).toEqual([]);
  });

  it('takes or refuses every edge case inside the JSON Lines of a dataset, never failing with a 5xx, storing nothing when it refuses', async () => {
    // The lines are text inside a string field: their escapes (\u0000, \ud800) reach the parser of the lines, not the body's.
    const op = operations.find((o) => o.key === 'POST /v1/datasets')!;
    const failures: string[] = [];
    for (const edge of UNICODE_EDGES) {
      for (const where of ['id', 'prompt', 'ground_truth', 'metadata key', 'metadata value'] as const) {
        const item: Record<string, unknown> = { id: 'q1', prompt: 'Say yes.', ground_truth: 'yes' };
        if (where === 'metadata key') item.metadata = { [edge.text]: 1 };
        else if (where === 'metadata value') item.metadata = { note: edge.text };
        else item[where] = `${item[where] as string}${edge.text}`;
        const body = { ...targetOf(op).seed!(), jsonl: `${JSON.stringify(item)}\n` };
        const what = `${where} with ${edge.name}`;
        const before = await storeFingerprint(api.deps.db);
        try {
          const res = await fuzz.sendExpecting(
            fuzz.requestTo(op, { body: JSON.stringify(body) }),
            { kind: 'any' },
            what,
          );
          const changed = res.status >= 400 ? fingerprintChanges(before, await storeFingerprint(api.deps.db)) : '';
          if (changed) throw new Error(`refused (${res.status}) but stored something: ${changed} (${what})`);
        } catch (error) {
          failures.push(failureOf(op)(error as Error));
        }
      }
    }
    expect(failures).toEqual([]);
  });
});

describe('transport', () => {
  it('refuses a valid body under a content type other than JSON (or JSON not in UTF-8) with a 415', async () => {
    const failures: string[] = [];
    const changed = await fuzz.storeChangesBy(async () => {
      for (const op of bodyOperations()) {
        for (const type of WRONG_CONTENT_TYPES) {
          const request = fuzz.requestTo(op, {
            body: JSON.stringify(targetOf(op).seed!()),
            headers: { 'content-type': type },
          });
          await fuzz
            .sendExpecting(request, { kind: 'invalid', statuses: [415] })
            .catch((e: Error) => failures.push(failureOf(op)(e)));
        }
      }
    });
    expect({ failures, changed }).toEqual({ failures: [], changed: '' });
  });

  it('refuses malformed JSON, and JSON whose bytes are not UTF-8, with a 400 naming the body', async () => {
    const failures: string[] = [];
    const changed = await fuzz.storeChangesBy(async () => {
      for (const op of bodyOperations()) {
        const target = targetOf(op);
        await fuzz.holds(
          `${op.key} malformed JSON`,
          notJson(JSON.stringify(target.seed!())),
          async (text) => {
            await fuzz.sendExpecting(fuzz.requestTo(op, { body: text }), { kind: 'invalid', field: 'body' });
          },
          failures,
        );
        // In a field that takes any text, so that only the bytes can be what is wrong.
        const example = target.seed!();
        const path = stringPaths(example).find(
          (p) => isFreeText(schemaAt(op.body!, example, p)) && !target.slugs?.includes(fieldOf(p)),
        );
        if (!path) continue;
        for (const bytes of NOT_UTF8) {
          const body = withRawBytes(JSON.stringify(withValueAt(target.seed!(), path, '\u0001')), '\\u0001', bytes);
          const what = `bytes ${bytes.map((b) => b.toString(16)).join(' ')} in ${fieldOf(path)}`;
          await fuzz
            .sendExpecting(fuzz.requestTo(op, { body }), { kind: 'invalid', field: ['body', fieldOf(path)] }, what)
            .catch((e: Error) => failures.push(failureOf(op)(e)));
        }
      }
    });
    expect({ failures, changed }).toEqual({ failures: [], changed: '' });
  });

  it('refuses bodies just over the limit and ten times it, sent whole, streamed or declared, with a 413', async () => {
    const failures: string[] = [];
    const changed = await fuzz.storeChangesBy(async () => {
      for (const op of bodyOperations()) {
        // The limit as the server states it to a body that declares more than any limit.
        const probe = await rawRequest(api.url, fuzz.requestTo(op, { body: '{', declaredLength: 2 ** 40 }));
        const mib = /\(([\d.]+) MiB\)/.exec(String(probe.body?.detail))?.[1];
        if (probe.status !== 413 || !mib) {
          failures.push(
            `${op.key}: a body declaring 1 TiB answered ${probe.status} ${probe.text.slice(0, 200)}, not a 413 stating the limit`,
          );
          continue;
        }
        const limit = Math.round(Number(mib) * 1024 * 1024);
        const head = Buffer.from('{"description":"');
        const padded = Buffer.concat([head, Buffer.alloc(limit + 1 - head.byteLength - 2, 'a'), Buffer.from('"}')]);
        const cases: [string, RawRequest][] = [
          ['1 byte over, whole', fuzz.requestTo(op, { body: padded })],
          [
            '10× the limit, streamed without a length',
            fuzz.requestTo(op, {
              stream: { bytes: limit * 10, chunk: Buffer.alloc(64 * 1024, 0x20) },
              headers: { 'content-type': 'application/json' },
            }),
          ],
          ['10× the limit, declared', fuzz.requestTo(op, { body: '{"a":', declaredLength: limit * 10 })],
        ];
        for (const [what, request] of cases) {
          await fuzz
            .sendExpecting(request, { kind: 'invalid', statuses: [413] }, what)
            .catch((e: Error) => failures.push(failureOf(op)(e)));
        }
      }
    });
    expect({ failures, changed }).toEqual({ failures: [], changed: '' });
  });
});

describe('query strings', () => {
  it('refuses repeated keys, arrays, numbers out of range, fractions and bad cursors with a 400 naming the parameter', async () => {
    const failures: string[] = [];
    const verdicts = { valid: 0, invalid: 0, unjudged: 0 };
    const changed = await fuzz.storeChangesBy(async () => {
      for (const op of queryOperations()) {
        const target = targetOf(op);
        const send = async (q: QueryCase) => {
          verdicts[q.verdict]++;
          const expected: Expectation =
            q.verdict === 'invalid' ? { kind: 'invalid', field: q.invalid[0] } : { kind: 'any' };
          // The upload routes check the media type before the query: they get theirs, and an empty body.
          const request = fuzz.requestTo(op, {
            query: q.raw,
            ...(op.method === 'GET' ? {} : { body: '' }),
            headers: { 'content-type': target.headers?.['content-type'] },
          });
          await fuzz.sendExpecting(request, expected, q.verdict);
        };
        for (const q of everyEdgeQuery(op.query, target.cursors))
          await send(q).catch((e: Error) => failures.push(failureOf(op)(e)));
        await fuzz.holds(`${op.key} query`, queryCase(op.query, target.cursors), send, failures);
      }
    });
    console.log(
      `fuzz: query strings: ${verdicts.valid} valid, ${verdicts.invalid} invalid, ${verdicts.unjudged} unjudged (lenient readings, unknown keys, malformed escapes)`,
    );
    expect({ failures, changed }).toEqual({ failures: [], changed: '' });
  });
});

describe('upload streams (bodies the document does not describe as JSON)', () => {
  it('refuses a wrong content type with a 415, and bytes that are not a tar archive with a 4xx, storing nothing', async () => {
    const token = await fixtures.freshUploadToken();
    const failures: string[] = [];
    const put = (body: Buffer | string, type: string | undefined): RawRequest => ({
      method: 'PUT',
      target: '/v1/upload',
      body,
      headers: { authorization: `Bearer ${token}`, ...(type ? { 'content-type': type } : {}) },
    });
    const changed = await fuzz.storeChangesBy(async () => {
      for (const type of [
        'application/json',
        'text/plain',
        'application/gzip',
        'multipart/form-data; boundary=x',
        undefined,
      ]) {
        await fuzz
          .sendExpecting(put('{}', type), { kind: 'invalid', statuses: [415] })
          .catch((e: Error) => failures.push(e.message));
      }
      // Not a tar: bytes whose first block is not all zero (that would be an empty archive), so its header checksum is off.
      const garbage = fc
        .uint8Array({ minLength: 1, maxLength: 4096 })
        .filter((b) => b.subarray(0, 512).some((x) => x !== 0))
        .map((b) => Buffer.from(b));
      await fuzz.holds(
        'PUT /v1/upload garbage archive',
        garbage,
        async (bytes) => {
          await fuzz.sendExpecting(put(bytes, 'application/x-tar'), { kind: 'refused' });
        },
        failures,
      );
    });
    expect({ failures, changed }).toEqual({ failures: [], changed: '' });
  });
});

describe('afterwards', () => {
  it('still answers: the process survived everything above', async () => {
    expect((await api.request('GET', '/healthz')).status).toBe(200);
    expect(
      (
        await api.request('GET', '/v1/me', {
          key: targetOf(operations.find((op) => op.key === 'GET /v1/datasets')!).credential,
        })
      ).status,
    ).toBe(200);
  });
});
