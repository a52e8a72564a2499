"""ONNX export of a ReID model's test graph, with what a user needs in the metadata.

The exported graph is :meth:`ReIDModel.predict_tensors`: normalised images in, the
contract of every model out, so no method needs export code of its own.

    input   images      [N, 3, H, W] float32, after the data preprocessor (mean/std,
                        channel order of the metadata's ``preprocess``)
    outputs embeddings  [N, P, D] float32
            visibility  [N, P] float32

``N`` is dynamic. The test-time flip is part of the graph when the config uses it
(``model.test_cfg.flip``). The model's metadata (``metadata_props``, JSON values) holds
``embedding_names``, ``preprocess`` (``mean``, ``std``, ``to_rgb``, ``input_size``
``[H, W]``, the test ``pipeline``), ``test_cfg``, ``evaluator`` (``metric``,
``normalize``) and ``source`` (config and checkpoint names).
"""
import json
import os
import os.path as osp
import warnings
from typing import Any, Dict, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

INPUT_NAME = 'images'
OUTPUT_NAMES = ('embeddings', 'visibility')
METADATA_KEYS = ('embedding_names', 'preprocess', 'test_cfg', 'evaluator', 'source')
DEFAULT_OPSET = 17


class ExportGraph(nn.Module):
    """The test graph of a ReID model as a module: ``images -> (embeddings, visibility)``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        if not hasattr(model, 'predict_tensors'):
            raise TypeError(f'{type(model).__name__} has no predict_tensors(inputs); export '
                            'a ReIDModel')
        self.model = model

    def forward(self, images: Tensor) -> Tuple[Tensor, Tensor]:
        """``[N, 3, H, W]`` -> ``embeddings [N, P, D]``, ``visibility [N, P]`` (float32)."""
        embeddings, visibility = self.model.predict_tensors(images)
        return embeddings.float(), visibility.float()


@torch.no_grad()
def check_tensor_path(model: nn.Module, inputs: Tensor, atol: float = 1e-5) -> None:
    """Raise a ValueError unless ``predict_tensors`` gives what ``predict`` stores.

    A head that overrides ``predict`` without ``predict_tensors`` would otherwise be
    exported with the test graph of its parent class.
    """
    embeddings, visibility = model.predict_tensors(inputs)
    samples = model.predict(inputs)
    head = type(getattr(model, 'head', model)).__name__
    names = tuple(samples[0].embedding_names)
    stored = torch.stack([s.embeddings for s in samples]).to(embeddings)
    if names != tuple(model.embedding_names) or stored.shape != embeddings.shape or \
            not torch.allclose(stored, embeddings, atol=atol):
        raise ValueError(
            f'{head}.predict_tensors does not give what {head}.predict stores (names '
            f'{tuple(model.embedding_names)} vs {names}, shapes {tuple(embeddings.shape)} vs '
            f'{tuple(stored.shape)}): the head must implement predict_tensors(feats) -> '
            '(embeddings, visibility) and embedding_names, and predict on top of them')
    stored_vis = torch.stack([s.visibility for s in samples]).to(visibility)
    if not torch.allclose(stored_vis, visibility, atol=atol):
        raise ValueError(f'{head}: the visibility of predict_tensors and predict differ')


def _jsonable(value: Any) -> Any:
    """Config values as plain JSON data (tuples become lists, other objects strings)."""
    return json.loads(json.dumps(value, default=str))


def preprocess_info(model: nn.Module, input_size: Tuple[int, int],
                    pipeline: Sequence[dict] = ()) -> Dict[str, Any]:
    """What an image goes through before the graph: normalisation, channels, size, pipeline."""
    pre = model.data_preprocessor
    normalize = bool(getattr(pre, '_enable_normalize', False))
    return dict(
        mean=pre.mean.flatten().tolist() if normalize else None,
        std=pre.std.flatten().tolist() if normalize else None,
        to_rgb=bool(getattr(pre, 'to_rgb', getattr(pre, '_channel_conversion', False))),
        input_size=[int(input_size[0]), int(input_size[1])],
        input_format='float32 [N, 3, H, W]: uint8 BGR image resized by the pipeline, '
        'channels flipped to RGB when to_rgb, then (x - mean) / std',
        pipeline=_jsonable(list(pipeline)))


def export_metadata(model: nn.Module, input_size: Tuple[int, int],
                    pipeline: Sequence[dict] = (), evaluator: Optional[dict] = None,
                    source: Optional[dict] = None) -> Dict[str, Any]:
    """The metadata written into an exported model (each value JSON-able)."""
    evaluator = dict(evaluator or {})
    test_cfg = dict(getattr(model, 'test_cfg', None) or {})
    return dict(
        embedding_names=list(model.embedding_names),
        preprocess=preprocess_info(model, input_size, pipeline),
        test_cfg=_jsonable(test_cfg),
        evaluator=dict(metric=evaluator.get('metric', 'euclidean'),
                       normalize=bool(evaluator.get('normalize', False))),
        source=_jsonable(dict(source or {})))


def export_onnx(model: nn.Module,
                out_file: str,
                input_size: Tuple[int, int],
                metadata: Optional[Dict[str, Any]] = None,
                opset: int = DEFAULT_OPSET,
                batch_size: int = 2) -> str:
    """Export ``model.predict_tensors`` to ``out_file`` with a dynamic batch; return the path.

    Args:
        model: a ReID model in eval mode (on the CPU for a device-independent graph).
        out_file: the ``.onnx`` file to write (its folder is created).
        input_size: ``(H, W)`` of the network input (the test pipeline's output).
        metadata: written into ``metadata_props`` as JSON (see :func:`export_metadata`).
        opset: the ONNX opset.
        batch_size: batch of the example input that is traced.
    """
    import onnx

    model = model.eval()
    graph = ExportGraph(model).eval()
    param = next(iter(model.parameters()), None)
    device = param.device if param is not None else torch.device('cpu')
    example = torch.randn(batch_size, 3, int(input_size[0]), int(input_size[1]), device=device)
    check_tensor_path(model, example)
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    dynamic = {INPUT_NAME: {0: 'batch'}}
    dynamic.update({name: {0: 'batch'} for name in OUTPUT_NAMES})
    with torch.no_grad(), warnings.catch_warnings():
        # the TorchScript-based exporter is deprecated in favour of torch.export, which
        # needs the onnxscript package; it still gives the same graph
        warnings.filterwarnings('ignore', category=DeprecationWarning)
        # the input checks of the heads compare shapes, which the tracer notes as constants
        warnings.filterwarnings('ignore', category=torch.jit.TracerWarning)
        torch.onnx.export(graph, (example, ), out_file, dynamo=False,
                          input_names=[INPUT_NAME], output_names=list(OUTPUT_NAMES),
                          dynamic_axes=dynamic, opset_version=opset,
                          do_constant_folding=True)
    proto = onnx.load(out_file)
    del proto.metadata_props[:]
    for key, value in (metadata or {}).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, json.dumps(value)
    proto.producer_name = 'mmreidparts'
    onnx.checker.check_model(proto)
    onnx.save(proto, out_file)
    return out_file


def read_onnx_metadata(path_or_session: Any) -> Dict[str, Any]:
    """The mmreidparts metadata of an exported model (a file or an onnxruntime session).

    Raises a ValueError naming the file when it lacks ``embedding_names`` or
    ``preprocess`` (not exported by :func:`export_onnx`).
    """
    if isinstance(path_or_session, str):
        import onnxruntime as ort
        if not osp.isfile(path_or_session):
            raise FileNotFoundError(f'ONNX model not found: {path_or_session}')
        session = ort.InferenceSession(path_or_session, providers=['CPUExecutionProvider'])
        name = path_or_session
    else:
        session, name = path_or_session, 'the ONNX model'
    raw = session.get_modelmeta().custom_metadata_map
    meta = {}
    for key, value in raw.items():
        try:
            meta[key] = json.loads(value)
        except ValueError:
            meta[key] = value
    missing = [k for k in ('embedding_names', 'preprocess') if k not in meta]
    if missing:
        raise ValueError(f'{name}: no {missing} in the ONNX metadata; export the model with '
                         'tools/deployment/pytorch2onnx.py')
    return meta


def pipeline_input_size(cfg: Any) -> Tuple[int, int]:
    """``(H, W)`` of the network input: what the config's test pipeline makes of an image."""
    import numpy as np
    from mmengine.dataset import Compose

    from mmreidparts.apis.inference import test_pipeline_cfg
    pipeline = Compose(test_pipeline_cfg(cfg, from_array=True))
    img = np.zeros((256, 128, 3), np.uint8)
    out = pipeline(dict(img=img, img_path='', img_shape=(256, 128), ori_shape=(256, 128),
                        pid=-1, camid=-1, gt_label=-1, is_query=False, part_map_path=None,
                        part_scheme=None))
    return int(out['inputs'].shape[-2]), int(out['inputs'].shape[-1])


def export_model_file(model: nn.Module,
                      out_file: str,
                      input_size: Optional[Sequence[int]] = None,
                      opset: int = DEFAULT_OPSET,
                      source: Optional[dict] = None) -> Tuple[str, Dict[str, Any]]:
    """Export a model built by ``init_model`` (its config is ``model.cfg``) with metadata.

    The input size defaults to the test pipeline's output. Returns the path and the
    metadata written.
    """
    from mmreidparts.apis.inference import test_pipeline_cfg
    cfg = model.cfg
    size = tuple(input_size) if input_size else pipeline_input_size(cfg)
    meta = export_metadata(model, size, test_pipeline_cfg(cfg), cfg.get('test_evaluator'),
                           source)
    export_onnx(model.cpu().eval(), out_file, size, meta, opset=opset)
    return out_file, meta


def onnx_max_diff(model: nn.Module, onnx_file: str, inputs: Tensor) -> Tuple[float, float]:
    """Max ``|diff|`` of embeddings and of visibility, onnxruntime vs PyTorch, on ``inputs``."""
    from .onnx_model import ONNXReIDModel
    session_model = ONNXReIDModel(onnx_file)
    with torch.no_grad():
        emb, vis = model.predict_tensors(inputs)
    emb_o, vis_o = session_model.predict_tensors(inputs)
    return (float((emb.float() - emb_o).abs().max()), float((vis.float() - vis_o).abs().max()))
