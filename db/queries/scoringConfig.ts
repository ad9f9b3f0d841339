/**
 * An evaluation's scoring configuration as records: the configuration itself (judge keys replaced
 * by the ids of sealed rows), its masked view, and the frozen copy a launch puts into the run's
 * configuration. Key rows are only ever added, so a run keeps reading the key it launched with.
 */
import { eq } from 'drizzle-orm';
import type { Db, Tx } from '../client';
import { evaluations, images, judgeKeys, scoringConfigs } from '../schema';
import { openSecret, sealSecret } from '../secretBox';
import type { FieldError } from '../../contracts/problem';
import {
  DEFAULT_JUDGING_LIMITS,
  JUDGE_KEY_MASK,
  metricConfigFor,
  type CustomImageConfig,
  type MetricConfig,
  type RunScoring,
  type ScoringConfig,
  type StoredMetricConfig,
  type StoredScoringConfig,
} from '../../contracts/scoringConfig';

export async function getScoringConfig(db: Db | Tx, evaluationId: string): Promise<StoredScoringConfig | null> {
  const [row] = await db
    .select({ config: scoringConfigs.config })
    .from(scoringConfigs)
    .where(eq(scoringConfigs.evaluationId, evaluationId));
  return row?.config ?? null;
}

/** As shown and as a GET hands it back: keys masked, so PUTting it again keeps them. */
export function scoringConfigView(stored: StoredScoringConfig | null): ScoringConfig {
  if (!stored) return {};
  const view = (entry: StoredMetricConfig): MetricConfig => {
    const { judge, ...rest } = entry;
    if (!judge) return rest;
    const { apiKeyId, ...endpoint } = judge;
    return { ...rest, judge: { ...endpoint, apiKey: apiKeyId ? JUDGE_KEY_MASK : null } };
  };
  return {
    ...(stored.customImage ? { customImage: stored.customImage } : {}),
    ...(stored.default ? { default: view(stored.default) } : {}),
    ...(stored.datasets
      ? { datasets: Object.fromEntries(Object.entries(stored.datasets).map(([id, e]) => [id, view(e)])) }
      : {}),
    ...(stored.limits ? { limits: stored.limits } : {}),
  };
}

function origin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

/**
 * Which stored key a judge entry keeps: the mask (or no apiKey at all) keeps the key of the entry at
 * the same path, but only while the judge stays on the same origin, so a stored key is never sent
 * to a host the user did not give it for.
 */
export function keptKeyId(
  entry: MetricConfig,
  path: string,
  current: StoredMetricConfig | null,
): { keyId: string | null; error?: FieldError } {
  const judge = entry.judge;
  if (!judge || (judge.apiKey !== undefined && judge.apiKey !== JUDGE_KEY_MASK)) return { keyId: null };
  const stored = current?.judge;
  if (!stored?.apiKeyId) {
    if (judge.apiKey === JUDGE_KEY_MASK)
      return {
        keyId: null,
        error: { field: `${path}.judge.apiKey`, message: 'has no stored key to keep; give the key' },
      };
    return { keyId: null };
  }
  if (origin(stored.baseUrl) !== origin(judge.baseUrl)) {
    return {
      keyId: null,
      error: {
        field: `${path}.judge.apiKey`,
        message:
          'must be given again (or null for none) when the judge moves to another origin; the stored key is never sent to a new host',
      },
    };
  }
  return { keyId: stored.apiKeyId };
}

export type SaveOutcome = { ok: true; config: StoredScoringConfig } | { ok: false; errors: FieldError[] };

