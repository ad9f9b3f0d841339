/**
 * Service files written against the real flageval-serving package (0.2.5 from PyPI, in a venv)
 * answer the same under the package's own dev server (`flageval-serving --service service:Service
 * dev model`) and in Proctor's NLP serving image: every `/func` answer is compared field by field,
 * status and body, for the package's demo service, a service that reports every attribute its
 * request has, one that sets every field of the response, and ones that raise. What Proctor does
 * not support (a service overriding the package's Flask hooks) fails with a message naming it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, cp, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDocker } from '../../docker/engine';
import { ensureNlpServingImage, NLP_SERVING_IMAGE_REF } from '../../docker/servingImage';
import { parseLogFrames } from '../../docker/containerLogs';
import { requireEnv } from '../support/env';
import { freePort } from '../support/ports';
import { until } from '../support/until';
import { ensureFlagevalServingVenv, type FlagevalServingVenv } from '../support/flagevalServing/venv';

const FIXTURE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/nlp-upload');

let docker: Dockerode;
let venv: FlagevalServingVenv;
const scratch: string[] = [];

beforeAll(async () => {
  docker = connectDocker(requireEnv('DOCKER_HOST'));
  [venv] = await Promise.all([ensureFlagevalServingVenv(), ensureNlpServingImage(docker)]);
}, 600_000);

afterAll(async () => {
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
});

const IMPORTS = 'from flageval.serving.service import NLPModelService, NLPEvalRequest, NLPEvalResponse, NLPCompletion';

/** The service.py files, by name: each written against the package, none knowing Proctor. */
const SERVICES: Record<string, string> = {
  demo: 'from flageval.serving.service.demo_service import DemoService as Service\n',
  // The issue's example: the renamed attributes, several completions, model_info and input_length.
  truncate: `${IMPORTS}
class Service(NLPModelService):
    def global_init(self, model_path): ...
    def infer(self, req):
        text = req.prompt[: req.max_tokens]
        return NLPEvalResponse(completions=[NLPCompletion(text=text, tokens=text)] * req.max_return_sequences,
                               model_info="demo", input_length=len(req.prompt))
`,
  // Every attribute of the request, as the service sees it, and its type.
  attributes: `${IMPORTS}
import dataclasses, json
class Service(NLPModelService):
    def global_init(self, model_path):
        self.model_path = model_path
    def infer(self, req):
        seen = {f.name: [getattr(req, f.name), type(getattr(req, f.name)).__name__] for f in dataclasses.fields(req)}
        text = json.dumps(seen, sort_keys=True, ensure_ascii=False)
        return NLPEvalResponse(completions=[NLPCompletion(text=text, tokens=text)])
`,
  // Every field of the response set, logprobs and top_logprobs_dicts included, and a failure status.
  shapes: `${IMPORTS}
class Service(NLPModelService):
    def global_init(self, model_path): ...
    def infer(self, req):
        words = req.prompt.split()
        completion = NLPCompletion(
            text=" ".join(words[: req.max_tokens]), tokens=words[: req.max_tokens],
            logprobs=[-0.5 * (i + 1) for i, _ in enumerate(words[: req.max_tokens])],
            top_logprobs_dicts=[{w: -0.25, "<unk>": -3.0} for w in words[: req.max_tokens]],
        )
        status = 503 if "overloaded" in req.prompt else 200
        return NLPEvalResponse(completions=[completion], model_info="shapes/1", status=status, input_length=len(words))
`,
  raises: `${IMPORTS}
class Service(NLPModelService):
    def global_init(self, model_path): ...
    def infer(self, req):
        if "key" in req.prompt:
            raise KeyError("missing-key")
        if "number" in req.prompt:
            raise RuntimeError(42)
        raise ValueError("the model cannot answer: " + req.prompt)
`,
};

