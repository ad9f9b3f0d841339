"""The platform's preset CV heads, trained on features of a frozen backbone, and their metrics."""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class Standardize(nn.Module):
    """Fixed per-dimension standardisation of pooled features (statistics of the train split), so
    one learning rate suits backbones whose feature scales differ by orders of magnitude."""

    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", mean.clone())
        self.register_buffer("std", std.clone())

    def forward(self, x):
        return (x - self.mean) / self.std


def feature_stats(x):
    return x.mean(0), x.std(0).clamp_min(1e-6)


class LinearHead(nn.Module):
    """GAP + linear: the pooled features are computed once; this is the trainable part."""

    def __init__(self, mean, std, num_classes):
        super().__init__()
        self.norm = Standardize(mean, std)
        self.fc = nn.Linear(mean.numel(), num_classes)

    def forward(self, x):
        return self.fc(self.norm(x))


class ProjectionHead(nn.Module):
    """Retrieval "linear": a linear projection trained with a classification loss on top of it; the
    projection's outputs are what retrieval compares."""

    def __init__(self, mean, std, num_classes, dim=128):
        super().__init__()
        self.norm = Standardize(mean, std)
        self.proj = nn.Linear(mean.numel(), dim)
        self.fc = nn.Linear(dim, num_classes)

    def embed(self, x):
        return self.proj(self.norm(x))

    def forward(self, x):
        return self.fc(self.embed(x))


def Pointwise(cin, cout, bias=True):
    """A 1x1 convolution declared with dilation 2 (which changes nothing for a 1x1 kernel): torch's
    CPU convolution picks its im2col + BLAS path for undilated 1x1 kernels when single-threaded with
    batches under 16, and with the reference BLAS of Debian's torch that path is ten times slower
    than the oneDNN one a dilated kernel takes."""
    return nn.Conv2d(cin, cout, 1, dilation=2, bias=bias)


def _conv(cin, cout, k, bias=True):
    return Pointwise(cin, cout, bias=bias) if k == 1 else nn.Conv2d(cin, cout, k, padding=k // 2, bias=bias)


def _conv_bn_relu(cin, cout, k):
    return nn.Sequential(_conv(cin, cout, k, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class UPerNetLight(nn.Module):
    """A light UPerNet: pyramid pooling on the coarsest level, 1x1 laterals, top-down additions, 3x3
    smoothing on the coarser levels, then fusion of all levels at the finest resolution and a 1x1
    classifier. The fusion's 1x1 conv is applied per level before upsampling (it commutes with
    bilinear upsampling), which gives the concat-then-1x1 of UPerNet at a quarter of the cost."""

    def __init__(self, in_channels, num_classes, dim=32, pool_scales=(1, 2, 4)):
        super().__init__()
        self.pool_scales = pool_scales
        self.ppm = nn.ModuleList([_conv_bn_relu(in_channels[-1], dim, 1) for _ in pool_scales])
        self.lateral = nn.ModuleList([_conv_bn_relu(c, dim, 1) for c in in_channels])
        self.smooth = nn.ModuleList([_conv_bn_relu(dim, dim, 1 if i == 0 else 3) for i in range(len(in_channels))])
        self.fuse = nn.ModuleList([Pointwise(dim, dim, bias=False) for _ in in_channels])
        self.fuse_bn = nn.BatchNorm2d(dim)
        self.drop = nn.Dropout2d(0.1)
        self.cls = Pointwise(dim, num_classes)

    def forward(self, feats):
        lat = [m(f) for m, f in zip(self.lateral, feats)]
        top = feats[-1]
        for scale, m in zip(self.pool_scales, self.ppm):
            p = m(F.adaptive_avg_pool2d(top, scale))
            lat[-1] = lat[-1] + F.interpolate(p, size=lat[-1].shape[-2:], mode="bilinear", align_corners=False)
        for i in range(len(lat) - 1, 0, -1):
            lat[i - 1] = lat[i - 1] + F.interpolate(lat[i], size=lat[i - 1].shape[-2:], mode="bilinear", align_corners=False)
        size = lat[0].shape[-2:]
        fused = 0
        for i, (s, f) in enumerate(zip(self.smooth, self.fuse)):
            y = f(s(lat[i]))
            fused = fused + (y if i == 0 else F.interpolate(y, size=size, mode="bilinear", align_corners=False))
        return self.cls(self.drop(F.relu(self.fuse_bn(fused))))


class SETRLight(nn.Module):
    """SETR-naive: the last level only, 1x1 conv + BN + ReLU + 1x1 classifier."""

    def __init__(self, in_channels, num_classes, dim=64):
        super().__init__()
        self.conv = _conv_bn_relu(in_channels[-1], dim, 1)
        self.cls = Pointwise(dim, num_classes)

    def forward(self, feats):
        return self.cls(self.conv(feats[-1]))


def cosine_lr(base, epoch, epochs):
    """Learning rate of 1-based `epoch` of `epochs`: cosine from base down to 5% of it, a function of
    the epoch alone so a resumed job continues on the same schedule."""
    t = (epoch - 1) / max(epochs, 1)
    return base * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * t)))


# ---------------------------------------------------------------- metrics


def topk_accuracy(logits, labels, k):
    k = min(k, logits.shape[1])
    top = logits.topk(k, dim=1).indices
    return (top == labels[:, None]).any(dim=1).float().mean().item()


def recall_at_k(queries, q_labels, gallery, g_labels, ks, chunk=1024):
    """Recall@k of cosine nearest neighbours: a query counts when any of its k nearest gallery items
    shares its label."""
    q = F.normalize(queries.float(), dim=1)
    g = F.normalize(gallery.float(), dim=1)
    kmax = min(max(ks), g.shape[0])
    hits = {k: 0 for k in ks}
    for s in range(0, q.shape[0], chunk):
        sim = q[s : s + chunk] @ g.T
        nn_idx = sim.topk(kmax, dim=1).indices
        match = g_labels[nn_idx] == q_labels[s : s + chunk, None]
        for k in ks:
            hits[k] += match[:, : min(k, kmax)].any(dim=1).sum().item()
    n = max(q.shape[0], 1)
    return {k: hits[k] / n for k in ks}


class Confusion:
    """Confusion matrix over labelled pixels (ignore_index skipped) → mIoU and pixel accuracy."""

    def __init__(self, num_classes, ignore_index):
        self.k = num_classes
        self.ignore = ignore_index
        self.m = torch.zeros(num_classes, num_classes, dtype=torch.int64)

    def add(self, pred, target):
        keep = target != self.ignore
        t = target[keep].long().cpu()
        p = pred[keep].long().cpu()
        keep2 = (t >= 0) & (t < self.k)
        self.m += torch.bincount(t[keep2] * self.k + p[keep2], minlength=self.k * self.k).reshape(self.k, self.k)

    def miou(self):
        inter = self.m.diag().double()
        union = self.m.sum(0).double() + self.m.sum(1).double() - inter
        present = union > 0
        if not present.any():
            return 0.0
        return (inter[present] / union[present]).mean().item()

    def pixel_accuracy(self):
        total = self.m.sum().item()
        return self.m.diag().sum().item() / total if total else 0.0
