"""Check the converted BlazeFace weights against the original TFLite models (dev time only).

Runs in an environment with ``tflite-runtime==2.14.0`` and ``numpy<2`` (not ferkit's):

    PYTHONPATH=/tmp/tflite_pkg python tools/convert_blazeface.py WHEEL --reference /tmp/bf_ref.npz
    /tmp/venv_v/bin/python tools/blazeface_tflite_reference.py /tmp/bf_ref.npz DIR_WITH_TFLITE_FILES

Prints the largest absolute difference between the torch and TFLite outputs (measured: <= 6e-5).
"""

import sys

import numpy as np
from tflite_runtime.interpreter import Interpreter

FILES = {"short": "face_detection_short_range.tflite", "full": "face_detection_full_range_sparse.tflite"}

ref = np.load(sys.argv[1])
for variant, name in FILES.items():
    it = Interpreter(f"{sys.argv[2]}/{name}", num_threads=1)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], ref[f"{variant}_input"])
    it.invoke()
    for d in it.get_output_details():
        out = it.get_tensor(d["index"])[0]
        mine = ref[f"{variant}_scores"][0][:, None] if out.shape[-1] == 1 else ref[f"{variant}_boxes"][0]
        print(variant, d["name"], out.shape, "max |diff|", float(np.abs(out - mine).max()))
