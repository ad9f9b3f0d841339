/**
 * The public leaderboard page, `GET /leaderboard/{domain}`: the board of GET /v1/leaderboards/{domain}
 * rendered on the server as one self-contained HTML document (no script, no external asset), with
 * a switcher between domains. Names and organisations come from users, so everything interpolated
 * is escaped, and the Content-Security-Policy forbids scripts should an escape ever be missed.
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { ApiDeps } from '../apiDeps';
import { DOMAINS } from '../../contracts/domain';
import type {
  LeaderboardRow,
  LeaderboardScore,
  LeaderboardSuiteView,
  LeaderboardTaskColumn,
  LeaderboardView,
} from '../../contracts/leaderboard';
import type { ScoreInterval } from '../../scoring/scoreAggregation';
import { loadLeaderboard } from '../../db/queries/leaderboard';
import { problems } from '../http/openapi';
import { boardDomain } from '../routes/leaderboard';

const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

export async function leaderboardPageRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  app.withTypeProvider<TypeBoxTypeProvider>().get(
    '/leaderboard/:domain',
    {
      schema: {
        summary: "A domain's leaderboard as a web page",
        description: 'Public. The same rows and columns as GET /v1/leaderboards/{domain}, as HTML.',
        tags: ['leaderboard'],
        params: Type.Object({ domain: Type.String({ description: `the domain: one of ${DOMAINS.join(', ')}` }) }),
        response: {
          200: { description: 'the page', content: { 'text/html': { schema: { type: 'string' } } } },
          ...problems(404),
        },
      },
      config: { public: true },
    },
    async (request, reply) => {
      const board = await loadLeaderboard(deps.db, boardDomain(request.params.domain));
      return reply.headers(PAGE_HEADERS).type('text/html; charset=utf-8').send(renderLeaderboardPage(board));
    },
  );
}

/** Text made safe for HTML element content and quoted attribute values alike. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Scores as the API gives them, to four places: the page shows no number the JSON does not. */
export function formatScore(score: number | null | undefined): string {
  return score === null || score === undefined ? '—' : score.toFixed(4);
}

export function formatInterval(ci95: ScoreInterval | null | undefined): string {
  return ci95 ? `${ci95.lower.toFixed(4)}–${ci95.upper.toFixed(4)}` : '';
}

