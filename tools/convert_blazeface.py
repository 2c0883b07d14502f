"""Convert MediaPipe's BlazeFace TFLite models into ferkit's PyTorch BlazeFace weights (run once, at dev time).

    pip download --no-deps mediapipe==0.10.21 -d /tmp/mp      # the wheel holds the .tflite files
    pip install --target /tmp/tflite_pkg --no-deps tflite==2.18.0   # flatbuffer schema reader (dev only)
    PYTHONPATH=/tmp/tflite_pkg python tools/convert_blazeface.py /tmp/mp/mediapipe-0.10.21-*.whl

Writes ``src/ferkit/faces/assets/blazeface_{short,full}.onnx``: the PyTorch network exported to ONNX (dynamic
batch and size) with its weights stored as float16 initializers (the TFLite weights are float16, so nothing is
lost) cast to float32 inside the graph; the initializer names are the PyTorch state_dict keys (keys the
exporter merged are listed in the ``state_dict_aliases`` metadata), so the torch backend loads the same file. The
runtime never needs mediapipe, tflite or the wheel.

Weights are matched by execution order: the Conv2D/DepthwiseConv2D ops of the TFLite graph in order, and
the torch Conv2d modules in the order ``forward`` calls them (recorded with hooks); shapes must agree.
With ``--reference OUT.npz`` it also writes the torch outputs for a fixed input, to compare with a TFLite
interpreter run elsewhere (see ``--dump-input``).
"""

from __future__ import annotations

import argparse
import json
import sys
import zipfile
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from ferkit.faces.blazeface_net import VARIANTS  # noqa: E402

MEMBERS = {
    "short": "mediapipe/modules/face_detection/face_detection_short_range.tflite",
    "full": "mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite",
}
OUT = ROOT / "src" / "ferkit" / "faces" / "assets"


