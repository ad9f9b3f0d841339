"""Built-in CV datasets, rendered with numpy from fixed seeds (no downloads, same bytes every time).

    python3 -m proctor_backbone.cvdata <outdir> <name>

Names: cv-shapes (classification), cv-shapes-retrieval (retrieval), cv-shapes-seg (segmentation).
Each image is a shape drawn over a textured background; shape, colours, textures, position, size and
rotation are drawn independently, so only the outline tells the class. Images are stored small
(64x64) and the job resizes them to the task's input size.
"""

import json
import os
import sys

import numpy as np

SIZE = 64


# ---------------------------------------------------------------- shapes: masks on unit coordinates


def _shape_mask(name, u, v):
    rho = np.hypot(u, v)
    if name == "circle":
        return rho <= 0.95
    if name == "square":
        return np.maximum(np.abs(u), np.abs(v)) <= 0.8
    if name == "triangle":
        return (v >= -0.5) & (np.sqrt(3) * u + v <= 1) & (-np.sqrt(3) * u + v <= 1)
    if name == "star":
        phi = np.arctan2(v, u)
        return rho <= 0.42 + 0.58 * ((np.cos(5 * phi) + 1) / 2) ** 2
    if name == "cross":
        return ((np.abs(u) <= 0.28) & (np.abs(v) <= 0.95)) | ((np.abs(v) <= 0.28) & (np.abs(u) <= 0.95))
    if name == "ring":
        return (rho >= 0.55) & (rho <= 1.0)
    if name == "crescent":
        return (rho <= 1.0) & ((u - 0.45) ** 2 + v**2 > 0.8**2)
    if name == "bar":
        return (np.abs(u) <= 1.0) & (np.abs(v) <= 0.25)
    if name == "hollow_square":
        m = np.maximum(np.abs(u), np.abs(v))
        return (m <= 0.85) & (m >= 0.5)
    if name == "semicircle":
        vv = v + 0.4
        return (np.hypot(u, vv) <= 1.0) & (vv >= 0)
    if name == "L":
        a = (u >= -0.8) & (u <= -0.35) & (np.abs(v) <= 0.8)
        b = (np.abs(u) <= 0.8) & (v >= -0.8) & (v <= -0.35)
        return a | b
    if name == "T":
        a = (np.abs(u) <= 0.85) & (v >= 0.4) & (v <= 0.85)
        b = (np.abs(u) <= 0.22) & (np.abs(v) <= 0.85)
        return a | b
    if name == "arrow":
        shaft = (np.abs(v) <= 0.18) & (u >= -0.9) & (u <= 0.2)
        head = (u >= 0.2) & (u <= 0.95) & (np.abs(v) <= (0.95 - u) * 0.9)
        return shaft | head
    if name == "ellipse":
        return (u / 1.0) ** 2 + (v / 0.5) ** 2 <= 1
    raise ValueError(name)


ALL_SHAPES = (
    "circle",
    "square",
    "triangle",
    "star",
    "cross",
    "ring",
    "crescent",
    "bar",
    "hollow_square",
    "semicircle",
    "L",
    "T",
    "arrow",
    "ellipse",
)

_YY, _XX = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64) + 0.5


def _place(rng, name, radius):
    """Mask of one shape at a random centre, radius (pixels) and rotation."""
    cx = rng.uniform(radius * 0.8, SIZE - radius * 0.8)
    cy = rng.uniform(radius * 0.8, SIZE - radius * 0.8)
    th = rng.uniform(0, 2 * np.pi)
    dx, dy = (_XX - cx) / radius, (cy - _YY) / radius
    c, s = np.cos(th), np.sin(th)
    u = c * dx + s * dy
    v = -s * dx + c * dy
    return _shape_mask(name, u, v)


# ---------------------------------------------------------------- textures


def _colour(rng):
    return rng.randint(0, 256, size=3).astype(np.float64)


