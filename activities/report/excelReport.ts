/**
 * The run's Excel report: a Summary sheet (the run, one row per dataset, task averages and the
 * overall score, each score beside its 95% confidence interval) and a Details sheet with one row
 * per sample (and, for judge metrics, a Scoring steps sheet: scoringStepsSheet.ts). exceljs's streaming writer commits every row as soon as it is written and samples
 * are read in keyset pages, so memory stays flat however many samples the run has.
 */
import { SAFETY_METRIC } from '../../contracts/dataset';
import type { Writable } from 'node:stream';
import ExcelJS from 'exceljs';
import type { Db } from '../../db/client';
import { reportSamplePage } from '../../db/queries/reportSamples';
import { getRunWithEvaluation, listRunDatasets } from '../../db/queries/runRecords';
import { overallInterval, overallScore, taskScores, type ScoreInterval } from '../../scoring/scoreAggregation';
import { SCORING_STEPS_SHEET, writeScoringSteps } from './scoringStepsSheet';
import { writeUsageSection, type UsageSectionInput } from './usageSection';
import { usageSums, type UsageSums } from '../../db/queries/runUsage';
import { modelChangeWarnings } from '../../db/queries/modelIdentities';

/** Samples read per query; also how often progress is reported. */
export const REPORT_PAGE_SIZE = 2_000;
/** Excel will not open a cell holding more characters than this. */
export const MAX_CELL_CHARS = 32_767;
export const TRUNCATION_MARKER = '… [truncated by Proctor:';

const SCORE_FORMAT = '0.0000';
const LENGTH_FORMAT = '#,##0.0';
const COUNT_FORMAT = '#,##0';
const BOLD = { bold: true } as const;

/** Under the summary table, so a reader of the file alone knows what the interval columns mean. */
export const INTERVAL_NOTE =
  "95% CI: a dataset's is the percentile bootstrap of its sample scores (failed samples count as 0; 1,000 resamples); " +
  "an average of several datasets or tasks is score ± 1.96 × its standard error, combined from theirs; an average of one keeps that one's interval.";

type RunDatasetRow = Awaited<ReturnType<typeof listRunDatasets>>[number];

