/**
 * What a multimodal job's outputs score (docs/multimodal.md): the task's files read back through
 * the guarded readers (storage/multimodalOutputs.ts), scored by the pure rules of
 * scoring/multimodal and the t2i picture check, and turned into one sample result per item (a
 * question, a caption, a prompt) plus the task's breakdown. Outputs that cannot be used at all
 * (missing, malformed, mis-shaped) refuse the dataset with the reason; a single missing answer or
 * picture fails only its item.
 */
import { JobOutputError } from '../../storage/jobOutputs';
import { readRetrievalOutput, readT2iOutput, readVqaOutput } from '../../storage/multimodalOutputs';
import { scoreVqaDataset } from '../../scoring/multimodal/vqaScoring';
import { retrievalLayoutOf, scoreRetrieval } from '../../scoring/multimodal/retrievalScoring';
import { checkT2iPicture } from '../../datasets/builtin/multimodal/t2iCheck';
import type { T2iExpectation } from '../../datasets/builtin/multimodal/mmShapesT2i';
import type { DatasetItem } from '../../contracts/dataset';
import type { DatasetMetrics, MultimodalMetrics } from '../../contracts/run';
import type { MultimodalTask } from './servedDataset';

export interface MultimodalSample {
  /** What the model gave for the item, as text; null when it gave nothing. */
  predict: string | null;
  score: number;
  status: 'scored' | 'failed';
  error: string | null;
}

export interface MultimodalScored {
  ok: true;
  samples: MultimodalSample[];
  breakdown: MultimodalMetrics['metrics'];
}

export type MultimodalScoring = MultimodalScored | { ok: false; problem: string };

export async function scoreMultimodalOutputs(
  task: MultimodalTask,
  outputDir: string,
  datasetName: string,
  items: readonly DatasetItem[],
): Promise<MultimodalScoring> {
  try {
    switch (task) {
      case 'vqa':
        return await scoreVqa(outputDir, datasetName, items);
      case 'retrieval':
        return await scoreRetrievalOutput(outputDir, datasetName, items);
      case 't2i':
        return await scoreT2i(outputDir, items);
    }
  } catch (error) {
    if (error instanceof JobOutputError)
      return { ok: false, problem: `run.sh's output cannot be scored: ${error.message}` };
    throw error;
  }
}

async function scoreVqa(outputDir: string, name: string, items: readonly DatasetItem[]): Promise<MultimodalScoring> {
  const entries = await readVqaOutput(outputDir, name);
  const scored = scoreVqaDataset(items, entries);
  if (!scored.ok) return scored;
  const { score } = scored;
  return {
    ok: true,
    samples: score.items.map((r) =>
      r.answer === null
        ? {
            predict: null,
            score: 0,
            status: 'failed',
            error: `no answer: ${name}.json has no entry for question_id ${r.id}`,
          }
        : { predict: r.answer, score: r.correct ? 1 : 0, status: 'scored', error: null },
    ),
    breakdown: [
      { name: 'accuracy', value: score.accuracy },
      ...Object.entries(score.byType).map(([type, tally]) => ({ name: `accuracy ${type}`, value: tally.accuracy })),
      { name: 'answered', value: score.total - score.missing.length },
      { name: 'questions', value: score.total },
    ],
  };
}

async function scoreRetrievalOutput(
  outputDir: string,
  name: string,
  items: readonly DatasetItem[],
): Promise<MultimodalScoring> {
  const laid = retrievalLayoutOf(items);
  if (!laid.ok) return laid;
  const matrix = await readRetrievalOutput(outputDir, name, {
    rows: laid.layout.images.length,
    cols: laid.layout.imageOfCaption.length,
  });
  const scored = scoreRetrieval(items, matrix);
  if (!scored.ok) return { ok: false, problem: `${name}.npy cannot be scored: ${scored.problem}` };
  const { score } = scored;
  return {
    ok: true,
    // A caption's result: where its picture ranked among all pictures (text → image).
    samples: score.captionRanks.map((rank) => ({
      predict: `its picture ranked ${rank} of ${score.images}`,
      score: rank === 1 ? 1 : 0,
      status: 'scored',
      error: null,
    })),
    breakdown: [
      { name: 'mean recall', value: score.meanRecall },
      { name: 'image→text R@1', value: score.imageToText.r1 },
      { name: 'image→text R@5', value: score.imageToText.r5 },
      { name: 'image→text R@10', value: score.imageToText.r10 },
      { name: 'text→image R@1', value: score.textToImage.r1 },
      { name: 'text→image R@5', value: score.textToImage.r5 },
      { name: 'text→image R@10', value: score.textToImage.r10 },
      { name: 'images', value: score.images },
      { name: 'captions', value: score.captions },
    ],
  };
}

async function scoreT2i(outputDir: string, items: readonly DatasetItem[]): Promise<MultimodalScoring> {
  // A prompt's id is its position among the items the data server served (servedDataset.ts).
  const ids = items.map((_, position) => String(position));
  const { images } = await readT2iOutput(outputDir, ids);
  const samples: MultimodalSample[] = items.map((item, position) => {
    const picture = images[position]!;
    if (!picture.ok) return { predict: null, score: 0, status: 'failed', error: `no picture: ${picture.reason}` };
    const expect = item.metadata?.expect as T2iExpectation | undefined;
    if (!expect) return { predict: picture.image, score: 0, status: 'failed', error: 'the item says nothing to check' };
    const verdict = checkT2iPicture(picture.png, expect);
    return { predict: `${picture.image}: ${verdict.reason}`, score: verdict.ok ? 1 : 0, status: 'scored', error: null };
  });
  const passed = samples.filter((s) => s.score === 1).length;
  return {
    ok: true,
    samples,
    breakdown: [
      { name: 'passed share', value: items.length === 0 ? 0 : passed / items.length },
      { name: 'passed', value: passed },
      { name: 'pictures', value: samples.filter((s) => s.status === 'scored').length },
      { name: 'prompts', value: items.length },
    ],
  };
}

/**
 * A multimodal dataset's metrics with its task's breakdown: retrieval's score is the mean of its
 * six recalls (the per-caption rows hold text → image R@1, which is one of them), so its interval
 * over those rows would describe another number and is left out.
 */
export function withMultimodalBreakdown(metrics: DatasetMetrics, multimodal: MultimodalMetrics): DatasetMetrics {
  if (multimodal.task !== 'retrieval') return { ...metrics, multimodal };
  const mean = multimodal.metrics.find((m) => m.name === 'mean recall');
  return { ...metrics, multimodal, ...(mean ? { score: mean.value, ci95: null, standardError: null } : {}) };
}
