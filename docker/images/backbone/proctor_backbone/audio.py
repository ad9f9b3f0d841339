"""Audio fine-tune job: a frozen user encoder, mean-pooled frame features, a linear head per task.

    python3 -m proctor_backbone.audio /output/job.json

Reads /upload (model.py, convert.py, ModelWrapper.py, checkpoint.pt) and /data (a built-in Audio
dataset); writes progress.jsonl, state/, metrics.json or error.json into the job file's directory.
PROCTOR_UPLOAD_DIR and PROCTOR_DATA_DIR move the two inputs (tests on a host without containers).

The encoder runs once over every clip: its pooled features are kept in state/features.pt, so the
epochs, and a job run again after a kill, train the head without touching the encoder again.
"""

import inspect
import json
import math
import os
import time
import traceback

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from . import common

UPLOAD_FILES = ("model.py", "convert.py", "ModelWrapper.py")
MODEL_CLASSES = ("ExamplePretrainingConfig", "ExampleConfig", "ExampleModel")
CHECKPOINT_KEYS = ("task_cfg", "model_cfg", "model_weight")
DEFAULT_BATCH = 32
DEFAULT_LR = 1e-2
WEIGHT_DECAY = 1e-4
SPLITS = ("train", "val", "test")


# ---------------------------------------------------------------- dataset


def load_dataset(data_dir, job):
    """dataset.json and the splits' arrays, cut to the job's subset; problems are the platform's."""
    path = os.path.join(data_dir, "dataset.json")
    try:
        with open(path, "r", encoding="utf-8") as f:
            info = json.load(f)
    except (OSError, ValueError) as e:
        raise common.UserFacingError("dataset", "the dataset's dataset.json cannot be read: %s" % e)
    if info.get("domain") != "audio" or info.get("task") != job["task"]:
        raise common.UserFacingError(
            "dataset",
            "dataset %r is for %s/%s, the job is audio/%s" % (info.get("name"), info.get("domain"), info.get("task"), job["task"]),
        )
    if info.get("sampleRate") != 16000:
        raise common.UserFacingError("dataset", "dataset %r has sampleRate %r; the job feeds 16000 Hz" % (info.get("name"), info.get("sampleRate")))
    classes = info.get("classes")
    if not isinstance(classes, list) or len(classes) < 2:
        raise common.UserFacingError("dataset", "dataset %r lists fewer than two classes" % info.get("name"))
    splits = {}
    for salt, split in enumerate(SPLITS, start=1):
        try:
            audio = np.load(os.path.join(data_dir, "%s_audio.npy" % split), mmap_mode="r")
            lengths = np.load(os.path.join(data_dir, "%s_lengths.npy" % split))
            labels = np.load(os.path.join(data_dir, "%s_labels.npy" % split))
        except (OSError, ValueError) as e:
            raise common.UserFacingError("dataset", "the dataset's %s split cannot be read: %s" % (split, e))
        n = len(labels)
        if audio.ndim != 2 or audio.shape[0] != n or len(lengths) != n or n == 0:
            raise common.UserFacingError(
                "dataset", "the dataset's %s split is inconsistent: audio %s, %d lengths, %d labels" % (split, list(audio.shape), len(lengths), n)
            )
        if lengths.min() < 1 or lengths.max() > audio.shape[1] or labels.min() < 0 or labels.max() >= len(classes):
            raise common.UserFacingError("dataset", "the dataset's %s split has lengths or labels out of range" % split)
        if not np.array_equal(labels, np.arange(n) % len(classes)):
            raise common.UserFacingError(
                "dataset", "the dataset's %s split breaks the label-by-index rule (item i has label i %% %d)" % (split, len(classes))
            )
        if split == "test" and job["testIndices"] is not None:
            if job["testIndices"][-1] >= n:
                raise common.PlatformError("testIndices names item %d; the test split has %d" % (job["testIndices"][-1], n))
            idx = np.array(job["testIndices"], dtype=np.int64)
        else:
            idx = common.subset_indices(n, job["subset"], job["seed"], salt)
        splits[split] = {
            "index": [int(i) for i in idx],
            "audio": torch.from_numpy(np.ascontiguousarray(audio[idx], dtype=np.float32)),
            "lengths": torch.from_numpy(lengths[idx].astype(np.int64)),
            "labels": torch.from_numpy(labels[idx].astype(np.int64)),
        }
    return {"info": info, "classes": classes, "splits": splits}