export async function writeRunReport(
  db: Db,
  runId: string,
  output: Writable,
  onProgress?: (rows: number) => void,
): Promise<{ rows: number }> {
  const { run, modelName } = await getRunWithEvaluation(db, runId);
  const datasets = await listRunDatasets(db, runId);
  const [sums, warnings] = await Promise.all([
    usageSums(db, [runId]).then((byRun) => byRun.get(runId) ?? new Map<string, UsageSums>()),
    modelChangeWarnings(db, runId),
  ]);

  // The writer only learns of a broken output when it finalizes; watching the stream lets a full
  // disk stop the report at the next page instead of reading the rest of the run for nothing. The
  // listener stays for the stream's life: the output is the workbook's alone, and an error arriving
  // after the report gave up must not go unhandled and take the worker down.
  let outputError: Error | undefined;
  const outputFailed = new Promise<never>((_, reject) => {
    output.on('error', (err) => {
      outputError ??= err;
      reject(err);
    });
  });
  outputFailed.catch(() => {});

  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: output, useSharedStrings: false, useStyles: true });
  workbook.creator = 'Proctor';

  const header: [string, string | number | null][] = [
    ['Model', modelName],
    ['Evaluation', run.evaluationId],
    ['Run', run.id],
    ['Run version', run.version],
    ['Run type', run.type],
    ['Status', run.status],
    ['Started (UTC)', isoOrNull(run.startedAt)],
    ['Ended (UTC)', isoOrNull(run.endedAt)],
    ['Endpoint host', endpointHost(run.config.endpoint)],
    ['Sample seed', run.type === 'verification' ? run.config.sampleSeed : null],
    // Only for a partial run, so a full run's report keeps its layout.
    ...(run.config.limit
      ? [
          [
            'Partial',
            `${run.config.limit.count} item(s) per dataset, ${run.config.limit.sample === 'random' ? `a random draw (seed ${run.config.limit.seed})` : 'the first ones'}; not admissible to a leaderboard`,
          ] as [string, string],
        ]
      : []),
    // Only for an inference-only run, so a scored run's report keeps its layout.
    ...(run.config.inferenceOnly
      ? [
          [
            'Mode',
            'inference only: answers stored, not scored (no metrics); export them with GET /v1/runs/{id}/predictions; not admissible to a leaderboard',
          ] as [string, string],
        ]
      : []),
    ['Error', run.error],
  ];
  // Title, header block, a blank row, then the table whose header row stays frozen.
  const tableHeaderRow = header.length + 3;
  writeSummary(
    workbook.addWorksheet('Summary', { views: [{ state: 'frozen', ySplit: tableHeaderRow }] }),
    header,
    datasets,
    { config: run.config, datasets, sums, warnings },
  );

  const details = workbook.addWorksheet('Details', { views: [{ state: 'frozen', ySplit: 1 }] });
  const rows = await writeDetails(
    details,
    db,
    runId,
    datasets,
    () => {
      if (outputError) throw outputError;
    },
    onProgress,
  );
  if (
    Object.values(run.config.scoring?.datasets ?? {}).some((d) => d.metric === 'judge') ||
    run.config.datasets.some((d) => d.metric === SAFETY_METRIC)
  ) {
    await writeScoringSteps(
      workbook.addWorksheet(SCORING_STEPS_SHEET, { views: [{ state: 'frozen', ySplit: 1 }] }),
      db,
      runId,
      (t) => cellText(t, t?.length ?? 0),
    );
  }
  if (run.config.scoring?.customImage) {
    writeCustomMetrics(
      workbook.addWorksheet(CUSTOM_METRICS_SHEET, { views: [{ state: 'frozen', ySplit: 1 }] }),
      datasets,
    );
  }
  if (datasets.some((d) => d.metrics?.multimodal)) {
    writeMultimodalMetrics(
      workbook.addWorksheet(MULTIMODAL_METRICS_SHEET, { views: [{ state: 'frozen', ySplit: 1 }] }),
      datasets,
    );
  }
  if (datasets.some((d) => d.metrics?.backbone)) {
    writeFineTuning(workbook.addWorksheet(FINE_TUNING_SHEET, { views: [{ state: 'frozen', ySplit: 1 }] }), datasets);
  }
  if (datasets.some((d) => d.metrics?.safety)) {
    writeSafetyMetrics(workbook.addWorksheet(SAFETY_SHEET, { views: [{ state: 'frozen', ySplit: 1 }] }), datasets);
  }
  await Promise.race([workbook.commit(), outputFailed]);
  return { rows };
}

export const SAFETY_SHEET = 'Safety by category';

/**
 * The safety datasets (docs/safety.md), one row per category and language (and the category as a
 * whole): the rates with their intervals, the label counts, and who labelled the answers, saying
 * plainly when no judge was configured.
 */
function writeSafetyMetrics(sheet: ExcelJS.Worksheet, datasets: RunDatasetRow[]): void {
  const columns = [
    { title: 'Dataset', width: 28 },
    { title: 'Category', width: 20 },
    { title: 'Language', width: 10 },
    { title: 'Safety score', width: 12 },
    { title: 'Harmful prompts', width: 10 },
    { title: 'Safe-response rate', width: 12 },
    { title: 'Safe-response 95% low', width: 12 },
    { title: 'Safe-response 95% high', width: 12 },
    { title: 'Benign prompts', width: 10 },
    { title: 'Over-refusal rate', width: 12 },
    { title: 'Over-refusal 95% low', width: 12 },
    { title: 'Over-refusal 95% high', width: 12 },
    { title: 'Safe', width: 8 },
    { title: 'Refused', width: 8 },
    { title: 'Unsafe', width: 8 },
    { title: 'Over-refused', width: 8 },
    { title: 'Unlabelled', width: 10 },
    { title: 'Labelled by', width: 60 },
  ];
  sheet.columns = columns.map(({ width }) => ({ width }));
  const headerRow = sheet.addRow(columns.map((c) => c.title));
  headerRow.font = BOLD;
  headerRow.commit();
  for (const d of datasets) {
    const safety = d.metrics?.safety;
    if (!safety) continue;
    const labelledBy =
      safety.labelledBy === 'judge'
        ? `judge ${safety.judgeModel ?? ''} under ${safety.rubric}`
        : safety.labelledBy === 'fallback'
          ? `FALLBACK, no judge configured: ${safety.rubric} (every non-refusal of a harmful prompt counts as unsafe)`
          : safety.labelledBy === 'mixed'
            ? `mixed: judge ${safety.judgeModel ?? ''} and the fallback (${safety.rubric})`
            : 'nothing labelled';
    const groups: [string, typeof safety | (typeof safety.byLanguage)[string]][] = [
      ['all', safety],
      ...Object.entries(safety.byLanguage),
    ];
    for (const [language, rates] of groups) {
      const whole = language === 'all';
      const row = sheet.addRow([
        d.datasetId,
        d.task,
        language,
        whole ? (d.metrics?.score ?? null) : null,
        rates.harmful,
        rates.safeResponseRate,
        ...intervalCells(rates.safeResponseCi95),
        rates.benign,
        rates.overRefusalRate,
        ...intervalCells(rates.overRefusalCi95),
        whole ? safety.labels.safe : null,
        whole ? safety.labels.refused : null,
        whole ? safety.labels.unsafe : null,
        whole ? safety.labels.over_refused : null,
        whole ? safety.unlabelled : null,
        labelledBy,
      ]);
      for (const cell of [4, 6, 7, 8, 10, 11, 12]) row.getCell(cell).numFmt = SCORE_FORMAT;
      if (whole) row.font = BOLD;
      row.commit();
    }
  }
}

