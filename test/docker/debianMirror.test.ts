/** Which mirror the backbone image is made from: the variable, then this machine's apt sources, then the default. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_DEBIAN_MIRROR, debianMirror, fromDeb822, fromOneLine } from '../../docker/debianMirror';

const DEB822 = `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
`;

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function aptDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'proctor-apt-'));
  dirs.push(dir);
  await mkdir(path.join(dir, 'sources.list.d'));
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  return dir;
}

describe('the Debian mirror', () => {
  it('is the first deb822 source serving the suite and main, not the security suite', () => {
    expect(fromDeb822(DEB822, 'bookworm')).toBe('http://deb.debian.org/debian');
    expect(fromDeb822(DEB822, 'bookworm-security')).toBe('http://deb.debian.org/debian-security');
    expect(fromDeb822(DEB822, 'trixie')).toBeNull();
  });

  it('skips deb822 stanzas that are disabled, for sources only, without main, or not over HTTP', () => {
    const text = [
      'Types: deb\nURIs: http://disabled.example/debian\nSuites: bookworm\nComponents: main\nEnabled: no',
      'Types: deb-src\nURIs: http://src.example/debian\nSuites: bookworm\nComponents: main',
      'Types: deb\nURIs: http://contrib.example/debian\nSuites: bookworm\nComponents: contrib non-free',
      'Types: deb\nURIs: cdrom:[Debian 12]/ https://mirror.example/debian\nSuites: bookworm\nComponents: main',
    ].join('\n\n');
    expect(fromDeb822(text, 'bookworm')).toBe('https://mirror.example/debian');
  });

  it('reads one-line sources with options and comments', () => {
    const text = [
      '# deb http://commented.example/debian bookworm main',
      'deb-src http://src.example/debian bookworm main',
      'deb http://security.debian.org/debian-security bookworm-security main',
      'deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://ftp.example/debian bookworm main contrib',
    ].join('\n');
    expect(fromOneLine(text, 'bookworm')).toBe('http://ftp.example/debian');
    expect(fromOneLine('deb http://ftp.example/debian bookworm contrib', 'bookworm')).toBeNull();
  });

  it('comes from PROCTOR_DEBIAN_MIRROR first, then sources.list, then sources.list.d in order, else the default', async () => {
    const both = await aptDir({
      'sources.list': 'deb http://list.example/debian/ bookworm main\n',
      'sources.list.d/debian.sources': DEB822,
    });
    expect(
      await debianMirror('bookworm', { env: { PROCTOR_DEBIAN_MIRROR: 'http://local:3142/debian/' }, aptDir: both }),
    ).toEqual({
      url: 'http://local:3142/debian',
      from: 'PROCTOR_DEBIAN_MIRROR',
    });
    expect(await debianMirror('bookworm', { env: {}, aptDir: both })).toEqual({
      url: 'http://list.example/debian',
      from: path.join(both, 'sources.list'),
    });
    const d = await aptDir({ 'sources.list.d/debian.sources': DEB822 });
    expect((await debianMirror('bookworm', { env: {}, aptDir: d })).url).toBe('http://deb.debian.org/debian');
    const none = await aptDir({ 'sources.list': '# nothing here\n' });
    expect(await debianMirror('bookworm', { env: {}, aptDir: none })).toEqual({
      url: DEFAULT_DEBIAN_MIRROR,
      from: 'default',
    });
  });
});