# ---------------------------------------------------------------- the user's encoder


def out_of_memory(exc, where):
    """common.oom_error's advice is about meta.json batch sizes, which an Audio upload does not have."""
    return common.UserFacingError(
        "out_of_memory",
        "ran out of memory while %s (%s); ask for more memory in the evaluation's resources or upload a smaller encoder"
        % (where, (str(exc).splitlines() or [type(exc).__name__])[0][:300]),
    )


def user_call(code, what, fn, *args, **kwargs):
    """common.user_call with the Audio advice for running out of memory."""

    def guarded(*a, **k):
        try:
            return fn(*a, **k)
        except Exception as e:
            if common.is_oom(e):
                raise out_of_memory(e, "running " + what)
            raise

    return common.user_call(code, what, guarded, *args, **kwargs)


def read_checkpoint(path):
    """The converted checkpoint, checked for its three keys before the user's code sees it."""
    if not os.path.isfile(path):
        raise common.UserFacingError("checkpoint", "checkpoint.pt is missing from the upload (the converted checkpoint convert.py writes)")
    kwargs = {"map_location": "cpu"}
    if "weights_only" in inspect.signature(torch.load).parameters:
        kwargs["weights_only"] = False  # the user's own code loads it the same way; configs may be objects
    try:
        state = torch.load(path, **kwargs)
    except Exception as e:
        raise common.UserFacingError("checkpoint", "checkpoint.pt cannot be read by torch.load: %s" % str(e).splitlines()[0][:300])
    if not isinstance(state, dict):
        raise common.UserFacingError("checkpoint", "checkpoint.pt holds a %s; a converted checkpoint is a dict with %s" % (type(state).__name__, ", ".join(CHECKPOINT_KEYS)))
    for key in CHECKPOINT_KEYS:
        if key not in state:
            raise common.UserFacingError(
                "checkpoint",
                "checkpoint.pt lacks the key %r; a converted checkpoint is a dict with %s (see load_converted_model in convert.py)"
                % (key, ", ".join(CHECKPOINT_KEYS)),
            )
    return state


def find_wrapper_class(module):
    """The one nn.Module class of ModelWrapper.py with get_output_dim (classes only imported there count
    when the file defines none itself)."""
    found = [v for v in vars(module).values() if isinstance(v, type) and issubclass(v, nn.Module) and callable(getattr(v, "get_output_dim", None))]
    own = [c for c in found if c.__module__ == module.__name__]
    found = own or found
    if not found:
        raise common.UserFacingError("adapter_import", "ModelWrapper.py defines no nn.Module class with a get_output_dim method")
    if len(found) > 1:
        raise common.UserFacingError(
            "adapter_import",
            "ModelWrapper.py defines %d nn.Module classes with get_output_dim (%s); keep exactly one" % (len(found), ", ".join(sorted(c.__name__ for c in found))),
        )
    return found[0]


def load_encoder(upload, device, progress):
    for name in UPLOAD_FILES:
        if not os.path.isfile(os.path.join(upload, name)):
            raise common.UserFacingError("adapter_import", "%s is missing from the upload" % name)
    ckpt = os.path.join(upload, "checkpoint.pt")
    model_mod = common.load_user_module(os.path.join(upload, "model.py"), "model")
    for cls in MODEL_CLASSES:
        if not isinstance(getattr(model_mod, cls, None), type):
            raise common.UserFacingError("adapter_import", "model.py does not define the class %s" % cls)
    convert_mod = common.load_user_module(os.path.join(upload, "convert.py"), "convert")
    load_converted = getattr(convert_mod, "load_converted_model", None)
    if not callable(load_converted):
        raise common.UserFacingError("adapter_import", "convert.py does not define the function load_converted_model(ckpt)")
    wrapper_mod = common.load_user_module(os.path.join(upload, "ModelWrapper.py"), "ModelWrapper")
    cls = find_wrapper_class(wrapper_mod)

    read_checkpoint(ckpt)  # a missing file or key named before the user's code trips over it
    loaded = user_call("model_init", "convert.load_converted_model(%r)" % ckpt, load_converted, ckpt)
    first = loaded[0] if isinstance(loaded, (tuple, list)) and loaded else loaded
    if not isinstance(first, nn.Module):
        raise common.UserFacingError(
            "model_init", "convert.load_converted_model returned %s; expected (model, task_cfg) with model an nn.Module" % type(loaded).__name__
        )
    del loaded, first

    wrapper = user_call("model_init", "ModelWrapper.%s(load_type='ckpt', ckpt=%r)" % (cls.__name__, ckpt), cls, load_type="ckpt", ckpt=ckpt)
    if not isinstance(wrapper, nn.Module):
        raise common.UserFacingError("model_init", "ModelWrapper.%s(...) did not give an nn.Module" % cls.__name__)
    dim = user_call("model_init", "%s.get_output_dim()" % cls.__name__, wrapper.get_output_dim)
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
        raise common.UserFacingError("output_contract", "%s.get_output_dim() returned %r; expected a positive integer D" % (cls.__name__, dim))
    wrapper.eval()
    for p in wrapper.parameters():
        p.requires_grad_(False)
    wrapper = user_call("model_init", "moving %s to %s" % (cls.__name__, device), wrapper.to, device)
    params = sum(p.numel() for p in wrapper.parameters())
    progress.log("encoder ModelWrapper.%s: D = %d, %d parameters, frozen" % (cls.__name__, int(dim), params))
    return wrapper, int(dim), cls.__name__