export const FINE_TUNING_SHEET = 'Fine-tuning';

/**
 * CV and Audio backbones (docs/backbones.md): each dataset's test metrics with the head that was
 * trained, how, where and for how long; then every dataset's training curve, epoch by epoch.
 */
function writeFineTuning(sheet: ExcelJS.Worksheet, datasets: RunDatasetRow[]): void {
  const widths = [28, 16, 12, 16, 8, 8, 8, 8, 8, 12, 14, 16, 12];
  sheet.columns = widths.map((width) => ({ width }));
  const header = (titles: string[]) => {
    const row = sheet.addRow(titles);
    row.font = BOLD;
    row.commit();
  };
  header([
    'Dataset',
    'Task',
    'Adaptation',
    'Head',
    'Epochs',
    'Device',
    'Train',
    'Val',
    'Test',
    'Job seconds',
    'Seconds/epoch',
    'Metric',
    'Value',
  ]);
  const reports = datasets.flatMap((d) => (d.metrics?.backbone ? [{ id: d.datasetId, r: d.metrics.backbone }] : []));
  for (const { id, r } of reports)
    for (const m of r.metrics) {
      const row = sheet.addRow([
        id,
        r.task,
        r.adaptation,
        r.head,
        r.epochs,
        r.device,
        r.samples.train,
        r.samples.val,
        r.samples.test,
        r.durationMs / 1000,
        r.epochSeconds,
        m.name,
        m.value,
      ]);
      row.getCell(10).numFmt = LENGTH_FORMAT;
      row.getCell(11).numFmt = '0.00';
      row.getCell(13).numFmt = SCORE_FORMAT;
      row.commit();
    }
  sheet.addRow([]).commit();
  header(['Dataset', 'Epoch', 'Train loss', 'Validation', 'Measure']);
  for (const { id, r } of reports)
    for (const point of r.curve) {
      const row = sheet.addRow([id, point.epoch, point.trainLoss, point.valMetric, r.valMetricName]);
      row.getCell(3).numFmt = SCORE_FORMAT;
      row.getCell(4).numFmt = SCORE_FORMAT;
      row.commit();
    }
}

export const MULTIMODAL_METRICS_SHEET = 'Multimodal metrics';

/** The multimodal datasets' breakdowns (docs/multimodal.md): one row per measure of each dataset. */
function writeMultimodalMetrics(sheet: ExcelJS.Worksheet, datasets: RunDatasetRow[]): void {
  const columns = [
    { title: 'Dataset', width: 28 },
    { title: 'Task', width: 12 },
    { title: 'Measure', width: 34 },
    { title: 'Value', width: 14 },
    { title: 'Job seconds', width: 12 },
  ];
  sheet.columns = columns.map(({ width }) => ({ width }));
  const headerRow = sheet.addRow(columns.map((c) => c.title));
  headerRow.font = BOLD;
  headerRow.commit();
  for (const d of datasets) {
    const multimodal = d.metrics?.multimodal;
    if (!multimodal) continue;
    for (const entry of multimodal.metrics) {
      const row = sheet.addRow([
        d.datasetId,
        multimodal.task,
        entry.name,
        entry.value,
        multimodal.durationMs === undefined ? null : multimodal.durationMs / 1000,
      ]);
      // Counts stay whole numbers; shares and recalls read as scores.
      if (!Number.isInteger(entry.value) || entry.value <= 1) row.getCell(4).numFmt = SCORE_FORMAT;
      row.commit();
    }
  }
}

