"""Pieces shared by the fine-tune jobs (cv, audio): the job file, the files a job writes, the device,
seeding, and the per-epoch head checkpoint that lets a job run again into the same output directory
carry on after its last finished epoch.

Stdlib + torch + numpy only: the package is mounted read-only into whatever image the user chose.

Exit codes of an entry point run through `main_guard`: 0 success, 3 user-facing failure (error.json
written), 2 platform bug (traceback on stderr, nothing written).
"""

import json
import os
import random
import sys
import time
import traceback

import numpy as np
import torch

EXIT_USER = 3
EXIT_PLATFORM = 2

TASKS = {
    "cv": {
        "classification": ("linear",),
        "retrieval": ("knn", "linear"),
        "segmentation": ("upernet", "setr"),
    },
    "audio": {
        "keyword_spotting": ("linear",),
        "speaker_id": ("linear",),
    },
}

ERROR_CODES = (
    "adapter_import",
    "model_init",
    "checkpoint",
    "output_contract",
    "meta",
    "dataset",
    "out_of_memory",
)


class UserFacingError(Exception):
    """A failure the user can fix (their upload, their meta.json, memory): becomes error.json + exit 3."""

    def __init__(self, code, message):
        if code not in ERROR_CODES:
            raise ValueError("unknown error code %r" % (code,))
        super().__init__(message)
        self.code = code
        self.message = message


class PlatformError(Exception):
    """The platform handed the job something wrong (job.json, mounts): exit 2, not the user's fault."""


# ---------------------------------------------------------------- job.json


def _need(cond, field, rule):
    if not cond:
        raise PlatformError("job.json: %s %s" % (field, rule))


def _int_or_none(job, field, lo, hi):
    v = job.get(field)
    if v is None:
        return None
    _need(isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi, field, "must be null or an integer in %d..%d" % (lo, hi))
    return v


def read_job(path):
    """Reads and validates job.json; returns a dict with every field present (defaults filled in)."""
    try:
        with open(path, "r", encoding="utf-8") as f:
            job = json.load(f)
    except (OSError, ValueError) as e:
        raise PlatformError("job.json: cannot read %s: %s" % (path, e))
    _need(isinstance(job, dict), "(root)", "must be an object")
    domain = job.get("domain")
    _need(domain in TASKS, "domain", "must be one of %s" % "|".join(TASKS))
    task = job.get("task")
    _need(task in TASKS[domain], "task", "must be one of %s for domain %s" % ("|".join(TASKS[domain]), domain))
    adaptation = job.get("adaptation")
    _need(adaptation in TASKS[domain][task], "adaptation", "must be one of %s for task %s" % ("|".join(TASKS[domain][task]), task))
    mode = job.get("mode")
    _need(mode in ("verification", "formal"), "mode", "must be verification|formal")
    epochs = job.get("epochs", 10)
    _need(isinstance(epochs, int) and not isinstance(epochs, bool) and 1 <= epochs <= 1000, "epochs", "must be an integer in 1..1000")
    if mode == "verification":
        _need(epochs <= 3, "epochs", "must be 1..3 in verification mode")
    seed = job.get("seed", 0)
    _need(isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed < 2**31, "seed", "must be an integer in 0..2^31-1")
    device = job.get("device", "auto")
    _need(device in ("auto", "cpu", "cuda"), "device", "must be auto|cpu|cuda")
    lr = job.get("learningRate")
    _need(lr is None or (isinstance(lr, (int, float)) and not isinstance(lr, bool) and 0 < lr < 10), "learningRate", "must be null or a number in (0, 10)")
    size = job.get("inputSize")
    if size is not None:
        _need(
            isinstance(size, list) and len(size) == 2 and all(isinstance(x, int) and not isinstance(x, bool) and 16 <= x <= 4096 for x in size),
            "inputSize",
            "must be null or [h, w] with integers in 16..4096",
        )
    test_indices = job.get("testIndices")
    _need(
        test_indices is None
        or (
            isinstance(test_indices, list)
            and 0 < len(test_indices) <= 100000
            and all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in test_indices)
        ),
        "testIndices",
        "must be null or a non-empty list of item indices of the test split",
    )
    robustness = job.get("robustness", False)
    _need(isinstance(robustness, bool), "robustness", "must be true or false")
    return {
        "domain": domain,
        "task": task,
        "adaptation": adaptation,
        "mode": mode,
        "epochs": epochs,
        "subset": _int_or_none(job, "subset", 1, 10**9),
        "seed": seed,
        "device": device,
        "threads": _int_or_none(job, "threads", 1, 1024),
        "trainBatchSize": _int_or_none(job, "trainBatchSize", 1, 65536),
        "valBatchSize": _int_or_none(job, "valBatchSize", 1, 65536),
        "learningRate": None if lr is None else float(lr),
        "inputSize": None if size is None else [int(size[0]), int(size[1])],
        "testIndices": None if test_indices is None else sorted(set(test_indices)),
        "robustness": robustness,
    }


