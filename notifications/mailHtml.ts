/** The small HTML alternative every mail carries: escaped text in a plain, client-safe layout. */

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Rows of cells, already escaped by the caller's choice of `escapeHtml`; the first row is the header. */
export function htmlTable(rows: string[][]): string {
  const [head = [], ...body] = rows;
  const cell = (tag: 'th' | 'td', value: string) =>
    `<${tag} style="text-align:left;padding:2px 12px 2px 0">${value}</${tag}>`;
  return (
    '<table style="border-collapse:collapse">' +
    `<tr>${head.map((h) => cell('th', h)).join('')}</tr>` +
    body.map((r) => `<tr>${r.map((c) => cell('td', c)).join('')}</tr>`).join('') +
    '</table>'
  );
}

export function htmlDocument(title: string, blocks: string[]): string {
  return (
    `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>` +
    `<body style="font-family:sans-serif;font-size:14px">${blocks.join('\n')}</body></html>`
  );
}