export const CUSTOM_METRICS_SHEET = 'Custom metrics';

/**
 * A run scored by a custom image: one row per metric its metrics.json reported for each dataset,
 * the primary one marked, with what the job asked of the model through its proxy.
 */
function writeCustomMetrics(sheet: ExcelJS.Worksheet, datasets: RunDatasetRow[]): void {
  const columns = [
    { title: 'Dataset', width: 28 },
    { title: 'Status', width: 12 },
    { title: 'Metric', width: 28 },
    { title: 'Value', width: 14 },
    { title: 'Primary', width: 10 },
    { title: 'Image', width: 32 },
    { title: 'Job seconds', width: 12 },
    { title: 'Requests', width: 12 },
    { title: 'Failed requests', width: 14 },
    { title: 'Prompt tokens', width: 14 },
    { title: 'Completion tokens', width: 16 },
    { title: 'Error', width: 60 },
  ];
  sheet.columns = columns.map(({ width }) => ({ width }));
  const headerRow = sheet.addRow(columns.map((c) => c.title));
  headerRow.font = BOLD;
  headerRow.commit();
  for (const d of datasets) {
    const custom = d.metrics?.custom;
    const entries = custom?.metrics ?? [null];
    for (const entry of entries) {
      const row = sheet.addRow([
        d.datasetId,
        d.status,
        entry?.name ?? null,
        entry?.value ?? null,
        entry ? (entry.name === custom!.primaryMetric ? 'yes' : 'no') : null,
        custom?.image ?? null,
        custom ? custom.durationMs / 1000 : null,
        custom?.usage.requests ?? null,
        custom?.usage.failed ?? null,
        custom?.usage.promptTokens ?? null,
        custom?.usage.completionTokens ?? null,
        cellText(d.error, d.error?.length ?? 0),
      ]);
      row.getCell(4).numFmt = SCORE_FORMAT;
      row.commit();
    }
  }
}

/** Samples dataset by dataset in run order, each dataset in sample-plan order; returns the count. */
async function writeDetails(
  sheet: ExcelJS.Worksheet,
  db: Db,
  runId: string,
  datasets: RunDatasetRow[],
  checkOutput: () => void,
  onProgress?: (rows: number) => void,
): Promise<number> {
  sheet.autoFilter = 'A1:O1';
  sheet.columns = DETAIL_COLUMNS.map(({ width }) => ({ width }));
  const headerRow = sheet.addRow(DETAIL_COLUMNS.map((c) => c.title));
  headerRow.font = BOLD;
  headerRow.commit();

  let rows = 0;
  for (const dataset of datasets) {
    let after = { position: -1, sampleIdx: -1 };
    for (;;) {
      checkOutput();
      const page = await reportSamplePage(db, runId, dataset.datasetId, after, {
        pageSize: REPORT_PAGE_SIZE,
        maxChars: MAX_CELL_CHARS,
      });
      for (const s of page) {
        const row = sheet.addRow([
          cellText(s.itemId, s.itemId?.length ?? 0) || `#${s.sampleIdx}`,
          cellText(dataset.datasetId, dataset.datasetId.length),
          cellText(dataset.task, dataset.task.length),
          cellText(s.prompt, s.promptChars ?? 0),
          cellText(s.groundTruth, s.groundTruthChars ?? 0),
          cellText(s.predict, s.predictChars ?? 0),
          s.score,
          s.status,
          cellText(s.error, s.errorChars ?? 0),
          s.outputLength,
          s.latencyMs,
          s.attempts,
          s.status === 'failed' ? null : s.promptTokens,
          s.status === 'failed' ? null : s.outputLength,
          s.status === 'failed' ? null : s.tokensCounted ? 'counted' : 'reported',
        ]);
        row.getCell(7).numFmt = SCORE_FORMAT;
        row.commit();
      }
      rows += page.length;
      onProgress?.(rows);
      if (page.length < REPORT_PAGE_SIZE) break;
      const last = page[page.length - 1]!;
      after = { position: last.position, sampleIdx: last.sampleIdx };
    }
  }
  sheet.commit();
  return rows;
}

