/**
 * Endpoint budgets: limits an admin sets for one endpoint identity (a base URL and the API key
 * sent to it), kept together by every run, user and judge call that uses it (docs/rate-limits.md).
 */
import { Type, type Static } from '@sinclair/typebox';
import { nullable, Timestamp, Uuid } from './common';

const perMinute = (what: string) =>
  nullable(
    Type.Integer({
      minimum: 1,
      maximum: 100_000_000,
      description: `${what} a minute, all worker processes together; a whole number from 1 to 100,000,000, or null for no limit`,
    }),
  );

export const BudgetLimitsBody = Type.Object({
  requestsPerMinute: Type.Optional(perMinute('requests')),
  tokensPerMinute: Type.Optional(
    perMinute('tokens (prompt and max_tokens reckoned up front, corrected by the answer)'),
  ),
  maxConcurrent: Type.Optional(
    nullable(
      Type.Integer({
        minimum: 1,
        maximum: 100_000,
        description: 'requests in flight at once, all worker processes together; 1 to 100,000, or null for no limit',
      }),
    ),
  ),
});

export const PutEndpointBudgetBody = Type.Composite(
  [
    Type.Object({
      baseUrl: Type.Optional(
        Type.String({
          pattern: '^https?://[!-~]+$',
          maxLength: 2048,
          description:
            'must be an http(s) URL of at most 2,048 printable ASCII characters (a host name in its xn-- form): the OpenAI-compatible base URL, as evaluations name it (defaults to evaluationId’s)',
        }),
      ),
      apiKey: Type.Optional(
        nullable(
          Type.String({
            minLength: 1,
            maxLength: 4096,
            description:
              'must be 1–4,096 characters: the key requests carry (only its fingerprint is kept); null or absent for none',
          }),
        ),
      ),
      evaluationId: Type.Optional(
        Type.String({
          minLength: 1,
          maxLength: 64,
          description:
            'must be 1–64 characters: the id of an evaluation whose stored API key (and, unless baseUrl is given, endpoint) names the identity',
        }),
      ),
    }),
    BudgetLimitsBody,
  ],
  { additionalProperties: false },
);
export type PutEndpointBudgetBody = Static<typeof PutEndpointBudgetBody>;

export const EndpointBudgetView = Type.Object({
  id: Uuid,
  baseUrl: Type.String({ description: 'normalised: scheme and host lower-case, no trailing slash' }),
  keyFingerprint: Type.String({
    description: 'an HMAC of the API key under the platform secret, "none" for no key; never the key',
  }),
  requestsPerMinute: nullable(Type.Integer()),
  tokensPerMinute: nullable(Type.Integer()),
  maxConcurrent: nullable(Type.Integer()),
  concurrentInUse: Type.Integer({ description: 'slots held now by worker processes (live leases)' }),
  updatedAt: Timestamp,
});
export type EndpointBudgetView = Static<typeof EndpointBudgetView>;

export const EndpointBudgetList = Type.Object({ items: Type.Array(EndpointBudgetView) });

export const EndpointBudgetParams = Type.Object({ id: Type.String({ description: 'the budget’s id' }) });