def _texture(rng, kind, c1, c2):
    """SIZE x SIZE x 3 float image of one texture kind in two colours."""
    if kind == "solid":
        return np.broadcast_to(c1, (SIZE, SIZE, 3)).copy()
    th = rng.uniform(0, np.pi)
    proj = (_XX * np.cos(th) + _YY * np.sin(th)) / SIZE
    if kind == "gradient":
        t = (proj - proj.min()) / max(proj.max() - proj.min(), 1e-9)
    elif kind == "stripes":
        freq = rng.uniform(3, 9)
        t = (np.sin(2 * np.pi * freq * proj + rng.uniform(0, 6.3)) > 0).astype(np.float64)
    elif kind == "checker":
        cell = rng.randint(4, 11)
        t = (((_XX // cell) + (_YY // cell)) % 2).astype(np.float64)
    elif kind == "blobs":
        g = rng.uniform(0, 1, size=(5, 5))
        idx = np.linspace(0, 4, SIZE)
        i0 = np.floor(idx).astype(int).clip(0, 3)
        f = idx - i0
        rows = g[i0] * (1 - f)[:, None] + g[i0 + 1] * f[:, None]
        t = rows[:, i0] * (1 - f)[None, :] + rows[:, i0 + 1] * f[None, :]
    else:
        raise ValueError(kind)
    t = t[..., None]
    return c1 * (1 - t) + c2 * t


BG_KINDS = ("solid", "gradient", "stripes", "checker", "blobs")
FG_KINDS = ("solid", "solid", "gradient", "stripes", "checker")


def _distinct_colours(rng, bg_mean):
    """Two foreground colours whose mean differs enough from the background's to see the outline."""
    for _ in range(100):
        c1, c2 = _colour(rng), _colour(rng)
        if np.abs((c1 + c2) / 2 - bg_mean).sum() > 150 and np.abs(c1 - bg_mean).sum() > 120:
            return c1, c2
    return 255 - bg_mean, 255 - bg_mean


def _background(rng, kinds=BG_KINDS):
    kind = kinds[rng.randint(len(kinds))]
    c1 = _colour(rng)
    c2 = np.clip(c1 + rng.uniform(-90, 90, size=3), 0, 255)  # low contrast inside the background
    return _texture(rng, kind, c1, c2)


def _finish(rng, img):
    img = img + rng.normal(0, 6, size=img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def _draw(rng, img, mask, kinds=FG_KINDS):
    bg_mean = img[mask].mean(axis=0) if mask.any() else img.reshape(-1, 3).mean(axis=0)
    c1, c2 = _distinct_colours(rng, bg_mean)
    fg = _texture(rng, kinds[rng.randint(len(kinds))], c1, c2)
    img[mask] = fg[mask]


# ---------------------------------------------------------------- datasets


def render_classification(seed, shapes, n, min_r=0.2, max_r=0.42, bg_kinds=BG_KINDS, fg_kinds=FG_KINDS):
    """n images of one shape each, labels balanced (index into `shapes`), order shuffled."""
    rng = np.random.RandomState(seed)
    labels = np.arange(n) % len(shapes)
    rng.shuffle(labels)
    images = np.zeros((n, SIZE, SIZE, 3), dtype=np.uint8)
    for i in range(n):
        img = _background(rng, bg_kinds)
        mask = _place(rng, shapes[labels[i]], rng.uniform(min_r, max_r) * SIZE)
        _draw(rng, img, mask, fg_kinds)
        images[i] = _finish(rng, img)
    return images, labels.astype(np.int64)


def render_segmentation(seed, shapes, n, ignore_index=255):
    """n images with 1..3 shapes each; mask 0 = background, k = shapes[k-1]; one-pixel outlines
    between different classes are `ignore_index` (a rendered edge belongs to neither side)."""
    rng = np.random.RandomState(seed)
    images = np.zeros((n, SIZE, SIZE, 3), dtype=np.uint8)
    masks = np.zeros((n, SIZE, SIZE), dtype=np.uint8)
    for i in range(n):
        img = _background(rng)
        lab = np.zeros((SIZE, SIZE), dtype=np.uint8)
        for _ in range(rng.randint(1, 4)):
            k = rng.randint(len(shapes))
            m = _place(rng, shapes[k], rng.uniform(0.13, 0.26) * SIZE)
            _draw(rng, img, m)
            lab[m] = k + 1
        edge = np.zeros_like(lab, dtype=bool)
        edge[1:, :] |= lab[1:, :] != lab[:-1, :]
        edge[:, 1:] |= lab[:, 1:] != lab[:, :-1]
        lab[edge] = ignore_index
        images[i] = _finish(rng, img)
        masks[i] = lab
    return images, masks


DATASETS = {
    "cv-shapes": {
        "task": "classification",
        "classes": ("circle", "square", "triangle", "star", "cross", "ring", "crescent", "arrow"),
        "splits": {"train": 800, "val": 160, "test": 320},
        "seed": 1801,
    },
    "cv-shapes-retrieval": {
        "task": "retrieval",
        "classes": ("ellipse", "hollow_square", "semicircle", "L", "T", "bar", "star", "ring", "triangle", "cross"),
        "splits": {"train": 600, "val": 100, "test": 200},
        "seed": 1802,
    },
    "cv-shapes-seg": {
        "task": "segmentation",
        "classes": ("background", "circle", "square", "triangle", "cross"),
        "splits": {"train": 64, "val": 16, "test": 32},
        "seed": 1803,
    },
}

SPLIT_SALT = {"train": 0, "val": 1, "test": 2}


def generate(outdir, name):
    if name not in DATASETS:
        raise KeyError(name)
    spec = DATASETS[name]
    os.makedirs(outdir, exist_ok=True)
    info = {
        "name": name,
        "domain": "cv",
        "task": spec["task"],
        "classes": list(spec["classes"]),
        "splits": dict(spec["splits"]),
        "imageSize": [SIZE, SIZE],
    }
    for split, n in spec["splits"].items():
        seed = spec["seed"] * 10 + SPLIT_SALT[split]
        if spec["task"] == "segmentation":
            images, masks = render_segmentation(seed, spec["classes"][1:], n)
            np.save(os.path.join(outdir, "%s_masks.npy" % split), masks)
        else:
            images, labels = render_classification(seed, spec["classes"], n)
            order = label_by_index_order(labels, len(spec["classes"]))
            images, labels = images[order], labels[order]
            np.save(os.path.join(outdir, "%s_labels.npy" % split), labels)
        np.save(os.path.join(outdir, "%s_images.npy" % split), images)
    if spec["task"] == "segmentation":
        info["ignoreIndex"] = 255
    with open(os.path.join(outdir, "dataset.json"), "w", encoding="utf-8") as f:
        json.dump(info, f, indent=2, sort_keys=True)
        f.write("\n")
    return info


def label_by_index_order(labels, k):
    """The order that puts item j at the place whose label is j % k (the platform lists test items by
    that rule without reading the files): the n-th item of class c goes to place n * k + c. Only the
    order changes; every picture stays as rendered."""
    by_class = [np.flatnonzero(labels == c) for c in range(k)]
    n = len(labels)
    if any(len(ix) != len(by_class[0]) for ix in by_class) or len(by_class[0]) * k != n:
        raise ValueError("label-by-index order needs as many items of every class")
    return np.stack(by_class, axis=1).reshape(-1)


def main(argv):
    if len(argv) != 3 or argv[2] not in DATASETS:
        print("usage: python3 -m proctor_backbone.cvdata <outdir> <%s>" % "|".join(DATASETS), file=sys.stderr)
        return 2
    generate(argv[1], argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
