"""Brief fp32 pretraining of a paper model on real images, for benchmarks whose counts depend on data.

The instruction count of a training step depends on the data (the kernels skip masked and
zero pixels), so random weights fed with noise are not what a board would see. Here a
PyTorch twin of `tte.models.paper`'s builder (the same layers and names, with a BatchNorm
after each conv so that it trains from scratch) is trained for a few minutes on
Fashion-MNIST (the Debian package, `tte.training.data`), every image resized to 128x128 and
its gray channel repeated three times. The BatchNorms are then folded into the convs and
the weights go into `build_paper_onnx(weights=...)`. A check against onnxruntime proves the
ONNX graph computes what the trained twin computes.

Trained weights are cached under build/paper-weights/ (git-ignored), keyed by the
architecture file and the training settings; `python bench/paper_pretrain.py MODEL...`
fills the cache (one process per model can run in parallel).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from tte.models.paper import BN_EPS, build_paper_onnx, paper_arch
from tte.training.data import fashion_mnist, match_input

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "build" / "paper-weights"
RESOLUTION = 128
NUM_CLASSES = 10


@dataclass(frozen=True)
class Pretraining:
    """What the weights were trained on and how (recorded in the benchmark's JSON)."""

    dataset: str = "fashion-mnist (Debian dataset-fashion-mnist), 28x28 gray resized to 128x128x3 bilinear"
    train_images: int = 2000      # the first N of the training split
    epochs: int = 2
    batch_size: int = 32
    optimizer: str = "adam"
    lr: float = 0.002
    seed: int = 0
    eval_images: int = 500        # the first N of the test split (fp32 accuracy of the twin)


def images(x: np.ndarray) -> np.ndarray:
    """Fashion-MNIST NCHW [0, 1] gray -> the models' 1x3x128x128 float input."""
    return match_input(x, (1, 3, RESOLUTION, RESOLUTION))


def _torch_twin(name: str) -> Any:
    import torch
    from torch import nn

    arch = paper_arch(name)

    class ConvBN(nn.Module):
        def __init__(self, cin: int, cout: int, k: int, stride: int, groups: int, relu6: bool) -> None:
            super().__init__()
            self.conv = nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False)
            self.bn = nn.BatchNorm2d(cout, eps=BN_EPS)
            self.relu6 = relu6

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.bn(self.conv(x))
            return torch.clamp(y, 0.0, 6.0) if self.relu6 else y

    class Block(nn.Module):
        def __init__(self, b: dict[str, Any]) -> None:
            super().__init__()
            c = b["in_channels"]
            self.layers = nn.ModuleDict()
            if b["expand"] is not None:
                e = b["expand"]
                self.layers["pointwise1"] = ConvBN(c, e["out_channels"], 1, 1, 1, e["activation"] == "ReLU6")
                c = e["out_channels"]
            d = b["depthwise"]
            self.layers["depthwise"] = ConvBN(c, c, d["kernel"], d["stride"], c, d["activation"] == "ReLU6")
            p = b["project"]
            self.layers["pointwise2"] = ConvBN(c, p["out_channels"], 1, 1, 1, p["activation"] == "ReLU6")
            self.residual = b["residual_add"]

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = x
            for layer in self.layers.values():
                y = layer(y)
            return x + y if self.residual else y

    class Twin(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            fc = arch["first_conv"]
            self.first_conv = ConvBN(fc["in_channels"], fc["out_channels"], fc["kernel"], fc["stride"], 1,
                                     fc["activation"] == "ReLU6")
            self.blocks = nn.ModuleList(Block(b) for b in arch["blocks"])
            self.classifier = nn.Linear(arch["final_feature"]["shape_chw"][0], NUM_CLASSES)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.first_conv(x)
            for b in self.blocks:
                y = b(y)
            return self.classifier(y.mean(dim=(2, 3)))

        def folded(self) -> dict[str, np.ndarray]:
            """Conv weights and biases with each BatchNorm folded in, named as the ONNX builder names them."""
            convs = {"first_conv": self.first_conv}
            for i, b in enumerate(self.blocks):
                convs.update({f"blocks.{i}.{k}": v for k, v in b.layers.items()})
            out: dict[str, np.ndarray] = {}
            for layer, m in convs.items():
                scale = m.bn.weight / torch.sqrt(m.bn.running_var + BN_EPS)
                out[f"{layer}.weight"] = (m.conv.weight * scale[:, None, None, None]).detach().numpy()
                out[f"{layer}.bias"] = (m.bn.bias - m.bn.running_mean * scale).detach().numpy()
            out["classifier.weight"] = self.classifier.weight.detach().numpy()
            out["classifier.bias"] = self.classifier.bias.detach().numpy()
            return out

    return Twin()


def _cache_path(name: str, cfg: Pretraining) -> Path:
    key = json.dumps({"arch": paper_arch(name), "pretraining": asdict(cfg), "classes": NUM_CLASSES,
                      "resolution": RESOLUTION}, sort_keys=True)
    return CACHE / f"{name}-{hashlib.sha256(key.encode()).hexdigest()[:12]}.npz"


def _train(name: str, cfg: Pretraining) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    import torch

    torch.set_num_threads(1)  # small batches: threads only spin on a shared machine, and one thread is repeatable
    torch.manual_seed(cfg.seed)
    twin = _torch_twin(name)
    x, y = fashion_mnist("train")
    x, y = x[:cfg.train_images], y[:cfg.train_images]
    opt = torch.optim.Adam(twin.parameters(), lr=cfg.lr)
    rng = np.random.default_rng(cfg.seed)
    t0 = time.perf_counter()
    twin.train()
    for _ in range(cfg.epochs):
        order = rng.permutation(len(x))
        for i in range(0, len(x), cfg.batch_size):
            idx = order[i:i + cfg.batch_size]
            loss = torch.nn.functional.cross_entropy(twin(torch.from_numpy(images(x[idx]))),
                                                     torch.from_numpy(y[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
    twin.eval()
    xt, yt = fashion_mnist("test")
    correct = 0
    with torch.no_grad():
        for i in range(0, cfg.eval_images, 100):
            logits = twin(torch.from_numpy(images(xt[i:min(i + 100, cfg.eval_images)])))
            correct += int((logits.argmax(1).numpy() == yt[i:i + len(logits)]).sum())
        probe = torch.from_numpy(images(xt[:4]))
        probe_logits = twin(probe).numpy()
    weights = twin.folded()
    info = {"fp32_test_accuracy": correct / cfg.eval_images, "train_seconds": time.perf_counter() - t0,
            "torch": torch.__version__}
    np.savez(_cache_path(name, cfg).with_suffix(".probe.npz"), x=probe.numpy(), logits=probe_logits)
    return weights, info


def pretrained_onnx(name: str, cfg: Pretraining = Pretraining()) -> tuple[onnx.ModelProto, dict[str, Any]]:
    """The paper model with weights pretrained as ``cfg`` says (trained once, then read from the cache)."""
    path = _cache_path(name, cfg)
    meta_path = path.with_suffix(".json")
    if path.exists() and meta_path.exists():
        weights = dict(np.load(path))
        info = json.loads(meta_path.read_text())
        info["cached"] = True
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        weights, info = _train(name, cfg)
        np.savez(path, **weights)
        meta_path.write_text(json.dumps(info, indent=2) + "\n")
        info["cached"] = False
    model = build_paper_onnx(name, resolution=RESOLUTION, num_classes=NUM_CLASSES, weights=weights)
    _check_against_twin(model, path.with_suffix(".probe.npz"))
    return model, {**asdict(cfg), **info, "weights_sha256": _weights_digest(weights)}


def _check_against_twin(model: onnx.ModelProto, probe: Path) -> None:
    """onnxruntime on the folded ONNX graph gives the trained twin's logits (eval mode)."""
    import onnxruntime as ort

    data = np.load(probe)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    for x, want in zip(data["x"], data["logits"], strict=True):
        got = sess.run(None, {"input": x[None]})[0][0]
        if not np.allclose(got, want, rtol=1e-3, atol=1e-3 * float(np.abs(want).max())):
            raise AssertionError(f"folded ONNX logits {got} differ from the trained twin's {want}")


def _weights_digest(weights: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for k in sorted(weights):
        h.update(k.encode())
        h.update(np.ascontiguousarray(weights[k], np.float32).tobytes())
    return h.hexdigest()[:16]


if __name__ == "__main__":
    import sys

    for model_name in sys.argv[1:]:
        _, info = pretrained_onnx(model_name)
        print(model_name, json.dumps(info))