/** The body Proctor's platform sends (activities/inference/funcEndpoint.ts), and variations of it. */
const base = {
  engine: 'default',
  prompt: 'The quick brown fox jumps over the lazy dog',
  temperature: 0,
  num_return_sequences: 1,
  max_new_tokens: 5,
  top_p: 1,
  echo_prompt: false,
  top_k_per_token: 1,
  stop_sequences: [] as string[],
};
const REQUESTS = [
  base,
  {
    ...base,
    engine: 'e-2',
    prompt: '中文提示，带标点。',
    temperature: 0.7,
    num_return_sequences: 3,
    max_new_tokens: 4,
    top_p: 0.9,
    echo_prompt: true,
    top_k_per_token: 5,
    stop_sequences: ['\n', '###'],
  },
  { ...base, prompt: 'the service is overloaded now' },
  { ...base, prompt: 'lookup of a key' },
  { ...base, prompt: 'a number please' },
];

interface Answer {
  status: number;
  body: unknown;
}

async function post(url: string, body: unknown): Promise<Answer> {
  const res = await fetch(`${url}/func`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: res.status, body: parsed };
}

async function workspaceWith(service: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'flageval-compat-'));
  scratch.push(dir);
  await mkdir(path.join(dir, 'model'));
  await writeFile(path.join(dir, 'service.py'), service);
  // The image's user (not this process's) reads the workspace.
  await chmod(dir, 0o755);
  await chmod(path.join(dir, 'model'), 0o755);
  await chmod(path.join(dir, 'service.py'), 0o644);
  return dir;
}

/** Readable by the image's user: directories 0755, files 0644. */
async function chmodTree(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) await chmodTree(full);
    else await chmod(full, 0o644);
  }
}

/** The package's dev server for the workspace, until stopped; its output is kept. */
async function startRealServer(workspace: string): Promise<{ url: string; stop(): void; output(): string }> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    venv.python,
    [
      '-c',
      'import sys; from flageval.serving.cli import main; sys.exit(main())',
      '--service',
      'service:Service',
      'dev',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      'model',
    ],
    { cwd: workspace, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  // The package has no health route: any HTTP answer means it listens.
  await until(`the flageval-serving dev server (${output})`, () =>
    fetch(`${url}/`).then(
      () => true,
      () => false,
    ),
  );
  return { url, stop: () => child.kill('SIGKILL'), output: () => output };
}

/** Proctor's serving image on the workspace, on the host's network as the runtime starts it. */
async function startProctorServer(
  workspace: string,
): Promise<{ url: string; stop(): Promise<void>; logs(): Promise<string> }> {
  const port = await freePort();
  const container = await docker.createContainer({
    Image: NLP_SERVING_IMAGE_REF,
    Env: [`PORT=${port}`, 'BIND=127.0.0.1'],
    HostConfig: { NetworkMode: 'host', Binds: [`${workspace}:/workspace:ro`], ReadonlyRootfs: true },
  });
  await container.start();
  const logs = async () =>
    parseLogFrames((await container.logs({ stdout: true, stderr: true })) as unknown as Buffer)
      .map((l) => l.line)
      .join('\n');
  const url = `http://127.0.0.1:${port}`;
  return { url, stop: () => container.remove({ force: true }), logs };
}

