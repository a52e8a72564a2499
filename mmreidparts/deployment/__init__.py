"""Deployment: ONNX export of the test graph and an onnxruntime-backed model."""
from .onnx_export import (
    export_metadata,
    export_model_file,
    export_onnx,
    onnx_max_diff,
    pipeline_input_size,
    read_onnx_metadata,
)
from .onnx_model import ONNXReIDModel

__all__ = ['export_onnx', 'export_model_file', 'export_metadata', 'read_onnx_metadata',
           'pipeline_input_size', 'onnx_max_diff', 'ONNXReIDModel']