# ---------------------------------------------------------------- features


def encode(wrapper, name, dim, audio, lengths, device):
    """Mean-pooled features B x D of one batch, after checking the encoder's output against the contract:
    features B x L' x D with D == get_output_dim(), optionally with a frame padding mask B x L' (True = padding)."""
    b = audio.shape[0]
    longest = int(lengths.max())
    wavs = audio[:, :longest].to(device)
    pad = torch.arange(longest, device=device)[None, :] >= lengths.to(device)[:, None]
    with torch.no_grad():
        try:
            out = wrapper(wavs, padding_mask=pad)
        except Exception as e:
            if common.is_oom(e):
                raise out_of_memory(e, "running the encoder on a batch of %d clips" % b)
            tb = traceback.format_exception_only(type(e), e)[-1].strip()
            raise common.UserFacingError(
                "output_contract", "%s.forward(wavs, padding_mask) raised on float32 wavs [%d, %d]: %s" % (name, b, longest, tb[:500])
            )
    mask = None
    feats = out
    if isinstance(out, (tuple, list)):
        if not out:
            raise common.UserFacingError("output_contract", "%s.forward returned an empty %s; expected features B x L x D (and a mask)" % (name, type(out).__name__))
        feats = out[0]
        mask = out[1] if len(out) > 1 else None
    if not torch.is_tensor(feats):
        raise common.UserFacingError("output_contract", "%s.forward returned %s; expected a tensor B x L x D or (features, mask)" % (name, type(feats).__name__))
    shape = list(feats.shape)
    if feats.dim() != 3 or shape[0] != b:
        raise common.UserFacingError(
            "output_contract", "%s.forward must give features [B, L, D] = [%d, L, %d] for wavs [%d, %d]; it gave shape %s" % (name, b, dim, b, longest, shape)
        )
    if shape[2] != dim:
        raise common.UserFacingError(
            "output_contract", "%s.get_output_dim() is %d but the features have D = %d (shape [B, L, D] = %s)" % (name, dim, shape[2], shape)
        )
    if shape[1] < 1 or not feats.is_floating_point():
        raise common.UserFacingError("output_contract", "%s.forward gave features of shape %s and dtype %s; expected floats with L >= 1" % (name, shape, feats.dtype))
    feats = feats.float()
    if not torch.isfinite(feats).all():
        raise common.UserFacingError("output_contract", "%s.forward gave features with NaN or infinite values (shape %s)" % (name, shape))
    frames = shape[1]
    if torch.is_tensor(mask) and list(mask.shape) == [b, frames]:
        keep = ~mask.to(feats.device).bool()
        empty = (keep.sum(1) == 0).nonzero()
        if len(empty):
            i = int(empty[0])
            raise common.UserFacingError(
                "output_contract",
                "%s.forward's mask marks every one of the %d frames of a clip of %d samples as padding; the mask must be True at padding frames"
                % (name, frames, int(lengths[i])),
            )
    else:
        # No usable frame mask: frames proportional to the unpadded samples count.
        valid = torch.clamp(torch.ceil(lengths.to(feats.device).float() * frames / longest).long(), 1, frames)
        keep = torch.arange(frames, device=feats.device)[None, :] < valid[:, None]
    keep = keep.unsqueeze(2).float()
    return ((feats * keep).sum(1) / keep.sum(1)).cpu(), shape


