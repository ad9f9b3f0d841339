/**
 * The dials of the reference model: how slow, how flaky and how clever it is. The defaults are a
 * perfectly healthy, instant model; tests and operators turn faults on through `setKnobs` or the
 * admin endpoint. Every random decision is a pure function of (seed, prompt, attempt number for
 * that prompt), so a test that turns a knob sees the same faults on every run.
 */
import { createHash } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { SAFETY_BEHAVIOURS } from './safetyResponder';

const rate = (description: string) =>
  Type.Number({ minimum: 0, maximum: 1, description: `${description}; a probability from 0 to 1` });
const millis = (description: string) =>
  Type.Number({ minimum: 0, maximum: 3_600_000, description: `${description}; milliseconds from 0 to 3,600,000` });

export const Knobs = Type.Object(
  {
    latencyMs: millis('delay before every answer'),
    jitterMs: millis('extra random delay on top of latencyMs'),
    errorRate: rate('chance of answering with errorStatus'),
    errorStatus: Type.Integer({
      minimum: 400,
      maximum: 599,
      description: 'HTTP status of injected errors; an integer from 400 to 599',
    }),
    rateLimitRate: rate('chance of answering 429 with Retry-After'),
    retryAfterSeconds: Type.Number({
      minimum: 0,
      maximum: 3600,
      description: 'Retry-After sent with 429; seconds from 0 to 3,600',
    }),
    bucketRatePerSecond: Type.Number({
      minimum: 0,
      maximum: 100_000,
      description:
        'token-bucket rate limit: requests a second answered, the rest refused at once with 429 and the wait until the next token as Retry-After; 0 turns it off; from 0 to 100,000',
    }),
    bucketBurst: Type.Number({
      minimum: 0,
      maximum: 1_000_000,
      description: 'requests the token bucket holds (its largest burst); 0 means one second of bucketRatePerSecond',
    }),
    hangRate: rate('chance of never answering'),
    malformedRate: rate('chance of a 200 whose body is not valid JSON'),
    truncatedRate: rate('chance of a 200 whose body is cut off mid-way'),
    emptyChoicesRate: rate('chance of a 200 with no choices'),
    streamChunkDelayMs: millis('pause between streamed chunks'),
    slowBodyRate: rate('chance that an answer trickles out in small pieces over slowBodyMs'),
    slowBodyMs: millis('how long a slow answer takes from its headers to its last byte'),
    requiredApiKey: Type.Union([Type.String({ minLength: 1, maxLength: 4096 }), Type.Null()], {
      description: 'bearer token every /v1 request must carry, or null',
    }),
    failFirstAttempts: Type.Integer({
      minimum: 0,
      maximum: 1000,
      description: 'the first N requests for each prompt fail with errorStatus',
    }),
    skill: rate('chance that an answer is correct'),
    seed: Type.Integer({
      minimum: -(2 ** 31),
      maximum: 2 ** 31 - 1,
      description: 'seed of every random decision; a 32-bit integer',
    }),
    verbose: Type.Boolean({ description: 'explain before giving "Answer: X"' }),
    reportUsage: Type.Boolean({ description: 'whether answers carry `usage` (prompt and completion tokens)' }),
    systemFingerprint: Type.Union([Type.String({ minLength: 1, maxLength: 256 }), Type.Null()], {
      description: 'the `system_fingerprint` answers carry, or null',
    }),
    switchAfterRequests: Type.Integer({
      minimum: 0,
      maximum: 1_000_000_000,
      description:
        'after this many inference requests, answers say switchedModel / switchedFingerprint instead; 0 never switches',
    }),
    switchedModel: Type.Union([Type.String({ minLength: 1, maxLength: 256 }), Type.Null()], {
      description: 'the `model` answers carry once switched; null keeps the served name',
    }),
    switchedFingerprint: Type.Union([Type.String({ minLength: 1, maxLength: 256 }), Type.Null()], {
      description: 'the `system_fingerprint` answers carry once switched; null keeps systemFingerprint',
    }),
    safety: Type.Union(
      SAFETY_BEHAVIOURS.map((b) => Type.Literal(b)),
      {
        description: `how the built-in safety prompts are answered: one of ${SAFETY_BEHAVIOURS.join(', ')}`,
      },
    ),
  },
  { additionalProperties: false },
);
export type Knobs = Static<typeof Knobs>;

