"""CV fine-tune job: a frozen user backbone, a preset head trained on its features, test metrics.

    python3 -m proctor_backbone.cv /output/job.json

Reads /upload (meta.json, model_adapter.py, model/checkpoint.pth) and /data (a built-in dataset);
writes progress.jsonl, state/, metrics.json or error.json into the job file's directory.
PROCTOR_UPLOAD_DIR and PROCTOR_DATA_DIR point elsewhere for runs outside a container.
"""

import json
import math
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from . import common
from .common import PlatformError, UserFacingError
from . import cvheads

DEFAULT_SIZE = {"classification": (224, 224), "retrieval": (224, 224), "segmentation": (512, 512)}
DEFAULT_BATCH = {"classification": (64, 128), "retrieval": (64, 128), "segmentation": (8, 8)}
DEFAULT_LR = {"linear": 1e-2, "upernet": 5e-3, "setr": 5e-3}
HEAD_NAME = {
    ("classification", "linear"): "gap+linear",
    ("retrieval", "knn"): "knn",
    ("retrieval", "linear"): "gap+linear",
    ("segmentation", "upernet"): "upernet-light",
    ("segmentation", "setr"): "setr-light",
}
VAL_METRIC = {"classification": "top1", "retrieval": "recall@1", "segmentation": "mIoU"}
# Features kept on disk for a resumed job only below this size; larger ones are extracted again.
FEATURE_CACHE_LIMIT = 512 * 1024 * 1024


# ---------------------------------------------------------------- meta.json


