/**
 * The code sandbox on the test run's real Docker engine: verdicts for passing, failing and broken
 * programs, and each limit it enforces tried by a program that breaks it (endless loop, memory
 * hog, network use, fork bomb, writes to the root, floods of output). After every test no sandbox
 * container is left on the engine.
 */
import net from 'node:net';
import os from 'node:os';
import type Dockerode from 'dockerode';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SOURCE_BYTES, reapStaleSandboxes, runInSandbox, type SandboxResult } from '../../docker/codeSandbox';
import {
  CODE_SANDBOX_IMAGE_REF,
  ensureCodeSandboxImage,
  SANDBOX_IMAGE_INPUTS_LABEL,
} from '../../docker/codeSandboxImage';
import { SANDBOX_ROLE, sandboxContainerSpec, DEFAULT_SANDBOX_LIMITS } from '../../docker/codeSandboxSpec';
import { LABEL_ROLE } from '../../docker/containerSpec';
import { connectDocker } from '../../docker/engine';
import { requireEnv } from '../support/env';

let docker: Dockerode;

beforeAll(async () => {
  docker = connectDocker(requireEnv('DOCKER_HOST'));
  expect(await ensureCodeSandboxImage(docker)).toBe(CODE_SANDBOX_IMAGE_REF);
});

async function sandboxContainers(): Promise<string[]> {
  const found = await docker.listContainers({ all: true, filters: { label: [`${LABEL_ROLE}=${SANDBOX_ROLE}`] } });
  return found.map((c) => c.Names[0] ?? c.Id);
}

afterEach(async () => {
  expect(await sandboxContainers(), 'sandbox containers left on the engine').toEqual([]);
});

const ADD = 'def add(a, b):\n    return a + b\n';
const ADD_TESTS = 'assert add(2, 3) == 5\nassert add(-1, 1) == 0\n';

function run(
  program: string,
  tests: string,
  o: Parameters<typeof runInSandbox>[2] & { entryPoint?: string } = {},
): Promise<SandboxResult> {
  return runInSandbox(docker, { program, tests, entryPoint: o.entryPoint }, o);
}

describe('the code sandbox image', () => {
  it('is labelled with its inputs, runs as nobody, and is not rebuilt while they stay the same', async () => {
    const info = await docker.getImage(CODE_SANDBOX_IMAGE_REF).inspect();
    expect(info.Config.Labels?.[SANDBOX_IMAGE_INPUTS_LABEL]).toMatch(/^[0-9a-f]{64}$/);
    expect(info.Config.User).toBe('65534');
    expect(info.Config.Entrypoint).toEqual(['/usr/local/bin/python3', '-I', '-B', '-m', 'proctor_sandbox']);
    const builds: unknown[] = [];
    await ensureCodeSandboxImage(docker, { onBuilt: (b) => builds.push(b) });
    expect(builds).toEqual([]);
    expect((await docker.getImage(CODE_SANDBOX_IMAGE_REF).inspect()).Id).toBe(info.Id);
  });
});

describe('verdicts', () => {
  it('passes a correct solution, and shows what it printed', async () => {
    const r = await run(`${ADD}print("loaded")\n`, `${ADD_TESTS}print("tests ran")\n`, { entryPoint: 'add' });
    expect(r).toMatchObject({
      passed: true,
      verdict: 'passed',
      exitCode: 0,
      timedOut: false,
      oomKilled: false,
      outputLimitExceeded: false,
    });
    expect(r.stdoutTail).toBe('loaded\ntests ran\n');
    expect(r.stdoutTail).not.toContain('PROCTOR-SANDBOX');
    expect(r.durationMs).toBeGreaterThan(0);
  });

  it('fails a solution whose assertion fails, with the traceback on stderr', async () => {
    const r = await run('def add(a, b):\n    return a - b\n', ADD_TESTS, { entryPoint: 'add' });
    expect(r).toMatchObject({ passed: false, verdict: 'tests_failed', exitCode: 1 });
    expect(r.stderrTail).toContain('AssertionError');
  });

  it('tells a program that does not load, a missing entry point and tests that raise apart', async () => {
    const [syntax, missing, raising] = await Promise.all([
      run('def add(a, b)\n    return a + b\n', ADD_TESTS, { entryPoint: 'add' }),
      run('def plus(a, b):\n    return a + b\n', ADD_TESTS, { entryPoint: 'add' }),
      run('def add(a):\n    return a\n', ADD_TESTS, { entryPoint: 'add' }),
    ]);
    expect(syntax).toMatchObject({ passed: false, verdict: 'program_error' });
    expect(syntax.stderrTail).toContain('SyntaxError');
    expect(missing).toMatchObject({ passed: false, verdict: 'entry_point_missing' });
    expect(raising).toMatchObject({ passed: false, verdict: 'tests_error' });
    expect(raising.stderrTail).toContain('TypeError');
  });

  it('does not count leaving early with exit code 0 as a pass', async () => {
    const [sysExit, hardExit, exitInTests] = await Promise.all([
      run(`${ADD}import sys\nsys.exit(0)\n`, ADD_TESTS),
      run(`${ADD}import os\nos._exit(0)\n`, ADD_TESTS),
      run(ADD, 'import os\nos._exit(0)\n'),
    ]);
    expect(sysExit).toMatchObject({ passed: false, verdict: 'exited_early' });
    expect(hardExit).toMatchObject({ passed: false, verdict: 'crashed', exitCode: 0 });
    expect(exitInTests).toMatchObject({ passed: false, verdict: 'crashed', exitCode: 0 });
  });

  it('does not run a source too large for the sandbox, nor one with a NUL byte', async () => {
    const big = await run(`${ADD}# ${'x'.repeat(MAX_SOURCE_BYTES)}\n`, ADD_TESTS);
    expect(big).toMatchObject({ passed: false, verdict: 'input_rejected', exitCode: null });
    expect(big.stderrTail).toContain(`more than the sandbox's ${MAX_SOURCE_BYTES}`);
    const nul = await run(`${ADD}\u0000`, ADD_TESTS);
    expect(nul).toMatchObject({ passed: false, verdict: 'input_rejected' });
  });
});

