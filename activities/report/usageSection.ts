/**
 * The report's tokens and cost: under the Summary sheet's tables, one row per dataset with the
 * model's prompt and completion tokens (how many samples had them counted rather than reported),
 * the cost at the prices frozen at launch, and the judge's tokens and cost; then the run's total
 * and any change of the model that answered (docs/tokens-and-cost.md).
 */
import type ExcelJS from 'exceljs';
import type { RunConfig } from '../../contracts/run';
import type { RunWarning } from '../../contracts/tokens';
import { addSums, judgePrices, judgeUsageOf, priced, totalJudgeUsage, type UsageSums } from '../../db/queries/runUsage';

const BOLD = { bold: true } as const;
const COUNT_FORMAT = '#,##0';
const COST_FORMAT = '#,##0.0000';

export const USAGE_TITLE = 'Tokens and cost';
export const USAGE_HEADER = [
  'Dataset',
  'Answered',
  'Prompt tokens',
  'Completion tokens',
  'Counted (no usage reported)',
  'Cost',
  'Judge prompt tokens',
  'Judge completion tokens',
  'Judge cost',
];

export interface UsageSectionInput {
  config: RunConfig;
  datasets: readonly { datasetId: string; judgePromptTokens: number; judgeCompletionTokens: number }[];
  sums: ReadonlyMap<string, UsageSums>;
  warnings: readonly RunWarning[];
}

export function writeUsageSection(sheet: ExcelJS.Worksheet, { config, datasets, sums, warnings }: UsageSectionInput) {
  const prices = config.prices ?? null;
  sheet.addRow([]).commit();
  const title = sheet.addRow([USAGE_TITLE]);
  title.font = BOLD;
  title.commit();
  const currency = prices?.currency ? ` (${prices.currency})` : '';
  const priceLine = prices
    ? `prices per million tokens${currency}: input ${prices.inputPerMillion}, output ${prices.outputPerMillion}`
    : 'no prices were set on the deployment: no cost';
  sheet.addRow([priceLine]).commit();
  const head = sheet.addRow(USAGE_HEADER);
  head.font = BOLD;
  head.commit();

  const judged = datasets.map((d) => judgeUsageOf(d, judgePrices(config, d.datasetId)));
  const line = (label: string, s: UsageSums | undefined, j: ReturnType<typeof judgeUsageOf>, bold = false) => {
    const u = priced(s, prices);
    const row = sheet.addRow([
      label,
      u.samples,
      u.promptTokens,
      u.completionTokens,
      u.countedSamples,
      u.cost,
      j?.promptTokens ?? null,
      j?.completionTokens ?? null,
      j?.cost ?? null,
    ]);
    for (const i of [2, 3, 4, 5, 7, 8]) row.getCell(i).numFmt = COUNT_FORMAT;
    for (const i of [6, 9]) row.getCell(i).numFmt = COST_FORMAT;
    if (bold) row.font = BOLD;
    row.commit();
  };
  datasets.forEach((d, i) => line(d.datasetId, sums.get(d.datasetId), judged[i]!));
  line('Total', addSums(sums.values()), totalJudgeUsage(judged), true);

  for (const w of warnings) sheet.addRow([`Warning (${w.at}): ${w.message}`]).commit();
}
