"""Train the tte demo model (a tiny MobileNetV2-style CNN) on Fashion-MNIST; export ONNX.

    .venv/bin/python examples/train_fashion_mnist.py            # ~3-4 min CPU, writes the .onnx
    .venv/bin/python examples/train_fashion_mnist.py --epochs 1 --limit 2000 --out /tmp/m.onnx

The model takes float32 NCHW ``(1, 1, 28, 28)`` images in [0, 1] (no normalisation layer:
the first BatchNorm absorbs it) and returns 10 logits. BatchNorm is folded into the convs
at export, so the ONNX file holds only Conv, Clip, Add, GlobalAveragePool, Flatten, Gemm.
The float test accuracy printed at the end is measured with onnxruntime on the exported file.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

from tte.training.data import fashion_mnist

HERE = Path(__file__).resolve().parent
ALLOWED_OPS = {"Conv", "BatchNormalization", "Clip", "Relu", "Add", "GlobalAveragePool", "ReduceMean",
               "Flatten", "Reshape", "Gemm", "MatMul"}


def conv_bn(cin: int, cout: int, k: int, stride: int, groups: int = 1, act: bool = True) -> nn.Sequential:
    """Conv (no bias: BN supplies it) + BN (+ ReLU6), the MobileNetV2 unit."""
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
                               nn.BatchNorm2d(cout)]
    if act:
        layers.append(nn.ReLU6())
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    """Expand 1x1 -> depthwise kxk -> linear project 1x1, with a skip when shapes allow."""

    def __init__(self, cin: int, cout: int, expand: int, stride: int) -> None:
        super().__init__()
        hidden = cin * expand
        self.expand = conv_bn(cin, hidden, 1, 1)
        self.depthwise = conv_bn(hidden, hidden, 3, stride, groups=hidden)
        self.project = conv_bn(hidden, cout, 1, 1, act=False)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.depthwise(self.expand(x)))
        return x + y if self.residual else y


class FmnistCNN(nn.Module):
    """28x28x1 -> stem 3x3 s2 (14x14x16) -> 3 inverted residual blocks -> 1x1 mix -> GAP -> FC."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.stem = conv_bn(1, 16, 3, 2)
        self.blocks = nn.Sequential(
            InvertedResidual(16, 16, expand=3, stride=1),   # 14x14, residual add
            InvertedResidual(16, 32, expand=4, stride=2),   # 7x7
            InvertedResidual(32, 32, expand=3, stride=1),   # 7x7, residual add
        )
        self.mix = conv_bn(32, 96, 1, 1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(96, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.mix(self.blocks(self.stem(x)))
        return self.classifier(torch.flatten(self.pool(x), 1))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)


def train_epoch(model: nn.Module, opt: torch.optim.Optimizer, sched: torch.optim.lr_scheduler.LRScheduler,
                x: torch.Tensor, y: torch.Tensor, batch: int, gen: torch.Generator) -> tuple[float, float]:
    """One pass over (x, y) with random horizontal flips; returns mean loss and accuracy."""
    model.train()
    order = torch.randperm(len(x), generator=gen)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.05)
    total_loss, correct = 0.0, 0
    for start in range(0, len(x), batch):
        idx = order[start:start + batch]
        xb, yb = x[idx], y[idx]
        flip = torch.rand(len(idx), generator=gen) < 0.5   # clothes are left-right symmetric
        xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
        logits = model(xb)
        loss = loss_fn(logits, yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        total_loss += float(loss.detach()) * len(idx)
        correct += int((logits.argmax(1) == yb).sum())
    return total_loss / len(x), correct / len(x)


@torch.no_grad()
def accuracy_torch(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 1000) -> float:
    model.eval()
    correct = sum(int((model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum())
                  for i in range(0, len(x), batch))
    return correct / len(x)


def export_onnx(model: nn.Module, path: Path, opset: int = 13) -> None:
    """Export with the TorchScript exporter, which folds eval-mode BN into the convs."""
    model.eval()
    dummy = torch.zeros(1, 1, 28, 28)
    with warnings.catch_warnings():  # "legacy exporter" notice: chosen on purpose, for BN folding
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(model, (dummy,), str(path), dynamo=False, opset_version=opset,
                          input_names=["input"], output_names=["logits"], do_constant_folding=True)
    m = onnx.load(str(path))
    hoist_constants(m)
    name_folded_convs(m, model)
    onnx.checker.check_model(m, full_check=True)
    ops = {n.op_type for n in m.graph.node}
    if not ops <= ALLOWED_OPS:
        raise SystemExit(f"exported model has unexpected ops: {sorted(ops - ALLOWED_OPS)}")
    onnx.save(m, str(path))


def hoist_constants(m: onnx.ModelProto) -> None:
    """Turn Constant nodes (the ReLU6 Clip bounds) into initializers: fewer op types."""
    keep = []
    for node in m.graph.node:
        if node.op_type == "Constant" and node.attribute[0].name == "value":
            tensor = onnx.TensorProto()
            tensor.CopyFrom(node.attribute[0].t)
            tensor.name = node.output[0]
            m.graph.initializer.append(tensor)
        else:
            keep.append(node)
    del m.graph.node[:]
    m.graph.node.extend(keep)


def name_folded_convs(m: onnx.ModelProto, model: nn.Module) -> None:
    """Give BN-folded conv weights their PyTorch module names (``stem.0.weight``, ...).

    The exporter calls them ``onnx::Conv_N``; tte keeps source names, so a trained weight
    should be findable by the name of the layer it belongs to. Conv nodes come out in the
    same order as the Conv2d modules (this model has no branches that reorder them).
    """
    convs = [name for name, mod in model.named_modules() if isinstance(mod, nn.Conv2d)]
    nodes = [n for n in m.graph.node if n.op_type == "Conv"]
    assert len(convs) == len(nodes), (len(convs), len(nodes))
    renames: dict[str, str] = {}
    for module_name, node in zip(convs, nodes, strict=True):
        node.name = module_name
        for old, suffix in zip(node.input[1:], (".weight", ".bias"), strict=False):
            renames[old] = module_name + suffix
    for init in m.graph.initializer:
        init.name = renames.get(init.name, init.name)
    for node in m.graph.node:
        node.input[:] = [renames.get(i, i) for i in node.input]


def accuracy_onnx(path: Path, x: np.ndarray, y: np.ndarray) -> float:
    """Top-1 accuracy with onnxruntime, one image at a time (the file has batch 1)."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    preds = np.array([int(sess.run(None, {name: x[i:i + 1]})[0].argmax()) for i in range(len(x))])
    return float((preds == y).mean())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=4e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (the box is shared)")
    p.add_argument("--limit", type=int, default=0, help="train on the first N images only (smoke runs)")
    p.add_argument("--out", type=Path, default=HERE / "fmnist_cnn.onnx")
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads)
    seed_everything(args.seed)
    x_np, y_np = fashion_mnist("train")
    xt_np, yt_np = fashion_mnist("test")
    if args.limit:
        x_np, y_np = x_np[:args.limit], y_np[:args.limit]
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    xt, yt = torch.from_numpy(xt_np), torch.from_numpy(yt_np)

    model = FmnistCNN()
    n_params = sum(t.numel() for t in model.parameters())
    print(f"FmnistCNN: {n_params} parameters (before BN folding); {len(x)} train images", flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    steps = args.epochs * ((len(x) + args.batch_size - 1) // args.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps, pct_start=0.15)
    gen = torch.Generator().manual_seed(args.seed)

    t0 = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        loss, acc = train_epoch(model, opt, sched, x, y, args.batch_size, gen)
        test_acc = accuracy_torch(model, xt, yt)
        print(f"epoch {epoch}/{args.epochs}  loss {loss:.4f}  train acc {acc:.4f}  "
              f"test acc {test_acc:.4f}  ({time.perf_counter() - t0:.0f} s)", flush=True)

    export_onnx(model, args.out)
    onnx_acc = accuracy_onnx(args.out, xt_np, yt_np)
    size = args.out.stat().st_size
    print(f"wrote {args.out} ({size} bytes); onnxruntime float test accuracy {onnx_acc:.4f} "
          f"on {len(yt_np)} images; total {time.perf_counter() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