describe('a service.py written against flageval-serving, served by the package and by Proctor', () => {
  it.each(Object.keys(SERVICES))('%s: every /func answer agrees field by field', async (name) => {
    const workspace = await workspaceWith(SERVICES[name]!);
    const real = await startRealServer(workspace);
    const proctor = await startProctorServer(workspace);
    try {
      await until(`Proctor's server to be ready (${await proctor.logs()})`, () =>
        fetch(`${proctor.url}/health`).then(
          (r) => r.status === 200,
          () => false,
        ),
      );
      for (const request of REQUESTS) {
        const [fromPackage, fromProctor] = [await post(real.url, request), await post(proctor.url, request)];
        expect(fromProctor, `${name}: ${JSON.stringify(request)}\npackage server output:\n${real.output()}`).toEqual(
          fromPackage,
        );
      }
    } finally {
      real.stop();
      await proctor.stop();
    }
  });

  it('the reference upload (test/fixtures/nlp-upload) answers the same under both, as the README debugs it', async () => {
    const workspace = await mkdtemp(path.join(os.tmpdir(), 'flageval-compat-'));
    scratch.push(workspace);
    await cp(FIXTURE, workspace, { recursive: true });
    await chmodTree(workspace);
    const real = await startRealServer(workspace);
    const proctor = await startProctorServer(workspace);
    try {
      await until('Proctor’s server', () =>
        fetch(`${proctor.url}/health`).then(
          (r) => r.ok,
          () => false,
        ),
      );
      for (const prompt of ['Compute 12 + 7. Reply with the number only.', 'Spell "tarvok" backwards.', 'hello']) {
        const request = { ...base, prompt, max_new_tokens: 64 };
        const fromPackage = await post(real.url, request);
        expect(fromPackage.status).toBe(200);
        expect(await post(proctor.url, request), prompt).toEqual(fromPackage);
      }
    } finally {
      real.stop();
      await proctor.stop();
    }
  });

  it('the attributes a service reads are the package’s: renamed wire fields, extra, every type', async () => {
    const workspace = await workspaceWith(SERVICES.attributes!);
    const proctor = await startProctorServer(workspace);
    try {
      await until('Proctor’s server', () =>
        fetch(`${proctor.url}/health`).then(
          (r) => r.ok,
          () => false,
        ),
      );
      const answer = await post(proctor.url, REQUESTS[1]);
      const seen = JSON.parse((answer.body as { completions: { text: string }[] }).completions[0]!.text);
      expect(seen).toEqual({
        engine: ['e-2', 'str'],
        prompt: ['中文提示，带标点。', 'str'],
        temperature: [0.7, 'float'],
        max_return_sequences: [3, 'int'],
        max_tokens: [4, 'int'],
        top_p: [0.9, 'float'],
        echo_prompt: [true, 'bool'],
        top_k_per_token: [5, 'int'],
        stop_sequences: [['\n', '###'], 'list'],
        extra: [{}, 'dict'],
      });
      // Proctor passes `extra` on when a client sends it (the package's server never fills it).
      const withExtra = await post(proctor.url, { ...base, extra: { beam: 4 } });
      expect(JSON.parse((withExtra.body as { completions: { text: string }[] }).completions[0]!.text).extra).toEqual([
        { beam: 4 },
        'dict',
      ]);
    } finally {
      await proctor.stop();
    }
  });
});

describe('what Proctor does not run, named', () => {
  async function failsToStart(service: string): Promise<string> {
    const proctor = await startProctorServer(await workspaceWith(service));
    try {
      return await until('Proctor’s server to give up', async () => {
        const logs = await proctor.logs();
        return /cannot be created|overrides/.test(logs) ? logs : false;
      });
    } finally {
      await proctor.stop();
    }
  }

  it('a service leaving global_init abstract, as the package refuses it', async () => {
    const logs = await failsToStart(`${IMPORTS}
class Service(NLPModelService):
    def infer(self, req):
        return NLPEvalResponse(completions=[NLPCompletion(text="x", tokens="x")])
`);
    expect(logs).toMatch(
      /Service in service\.py cannot be created: Can't instantiate abstract class Service .*global_init/,
    );
  });

  it.each(['parse_request', 'write_response', 'do_infer'])('a service overriding %s', async (hook) => {
    const logs = await failsToStart(`${IMPORTS}
class Service(NLPModelService):
    def global_init(self, model_path): ...
    def infer(self, req):
        return NLPEvalResponse(completions=[NLPCompletion(text="x", tokens="x")])
    def ${hook}(self, *args):
        raise NotImplementedError
`);
    expect(logs).toContain(`Service in service.py overrides ${hook}, which flageval-serving runs inside its Flask app`);
  });
});
