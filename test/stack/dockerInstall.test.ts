import { describe, expect, it } from 'vitest';
import { offerDockerInstall, type InstallEnvironment } from '../../stack/dockerInstall';

function environment(overrides: Partial<InstallEnvironment> = {}) {
  const ran: string[] = [];
  const said: string[] = [];
  const asked: string[] = [];
  const env: InstallEnvironment = {
    choice: undefined,
    isRoot: true,
    hasAptGet: true,
    ask: null,
    run: async (command, args) => void ran.push([command, ...args].join(' ')),
    say: (line) => void said.push(line),
    ...overrides,
  };
  return { env, ran, said, asked };
}

describe('offerDockerInstall', () => {
  it('installs with PROCTOR_INSTALL_DOCKER=yes, without asking', async () => {
    const t = environment({ choice: 'yes', ask: async () => 'n' });
    expect(await offerDockerInstall(t.env)).toBe(true);
    expect(t.ran).toEqual(['apt-get update -qq', 'apt-get install -y -qq docker.io']);
  });

  it('asks on a terminal and installs on yes, not on anything else', async () => {
    for (const [answer, installs] of [
      ['y', true],
      ['YES ', true],
      ['', false],
      ['no', false],
      ['maybe', false],
    ] as const) {
      const questions: string[] = [];
      const t = environment({ ask: async (q) => (questions.push(q), answer) });
      expect(await offerDockerInstall(t.env), JSON.stringify(answer)).toBe(installs);
      expect(questions).toEqual([
        'Docker is not installed. Install it now with "apt-get install -y docker.io"? [y/N] ',
      ]);
      expect(t.ran.length > 0).toBe(installs);
    }
  });

  it('never installs without a yes: no terminal, PROCTOR_INSTALL_DOCKER=no, not root, no apt-get', async () => {
    const cases: Partial<InstallEnvironment>[] = [
      {},
      { choice: 'no', ask: async () => 'y' },
      { isRoot: false, choice: 'yes' },
      { hasAptGet: false, choice: 'yes' },
    ];
    for (const overrides of cases) {
      const t = environment(overrides);
      expect(await offerDockerInstall(t.env)).toBe(false);
      expect(t.ran).toEqual([]);
      expect(t.said.join('\n')).toMatch(/Docker is not installed/);
    }
    const notRoot = environment({ isRoot: false });
    await offerDockerInstall(notRoot.env);
    expect(notRoot.said).toEqual([
      'Docker is not installed; to evaluate private deployments run: sudo apt-get install -y docker.io (then npm start as root, or set DOCKER_HOST)',
    ]);
  });
});