describe('limits', () => {
  it('kills an endless loop at the wall-clock limit and removes its container', async () => {
    const r = await run('while True:\n    pass\n', ADD_TESTS, { limits: { timeoutMs: 1_500 } });
    expect(r).toMatchObject({ passed: false, verdict: 'timed_out', timedOut: true, exitCode: 137 });
    expect(await sandboxContainers()).toEqual([]);
  });

  it('kills a program that ignores SIGTERM and sleeps at the wall-clock limit too', async () => {
    const r = await run(
      'import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\ntime.sleep(600)\n',
      ADD_TESTS,
      { limits: { timeoutMs: 1_500 } },
    );
    expect(r).toMatchObject({ passed: false, verdict: 'timed_out', timedOut: true });
  });

  it('stops a memory hog at the memory limit', async () => {
    const hog = 'blocks = []\nwhile True:\n    blocks.append(bytearray(16 * 2**20))\n';
    const r = await run(hog, ADD_TESTS, { limits: { memoryMb: 64, timeoutMs: 20_000 } });
    expect(r.passed).toBe(false);
    expect(r.timedOut).toBe(false);
    // The kernel's OOM killer ends it (cgroup memory limit), or Python's allocation fails first.
    if (r.oomKilled) expect(r).toMatchObject({ verdict: 'out_of_memory', exitCode: 137 });
    else expect(r.stderrTail).toContain('MemoryError');
  });

  it('gives the program no network: only a loopback interface, and the host is out of reach', async () => {
    const hostAddress = Object.values(os.networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
    expect(hostAddress, 'a non-loopback IPv4 address of this machine').toBeDefined();
    let connections = 0;
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      connections++;
      sockets.add(socket);
      socket.on('error', () => {});
      socket.end('hello\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      // The control: the same address and port answer from outside the sandbox.
      await new Promise<void>((resolve, reject) => {
        const client = net.connect(port, hostAddress!, () => {
          client.destroy();
          resolve();
        });
        client.on('error', reject);
      });
      expect(connections).toBe(1);
      const program = [
        'import socket',
        'def probe(host, port):',
        '    try:',
        '        socket.create_connection((host, port), timeout=3).close()',
        '        return "connected"',
        '    except OSError as error:',
        '        return "refused: %s" % error',
        'def resolve(name):',
        '    try:',
        '        return socket.gethostbyname(name)',
        '    except OSError as error:',
        '        return "unresolved: %s" % error',
      ].join('\n');
      const tests = [
        `print(probe(${JSON.stringify(hostAddress)}, ${port}))`,
        `assert probe(${JSON.stringify(hostAddress)}, ${port}).startswith("refused")`,
        'assert resolve("example.com").startswith("unresolved")',
        'assert [name for _, name in socket.if_nameindex()] == ["lo"], socket.if_nameindex()',
      ].join('\n');
      const r = await run(program, tests);
      expect(r.stderrTail).toBe('');
      expect(r).toMatchObject({ passed: true, verdict: 'passed' });
      expect(r.stdoutTail).toMatch(/^refused: .*unreachable/i);
      expect(connections).toBe(1);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('contains a fork bomb within the process limit', async () => {
    const counting = [
      'import os, time',
      'def fork_all(limit):',
      '    made = 0',
      '    for _ in range(limit):',
      '        try:',
      '            pid = os.fork()',
      '        except OSError as error:',
      '            return made, str(error)',
      '        if pid == 0:',
      '            time.sleep(60)',
      '            os._exit(0)',
      '        made += 1',
      '    return made, None',
    ].join('\n');
    const r = await run(
      counting,
      'made, error = fork_all(500)\nprint(made, error)\nassert error is not None\nassert made < 32\n',
      { limits: { pids: 32 } },
    );
    expect(r.stderrTail).toBe('');
    expect(r).toMatchObject({ passed: true, verdict: 'passed' });
    expect(r.stdoutTail).toMatch(/^\d+ .*(temporarily unavailable|Resource)/);

    const bomb = 'import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n';
    const exploded = await run(bomb, ADD_TESTS, { limits: { pids: 32, timeoutMs: 2_000, cpus: 0.5 } });
    expect(exploded).toMatchObject({ passed: false, verdict: 'timed_out', timedOut: true });
  });

  it('runs as an unprivileged user without capabilities on a read-only root, with a small /tmp', async () => {
    const program = [
      'import errno, os',
      'def status(key):',
      '    for line in open("/proc/self/status"):',
      '        if line.startswith(key + ":"):',
      '            return line.split()[1]',
      'def root_mount_options():',
      '    for line in open("/proc/self/mounts"):',
      '        device, point, kind, options = line.split()[:4]',
      '        if point == "/":',
      '            return options.split(",")',
      'def write(path, size):',
      '    try:',
      '        with open(path, "wb") as f:',
      '            f.write(b"x" * size)',
      '        return "written"',
      '    except OSError as error:',
      '        return errno.errorcode[error.errno]',
    ].join('\n');
    const tests = [
      'assert os.getuid() == 65534 and os.getgid() == 65534',
      'assert status("CapEff") == "0000000000000000", status("CapEff")',
      'assert status("NoNewPrivs") == "1"',
      'assert "ro" in root_mount_options(), root_mount_options()',
      'print(write("/escaped.txt", 10), write("/usr/local/lib/escaped.txt", 10), write("/tmp/small.txt", 1024), write("/tmp/big.bin", 64 * 2**20))',
      'assert write("/escaped.txt", 10) in ("EROFS", "EACCES")',
      'assert write("/tmp/small.txt", 1024) == "written"',
      'assert write("/tmp/big.bin", 64 * 2**20) in ("ENOSPC", "EFBIG")',
    ].join('\n');
    const r = await run(program, tests);
    expect(r.stderrTail).toBe('');
    expect(r).toMatchObject({ passed: true, verdict: 'passed' });
  });

  it('keeps only the tail of a large output, and kills a program that floods it', async () => {
    const tail = 4096;
    const chatty = await run(`${ADD}for i in range(20000):\n    print("line %05d" % i)\n`, ADD_TESTS, {
      limits: { outputTailBytes: tail },
    });
    expect(chatty).toMatchObject({ passed: true, verdict: 'passed', stdoutBytes: 20000 * 11 });
    expect(Buffer.byteLength(chatty.stdoutTail)).toBeLessThanOrEqual(tail);
    expect(chatty.stdoutTail.endsWith('line 19999\n')).toBe(true);

    const flood = await run('import sys\nwhile True:\n    sys.stdout.write("y" * 65536)\n', ADD_TESTS, {
      limits: { outputTailBytes: tail, maxOutputBytes: 2 * 2 ** 20, timeoutMs: 30_000 },
    });
    expect(flood).toMatchObject({ passed: false, verdict: 'output_limit', outputLimitExceeded: true, timedOut: false });
    expect(flood.stdoutBytes).toBeGreaterThan(2 * 2 ** 20);
    expect(Buffer.byteLength(flood.stdoutTail)).toBeLessThanOrEqual(tail);
  });
});

describe('container clean-up', () => {
  it('removes the container when the caller aborts, and rejects with the reason', async () => {
    const abort = new AbortController();
    const pending = run('import time\ntime.sleep(600)\n', ADD_TESTS, {
      signal: abort.signal,
      limits: { timeoutMs: 60_000 },
    });
    // Abort once the container is up, so the kill path (not the before-start check) is what runs.
    for (let i = 0; i < 200 && (await sandboxContainers()).length === 0; i++)
      await new Promise((r) => setTimeout(r, 50));
    abort.abort(new Error('run cancelled'));
    await expect(pending).rejects.toThrow('run cancelled');
  });

  it('leaves nothing behind when many run at once', async () => {
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => run(ADD, i % 2 === 0 ? ADD_TESTS : 'assert add(1, 1) == 3\n')),
    );
    expect(results.map((r) => r.passed)).toEqual([true, false, true, false, true, false]);
  });

  it('reaps sandbox containers a dead worker left, and only stale ones', async () => {
    const left = await docker.createContainer(
      sandboxContainerSpec({
        name: 'proctor-sandbox-orphan',
        imageRef: CODE_SANDBOX_IMAGE_REF,
        env: [],
        limits: DEFAULT_SANDBOX_LIMITS,
      }),
    );
    expect(await reapStaleSandboxes(docker, 3_600_000)).toEqual([]);
    expect(await sandboxContainers()).toEqual(['/proctor-sandbox-orphan']);
    // A cut-off in the future makes every sandbox container stale.
    expect(await reapStaleSandboxes(docker, -60_000)).toEqual([left.id]);
  });
});

afterAll(async () => {
  if (docker) expect(await sandboxContainers()).toEqual([]);
});