def tflite_convs(model_bytes: bytes) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(kind, kernel, bias) for each convolution op, in graph order, weights as float32 numpy."""
    import tflite
    from tflite.BuiltinOperator import BuiltinOperator as Op

    m = tflite.Model.GetRootAsModel(model_bytes, 0)
    g = m.Subgraphs(0)
    dtypes = {0: np.float32, 1: np.float16, 2: np.int32}
    producers = {}
    ops = []
    for i in range(g.OperatorsLength()):
        op = g.Operators(i)
        code = m.OperatorCodes(op.OpcodeIndex())
        kind = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        ops.append((kind, op))
        for j in range(op.OutputsLength()):
            producers[op.Outputs(j)] = (kind, op)

    def tensor(index: int) -> np.ndarray:
        if index in producers and producers[index][0] in (Op.DEQUANTIZE, Op.DENSIFY):
            return tensor(producers[index][1].Inputs(0))
        t = g.Tensors(index)
        raw = m.Buffers(t.Buffer()).DataAsNumpy()
        if isinstance(raw, int):
            raise ValueError(f"tensor {t.Name()} has no constant data")
        values = np.frombuffer(raw.tobytes(), dtype=dtypes[t.Type()])
        if t.Sparsity() is not None:
            return densify(t.Sparsity(), values, tuple(t.ShapeAsNumpy())).astype(np.float32)
        return values.reshape(t.ShapeAsNumpy()).astype(np.float32)

    out = []
    for kind, op in ops:
        if kind == Op.CONV_2D:
            out.append(("conv", tensor(op.Inputs(1)).transpose(0, 3, 1, 2), tensor(op.Inputs(2))))
        elif kind == Op.DEPTHWISE_CONV_2D:
            out.append(("dw", tensor(op.Inputs(1))[0].transpose(2, 0, 1)[:, None], tensor(op.Inputs(2))))
    return out


def densify(sparsity, values: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """TFLite sparse tensor -> dense; handles what these models use: leading dense dims, one trailing CSR dim."""
    import tflite

    dims = [sparsity.DimMetadata(d) for d in range(sparsity.DimMetadataLength())]
    order = sparsity.TraversalOrderAsNumpy().tolist()
    if (
        order != list(range(len(shape)))
        or sparsity.BlockMapLength()
        or [d.Format() for d in dims[:-1]] != [0] * (len(dims) - 1)
        or dims[-1].Format() != 1
    ):
        raise SystemExit("unsupported TFLite sparsity layout")

    def vector(table, kind):
        cls = {1: tflite.Int32Vector, 2: tflite.Uint16Vector, 3: tflite.Uint8Vector}[kind]
        v = cls()
        v.Init(table.Bytes, table.Pos)
        return v.ValuesAsNumpy().astype(np.int64)

    last = dims[-1]
    segments = vector(last.ArraySegments(), last.ArraySegmentsType())
    indices = vector(last.ArrayIndices(), last.ArrayIndicesType())
    rows = int(np.prod(shape[:-1]))
    dense = np.zeros((rows, shape[-1]), dtype=values.dtype)
    for r in range(rows):
        lo, hi = segments[r], segments[r + 1]
        dense[r, indices[lo:hi]] = values[lo:hi]
    return dense.reshape(shape)


def torch_conv_order(net: nn.Module) -> list[nn.Conv2d]:
    order: list[nn.Conv2d] = []
    hooks = [
        m.register_forward_hook(lambda mod, i, o: order.append(mod)) for m in net.modules() if isinstance(m, nn.Conv2d)
    ]
    with torch.no_grad():
        net(torch.zeros(1, 3, net.input_size, net.input_size))
    for h in hooks:
        h.remove()
    return order


def convert(variant: str, model_bytes: bytes) -> nn.Module:
    net = VARIANTS[variant]().eval()
    convs = torch_conv_order(net)
    weights = tflite_convs(model_bytes)
    if len(convs) != len(weights):
        raise SystemExit(f"{variant}: {len(weights)} TFLite convolutions but {len(convs)} torch ones")
    for k, (conv, (kind, kernel, bias)) in enumerate(zip(convs, weights)):
        if tuple(conv.weight.shape) != kernel.shape or (kind == "dw") != (conv.groups > 1):
            raise SystemExit(f"{variant}: conv #{k}: torch {tuple(conv.weight.shape)} vs tflite {kind} {kernel.shape}")
        conv.weight.data.copy_(torch.from_numpy(kernel))
        conv.bias.data.copy_(torch.from_numpy(bias))
    return net


def write_onnx(net: nn.Module, path: Path) -> None:
    import io

    import onnx
    from onnx import helper, numpy_helper

    buf = io.BytesIO()
    x = torch.zeros(1, 3, net.input_size, net.input_size)
    torch.onnx.export(
        net,
        (x,),
        buf,
        input_names=["image"],
        output_names=["scores", "boxes"],
        opset_version=17,
        dynamo=False,
        do_constant_folding=True,
        dynamic_axes={
            "image": {0: "batch", 2: "height", 3: "width"},
            "scores": {0: "batch", 1: "anchors"},
            "boxes": {0: "batch", 1: "anchors"},
        },
    )
    model = onnx.load_from_string(buf.getvalue())
    graph = model.graph
    state = net.state_dict()
    # The exporter merges identical tensors (e.g. equal biases); record which kept name holds each merged key.
    kept = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    aliases = {}
    for key in sorted(set(state) - set(kept)):
        value = state[key].numpy()
        match = [n for n, a in kept.items() if a.shape == value.shape and np.array_equal(a, value)]
        if not match:
            raise SystemExit(f"initializer for {key} not found in the exported graph")
        aliases[key] = match[0]
    meta = model.metadata_props.add()
    meta.key, meta.value = "state_dict_aliases", json.dumps(aliases)
    casts = []
    for init in graph.initializer:
        if init.name in state:
            name = init.name
            init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), name + "_fp16"))
            casts.append(helper.make_node("Cast", [name + "_fp16"], [name], to=onnx.TensorProto.FLOAT))
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    model.doc_string = (
        "BlazeFace (MediaPipe face detection, Apache-2.0), converted by ferkit tools/convert_blazeface.py"
    )
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("wheel", help="mediapipe-0.10.21 wheel (or a folder holding the two .tflite files)")
    p.add_argument("--reference", help="write torch outputs for a fixed random input to this .npz")
    args = p.parse_args()
    src = Path(args.wheel)
    reference = {}
    for variant, member in MEMBERS.items():
        if src.is_dir():
            model_bytes = (src / Path(member).name).read_bytes()
        else:
            with zipfile.ZipFile(src) as z:
                model_bytes = z.read(member)
        net = convert(variant, model_bytes)
        OUT.mkdir(parents=True, exist_ok=True)
        path = OUT / f"blazeface_{variant}.onnx"
        write_onnx(net, path)
        print(f"{variant}: {sum(p.numel() for p in net.parameters())} parameters -> {path}")
        if args.reference:
            x = np.random.default_rng(0).uniform(-1, 1, (1, net.input_size, net.input_size, 3)).astype(np.float32)
            with torch.no_grad():
                scores, boxes = net(torch.from_numpy(x).permute(0, 3, 1, 2))
            reference.update(
                {f"{variant}_input": x, f"{variant}_scores": scores.numpy(), f"{variant}_boxes": boxes.numpy()}
            )
    if args.reference:
        np.savez(args.reference, **reference)


if __name__ == "__main__":
    main()