/** Replaces the configuration under the evaluation's row lock; new keys are sealed into rows of their own. */
export async function saveScoringConfig(
  db: Db,
  evaluationId: string,
  config: ScoringConfig,
  secretKey: Buffer,
): Promise<SaveOutcome> {
  return db.transaction(async (tx): Promise<SaveOutcome> => {
    await tx.select({ id: evaluations.id }).from(evaluations).where(eq(evaluations.id, evaluationId)).for('update');
    const current = await getScoringConfig(tx, evaluationId);
    const entries: {
      path: string;
      entry: MetricConfig;
      previous: StoredMetricConfig | null;
      put: (stored: StoredMetricConfig) => void;
    }[] = [];
    const stored: StoredScoringConfig = {};
    if (config.default)
      entries.push({
        path: 'default',
        entry: config.default,
        previous: current?.default ?? null,
        put: (e) => (stored.default = e),
      });
    for (const [id, entry] of Object.entries(config.datasets ?? {})) {
      stored.datasets ??= {};
      const datasets = stored.datasets;
      entries.push({
        path: `datasets.${id}`,
        entry,
        previous: current?.datasets?.[id] ?? null,
        put: (e) => (datasets[id] = e),
      });
    }
    if (config.limits) stored.limits = config.limits;
    if (config.customImage) stored.customImage = config.customImage;

    // Decided before anything is written, so a refused configuration seals no key.
    const kept = entries.map(({ entry, path, previous }) => keptKeyId(entry, path, previous));
    const errors = kept.flatMap((k) => (k.error ? [k.error] : []));
    if (errors.length > 0) return { ok: false, errors };

    for (const [i, { entry, put }] of entries.entries()) {
      const { judge, ...rest } = entry;
      if (!judge) {
        put(rest);
        continue;
      }
      const { apiKey, ...endpoint } = judge;
      let apiKeyId = kept[i]!.keyId;
      if (typeof apiKey === 'string' && apiKey !== JUDGE_KEY_MASK) {
        const [row] = await tx
          .insert(judgeKeys)
          .values({ evaluationId, cipher: sealSecret(secretKey, apiKey) })
          .returning({ id: judgeKeys.id });
        apiKeyId = row!.id;
      }
      put({ ...rest, judge: { ...endpoint, apiKeyId } });
    }
    await tx
      .insert(scoringConfigs)
      .values({ evaluationId, config: stored })
      .onConflictDoUpdate({ target: scoringConfigs.evaluationId, set: { config: stored, updatedAt: new Date() } });
    return { ok: true, config: stored };
  });
}

/**
 * The scoring a launch freezes into the run's configuration: the entry that applies to each of
 * the run's datasets (judge keys by id only) and the judging limits with their defaults written out.
 */
export async function freezeScoring(
  db: Db | Tx,
  evaluationId: string,
  datasetIds: readonly string[],
): Promise<RunScoring | undefined> {
  const stored = await getScoringConfig(db, evaluationId);
  if (!stored) return undefined;
  const datasets: RunScoring['datasets'] = {};
  for (const id of datasetIds) {
    const entry = metricConfigFor(stored, id);
    if (entry) datasets[id] = structuredClone(entry);
  }
  const limits = { ...DEFAULT_JUDGING_LIMITS, ...stored.limits };
  if (!stored.customImage) return { limits, datasets };
  // The launch checked the image (api/launch/launchPlan.ts); the reference is read under its lock.
  const [image] = await db
    .select({ runRef: images.runRef, name: images.name, tag: images.tag })
    .from(images)
    .where(eq(images.id, stored.customImage.imageId));
  if (!image) throw new Error(`the custom image ${stored.customImage.imageId} is gone`);
  return {
    limits,
    datasets,
    customImage: {
      ...structuredClone(stored.customImage),
      imageRef: image.runRef,
      imageName: `${image.name}:${image.tag}`,
    },
  };
}

/** The custom image an evaluation's scoring names, if any. */
export async function customImageOf(db: Db | Tx, evaluationId: string): Promise<CustomImageConfig | null> {
  return (await getScoringConfig(db, evaluationId))?.customImage ?? null;
}

/** The judge key behind an id, opened; null when the row is gone (its evaluation was deleted). */
export async function openJudgeKey(db: Db, keyId: string, secretKey: Buffer): Promise<string | null> {
  const [row] = await db.select({ cipher: judgeKeys.cipher }).from(judgeKeys).where(eq(judgeKeys.id, keyId));
  return row ? openSecret(secretKey, row.cipher) : null;
}

/**
 * Gives the evaluation `to` a copy of `from`'s scoring configuration, each judge key sealed anew in
 * a row of its own (the rows belong to their evaluation and go with it). Nothing when `from` has none.
 */
export async function copyScoringConfig(tx: Db | Tx, from: string, to: string): Promise<void> {
  const stored = await getScoringConfig(tx, from);
  if (!stored) return;
  const copied = structuredClone(stored);
  const entries = [copied.default, ...Object.values(copied.datasets ?? {})];
  for (const entry of entries) {
    const keyId = entry?.judge?.apiKeyId;
    if (!entry?.judge || !keyId) continue;
    const [key] = await tx.select({ cipher: judgeKeys.cipher }).from(judgeKeys).where(eq(judgeKeys.id, keyId));
    if (!key) {
      entry.judge.apiKeyId = null;
      continue;
    }
    const [row] = await tx
      .insert(judgeKeys)
      .values({ evaluationId: to, cipher: key.cipher })
      .returning({ id: judgeKeys.id });
    entry.judge.apiKeyId = row!.id;
  }
  await tx.insert(scoringConfigs).values({ evaluationId: to, config: copied });
}