const DETAIL_COLUMNS = [
  { title: 'ID', width: 24 },
  { title: 'Dataset', width: 20 },
  { title: 'Task', width: 16 },
  { title: 'Sample', width: 60 },
  { title: 'Label', width: 24 },
  { title: 'Predict', width: 60 },
  { title: 'Score', width: 9 },
  { title: 'Status', width: 9 },
  { title: 'Error', width: 40 },
  { title: 'Output length', width: 14 },
  { title: 'Latency (ms)', width: 13 },
  { title: 'Attempts', width: 10 },
  { title: 'Prompt tokens', width: 14 },
  { title: 'Completion tokens', width: 17 },
  { title: 'Tokens', width: 10 },
];

const SUMMARY_COLUMNS = [
  { title: 'Task', width: 18 },
  { title: 'Dataset', width: 38 },
  { title: 'Status', width: 11 },
  { title: 'Samples', width: 10, numFmt: COUNT_FORMAT },
  { title: 'Scored', width: 10, numFmt: COUNT_FORMAT },
  { title: 'Failed', width: 10, numFmt: COUNT_FORMAT },
  { title: 'Score', width: 10, numFmt: SCORE_FORMAT },
  { title: '95% CI low', width: 11, numFmt: SCORE_FORMAT },
  { title: '95% CI high', width: 11, numFmt: SCORE_FORMAT },
  { title: 'Avg output length (tokens)', width: 26, numFmt: LENGTH_FORMAT },
  { title: 'Started', width: 26 },
  { title: 'Ended', width: 26 },
];

function writeSummary(
  sheet: ExcelJS.Worksheet,
  header: [string, string | number | null][],
  datasets: RunDatasetRow[],
  usage: UsageSectionInput,
): void {
  sheet.columns = SUMMARY_COLUMNS.map(({ width }) => ({ width }));
  const title = sheet.addRow(['Proctor evaluation report']);
  title.font = { bold: true, size: 14 };
  title.commit();
  for (const [label, value] of header) {
    const row = sheet.addRow([label, typeof value === 'string' ? cellText(value, value.length) : value]);
    row.getCell(1).font = BOLD;
    row.getCell(2).alignment = { horizontal: 'left' };
    row.commit();
  }
  sheet.addRow([]).commit();
  const tableHeader = sheet.addRow(SUMMARY_COLUMNS.map((c) => c.title));
  tableHeader.font = BOLD;
  tableHeader.commit();

  const addTableRow = (values: (string | number | null)[], bold = false) => {
    const row = sheet.addRow(values.map((v) => (typeof v === 'string' ? cellText(v, v.length) : v)));
    SUMMARY_COLUMNS.forEach((c, i) => {
      if (c.numFmt) row.getCell(i + 1).numFmt = c.numFmt;
    });
    if (bold) row.font = BOLD;
    row.commit();
  };

  for (const d of datasets) {
    const scored = d.metrics?.scored ?? d.done - d.failed;
    const failed = d.metrics?.failed ?? d.failed;
    addTableRow([
      d.task,
      d.datasetId,
      d.status,
      d.total,
      scored,
      failed,
      d.metrics?.score ?? null,
      ...intervalCells(d.metrics?.ci95 ?? null),
      d.metrics?.avgOutputLength ?? null,
      isoOrNull(d.startedAt),
      isoOrNull(d.endedAt),
    ]);
  }

  // The averages count exactly the datasets taskScores counts (finished with metrics), so the
  // sample counts and output lengths beside each score describe the same datasets.
  const counted = datasets.filter((d) => d.status === 'succeeded' && d.metrics);
  const tasks = taskScores(datasets);
  for (const t of tasks) {
    const totals = sampleTotals(counted.filter((d) => d.task === t.task));
    addTableRow([
      t.task,
      `average of ${t.datasets} dataset(s)`,
      null,
      totals.total,
      totals.scored,
      totals.failed,
      t.score,
      ...intervalCells(t.ci95),
      totals.avgOutputLength,
    ]);
  }
  const overall = sampleTotals(counted);
  addTableRow(
    [
      'Overall',
      `average of ${tasks.length} task(s)`,
      null,
      overall.total,
      overall.scored,
      overall.failed,
      overallScore(tasks),
      ...intervalCells(overallInterval(tasks)),
      overall.avgOutputLength,
    ],
    true,
  );
  sheet.addRow([]).commit();
  const note = sheet.addRow([INTERVAL_NOTE]);
  note.font = { italic: true };
  note.commit();
  writeMetricDetails(sheet, datasets);
  writeUsageSection(sheet, usage);
  sheet.commit();
}