export const DEFAULT_KNOBS: Readonly<Knobs> = Object.freeze({
  latencyMs: 0,
  jitterMs: 0,
  errorRate: 0,
  errorStatus: 500,
  rateLimitRate: 0,
  retryAfterSeconds: 1,
  bucketRatePerSecond: 0,
  bucketBurst: 0,
  hangRate: 0,
  malformedRate: 0,
  truncatedRate: 0,
  emptyChoicesRate: 0,
  streamChunkDelayMs: 0,
  slowBodyRate: 0,
  slowBodyMs: 5_000,
  requiredApiKey: null,
  failFirstAttempts: 0,
  skill: 0.85,
  seed: 0,
  verbose: false,
  safety: 'refuse-harmful',
  reportUsage: true,
  systemFingerprint: null,
  switchAfterRequests: 0,
  switchedModel: null,
  switchedFingerprint: null,
});

const PartialKnobs = Type.Partial(Knobs, { additionalProperties: false });

export class InvalidKnobsError extends Error {
  constructor(readonly problems: { field: string; message: string }[]) {
    super(`invalid knobs: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`);
    this.name = 'InvalidKnobsError';
  }
}

/** Checks a partial set of knobs from outside (admin endpoint, CLI, tests); throws InvalidKnobsError. */
export function parseKnobs(input: unknown): Partial<Knobs> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidKnobsError([{ field: '(body)', message: 'must be a JSON object of knob names to values' }]);
  }
  if (Value.Check(PartialKnobs, input)) return input;
  const problems = [...Value.Errors(PartialKnobs, input)].map((e) => {
    const field = e.path.replace(/^\//, '') || '(body)';
    const schema = e.schema as { description?: string };
    const unknown = !(field in Knobs.properties);
    return {
      field,
      message: unknown
        ? `is not a knob (known: ${Object.keys(Knobs.properties).join(', ')})`
        : (schema.description ?? e.message),
    };
  });
  // TypeBox reports a union failure once per member; one line per field is enough.
  const seen = new Set<string>();
  throw new InvalidKnobsError(problems.filter((p) => !seen.has(p.field) && seen.add(p.field)));
}

/**
 * A uniform number in [0, 1) fixed by its inputs. `purpose` keeps the decisions for different
 * knobs independent of each other even though they share seed, prompt and attempt.
 */
export function roll(seed: number, prompt: string, attempt: number, purpose: string): number {
  const digest = createHash('sha256').update(`${seed}\u0000${attempt}\u0000${purpose}\u0000${prompt}`).digest();
  return digest.readUInt32BE(0) / 2 ** 32;
}

export type Fault =
  | { kind: 'error'; status: number }
  | { kind: 'rate_limited'; retryAfterSeconds: number }
  | { kind: 'hang' }
  | { kind: 'malformed' }
  | { kind: 'truncated' }
  | { kind: 'empty_choices' }
  | { kind: 'slow_body'; durationMs: number };

/**
 * What goes wrong with this request, if anything. `attempt` counts from 1 for each prompt.
 * failFirstAttempts comes first so retry tests need no luck; the random faults follow in a
 * fixed order, each with its own independent roll.
 */
export function chooseFault(knobs: Knobs, prompt: string, attempt: number): Fault | null {
  if (attempt <= knobs.failFirstAttempts) return { kind: 'error', status: knobs.errorStatus };
  const hit = (probability: number, purpose: string) =>
    probability > 0 && roll(knobs.seed, prompt, attempt, purpose) < probability;
  if (hit(knobs.hangRate, 'hang')) return { kind: 'hang' };
  if (hit(knobs.rateLimitRate, 'rate-limit'))
    return { kind: 'rate_limited', retryAfterSeconds: knobs.retryAfterSeconds };
  if (hit(knobs.errorRate, 'error')) return { kind: 'error', status: knobs.errorStatus };
  if (hit(knobs.malformedRate, 'malformed')) return { kind: 'malformed' };
  if (hit(knobs.truncatedRate, 'truncated')) return { kind: 'truncated' };
  if (hit(knobs.emptyChoicesRate, 'empty-choices')) return { kind: 'empty_choices' };
  if (hit(knobs.slowBodyRate, 'slow-body')) return { kind: 'slow_body', durationMs: knobs.slowBodyMs };
  return null;
}

/** How long to wait before answering (or failing) this attempt. */
export function responseDelayMs(knobs: Knobs, prompt: string, attempt: number): number {
  return knobs.latencyMs + (knobs.jitterMs > 0 ? roll(knobs.seed, prompt, attempt, 'jitter') * knobs.jitterMs : 0);
}

/**
 * Whether the model gets this prompt right. Independent of the attempt, so a retried or repeated
 * prompt gets the same answer: a model's knowledge does not change between calls.
 */
export function answersCorrectly(knobs: Knobs, prompt: string): boolean {
  if (knobs.skill >= 1) return true;
  if (knobs.skill <= 0) return false;
  return roll(knobs.seed, prompt, 0, 'skill') < knobs.skill;
}
