/**
 * A model upload in the seed's layout (model/, meta.json, local_guniconf.py, service.py), written to
 * a fresh directory for one test. The service does arithmetic on "Compute A + B" prompts and, told
 * by model/knobs.json or by the prompt, misbehaves on purpose: fails or hangs in global_init, exits
 * on its Nth request, raises, tries to write where it must not, or reports who it runs as.
 */
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface DemoKnobs {
  init?: 'raise' | 'hang';
  /** The service exits with code 3 on the request after this many. */
  crashAfter?: number;
  /** How long each inference takes. */
  latencyMs?: number;
}

const SERVICE = String.raw`
import json
import os
import re
import threading
import time

from flageval.serving.service import NLPModelService, NLPEvalRequest, NLPEvalResponse, NLPCompletion

EXPRESSION = re.compile(r"Compute (-?\d+) ([+*-]) (-?\d+)")


def attempt_write(path):
    try:
        with open(path, "w") as f:
            f.write("x")
        return "wrote " + path
    except OSError as error:
        return "cannot write " + path + ": " + error.strerror


class Service(NLPModelService):
    def global_init(self, model_path: str):
        with open(os.path.join(model_path, "knobs.json")) as f:
            self.knobs = json.load(f)
        print("Initial model with path", model_path, flush=True)
        if self.knobs.get("init") == "raise":
            raise RuntimeError("weights are corrupt: cannot load model/info")
        if self.knobs.get("init") == "hang":
            while True:
                time.sleep(3600)
        self.served = 0
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0

    def infer(self, req: NLPEvalRequest) -> NLPEvalResponse:
        if req.prompt == "bad shape":
            return "a string, not an NLPEvalResponse"
        with self.lock:
            self.served += 1
            served = self.served
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            crash_after = self.knobs.get("crashAfter")
            if crash_after is not None and served > crash_after:
                # One write: lines printed by several serving threads at once would interleave.
                os.write(1, f"simulated crash after {crash_after} requests\n".encode())
                os._exit(3)
            time.sleep(self.knobs.get("latencyMs", 0) / 1000)
            text = self.answer(req)
        finally:
            with self.lock:
                self.in_flight -= 1
        return NLPEvalResponse(completions=[NLPCompletion(text=text, tokens=text.split())])

    def answer(self, req):
        if req.prompt == "whoami":
            return "uid=%d gid=%d" % (os.getuid(), os.getgid())
        if req.prompt == "write":
            return " | ".join(attempt_write(p) for p in ("/workspace/new-file", "/workspace/model/knobs.json", "/etc/new-file", "/tmp/new-file"))
        if req.prompt == "divide by zero":
            return str(1 / 0)
        if req.prompt == "most in flight":
            return str(self.most_in_flight)
        if req.prompt == "echo request":
            return json.dumps(req.__dict__, sort_keys=True)
        match = EXPRESSION.search(req.prompt)
        if match is None:
            return "I do not know"
        a, op, b = int(match.group(1)), match.group(2), int(match.group(3))
        return str(a + b if op == "+" else a - b if op == "-" else a * b)
`;

export interface DemoUpload {
  dir: string;
  remove(): Promise<void>;
}

export async function writeDemoUpload(knobs: DemoKnobs = {}, workers = 1): Promise<DemoUpload> {
  const root = process.env.PROCTOR_TEST_DATA_DIR ?? os.tmpdir();
  const dir = await mkdtemp(path.join(root, 'upload-'));
  await mkdir(path.join(dir, 'model'));
  await writeFile(path.join(dir, 'model', 'knobs.json'), JSON.stringify(knobs));
  await writeFile(path.join(dir, 'model', 'info'), 'weights\n');
  await writeFile(path.join(dir, 'meta.json'), JSON.stringify({ parameter_scale_billion: 7 }));
  await writeFile(path.join(dir, 'local_guniconf.py'), `workers = ${workers}\n`);
  await writeFile(path.join(dir, 'service.py'), SERVICE);
  // The container's user owns none of it: what it must read has to be readable by others.
  for (const d of [dir, path.join(dir, 'model')]) await chmod(d, 0o755);
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
