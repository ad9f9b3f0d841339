/**
 * The leaderboard page as a real browser shows it: Debian's Chromium driven by playwright-core
 * (CI installs the `chromium` package). Reads what a reader sees (text, not markup), looks for
 * anything a hostile name could have injected, and follows the domain switcher.
 */
import { chromium, type Locator } from 'playwright-core';

export const CHROMIUM_PATH = process.env.PROCTOR_CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface BoardRowSeen {
  rank: string;
  /** The ranks the row could hold given the intervals: "2" or "1–3". */
  rankRange: string;
  model: string;
  submitter: string;
  organization: string;
  overall: string;
  overallCi: string;
  /** Per task: its average, then its datasets, as the header lists them; the score line only. */
  scores: string[];
}

export interface BoardSeen {
  title: string;
  groups: string[];
  header: string[];
  rows: BoardRowSeen[];
  /** Elements a name or organisation would have made had it been markup. */
  injected: { images: number; scripts: number; bold: number };
  switchedTo: { url: string; heading: string; rows: number };
  /** The current suite's line, as read. */
  suite: string;
  /** Sections of earlier suite versions: their heading and the models they list. */
  earlier: { heading: string; models: string[] }[];
  /** The page's markup as the browser holds it, to search for what must not be there. */
  html: string;
}

export async function browseBoard(url: string): Promise<BoardSeen> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-background-networking'],
  });
  try {
    const page = await browser.newPage();
    const response = await page.goto(url);
    if (response?.status() !== 200) throw new Error(`${url} answered ${response?.status()}`);
    // Locators read the rendered DOM: text as a reader sees it, not the markup sent.
    const text = async (locator: Locator) =>
      (await locator.count()) > 0 ? ((await locator.first().textContent()) ?? '').trim() : '';
    const headRows = page.locator('#leaderboard thead tr');
    const rows: BoardRowSeen[] = [];
    for (const tr of await page.locator('#leaderboard tbody tr[data-model]').all()) {
      const cell = (column: string) => tr.locator(`[data-column="${column}"]`);
      rows.push({
        rank: await text(cell('rank').locator('.rank')),
        rankRange: await text(cell('rank').locator('[data-rank-range]')),
        model: await text(cell('model')),
        submitter: await text(cell('submitter')),
        organization: await text(cell('organization')),
        overall: await text(cell('overall').locator('.score')),
        overallCi: await text(cell('overall').locator('.ci')),
        scores: (await tr.locator('td[data-task] .score, td[data-dataset] .score').allTextContents()).map((t) =>
          t.trim(),
        ),
      });
    }
    const seen = {
      title: await page.title(),
      groups: (await headRows.nth(0).locator('th[scope="colgroup"]').allTextContents()).map((t) => t.trim()),
      header: (await headRows.nth(1).locator('th').allTextContents()).map((t) => t.trim()),
      rows,
      suite: await text(page.locator('#current .suite')),
      earlier: await Promise.all(
        (await page.locator('body > section[data-suite-version]:not(#current)').all()).map(async (section) => ({
          heading: ((await section.locator('h2').textContent()) ?? '').trim(),
          models: (await section.locator('tbody tr[data-model] [data-column="model"]').allTextContents()).map((t) =>
            t.trim(),
          ),
        })),
      ),
      html: await page.content(),
      injected: {
        images: await page.locator('img').count(),
        scripts: await page.locator('script').count(),
        bold: await page.locator('#injected').count(),
      },
    };
    await page.click('nav a[href="/leaderboard/cv"]');
    await page.waitForURL('**/leaderboard/cv');
    const switchedTo = {
      url: page.url(),
      heading: (await page.textContent('h1'))?.trim() ?? '',
      rows: await page.locator('#leaderboard tbody tr').count(),
    };
    return { ...seen, switchedTo };
  } finally {
    await browser.close();
  }
}
