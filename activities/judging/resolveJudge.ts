/**
 * Which judge scores a frozen judge metric: the one the metric names (its key opened from the
 * sealed row it references), else the platform's (PROCTOR_JUDGE_*), else none, and the metric
 * falls back to exact match. The key is opened here, inside the activity, and goes no further.
 */
import type { Db } from '../../db/client';
import type { EndpointSettings, PlatformJudge } from '../../config/env';
import type { EndpointTransport } from '../inference/nodeHttpFetch';
import type { FrozenMetric } from '../../contracts/scoringConfig';
import { openJudgeKey } from '../../db/queries/scoringConfig';

export interface JudgeTarget {
  baseUrl: string;
  model: string;
  apiKey: string | null;
  temperature?: number;
  maxTokens?: number;
  timeoutMs?: number;
  /** A judge the user named is a URL they typed: the refused networks apply; the platform's gets the answer cap only. */
  transport: EndpointTransport;
}

export class JudgeKeyMissing extends Error {
  override name = 'InvalidConfiguration';
}

export async function resolveJudgeTarget(
  db: Db,
  secretKey: Buffer,
  metric: Pick<FrozenMetric, 'judge'>,
  platform: PlatformJudge | null | undefined,
  endpoints: EndpointSettings,
): Promise<JudgeTarget | null> {
  if (metric.judge) {
    const { apiKeyId, ...endpoint } = metric.judge;
    let apiKey: string | null = null;
    if (apiKeyId) {
      apiKey = await openJudgeKey(db, apiKeyId, secretKey);
      if (apiKey === null)
        throw new JudgeKeyMissing(`the judge key this run was launched with (${apiKeyId}) no longer exists`);
    }
    return { ...endpoint, apiKey, transport: endpoints };
  }
  return platform ? { ...platform, transport: { maxAnswerBytes: endpoints.maxAnswerBytes } } : null;
}
