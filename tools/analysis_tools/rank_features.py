"""Evaluate or rank from feature files, without the model.

    python tools/analysis_tools/rank_features.py TEST_FEATS [--out metrics.json]
    python tools/analysis_tools/rank_features.py QUERY_FEATS GALLERY_FEATS \
        [--protocol auto|market|all|cuhk03_classic] [--metric euclidean|cosine]
        [--normalize | --no-normalize] [--per-part] [--ranking ranking.json --topk 10]

One file (from ``extract_features.py --split test``) is split by ``is_query``; with two,
every row of the first is a query and every row of the second a gallery image. The
metrics are those of ``tools/test.py``: the same ``ReIDMetric`` (visibility-weighted part
distance), with the distance and normalisation the model was evaluated with (stored in
the file) unless given, and the dataset's protocol ('auto'). Without person ids only the
ranking (``--ranking``) is written.
"""
import argparse
import json
import sys
from typing import Dict, Optional, Sequence

from mmreidparts.apis.features import load_features, rank, split_query_gallery
from mmreidparts.evaluation.metrics import ReIDMetric

PROTOCOL_CHOICES = ('auto', 'market', 'all', 'cuhk03_classic')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description='Rank and evaluate feature files')
    parser.add_argument('features', nargs='+', help='one test file, or query and gallery')
    parser.add_argument('--protocol', choices=PROTOCOL_CHOICES, default='auto')
    parser.add_argument('--metric', choices=('euclidean', 'cosine'), default=None)
    parser.add_argument('--normalize', action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument('--per-part', action='store_true')
    parser.add_argument('--ranking', default=None, help='write the top-k of each query here')
    parser.add_argument('--topk', type=int, default=10)
    parser.add_argument('--out', default=None, help='write the metrics to this JSON file')
    return parser.parse_args(argv)


def _rows(feats: dict, as_query: Optional[bool]) -> list:
    """ReIDMetric inputs, one dict per image (``is_query`` forced when given)."""
    out = []
    for i in range(feats['embeddings'].shape[0]):
        out.append(dict(embeddings=feats['embeddings'][i], visibility=feats['visibility'][i],
                        pid=int(feats['pids'][i]), camid=int(feats['camids'][i]),
                        is_query=bool(feats['is_query'][i]) if as_query is None else as_query,
                        embedding_names=tuple(feats['embedding_names'])))
    return out


def evaluate(query: dict, gallery: dict, protocol: str = 'auto', metric: Optional[str] = None,
             normalize: Optional[bool] = None, per_part: bool = False) -> Dict[str, float]:
    """ReIDMetric's figures (percent) of query against gallery features."""
    evaluator = gallery['meta'].get('evaluator', {})
    reid = ReIDMetric(metric=metric or evaluator.get('metric', 'euclidean'),
                      normalize=evaluator.get('normalize', False) if normalize is None
                      else normalize, protocol=protocol, per_part=per_part)
    declared = gallery['meta'].get('eval_protocol')
    reid.dataset_meta = {'eval_protocol': declared} if declared else {}
    reid.process(None, _rows(query, True) + _rows(gallery, False))
    return reid.compute_metrics(reid.results)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Load, split, evaluate (when ids are known) and write the ranking."""
    args = parse_args(argv)
    if len(args.features) == 1:
        query, gallery = split_query_gallery(load_features(args.features[0]))
    elif len(args.features) == 2:
        query, gallery = (load_features(p) for p in args.features)
        query['is_query'][:] = True
        gallery['is_query'][:] = False
    else:
        raise ValueError('give one test feature file, or a query and a gallery file')
    if not len(query['img_paths']) or not len(gallery['img_paths']):
        raise ValueError(f'{len(query["img_paths"])} queries and {len(gallery["img_paths"])} '
                         'gallery images: both are needed')
    if args.ranking:
        order, dist = rank(query, gallery, args.topk, args.metric, args.normalize)
        ranking = [dict(query=q, ranked=[dict(path=gallery['img_paths'][j], distance=float(d))
                                         for j, d in zip(order[i].tolist(), dist[i].tolist())])
                   for i, q in enumerate(query['img_paths'])]
        with open(args.ranking, 'w', encoding='utf-8') as f:
            json.dump(ranking, f, indent=1)
        print(f'[rank] top-{args.topk} of {len(ranking)} queries -> {args.ranking}')
    if bool((query['pids'] < 0).all()) or bool((gallery['pids'] < 0).all()):
        print('[rank] no person ids in the files: ranking only, no metrics')
        return 0
    metrics = evaluate(query, gallery, args.protocol, args.metric, args.normalize,
                       args.per_part)
    print('[rank] ' + ', '.join(f'{k} {v:.2f}' for k, v in metrics.items()))
    if args.out:
        with open(args.out, 'w', encoding='utf-8') as f:
            json.dump({f'reid/{k}': float(v) for k, v in metrics.items()}, f, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