def output_dir_of(job_path):
    """The job's output directory: where job.json lies (/output in the container)."""
    return os.path.dirname(os.path.abspath(job_path))


# ---------------------------------------------------------------- files the job writes


def _write_json_atomic(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, sort_keys=True, ensure_ascii=False)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_metrics(out_dir, metrics):
    _write_json_atomic(os.path.join(out_dir, "metrics.json"), metrics)


def write_error(out_dir, code, message):
    _write_json_atomic(os.path.join(out_dir, "error.json"), {"code": code, "message": message})


class Progress:
    """progress.jsonl, appended and flushed line by line. An epoch line already in the file (a job
    run again into the same directory) is never written a second time."""

    def __init__(self, out_dir):
        self.path = os.path.join(out_dir, "progress.jsonl")
        self.logged_epochs = set()
        if os.path.exists(self.path):
            with open(self.path, "r", encoding="utf-8") as f:
                for line in f:
                    try:
                        obj = json.loads(line)
                    except ValueError:
                        continue  # a line torn by a kill mid-write
                    if isinstance(obj, dict) and obj.get("event") == "epoch":
                        self.logged_epochs.add(obj.get("epoch"))
            self._repair_torn_tail()

    def _repair_torn_tail(self):
        # A kill mid-write can leave a last line without its newline; end it so the next line parses.
        with open(self.path, "rb") as f:
            f.seek(0, os.SEEK_END)
            if f.tell() == 0:
                return
            f.seek(-1, os.SEEK_END)
            last = f.read(1)
        if last != b"\n":
            with open(self.path, "ab") as f:
                f.write(b"\n")

    def _append(self, obj):
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(obj, sort_keys=True) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def phase(self, name):
        self._append({"event": "phase", "phase": name, "at": round(time.time(), 3)})

    def log(self, message):
        self._append({"event": "log", "message": str(message)})

    def epoch(self, epoch, epochs, train_loss, val_metric, val_metric_name, seconds):
        if epoch in self.logged_epochs:
            return
        self._append(
            {
                "event": "epoch",
                "epoch": int(epoch),
                "epochs": int(epochs),
                "trainLoss": round(float(train_loss), 6),
                "valMetric": round(float(val_metric), 6),
                "valMetricName": val_metric_name,
                "seconds": round(float(seconds), 3),
            }
        )
        self.logged_epochs.add(epoch)


# ---------------------------------------------------------------- device, threads, seeds


