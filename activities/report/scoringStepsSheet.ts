/**
 * The report's "Scoring steps" sheet: for every sample a judge metric scored, the answer after
 * preprocessing, the prompt sent to the judge, its raw reply, each postprocessing result, the score
 * or the reason there is none, and the judge calls made. Written only for runs with judge metrics.
 */
import type ExcelJS from 'exceljs';
import type { Db } from '../../db/client';
import { allTraces } from '../../db/queries/judgeSteps';
import type { ScoringStep } from '../../contracts/scoringTrace';

const COLUMNS = [
  { title: 'ID', width: 24 },
  { title: 'Dataset', width: 20 },
  { title: 'Method', width: 20 },
  { title: 'Preprocessed answer', width: 40 },
  { title: 'Judge prompt', width: 60 },
  { title: 'Judge reply', width: 50 },
  { title: 'Postprocessing', width: 40 },
  { title: 'Score', width: 9 },
  { title: 'Error', width: 40 },
  { title: 'Judge attempts', width: 14 },
];

export const SCORING_STEPS_SHEET = 'Scoring steps';

export async function writeScoringSteps(
  sheet: ExcelJS.Worksheet,
  db: Db,
  runId: string,
  cell: (text: string | null) => string | null,
): Promise<number> {
  sheet.columns = COLUMNS.map(({ width }) => ({ width }));
  const header = sheet.addRow(COLUMNS.map((c) => c.title));
  header.font = { bold: true };
  header.commit();
  let rows = 0;
  for await (const trace of allTraces(db, runId)) {
    const of = <K extends ScoringStep['step']>(step: K) =>
      trace.steps.filter((s): s is Extract<ScoringStep, { step: K }> => s.step === step);
    const pre = of('preprocess').at(-1)?.output ?? null;
    const prompt =
      of('prompt')[0]
        ?.messages.map((m) => (m.role === 'system' ? `[system] ${m.content}` : m.content))
        .join('\n\n') ?? null;
    const judge = of('judge')[0];
    const post =
      of('postprocess')
        .map((s) => `${s.op} → ${s.error ? `failed: ${s.error}` : JSON.stringify(s.output)}`)
        .join('\n') || null;
    const fallback = of('fallback')[0];
    const row = sheet.addRow([
      cell(trace.itemId),
      cell(trace.dataset),
      trace.method,
      cell(pre),
      cell(prompt ?? (fallback ? fallback.reason : null)),
      cell(judge?.reply ?? null),
      cell(post),
      trace.score,
      cell(trace.error),
      trace.attempts,
    ]);
    row.getCell(8).numFmt = '0.0000';
    row.commit();
    rows += 1;
  }
  sheet.commit();
  return rows;
}