def _is_num(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def load_meta(upload, task, adaptation):
    path = os.path.join(upload, "meta.json")
    try:
        with open(path, "r", encoding="utf-8") as f:
            meta = json.load(f)
    except FileNotFoundError:
        raise UserFacingError("meta", "meta.json is missing from the upload")
    except (OSError, ValueError) as e:
        raise UserFacingError("meta", "meta.json is not valid JSON: %s" % e)
    if not isinstance(meta, dict):
        raise UserFacingError("meta", "meta.json must be a JSON object")

    def bad(field, rule):
        raise UserFacingError("meta", "meta.json %s %s" % (field, rule))

    if not isinstance(meta.get("is_rgb"), bool):
        bad("is_rgb", "must be true or false")
    for field in ("mean", "std"):
        v = meta.get(field)
        if not (isinstance(v, list) and len(v) == 3 and all(_is_num(x) for x in v)):
            bad(field, "must be a list of 3 numbers")
    if any(x <= 0 for x in meta["std"]):
        bad("std", "must be positive")
    chans, dims = meta.get("output_channels"), meta.get("output_dims")
    if not (isinstance(chans, list) and chans and all(isinstance(c, int) and not isinstance(c, bool) and c > 0 for c in chans)):
        bad("output_channels", "must be a non-empty list of positive integers")
    if not (isinstance(dims, list) and all(d in (3, 4) and not isinstance(d, bool) for d in dims)):
        bad("output_dims", "must be a list of 3 or 4")
    if len(dims) != len(chans):
        bad("output_dims", "has %d entries but output_channels has %d" % (len(dims), len(chans)))
    tasks = meta.get("tasks", {})
    if not isinstance(tasks, dict):
        bad("tasks", "must be an object")
    t = tasks.get(task, {})
    if not isinstance(t, dict):
        bad("tasks.%s" % task, "must be an object")
    n = len(chans)
    if "out_indices" in t:
        idx = t["out_indices"]
        if not (isinstance(idx, list) and idx and all(isinstance(i, int) and not isinstance(i, bool) for i in idx)):
            bad("tasks.%s.out_indices" % task, "must be a non-empty list of integers")
        for i in idx:
            if not 0 <= i < n:
                bad("tasks.%s.out_indices" % task, "contains %d but output_channels has only %d entries (0..%d)" % (i, n, n - 1))
    elif task == "segmentation" and adaptation == "upernet":
        idx = list(range(max(0, n - 4), n))
    else:
        idx = [n - 1]
    for key in ("train_batch_size", "val_batch_size"):
        if key in t and not (isinstance(t[key], int) and not isinstance(t[key], bool) and t[key] > 0):
            bad("tasks.%s.%s" % (task, key), "must be a positive integer")
    return {
        "is_rgb": meta["is_rgb"],
        "mean": [float(x) for x in meta["mean"]],
        "std": [float(x) for x in meta["std"]],
        "output_channels": chans,
        "output_dims": dims,
        "out_indices": idx,
        "train_batch_size": t.get("train_batch_size"),
        "val_batch_size": t.get("val_batch_size"),
        "raw": meta,
    }


# ---------------------------------------------------------------- dataset


def load_dataset(data, job):
    try:
        with open(os.path.join(data, "dataset.json"), "r", encoding="utf-8") as f:
            info = json.load(f)
    except (OSError, ValueError) as e:
        raise UserFacingError("dataset", "dataset.json of the dataset cannot be read: %s" % e)
    if info.get("task") != job["task"]:
        raise UserFacingError("dataset", "dataset %s is for task %s, not %s" % (info.get("name"), info.get("task"), job["task"]))
    classes = info.get("classes") or []
    seg = job["task"] == "segmentation"
    ignore = int(info.get("ignoreIndex", 255))
    splits = {}
    for salt, split in enumerate(("train", "val", "test")):
        try:
            images = np.load(os.path.join(data, "%s_images.npy" % split), mmap_mode="r")
            target = np.load(os.path.join(data, "%s_%s.npy" % (split, "masks" if seg else "labels")), mmap_mode="r")
        except (OSError, ValueError) as e:
            raise UserFacingError("dataset", "split %s of dataset %s cannot be read: %s" % (split, info.get("name"), e))
        if images.ndim != 4 or images.shape[3] != 3 or images.dtype != np.uint8 or len(target) != len(images) or len(images) == 0:
            raise UserFacingError("dataset", "split %s of dataset %s has images %s %s and %d targets" % (split, info.get("name"), images.shape, images.dtype, len(target)))
        if not seg and not np.array_equal(np.asarray(target), np.arange(len(target)) % max(len(classes), 1)):
            raise UserFacingError(
                "dataset",
                "split %s of dataset %s breaks the label-by-index rule (item i has label i %% %d)" % (split, info.get("name"), len(classes)),
            )
        if split == "test" and job["testIndices"] is not None:
            if job["testIndices"][-1] >= len(images):
                raise PlatformError("testIndices names item %d; the test split has %d" % (job["testIndices"][-1], len(images)))
            idx = np.array(job["testIndices"], dtype=np.int64)
        else:
            idx = common.subset_indices(len(images), job["subset"], job["seed"], salt)
        target = np.array(target[idx])
        if seg:
            bad = (target != ignore) & (target >= len(classes))
        else:
            bad = (target < 0) | (target >= len(classes))
        if bad.any():
            raise UserFacingError("dataset", "split %s of dataset %s has targets outside its %d classes" % (split, info.get("name"), len(classes)))
        splits[split] = {
            "images": np.ascontiguousarray(images[idx]),
            "target": torch.from_numpy(target.astype(np.int64)),
            "index": [int(i) for i in idx],
        }
    if job["robustness"]:
        test = splits["test"]
        splits["test_perturbed"] = dict(test, images=corrupt(test["images"], test["index"]))
    return {"info": info, "classes": classes, "ignore": ignore, "splits": splits}


ROBUSTNESS_SEED = 20240601


def corrupt(images, indices):
    """Each test picture as a camera might spoil it: contrast and brightness changed and sensor noise
    added, drawn per item from a fixed seed (the same corruption in every run, whatever its seed)."""
    out = np.empty_like(images)
    for j, (img, i) in enumerate(zip(images, indices)):
        rng = np.random.RandomState((ROBUSTNESS_SEED * 7919 + int(i)) % (2**32))
        x = img.astype(np.float32)
        x = (x - 127.5) * rng.uniform(0.6, 1.4) + 127.5 + rng.uniform(-40.0, 40.0)
        x = x + rng.normal(0.0, 20.0, size=x.shape)
        out[j] = np.clip(x, 0, 255).astype(np.uint8)
    return out


# ---------------------------------------------------------------- backbone


def load_backbone(upload, device):
    adapter_path = os.path.join(upload, "model_adapter.py")
    mod = common.load_user_module(adapter_path, "model_adapter")
    cls = getattr(mod, "ModelAdapter", None)
    if not isinstance(cls, type):
        raise UserFacingError("adapter_import", "model_adapter.py defines no class ModelAdapter")
    if not callable(getattr(cls, "model_init", None)):
        raise UserFacingError("adapter_import", "model_adapter.py: class ModelAdapter has no method model_init(self, checkpoint_path)")
    ckpt = os.path.join(upload, "model", "checkpoint.pth")
    if not os.path.isfile(ckpt):
        raise UserFacingError("checkpoint", "model/checkpoint.pth is missing from the upload")
    if os.path.getsize(ckpt) == 0:
        raise UserFacingError("checkpoint", "model/checkpoint.pth is empty")
    try:
        with open(ckpt, "rb") as f:
            f.read(1)
    except OSError as e:
        raise UserFacingError("checkpoint", "model/checkpoint.pth cannot be read: %s" % e)
    adapter = common.user_call("model_init", "ModelAdapter()", cls)
    model = common.user_call("model_init", "ModelAdapter().model_init(%r)" % ckpt, adapter.model_init, ckpt)
    if not isinstance(model, nn.Module):
        raise UserFacingError("model_init", "ModelAdapter().model_init returned %s, not a torch.nn.Module" % type(model).__name__)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    try:
        model.to(device)
    except Exception as e:
        if common.is_oom(e):
            raise common.oom_error(e, "moving the backbone to %s" % device)
        raise UserFacingError("model_init", "moving the backbone to %s failed: %s" % (device, e))
    return model


class Preprocess:
    """uint8 N×H×W×3 RGB → float B×3×h×w: channel order per is_rgb, resized, normalised on 0..255."""

    def __init__(self, meta, size, device):
        self.bgr = not meta["is_rgb"]
        self.size = tuple(size)
        self.mean = torch.tensor(meta["mean"], device=device).view(1, 3, 1, 1)
        self.std = torch.tensor(meta["std"], device=device).view(1, 3, 1, 1)
        self.device = device

    def __call__(self, images):
        x = torch.from_numpy(np.ascontiguousarray(images)).to(self.device).permute(0, 3, 1, 2).float()
        if self.bgr:
            x = x.flip(1)
        if tuple(x.shape[-2:]) != self.size:
            x = F.interpolate(x, size=self.size, mode="bilinear", align_corners=False)
        return (x - self.mean) / self.std


def forward(model, x):
    try:
        with torch.no_grad():
            out = model(x)
    except Exception as e:
        if common.is_oom(e):
            raise common.oom_error(e, "running the backbone on a batch of %d" % x.shape[0])
        raise UserFacingError("output_contract", "the backbone's forward on a %s input raised: %s: %s" % (_shape(x), type(e).__name__, str(e)[:400]))
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return list(out)
    if isinstance(out, dict):
        return list(out.values())
    raise UserFacingError("output_contract", "the backbone returned %s; expected a tensor or a tuple/list of tensors" % type(out).__name__)


def _shape(t):
    return "[%s]" % ", ".join(str(int(s)) for s in t.shape)


def select_levels(outs, meta, task, adaptation, batch):
    """Checks the backbone's outputs against meta.json and returns the levels the task uses, in
    out_indices order. Messages say what meta.json promised and what came."""
    chans, dims, idx = meta["output_channels"], meta["output_dims"], meta["out_indices"]
    where = "tasks.%s.out_indices %s" % (task, idx)
    if len(outs) == len(chans):
        picked = [(i, outs[i]) for i in idx]
    elif len(outs) == len(idx):
        picked = list(zip(idx, outs))  # the backbone returns exactly the levels the task asks for
    else:
        raise UserFacingError(
            "output_contract",
            "meta.json output_channels lists %d features but the backbone returned %d; return all %d (or exactly the %d of %s)"
            % (len(chans), len(outs), len(chans), len(idx), where),
        )
    for i, t in picked:
        if not isinstance(t, torch.Tensor):
            raise UserFacingError("output_contract", "the backbone's feature %d is %s, not a tensor" % (i, type(t).__name__))
        if t.dim() != dims[i]:
            raise UserFacingError(
                "output_contract",
                "meta.json output_dims[%d] is %d but the backbone's feature %d is %dD (shape %s)" % (i, dims[i], i, t.dim(), _shape(t)),
            )
        if t.dim() not in (3, 4):
            raise UserFacingError("output_contract", "the backbone's feature %d must be B×C×H×W or B×N×C, got shape %s" % (i, _shape(t)))
        if t.shape[0] != batch:
            raise UserFacingError(
                "output_contract", "the backbone's feature %d has batch size %d for an input batch of %d (shape %s)" % (i, t.shape[0], batch, _shape(t))
            )
        c = t.shape[1] if t.dim() == 4 else t.shape[2]
        if c != chans[i]:
            raise UserFacingError(
                "output_contract",
                "meta.json output_channels[%d] is %d but the backbone's feature %d has %d channels (shape %s)" % (i, chans[i], i, c, _shape(t)),
            )
        if not torch.isfinite(t).all():
            raise UserFacingError("output_contract", "the backbone's feature %d contains NaN or infinite values" % i)
    if task == "segmentation" and adaptation == "upernet":
        if len(picked) != 4 or any(t.dim() != 4 for _, t in picked):
            raise UserFacingError(
                "output_contract",
                "UPerNet needs four 4D feature levels (B×C×H×W) selected by %s; got %s"
                % (where, ", ".join("feature %d %s" % (i, _shape(t)) for i, t in picked)),
            )
    if task == "segmentation" and adaptation == "setr":
        i, t = picked[-1]
        if t.dim() == 3 and _grid(t.shape[1]) is None:
            raise UserFacingError(
                "output_contract",
                "SETR needs the last level as B×C×H×W or B×N×C tokens with N a square (plus at most one class token); feature %d has shape %s" % (i, _shape(t)),
            )
    return [t for _, t in picked]


def _grid(n):
    r = int(round(math.sqrt(n)))
    if r * r == n:
        return (r, r, 0)
    r = int(round(math.sqrt(n - 1)))
    if n > 1 and r * r == n - 1:
        return (r, r, 1)
    return None


def tokens_to_map(t):
    h, w, skip = _grid(t.shape[1])
    return t[:, skip:, :].transpose(1, 2).reshape(t.shape[0], t.shape[2], h, w)


def pooled(levels):
    return torch.cat([lv.mean(dim=(2, 3)) if lv.dim() == 4 else lv.mean(dim=1) for lv in levels], dim=1).float().cpu()


def dense(levels, adaptation, label_size):
    """Feature maps for a dense head, kept as float16. A level finer than the labels is average-pooled
    down to the label size: the head cannot predict more detail than the masks hold, and the finest
    level is where nearly all of the head's time and memory would go."""
    if adaptation == "setr":
        lv = levels[-1]
        levels = [tokens_to_map(lv) if lv.dim() == 3 else lv]
    out = []
    for lv in levels:
        if lv.shape[-2] > label_size[0] or lv.shape[-1] > label_size[1]:
            lv = F.adaptive_avg_pool2d(lv, (min(lv.shape[-2], label_size[0]), min(lv.shape[-1], label_size[1])))
        out.append(lv.half().cpu())
    return out


# ---------------------------------------------------------------- per-item outputs


def nearest(queries, gallery, g_labels):
    """The label of each query's cosine nearest gallery item (the retrieval's top-1 answer)."""
    q = F.normalize(queries.float(), dim=1)
    g = F.normalize(gallery.float(), dim=1)
    return torch.cat([g_labels[(q[s : s + 1024] @ g.T).argmax(1)] for s in range(0, q.shape[0], 1024)])


def write_predictions(out_dir, indices, predictions):
    """predictions.jsonl: one line per test item in index order, with its index in the full split."""
    path = os.path.join(out_dir, "predictions.jsonl")
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        for index, p in zip(indices, predictions):
            f.write(json.dumps(dict({"index": int(index)}, **p), sort_keys=True) + "\n")
    os.replace(path + ".tmp", path)


# ---------------------------------------------------------------- the job


class Job:
    def __init__(self, job_path):
        self.job = common.read_job(job_path)
        self.out = common.output_dir_of(job_path)
        self.upload = os.environ.get("PROCTOR_UPLOAD_DIR", "/upload")
        self.data = os.environ.get("PROCTOR_DATA_DIR", "/data")
        self.progress = common.Progress(self.out)
        self.t0 = time.time()
        self.predictions = []
        self.perturbed = None
        self.predict_split = None

    def run(self):
        job, progress = self.job, self.progress
        task, adaptation = job["task"], job["adaptation"]
        common.set_threads(job)
        common.seed_everything(job["seed"])
        self.device = device = common.choose_device(job)

        progress.phase("loading")
        meta = load_meta(self.upload, task, adaptation)
        ds = load_dataset(self.data, job)
        model = load_backbone(self.upload, device)
        size = job["inputSize"] or DEFAULT_SIZE[task]
        d_train, d_val = DEFAULT_BATCH[task]
        self.train_bs = job["trainBatchSize"] or meta["train_batch_size"] or d_train
        self.val_bs = job["valBatchSize"] or meta["val_batch_size"] or d_val
        prep = Preprocess(meta, size, device)
        progress.log(
            "device %s, input %dx%d, batch sizes train %d / val %d, samples %s"
            % (device, size[0], size[1], self.train_bs, self.val_bs, {k: len(v["target"]) for k, v in ds["splits"].items()})
        )

        progress.phase("checking")
        probe = ds["splits"]["train"]["images"][:2]
        levels = select_levels(forward(model, prep(probe)), meta, task, adaptation, len(probe))
        if task == "segmentation":
            feature_shapes = [list(lv.shape[1:]) for lv in (dense(levels, adaptation, (1 << 30, 1 << 30)))]
        else:
            feature_shapes = [list(lv.shape[1:]) for lv in levels]

        progress.phase("features")
        fingerprint = {"job": {k: v for k, v in job.items() if k not in ("threads", "device")}, "meta": meta["raw"], "dataset": ds["info"]}
        feats = self.features(model, prep, meta, ds, fingerprint)
        del model
        if device.type == "cuda":
            torch.cuda.empty_cache()

        progress.phase("training")
        common.seed_everything(job["seed"])
        result = self.train_and_test(feats, ds, fingerprint)
        result.update(
            {
                "task": task,
                "adaptation": adaptation,
                "head": HEAD_NAME[(task, adaptation)],
                "valMetricName": VAL_METRIC[task],
                "samples": {k: int(len(v["target"])) for k, v in ds["splits"].items()},
                "device": device.type,
                "seconds": round(time.time() - self.t0, 3),
                "featureShapes": feature_shapes,
            }
        )
        if self.perturbed is not None:
            for p, q in zip(self.predictions, self.perturbed):
                p["perturbedPredict"] = q["predict"]
                p["perturbedScore"] = q["score"] if "score" in q else (1.0 if q["correct"] else 0.0)
        write_predictions(self.out, ds["splits"]["test"]["index"], self.predictions)
        common.write_metrics(self.out, result)

    # -- features, extracted once (and kept in state/ for a resumed job when small enough)

    def features(self, model, prep, meta, ds, fingerprint):
        path = os.path.join(self.out, "state", "features.pt")
        if os.path.exists(path):
            try:
                cached = torch.load(path, map_location="cpu")
                if cached.get("fingerprint") == fingerprint:
                    self.progress.log("features reused from an earlier run of this job")
                    return cached["splits"]
            except Exception:
                pass
        task, adaptation = self.job["task"], self.job["adaptation"]
        out = {}
        for split in ds["splits"]:
            images = ds["splits"][split]["images"]
            bs = self.train_bs if split == "train" else self.val_bs
            chunks = []
            for s in range(0, len(images), bs):
                x = prep(images[s : s + bs])
                levels = select_levels(forward(model, x), meta, task, adaptation, x.shape[0])
                chunks.append(dense(levels, adaptation, ds["splits"][split]["target"].shape[-2:]) if task == "segmentation" else pooled(levels))
            if task == "segmentation":
                out[split] = [torch.cat([c[i] for c in chunks]) for i in range(len(chunks[0]))]
            else:
                out[split] = torch.cat(chunks)
        nbytes = sum(t.numel() * t.element_size() for v in out.values() for t in (v if isinstance(v, list) else [v]))
        if nbytes <= FEATURE_CACHE_LIMIT:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            torch.save({"fingerprint": fingerprint, "splits": out}, path + ".tmp")
            os.replace(path + ".tmp", path)
        return out

    # -- heads

    def train_and_test(self, feats, ds, fingerprint):
        task, adaptation = self.job["task"], self.job["adaptation"]
        tr, va, te = (ds["splits"][s]["target"] for s in ("train", "val", "test"))
        k = len(ds["classes"])
        dev = self.device
        names = ds["classes"]

        def labelled(predicted, truth):
            return [
                {"label": names[int(t)], "predict": names[int(p)], "correct": bool(int(p) == int(t))}
                for p, t in zip(predicted.tolist(), truth.tolist())
            ]

        if task == "retrieval" and adaptation == "knn":
            val = cvheads.recall_at_k(feats["val"], va, feats["train"], tr, (1,))[1]
            self.progress.log("knn: no training; val recall@1 %.4f" % val)
            self.progress.phase("testing")
            r = cvheads.recall_at_k(feats["test"], te, feats["train"], tr, (1, 5))
            self.predict_split = lambda split: labelled(nearest(feats[split], feats["train"], tr), te)
            self.predictions = self.predict_split("test")
            self.perturb(feats)
            return {"epochs": 0, "curve": [], "epochSeconds": 0.0, "metrics": {"recall@1": round(r[1], 6), "recall@5": round(r[5], 6)}}

        if task == "segmentation":
            head = (cvheads.UPerNetLight if adaptation == "upernet" else cvheads.SETRLight)([t.shape[1] for t in feats["train"]], k)
            head.to(dev)

            def batches(split, idx):
                for s in range(0, len(idx), self.train_bs if split == "train" else self.val_bs):
                    b = idx[s : s + (self.train_bs if split == "train" else self.val_bs)]
                    yield [t[b].to(dev).float() for t in feats[split]], ds["splits"][split]["target"][b].to(dev)

            def loss_fn(out, y):
                return F.cross_entropy(F.interpolate(out, size=y.shape[-2:], mode="bilinear", align_corners=False), y, ignore_index=ds["ignore"])

            def evaluate(split):
                head.eval()
                conf = cvheads.Confusion(k, ds["ignore"])
                with torch.no_grad():
                    for x, y in batches(split, torch.arange(len(ds["splits"][split]["target"]))):
                        out = F.interpolate(head(x), size=y.shape[-2:], mode="bilinear", align_corners=False)
                        conf.add(out.argmax(1), y)
                return conf

            def val_metric():
                return evaluate("val").miou()

            def predict_split(split):
                head.eval()
                per_image = []
                with torch.no_grad():
                    for x, y in batches(split, torch.arange(len(te))):
                        out = F.interpolate(head(x), size=y.shape[-2:], mode="bilinear", align_corners=False).argmax(1)
                        for p_img, y_img in zip(out, y):
                            one = cvheads.Confusion(k, ds["ignore"])
                            one.add(p_img, y_img)
                            per_image.append(one.miou())
                return [{"label": "mask", "predict": "mIoU %.4f" % v, "score": round(v, 6)} for v in per_image]

            self.predict_split = predict_split

            def test_metrics():
                conf = evaluate("test")
                self.predictions = predict_split("test")
                return {"mIoU": conf.miou(), "pixelAccuracy": conf.pixel_accuracy()}

        else:
            mean, std = cvheads.feature_stats(feats["train"])
            head = cvheads.LinearHead(mean, std, k) if task == "classification" else cvheads.ProjectionHead(mean, std, k)
            head.to(dev)
            fx = {s: feats[s].to(dev) for s in feats}
            ty = {s: ds["splits"][s]["target"].to(dev) for s in feats}

            def batches(split, idx):
                for s in range(0, len(idx), self.train_bs):
                    b = idx[s : s + self.train_bs].to(dev)
                    yield fx[split][b], ty[split][b]

            def loss_fn(out, y):
                return F.cross_entropy(out, y)

            if task == "classification":

                def val_metric():
                    head.eval()
                    with torch.no_grad():
                        return cvheads.topk_accuracy(head(fx["val"]), ty["val"], 1)

                def test_metrics():
                    head.eval()
                    with torch.no_grad():
                        logits = head(fx["test"])
                    self.predictions = labelled(logits.argmax(1).cpu(), te)
                    self.predict_split = lambda split: labelled(head(fx[split]).argmax(1).cpu(), te)
                    m = {"top1": cvheads.topk_accuracy(logits, ty["test"], 1)}
                    if k >= 5:
                        m["top5"] = cvheads.topk_accuracy(logits, ty["test"], 5)
                    return m

            else:

                def embed_all():
                    head.eval()
                    with torch.no_grad():
                        return {s: head.embed(fx[s]).cpu() for s in fx}

                def val_metric():
                    e = embed_all()
                    return cvheads.recall_at_k(e["val"], va, e["train"], tr, (1,))[1]

                def test_metrics():
                    e = embed_all()
                    self.predict_split = lambda split: labelled(nearest(embed_all()[split], e["train"], tr), te)
                    self.predictions = labelled(nearest(e["test"], e["train"], tr), te)
                    r = cvheads.recall_at_k(e["test"], te, e["train"], tr, (1, 5))
                    return {"recall@1": r[1], "recall@5": r[5]}

        base_lr = self.job["learningRate"] or DEFAULT_LR[adaptation]
        opt = torch.optim.AdamW(head.parameters(), lr=base_lr, weight_decay=1e-4)
        curve = self.epochs(head, opt, base_lr, batches, loss_fn, val_metric, len(tr), fingerprint)
        self.progress.phase("testing")
        metrics = {k: round(v, 6) for k, v in test_metrics().items()}
        with torch.no_grad():
            self.perturb(feats)
        secs = [c["seconds"] for c in curve]
        return {
            "epochs": self.job["epochs"],
            "curve": [{"epoch": c["epoch"], "trainLoss": c["trainLoss"], "valMetric": c["valMetric"]} for c in curve],
            "epochSeconds": round(sum(secs) / len(secs), 3) if secs else 0.0,
            "metrics": metrics,
        }

    def perturb(self, feats):
        """Robustness: the same head's answers on the corrupted test pictures, item by item."""
        if "test_perturbed" in feats:
            self.perturbed = self.predict_split("test_perturbed")

    def epochs(self, head, opt, base_lr, batches, loss_fn, val_metric, n_train, fingerprint):
        epochs = self.job["epochs"]
        name = VAL_METRIC[self.job["task"]]
        ckpt = common.HeadCheckpoint(self.out, fingerprint)
        state = ckpt.load()
        curve, start = [], 0
        if state is not None and state["epoch"] <= epochs:
            head.load_state_dict(state["head"])
            opt.load_state_dict(state["optimizer"])
            curve, start = list(state["curve"]), state["epoch"]
            common.restore_rng(state)
            self.progress.log("resuming after epoch %d of %d" % (start, epochs))
            for c in curve:  # an epoch saved but killed before its line was written
                self.progress.epoch(c["epoch"], epochs, c["trainLoss"], c["valMetric"], name, c["seconds"])
        for epoch in range(start + 1, epochs + 1):
            t = time.time()
            for g in opt.param_groups:
                g["lr"] = cvheads.cosine_lr(base_lr, epoch, epochs)
            head.train()
            gen = torch.Generator().manual_seed(self.job["seed"] * 1009 + epoch)
            order = torch.randperm(n_train, generator=gen)
            total, count = 0.0, 0
            for x, y in batches("train", order):
                opt.zero_grad()
                loss = loss_fn(head(x), y)
                if not torch.isfinite(loss):
                    raise UserFacingError("output_contract", "training loss became %s in epoch %d: the backbone's features are not usable (check mean/std in meta.json)" % (loss.item(), epoch))
                loss.backward()
                opt.step()
                total += loss.item() * y.shape[0]
                count += y.shape[0]
            train_loss = total / max(count, 1)
            vm = val_metric()
            secs = time.time() - t
            curve.append({"epoch": epoch, "trainLoss": round(train_loss, 6), "valMetric": round(vm, 6), "seconds": round(secs, 3)})
            ckpt.save(epoch, head, opt, curve)
            self.progress.epoch(epoch, epochs, train_loss, vm, name, secs)
        return curve


def run(job_path):
    Job(job_path).run()


if __name__ == "__main__":
    common.main_guard(run)