def choose_device(job):
    want = job["device"]
    if want == "cuda" or (want == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise PlatformError("job.json: device is cuda but torch.cuda.is_available() is false")
        return torch.device("cuda")
    return torch.device("cpu")


def set_threads(job):
    if job["threads"]:
        torch.set_num_threads(job["threads"])


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def subset_indices(n, subset, seed, salt):
    """Indices of at most `subset` of n items, chosen with the seed (sorted, so order stays stable)."""
    if subset is None or subset >= n:
        return np.arange(n)
    rng = np.random.RandomState((seed * 1000003 + salt) % (2**32))
    return np.sort(rng.choice(n, size=subset, replace=False))


# ---------------------------------------------------------------- head checkpoint + resume


class HeadCheckpoint:
    """state/head.pt in the output directory: after each finished epoch the head, its optimiser, the
    curve so far and the RNG state, written atomically. `fingerprint` names what must match for a
    resume (task, adaptation, seed, ...); a checkpoint of another job is ignored."""

    def __init__(self, out_dir, fingerprint):
        self.dir = os.path.join(out_dir, "state")
        self.path = os.path.join(self.dir, "head.pt")
        self.fingerprint = fingerprint

    def load(self):
        """Returns None or {"epoch", "head", "optimizer", "curve", "rng", "extra"}."""
        if not os.path.exists(self.path):
            return None
        try:
            state = torch.load(self.path, map_location="cpu")
        except Exception:  # a torn file from a kill mid-save: start over
            return None
        if not isinstance(state, dict) or state.get("fingerprint") != self.fingerprint:
            return None
        return state

    def save(self, epoch, head, optimizer, curve, extra=None):
        os.makedirs(self.dir, exist_ok=True)
        state = {
            "fingerprint": self.fingerprint,
            "epoch": int(epoch),
            "head": {k: v.detach().cpu() for k, v in head.state_dict().items()},
            "optimizer": optimizer.state_dict() if optimizer is not None else None,
            "curve": list(curve),
            "rng": torch.get_rng_state(),
            "extra": extra,
        }
        tmp = self.path + ".tmp"
        torch.save(state, tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, self.path)


def restore_rng(state):
    if state and state.get("rng") is not None:
        torch.set_rng_state(state["rng"])


# ---------------------------------------------------------------- errors


def is_oom(exc):
    oom_cls = getattr(torch.cuda, "OutOfMemoryError", None)
    if oom_cls is not None and isinstance(exc, oom_cls):
        return True
    if isinstance(exc, MemoryError):
        return True
    msg = str(exc)
    return isinstance(exc, RuntimeError) and (
        "out of memory" in msg or "CUDA out of memory" in msg or "DefaultCPUAllocator: can't allocate memory" in msg
    )


def oom_error(exc, where):
    return UserFacingError(
        "out_of_memory",
        "ran out of memory while %s (%s); use smaller batch sizes in meta.json tasks or a smaller input" % (where, str(exc).splitlines()[0][:300]),
    )


def main_guard(run, argv=None):
    """Runs `run(job_path)` with argv[1] as the job path and maps failures to exit codes."""
    argv = sys.argv if argv is None else argv
    if len(argv) != 2:
        print("usage: python3 -m %s /output/job.json" % (argv[0] if argv else "proctor_backbone.<job>"), file=sys.stderr)
        sys.exit(EXIT_PLATFORM)
    job_path = argv[1]
    out_dir = output_dir_of(job_path)
    try:
        run(job_path)
    except UserFacingError as e:
        write_error(out_dir, e.code, e.message)
        print("error [%s]: %s" % (e.code, e.message), file=sys.stderr)
        sys.exit(EXIT_USER)
    except PlatformError as e:
        print("platform error: %s" % e, file=sys.stderr)
        sys.exit(EXIT_PLATFORM)
    except Exception as e:
        if is_oom(e):
            err = oom_error(e, "running the job")
            write_error(out_dir, err.code, err.message)
            print("error [%s]: %s" % (err.code, err.message), file=sys.stderr)
            sys.exit(EXIT_USER)
        traceback.print_exc()
        sys.exit(EXIT_PLATFORM)
    sys.exit(0)


def load_user_module(path, name, code="adapter_import"):
    """Imports the user's file at `path` as module `name` with its directory first on sys.path; any
    failure (syntax, missing import, raising at import) becomes a UserFacingError naming the file."""
    import importlib.util

    if not os.path.isfile(path):
        raise UserFacingError(code, "%s is missing from the upload" % os.path.basename(path))
    d = os.path.dirname(os.path.abspath(path))
    if d not in sys.path:
        sys.path.insert(0, d)
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    except BaseException as e:  # SystemExit from a user's file is their failure too
        if isinstance(e, KeyboardInterrupt):
            raise
        tb = traceback.format_exception_only(type(e), e)[-1].strip()
        raise UserFacingError(code, "%s failed to import: %s" % (os.path.basename(path), tb[:500]))
    return mod


def user_call(code, what, fn, *args, **kwargs):
    """Calls user code; an exception (other than OOM) becomes a UserFacingError with `code`."""
    try:
        return fn(*args, **kwargs)
    except UserFacingError:
        raise
    except BaseException as e:
        if isinstance(e, KeyboardInterrupt):
            raise
        if is_oom(e):
            raise oom_error(e, what)
        tb = traceback.format_exception_only(type(e), e)[-1].strip()
        raise UserFacingError(code, "%s raised: %s" % (what, tb[:500]))
