"""Make the shipped YuNet detector file: OpenCV zoo's face_detection_yunet_2023mar.onnx (MIT) with its input
declared as any height and width (multiples of 32) instead of 640x640, so ONNX Runtime (and onnxruntime-web) run
it at the size each image needs. The weights and graph are unchanged (its reshapes already use -1).

    python tools/convert_yunet.py SOURCE.onnx src/ferkit/faces/assets/yunet.onnx

SOURCE: the verified copy (sha256 8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

SHA256 = "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4"


def main(source: str, target: str) -> int:
    import onnx

    data = Path(source).read_bytes()
    if hashlib.sha256(data).hexdigest() != SHA256:
        print(
            f"{source}: not the verified YuNet 2023mar file (sha256 differs)",
            file=sys.stderr,
        )
        return 1
    model = onnx.load_from_string(data)
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_param, dims[3].dim_param = "height", "width"
    for output in model.graph.output:
        output.type.tensor_type.shape.dim[1].dim_param = "anchors"
    del model.graph.value_info[:]
    entry = model.metadata_props.add()
    entry.key, entry.value = (
        "source",
        f"opencv_zoo face_detection_yunet_2023mar.onnx sha256 {SHA256} (MIT)",
    )
    onnx.checker.check_model(model)
    Path(target).write_bytes(model.SerializeToString())
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