def extract(wrapper, name, dim, ds, device, batch, progress):
    """Pooled features N x D of every split, the encoder run once over each clip."""
    out = {}
    for split in SPLITS:
        s = ds["splits"][split]
        t = time.time()
        chunks = []
        for i in range(0, len(s["labels"]), batch):
            pooled, _ = encode(wrapper, name, dim, s["audio"][i : i + batch], s["lengths"][i : i + batch], device)
            chunks.append(pooled)
        out[split] = torch.cat(chunks)
        progress.log("features of %d %s clips in %.1fs" % (len(s["labels"]), split, time.time() - t))
    return out


def feature_shape(wrapper, name, dim, ds, device):
    """Checks the contract on two training clips, the longest among them unpadded, and returns [L', D] for
    a clip of the dataset's full length."""
    s = ds["splits"]["train"]
    order = torch.argsort(s["lengths"], descending=True)[:2]
    encode(wrapper, name, dim, s["audio"][order], s["lengths"][order], device)
    full = s["audio"].shape[1]
    _, shape = encode(wrapper, name, dim, s["audio"][order[:1]], torch.tensor([full]), device)
    return [shape[1], shape[2]]


# ---------------------------------------------------------------- head


class Head(nn.Module):
    """mean-pool+linear: train-set standardisation (fixed) and one linear layer."""

    def __init__(self, mean, std, classes):
        super().__init__()
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)
        self.fc = nn.Linear(mean.shape[0], classes)

    def forward(self, x):
        return self.fc((x - self.mean) / self.std)


def cosine_lr(base, epoch, epochs):
    return base * 0.5 * (1 + math.cos(math.pi * (epoch - 1) / epochs))


def write_predictions(out_dir, lines):
    """predictions.jsonl: one line per test item, with its index in the full test split."""
    path = os.path.join(out_dir, "predictions.jsonl")
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        for line in lines:
            f.write(json.dumps(line, sort_keys=True) + "\n")
    os.replace(path + ".tmp", path)


def accuracy(head, x, y):
    head.eval()
    with torch.no_grad():
        return float((head(x).argmax(1) == y).float().mean())


# ---------------------------------------------------------------- the job


