/** The reference model's command line, as the launcher runs it: a real child process. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../../stack/referenceModel/main.ts', import.meta.url));
const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

function start(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', () => {
      const m = /listening at (http:\/\/\S+\/v1)/.exec(output);
      if (m) resolve(m[1]!);
    });
    void exit.then((code) => reject(new Error(`exited with ${code} before listening:\n${output}`)));
  });
  return { child, url, exit, output: () => output };
}

it('serves on the port it is given, takes knobs from the command line, and exits cleanly on SIGTERM', async () => {
  const p = start(['--port', '0', '--host', '127.0.0.1', '--knobs', '{"skill":1,"requiredApiKey":"sk-cli-secret"}']);
  const url = await p.url;
  const res = await fetch(`${url}/chat/completions`, {
    method: 'POST',
    headers: { authorization: 'Bearer sk-cli-secret', 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'proctor-reference',
      messages: [{ role: 'user', content: 'Compute 40 + 2. Reply with the number only.' }],
    }),
  });
  expect(((await res.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toBe(
    '42',
  );
  // The start-up log shows the knobs but not the key they require.
  expect(p.output()).toContain('"skill":1');
  expect(p.output()).not.toContain('sk-cli-secret');
  p.child.kill('SIGTERM');
  expect(await p.exit).toBe(0);
});

it('reads its port from PROCTOR_REFERENCE_MODEL_PORT and exits cleanly on SIGINT', async () => {
  const p = start([], { PROCTOR_REFERENCE_MODEL_PORT: '0' });
  const url = await p.url;
  expect((await fetch(url.replace(/\/v1$/, '/healthz'))).status).toBe(200);
  p.child.kill('SIGINT');
  expect(await p.exit).toBe(0);
});

it('refuses bad settings with a message instead of starting', async () => {
  const p = start(['--port', '0', '--knobs', '{"errorRate":3}']);
  await expect(p.url).rejects.toThrow(/errorRate/);
  expect(await p.exit).toBe(1);
});
