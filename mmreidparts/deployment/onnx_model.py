"""A ReID model run by onnxruntime, returning the data samples of the PyTorch model."""
import hashlib
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.model import BaseModel
from torch import Tensor

from mmreidparts.registry import MODELS
from mmreidparts.structures import ReIDDataSample, fill_predictions

from .onnx_export import INPUT_NAME, OUTPUT_NAMES, read_onnx_metadata


def _providers(device: str) -> List[str]:
    """onnxruntime execution providers for a torch device name (CUDA when it is there)."""
    import onnxruntime as ort
    available = ort.get_available_providers()
    if str(device).startswith('cuda') and 'CUDAExecutionProvider' in available:
        return ['CUDAExecutionProvider', 'CPUExecutionProvider']
    return ['CPUExecutionProvider']


@MODELS.register_module()
class ONNXReIDModel(BaseModel):
    """An exported model (``tools/deployment/pytorch2onnx.py``) behind the ReIDModel API.

    ``test_step`` / ``predict`` return the same :class:`ReIDDataSample` fields as the
    PyTorch model (``embeddings [P, D]``, ``visibility [P]``, ``embedding_names``), so
    ``tools/test.py``, the evaluator, the inferencer and the demos run on it unchanged.
    The data preprocessor is built from the model's metadata (the normalisation it was
    exported with) unless one is given. Training is not possible.

    Args:
        onnx_file: the exported ``.onnx`` file.
        device: 'cpu' or 'cuda' (onnxruntime's CUDA provider when installed).
        num_threads: onnxruntime's intra-op threads (default: ``torch.get_num_threads()``).
        data_preprocessor: config of the data preprocessor; None = from the metadata.
        init_cfg: unused (no weights to initialise), kept for the BaseModel signature.
    """

    def __init__(self,
                 onnx_file: str,
                 device: str = 'cpu',
                 num_threads: Optional[int] = None,
                 data_preprocessor: Optional[Union[dict, torch.nn.Module]] = None,
                 init_cfg: Optional[dict] = None) -> None:
        import onnxruntime as ort
        if not osp.isfile(onnx_file):
            raise FileNotFoundError(f'ONNXReIDModel: ONNX model not found: {onnx_file}')
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(num_threads or torch.get_num_threads())
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(onnx_file, sess_options=options,
                                       providers=_providers(device))
        meta = read_onnx_metadata(session)
        names = [o.name for o in session.get_outputs()]
        if [i.name for i in session.get_inputs()] != [INPUT_NAME] or \
                names[:2] != list(OUTPUT_NAMES):
            raise ValueError(f'{onnx_file}: expected the input {INPUT_NAME!r} and outputs '
                             f'{OUTPUT_NAMES}, got {[i.name for i in session.get_inputs()]} '
                             f'and {names}')
        if data_preprocessor is None:
            pre = meta['preprocess']
            data_preprocessor = dict(type='ReIDDataPreprocessor', mean=pre['mean'],
                                     std=pre['std'], to_rgb=pre['to_rgb'])
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.onnx_file = osp.abspath(onnx_file)
        self.session = session
        self.metadata: Dict = meta
        self.embedding_names: Tuple[str, ...] = tuple(meta['embedding_names'])
        self._fingerprint: Optional[str] = None

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the ONNX file (what the gallery cache keys a model by)."""
        if self._fingerprint is None:
            digest = hashlib.sha256()
            with open(self.onnx_file, 'rb') as f:
                for block in iter(lambda: f.read(1 << 20), b''):
                    digest.update(block)
            self._fingerprint = digest.hexdigest()
        return self._fingerprint

    def predict_tensors(self, inputs: Tensor) -> Tuple[Tensor, Tensor]:
        """Run the graph on a normalised batch: ``embeddings [N, P, D]``, ``visibility [N, P]``."""
        size = list(self.metadata['preprocess'].get('input_size') or inputs.shape[2:])
        if inputs.dim() != 4 or list(inputs.shape[1:]) != [3] + size:
            raise ValueError(f'{self.onnx_file} was exported for inputs [N, 3, {size[0]}, '
                             f'{size[1]}], got {tuple(inputs.shape)}; the test pipeline must '
                             'resize to the export size')
        images = inputs.detach().to('cpu', torch.float32).contiguous().numpy()
        emb, vis = self.session.run(list(OUTPUT_NAMES), {INPUT_NAME: images})[:2]
        return (torch.from_numpy(np.ascontiguousarray(emb)).to(inputs.device),
                torch.from_numpy(np.ascontiguousarray(vis)).to(inputs.device))

    def forward(self,
                inputs: Tensor,
                data_samples: Optional[List[ReIDDataSample]] = None,
                mode: str = 'predict') -> Union[List[ReIDDataSample], Tuple[Tensor, Tensor]]:
        """'predict': data samples with the prediction; 'tensor': the two output tensors."""
        if mode == 'tensor':
            return self.predict_tensors(inputs)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise ValueError(f'ONNXReIDModel runs an exported test graph: mode must be '
                         f'"predict" or "tensor", got "{mode}" (train the PyTorch model)')

    def predict(self, inputs: Tensor,
                data_samples: Optional[Sequence[ReIDDataSample]] = None) -> List[ReIDDataSample]:
        """Fill each sample with ``embeddings [P, D]``, ``visibility [P]`` and the names."""
        embeddings, visibility = self.predict_tensors(inputs)
        return fill_predictions(list(data_samples) if data_samples is not None else None,
                                embeddings, visibility, self.embedding_names,
                                type(self).__name__)

    def __repr__(self) -> str:
        """The file and providers."""
        return (f'{type(self).__name__}({os.path.basename(self.onnx_file)}, '
                f'providers={self.session.get_providers()})')