class Job:
    def __init__(self, job_path):
        self.job = common.read_job(job_path)
        if self.job["domain"] != "audio":
            raise common.PlatformError("job.json: domain must be audio for proctor_backbone.audio")
        self.out = common.output_dir_of(job_path)
        self.upload = os.environ.get("PROCTOR_UPLOAD_DIR", "/upload")
        self.data = os.environ.get("PROCTOR_DATA_DIR", "/data")
        self.progress = common.Progress(self.out)
        self.t0 = time.time()

    def run(self):
        job, progress = self.job, self.progress
        common.set_threads(job)
        common.seed_everything(job["seed"])
        device = common.choose_device(job)
        self.batch = job["trainBatchSize"] or DEFAULT_BATCH
        self.eval_batch = job["valBatchSize"] or self.batch

        progress.phase("loading")
        ds = load_dataset(self.data, job)
        fingerprint = {"job": {k: v for k, v in job.items() if k not in ("threads", "device")}, "dataset": ds["info"]}
        progress.log(
            "device %s, batch sizes train %d / eval %d, samples %s"
            % (device, self.batch, self.eval_batch, {k: len(v["labels"]) for k, v in ds["splits"].items()})
        )
        cached = self.cached_features(fingerprint)
        if cached is None:
            wrapper, dim, name = load_encoder(self.upload, device, progress)
            progress.phase("checking")
            shape = feature_shape(wrapper, name, dim, ds, device)
            progress.log("features [L, D] = %s for a clip of %d samples" % (shape, ds["splits"]["train"]["audio"].shape[1]))
            progress.phase("features")
            feats = extract(wrapper, name, dim, ds, device, self.eval_batch, progress)
            self.save_features(fingerprint, feats, shape)
            del wrapper
            if device.type == "cuda":
                torch.cuda.empty_cache()
        else:
            feats, shape = cached
            progress.log("features reused from an earlier run of this job")

        progress.phase("training")
        common.seed_everything(job["seed"])
        result = self.train_and_test(feats, ds, fingerprint)
        result.update(
            {
                "task": job["task"],
                "adaptation": job["adaptation"],
                "head": "mean-pool+linear",
                "valMetricName": "accuracy",
                "samples": {k: int(len(v["labels"])) for k, v in ds["splits"].items()},
                "device": device.type,
                "seconds": round(time.time() - self.t0, 3),
                "featureShapes": [shape],
            }
        )
        common.write_metrics(self.out, result)

    def cached_features(self, fingerprint):
        path = os.path.join(self.out, "state", "features.pt")
        if not os.path.exists(path):
            return None
        try:
            cached = torch.load(path, map_location="cpu")
        except Exception:  # torn by a kill mid-save
            return None
        if not isinstance(cached, dict) or cached.get("fingerprint") != fingerprint:
            return None
        return cached["splits"], cached["shape"]

    def save_features(self, fingerprint, feats, shape):
        path = os.path.join(self.out, "state", "features.pt")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        torch.save({"fingerprint": fingerprint, "splits": feats, "shape": shape}, path + ".tmp")
        os.replace(path + ".tmp", path)

    def train_and_test(self, feats, ds, fingerprint):
        job, progress = self.job, self.progress
        y = {s: ds["splits"][s]["labels"] for s in SPLITS}
        x = feats
        mean = x["train"].mean(0)
        std = ((x["train"] - mean) ** 2).mean(0).sqrt().clamp(min=1e-6)
        head = Head(mean, std, len(ds["classes"]))
        base_lr = job["learningRate"] or DEFAULT_LR
        opt = torch.optim.AdamW(head.parameters(), lr=base_lr, weight_decay=WEIGHT_DECAY)
        epochs = job["epochs"]
        ckpt = common.HeadCheckpoint(self.out, fingerprint)
        state = ckpt.load()
        curve, start = [], 0
        if state is not None and state["epoch"] <= epochs:
            head.load_state_dict(state["head"])
            opt.load_state_dict(state["optimizer"])
            curve, start = list(state["curve"]), state["epoch"]
            common.restore_rng(state)
            progress.log("resuming after epoch %d of %d" % (start, epochs))
            for c in curve:  # an epoch saved but killed before its line was written
                progress.epoch(c["epoch"], epochs, c["trainLoss"], c["valMetric"], "accuracy", c["seconds"])
        n = len(y["train"])
        for epoch in range(start + 1, epochs + 1):
            t = time.time()
            for g in opt.param_groups:
                g["lr"] = cosine_lr(base_lr, epoch, epochs)
            head.train()
            # The order of an epoch depends on the seed and the epoch only, so a resumed job trains the same.
            order = torch.randperm(n, generator=torch.Generator().manual_seed(job["seed"] * 1009 + epoch))
            total = 0.0
            for i in range(0, n, self.batch):
                b = order[i : i + self.batch]
                loss = F.cross_entropy(head(x["train"][b]), y["train"][b])
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss) * len(b)
            val = accuracy(head, x["val"], y["val"])
            seconds = time.time() - t
            curve.append({"epoch": epoch, "trainLoss": total / n, "valMetric": val, "seconds": round(seconds, 3)})
            ckpt.save(epoch, head, opt, curve)
            progress.epoch(epoch, epochs, total / n, val, "accuracy", seconds)
        progress.phase("testing")
        test = accuracy(head, x["test"], y["test"])
        head.eval()
        with torch.no_grad():
            predicted = head(x["test"]).argmax(1).tolist()
        names = ds["classes"]
        write_predictions(
            self.out,
            [
                {"index": i, "label": names[int(t)], "predict": names[int(p)], "correct": int(p) == int(t)}
                for i, p, t in zip(ds["splits"]["test"]["index"], predicted, y["test"].tolist())
            ],
        )
        secs = [c["seconds"] for c in curve]
        return {
            "epochs": epochs,
            "curve": [{"epoch": c["epoch"], "trainLoss": c["trainLoss"], "valMetric": c["valMetric"]} for c in curve],
            "epochSeconds": round(sum(secs) / len(secs), 3) if secs else 0.0,
            "metrics": {"accuracy": test},
        }


def run(job_path):
    Job(job_path).run()


if __name__ == "__main__":
    common.main_guard(run)
