/**
 * Which Debian mirror the backbone image is made from: `PROCTOR_DEBIAN_MIRROR` when set, else the
 * first `deb` source of this machine's apt configuration that serves the suite's `main` component
 * (deb822 files in /etc/apt/sources.list.d/*.sources, one-line entries in sources.list and
 * sources.list.d/*.list), else deb.debian.org. A machine set up to reach Debian through a proxy or
 * a local mirror thereby builds the image through it too.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

export const DEFAULT_DEBIAN_MIRROR = 'http://deb.debian.org/debian';

export interface DebianMirror {
  url: string;
  /** Where the URL was found, for log lines: the variable, the sources file, or 'default'. */
  from: string;
}

export async function debianMirror(
  suite: string,
  o: { env?: NodeJS.ProcessEnv; aptDir?: string } = {},
): Promise<DebianMirror> {
  const configured = (o.env ?? process.env).PROCTOR_DEBIAN_MIRROR?.trim();
  if (configured) return { url: withoutSlash(configured), from: 'PROCTOR_DEBIAN_MIRROR' };
  const aptDir = o.aptDir ?? '/etc/apt';
  const listDir = path.join(aptDir, 'sources.list.d');
  const names = await readdir(listDir).catch(() => [] as string[]);
  const files = [
    path.join(aptDir, 'sources.list'),
    ...names
      .filter((n) => n.endsWith('.sources') || n.endsWith('.list'))
      .sort()
      .map((n) => path.join(listDir, n)),
  ];
  for (const file of files) {
    const text = await readFile(file, 'utf8').catch(() => null);
    if (text === null) continue;
    const url = file.endsWith('.sources') ? fromDeb822(text, suite) : fromOneLine(text, suite);
    if (url) return { url: withoutSlash(url), from: file };
  }
  return { url: DEFAULT_DEBIAN_MIRROR, from: 'default' };
}

/** The first URI of a stanza with Types deb, the suite and component main that is not disabled. */
export function fromDeb822(text: string, suite: string): string | null {
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    let last: string | null = null;
    for (const line of stanza.split('\n')) {
      if (line.startsWith('#')) continue;
      if (/^\s/.test(line) && last) {
        fields.set(last, `${fields.get(last)} ${line.trim()}`);
        continue;
      }
      const match = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
      if (!match) continue;
      last = match[1]!.toLowerCase();
      fields.set(last, match[2]!.trim());
    }
    const words = (name: string) => (fields.get(name) ?? '').split(/\s+/).filter(Boolean);
    if (fields.get('enabled')?.toLowerCase() === 'no') continue;
    if (!words('types').includes('deb') || !words('suites').includes(suite) || !words('components').includes('main'))
      continue;
    const uri = words('uris').find(isHttp);
    if (uri) return uri;
  }
  return null;
}

/** The first `deb [options] URI suite components…` line naming the suite and main. */
export function fromOneLine(text: string, suite: string): string | null {
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    const match = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+(.+)$/.exec(line);
    if (!match) continue;
    const [, uri, lineSuite, components] = match;
    if (lineSuite === suite && components!.split(/\s+/).includes('main') && isHttp(uri!)) return uri!;
  }
  return null;
}

// debootstrap fetches over HTTP(S); cdrom:, file: and mirror+file: sources are of no use to it.
function isHttp(uri: string): boolean {
  return /^https?:\/\//.test(uri);
}

function withoutSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