export function renderLeaderboardPage(board: LeaderboardView): string {
  const e = escapeHtml;
  const switcher = DOMAINS.map((d) =>
    d === board.domain
      ? `<li><strong aria-current="page">${e(d)}</strong></li>`
      : `<li><a href="/leaderboard/${e(d)}">${e(d)}</a></li>`,
  ).join('');
  const earlier = board.earlier
    .map((section) => {
      const title = section.suite
        ? `Submitted under suite v${section.suite.version}, “${e(section.suite.name)}”`
        : 'Submitted before the board had suites';
      const version = section.suite ? String(section.suite.version) : 'none';
      return (
        `<section data-suite-version="${version}">\n<h2>${title}</h2>\n` +
        (section.suite ? suiteLine(section.suite) : '<p>Ranked on the built-in datasets each run finished.</p>\n') +
        boardTable(section.columns, section.rows, 'No run.') +
        '</section>'
      );
    })
    .join('\n');

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(board.domain)} leaderboard · Proctor</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #1d2330; }
nav ul { list-style: none; display: flex; gap: 1rem; padding: 0; }
table { border-collapse: collapse; margin-bottom: 2rem; }
th, td { border: 1px solid #c9cfdb; padding: .3rem .5rem; text-align: left; vertical-align: top; }
thead th { background: #eef1f6; }
td .ci, td .range { display: block; color: #5b6475; font-size: 12px; }
</style>
</head>
<body>
<h1>${e(board.domain)} leaderboard</h1>
<nav aria-label="domains"><ul>${switcher}</ul></nav>
<section id="current" data-suite-version="${board.suite.version}">
${suiteLine(board.suite)}<p>Runs that finished every dataset of the suite, submitted under this version, ranked on those datasets: best overall score first. Scores are means in [0, 1]; the smaller line is the 95% confidence interval. Under the rank, the ranks a row could hold given the intervals (rows whose intervals overlap are not strictly ordered).</p>
${boardTable(board.columns, board.rows, 'No run has been submitted to this leaderboard yet.', 'leaderboard')}</section>
${earlier}
</body>
</html>
`;
}

function suiteLine(suite: LeaderboardSuiteView): string {
  const e = escapeHtml;
  return `<p class="suite">Suite <strong data-suite-name>${e(suite.name)}</strong>, version <span data-suite-version-number>${suite.version}</span>: ${suite.datasets.map((d) => `<code>${e(d)}</code>`).join(', ') || 'no dataset yet'}.</p>\n`;
}

function boardTable(
  columns: LeaderboardTaskColumn[],
  boardRows: LeaderboardRow[],
  emptyText: string,
  id?: string,
): string {
  const e = escapeHtml;
  const datasetCount = columns.reduce((n, c) => n + c.datasets.length, 0);
  const groupHeader = columns
    .map((c) => `<th scope="colgroup" colspan="${c.datasets.length + 1}">${e(c.task)}</th>`)
    .join('');
  const columnHeader = columns
    .map((c) =>
      [
        `<th scope="col" data-task="${e(c.task)}">average</th>`,
        ...c.datasets.map((d) => `<th scope="col" data-dataset="${e(d)}">${e(d)}</th>`),
      ].join(''),
    )
    .join('');
  const cell = (attribute: string, key: string, s: LeaderboardScore | undefined) =>
    `<td ${attribute}="${e(key)}">${scoreHtml(s?.score, s?.ci95)}</td>`;
  const rows = boardRows
    .map((row) => {
      const scores = columns
        .map((c) =>
          [
            cell('data-task', c.task, row.taskScores[c.task]),
            ...c.datasets.map((d) => cell('data-dataset', d, row.datasetScores[d])),
          ].join(''),
        )
        .join('');
      const { best, worst } = row.rankRange;
      return (
        `<tr data-model="${e(row.modelName)}">` +
        `<td data-column="rank"><span class="rank">${row.rank}</span><span class="range" data-rank-range>${best === worst ? String(best) : `${best}–${worst}`}</span></td>` +
        `<th scope="row" data-column="model">${e(row.modelName)}${row.caveats
          .map((c) => `<br><small class="caveat" data-caveat>${e(c)}</small>`)
          .join('')}</th>` +
        `<td data-column="submitter">${e(row.submitter)}</td>` +
        `<td data-column="organization">${e(row.organization)}</td>` +
        `<td data-column="submitted"><time datetime="${e(row.submittedAt)}">${e(row.submittedAt.slice(0, 16).replace('T', ' '))} UTC</time></td>` +
        `<td data-column="overall">${scoreHtml(row.overallScore, row.overallCi95)}</td>` +
        scores +
        '</tr>'
      );
    })
    .join('\n');
  const empty = `<tr><td colspan="${6 + columns.length + datasetCount}">${e(emptyText)}</td></tr>`;
  return `<table${id ? ` id="${id}"` : ''}>
<thead>
<tr><th scope="col" rowspan="2">#</th><th scope="col" rowspan="2">Model</th><th scope="col" rowspan="2">Submitter</th><th scope="col" rowspan="2">Organization</th><th scope="col" rowspan="2">Submitted</th><th scope="col" rowspan="2">Overall</th>${groupHeader}</tr>
<tr>${columnHeader}</tr>
</thead>
<tbody>
${boardRows.length > 0 ? rows : empty}
</tbody>
</table>
`;
}

function scoreHtml(score: number | null | undefined, ci95: ScoreInterval | null | undefined): string {
  const interval = formatInterval(ci95);
  return `<span class="score">${formatScore(score)}</span>${interval ? `<span class="ci">${interval}</span>` : ''}`;
}