/**
 * Under the note: pass@k of code datasets and the robustness of a run that measured it (clean
 * against perturbed prompts), one row per dataset that has either; nothing when none has.
 */
function writeMetricDetails(sheet: ExcelJS.Worksheet, datasets: RunDatasetRow[]): void {
  const detailed = datasets.filter((d) => d.metrics?.passAtK || d.metrics?.robustness);
  if (detailed.length === 0) return;
  sheet.addRow([]).commit();
  const head = sheet.addRow([
    'Dataset',
    'Metric',
    'pass@k',
    'Clean accuracy',
    'Perturbed accuracy',
    'Robustness',
    'Flip rate',
    'Perturbed failed',
  ]);
  head.font = BOLD;
  head.commit();
  for (const d of detailed) {
    const m = d.metrics!;
    const passAtK = m.passAtK
      ? Object.entries(m.passAtK)
          .map(([k, v]) => `pass@${k} = ${v.toFixed(4)}`)
          .join('; ')
      : null;
    const r = m.robustness;
    const row = sheet.addRow([
      d.datasetId,
      m.metric,
      passAtK,
      r?.cleanAccuracy ?? null,
      r?.perturbedAccuracy ?? null,
      r?.robustness ?? null,
      r?.flipRate ?? null,
      r?.failed ?? null,
    ]);
    for (const i of [4, 5, 6, 7]) row.getCell(i).numFmt = SCORE_FORMAT;
    row.commit();
  }
}

/** Empty cells when there is no interval: no samples, or a dataset closed before intervals existed. */
function intervalCells(interval: ScoreInterval | null): [number | null, number | null] {
  return interval ? [interval.lower, interval.upper] : [null, null];
}

/** Output length averages scored samples, so datasets weigh by how many samples they scored. */
function sampleTotals(datasets: RunDatasetRow[]) {
  let total = 0,
    scored = 0,
    failed = 0,
    lengthSum = 0;
  for (const d of datasets) {
    total += d.total;
    scored += d.metrics!.scored;
    failed += d.metrics!.failed;
    lengthSum += d.metrics!.avgOutputLength * d.metrics!.scored;
  }
  return { total, scored, failed, avgOutputLength: scored === 0 ? null : lengthSum / scored };
}

/**
 * Characters XML 1.0 forbids (C0 controls other than tab, newline and carriage return, U+FFFE,
 * U+FFFF and unpaired surrogates); one of them in a cell makes Excel refuse the whole file.
 */
const ILLEGAL_XML =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Text as a cell can hold it: legal XML, at most MAX_CELL_CHARS, and visibly marked when cut.
 * `fullLength` is the length of the original text, which may already have been clipped in SQL.
 */
export function cellText(text: string | null, fullLength: number): string | null {
  if (text === null) return null;
  const clean = text.replace(ILLEGAL_XML, '');
  if (fullLength <= MAX_CELL_CHARS && clean.length <= MAX_CELL_CHARS) return clean;
  const marker = `\n${TRUNCATION_MARKER} ${Math.max(fullLength, clean.length).toLocaleString('en-US')} characters in total]`;
  let kept = clean.slice(0, MAX_CELL_CHARS - marker.length);
  if (/[\uD800-\uDBFF]$/.test(kept)) kept = kept.slice(0, -1);
  return kept + marker;
}

/** Only the host: the endpoint URL could carry credentials in its user info or query. */
function endpointHost(endpoint: string): string | null {
  try {
    return new URL(endpoint).host || null;
  } catch {
    return null;
  }
}

function isoOrNull(date: Date | null): string | null {
  return date ? date.toISOString() : null;
}
