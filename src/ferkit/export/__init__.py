"""Model export (ONNX) with labels and preprocessing carried in the file's metadata."""

from ferkit.export.onnx import export_onnx, read_onnx_metadata

__all__ = ["export_onnx", "read_onnx_metadata"]
