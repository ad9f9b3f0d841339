/** How a run's requests to its model endpoint are being paced (docs/rate-limits.md). */
import { Type, type Static } from '@sinclair/typebox';
import { Timestamp } from './common';

export const RunTrafficView = Type.Object(
  {
    concurrencyLimit: Type.Integer({
      description: 'requests the run keeps in flight now: its adaptive limit, from 1 to maxConcurrency',
    }),
    maxConcurrency: Type.Integer({ description: 'the run’s maxConcurrency, the most the limit may reach' }),
    rateLimited: Type.Integer({ description: 'answers with HTTP 429 (rate limited) so far' }),
    budgetWaitSeconds: Type.Number({
      description: 'time requests spent waiting for the endpoint’s shared budget, summed over requests',
    }),
    updatedAt: Timestamp,
  },
  { description: 'null until the run’s first batch has reported' },
);
export type RunTrafficView = Static<typeof RunTrafficView>;
