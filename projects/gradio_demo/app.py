"""Browser demo: upload a query, pick a model and a gallery folder, see the ranked gallery.

    pip install -c requirements/constraints.txt -r requirements/demo.txt   # gradio
    python projects/gradio_demo/app.py --gallery-root GALLERIES \
        [--model ZOO_NAME ...] [--custom LABEL CONFIG WEIGHTS ...] [--port 7860]

Models: zoo names with published weights (all of them when neither ``--model`` nor
``--custom`` is given), and ``--custom`` models from a config and a checkpoint (``.pth``
or ``.onnx``). Galleries: ``GALLERIES`` itself and each of its sub-folders that holds
images. Results are the picture of ``demo/reid_demo.py`` (frames: green same person, red
another, grey unknown, by Market-style names; part overlays and visibility strips for
part models) and its JSON. Gallery features are cached in ``--cache-dir`` and reused
while the model and the folder stay the same.
"""
import argparse
import os
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from mmreidparts.apis import ReIDInferencer, list_images, load_model_index
from mmreidparts.apis.search import draw_search, search_gallery

DEFAULT_CACHE = osp.join(osp.expanduser('~'), '.cache', 'mmreidparts', 'galleries')
TITLE = 'mmreidparts: person search'


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description=TITLE)
    parser.add_argument('--gallery-root', required=True,
                        help='a gallery folder, or a folder of gallery folders')
    parser.add_argument('--model', action='append', default=[], help='zoo model name')
    parser.add_argument('--custom', nargs=3, action='append', default=[],
                        metavar=('LABEL', 'CONFIG', 'WEIGHTS'), help='a model of your own')
    parser.add_argument('--cache-dir', default=DEFAULT_CACHE)
    parser.add_argument('--device', default=None)
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=7860)
    return parser.parse_args(argv)


def model_choices(names: Sequence[str],
                  custom: Sequence[Sequence[str]]) -> Dict[str, Tuple[str, Optional[str]]]:
    """``{label: (zoo name or config, weights or None)}`` of the models offered."""
    index = load_model_index()
    if not names and not custom:
        names = [n for n, entry in sorted(index.items()) if entry.get('Weights')]
    out: Dict[str, Tuple[str, Optional[str]]] = {}
    for name in names:
        if name not in index:
            raise KeyError(f'--model {name}: not in the model zoo')
        out[name] = (name, None)
    for label, config, weights in custom:
        out[label] = (config, weights)
    if not out:
        raise ValueError('no model to offer: the zoo has no published weights yet; give '
                         '--custom LABEL CONFIG WEIGHTS')
    return out


def gallery_choices(root: str) -> List[Tuple[str, str]]:
    """``(label, path relative to the root)`` of the root and its sub-folders with images."""
    if not osp.isdir(root):
        raise NotADirectoryError(f'--gallery-root {root} is not a folder')
    out = []
    for name in ['.'] + sorted(os.listdir(root)):
        path = osp.join(root, name)
        if osp.isdir(path) and list_images(path):
            label = f'{osp.basename(osp.abspath(root))} (all)' if name == '.' else name
            out.append((label, name))
    if not out:
        raise ValueError(f'no images under {root}')
    return out


class SearchApp:
    """The demo's state: one inferencer per model (built on first use) and the cache."""

    def __init__(self, models: Dict[str, Tuple[str, Optional[str]]], gallery_root: str,
                 cache_dir: str, device: Optional[str] = None) -> None:
        self.models = models
        self.gallery_root = gallery_root
        self.cache_dir = cache_dir
        self.device = device
        self.inferencers: Dict[str, ReIDInferencer] = {}

    def inferencer(self, label: str) -> ReIDInferencer:
        """The inferencer of a model label."""
        if label not in self.inferencers:
            model, weights = self.models[label]
            self.inferencers[label] = ReIDInferencer(model, weights, device=self.device,
                                                     show_progress=False)
        return self.inferencers[label]

    def search(self, query: Optional[str], label: str, gallery: str,
               topk: int) -> Tuple[np.ndarray, dict]:
        """The ranked sheet (RGB) and the JSON result of an uploaded query image file."""
        if not query:
            raise ValueError('upload a query image first')
        inferencer = self.inferencer(label)
        folder = osp.normpath(osp.join(self.gallery_root, gallery))
        result = search_gallery(inferencer, [query], folder, self.cache_dir, topk=int(topk))
        sheet = draw_search(inferencer, result, [query])
        result['model'] = label
        return sheet[..., ::-1].copy(), result


def build_demo(app: SearchApp):
    """The gradio Blocks of the demo."""
    import gradio as gr
    galleries = gallery_choices(app.gallery_root)
    labels = list(app.models)

    def run(image, label, gallery, topk):
        try:
            return app.search(image, label, gallery, topk)
        except (OSError, ValueError) as err:
            raise gr.Error(str(err))

    with gr.Blocks(title=TITLE) as demo:
        gr.Markdown(f'## {TITLE}\nUpload a person image, pick a model and a gallery: the '
                    'nearest gallery images by the visibility-weighted part distance.')
        with gr.Row():
            with gr.Column(scale=1):
                query = gr.Image(label='query', type='filepath')
                model = gr.Dropdown(labels, value=labels[0], label='model')
                gallery = gr.Dropdown(galleries, value=galleries[-1][1], label='gallery folder')
                topk = gr.Slider(1, 20, value=8, step=1, label='top-k')
                button = gr.Button('Search', variant='primary')
            with gr.Column(scale=3):
                sheet = gr.Image(label='ranked gallery', type='numpy')
                details = gr.JSON(label='ranking')
        button.click(run, [query, model, gallery, topk], [sheet, details], api_name='search')
    return demo


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Start the server."""
    os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')
    args = parse_args(argv)
    app = SearchApp(model_choices(args.model, args.custom), args.gallery_root,
                    args.cache_dir, args.device)
    demo = build_demo(app)
    demo.launch(server_name=args.host, server_port=args.port, share=False, ssr_mode=False)
    return 0


if __name__ == '__main__':
    sys.exit(main())
