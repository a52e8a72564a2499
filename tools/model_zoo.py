"""The model zoo from the command line: list, fetch, build, evaluate, compare, convert, check.

    python tools/model_zoo.py list [PATTERN] [--markdown] [--out FILE]
    python tools/model_zoo.py fetch NAME [NAME ...]
    python tools/model_zoo.py build NAME [NAME ...] | --all  [--from-work-dir DIR]
    python tools/model_zoo.py eval NAME [NAME ...] [--check] [--record]
    python tools/model_zoo.py compare [PATTERN] [--out-dir DIR] [--ratios 1.0 0.9 ... 0.5]
    python tools/model_zoo.py convert NAME DOWNLOADED_FILE
    python tools/model_zoo.py check

Every command reads the model index (``model-index.yml``, ``--index``), keeps weights in the
zoo directory (``--zoo-dir``, ``$MMREIDPARTS_ZOO``, default ``~/.cache/mmreidparts/zoo``) and
downloads from the base URL (``--base-url``, ``$MMREIDPARTS_ZOO_URL``) when an entry's file
is not there. ``build`` trains an entry with tools/train.py and the options its metafile
records (``Build``), publishes the last checkpoint into the zoo directory, evaluates it
(tools/test.py, plus the entry's other queries) and records weights, wall time, training
images/s and figures in the metafile. ``compare`` evaluates every CPU-tier entry from its
published weights and writes one markdown table, a JSON file and the partial-query curves.
See docs/model_zoo.md.
"""
import argparse
import copy
import datetime
import fnmatch
import glob
import json
import os
import os.path as osp
import platform
import re
import shlex
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config, DictAction

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(HERE)
sys.path.insert(0, osp.join(HERE, 'analysis_tools'))

from mmreidparts.engine.optim_wrappers import resolve_cpu_amp  # noqa: E402
from mmreidparts.registry import MODELS  # noqa: E402
from mmreidparts.utils import register_all_modules, strip_pretrained  # noqa: E402
from mmreidparts.utils.config import read_config  # noqa: E402
from mmreidparts.version import __version__  # noqa: E402
from mmreidparts.zoo import (  # noqa: E402
    DownloadError,
    MetafileError,
    ZooWeightsError,
    entry_kind,
    index_problems,
    load_index,
    load_official_releases,
    locate_weights,
    publish_checkpoint,
    release_problems,
    update_metafile_entry,
    verify_file,
    weights_status,
    write_build_record,
    zoo_dir,
)
from mmreidparts.zoo.index import (  # noqa: E402
    MODEL_INDEX,
    TASK,
    result_queries,
    result_source,
)
from mmreidparts.zoo.store import read_build_record  # noqa: E402

TIER_PATTERN = '*_mobilenetv2os8_*_cpu.py'  # the CPU comparison tier (configs/_base_/cpu_tier)
CURVE_RATIOS = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5)
PARTIAL = re.compile(r'^partial (top|bottom|left|right) ([0-9.]+)$')
TOLERANCE = 0.05  # percentage points allowed between a re-evaluation and the metafile
BUILD_LOGS = 'logs'  # under the zoo directory: logs of conversions


# --------------------------------------------------------------------------- helpers
def _rel(path: str) -> str:
    """``path`` relative to the repository root when it lies below it."""
    rel = osp.relpath(path, ROOT)
    return path if rel.startswith('..') else rel


def _expand(options: Optional[dict], what: str) -> dict:
    """Config options with ``${VAR}`` taken from the environment (a clear error if unset)."""
    out = {}
    for key, value in (options or {}).items():
        if isinstance(value, str):
            missing = [v for v in re.findall(r'\$\{(\w+)\}', value) if v not in os.environ]
            if missing:
                raise SystemExit(f'{what}: the option {key}={value} needs the environment '
                                 f'variable {missing[0]} (see docs/model_zoo.md)')
            value = os.path.expandvars(value)
        out[key] = value
    return out


def _cli_options(options: dict) -> List[str]:
    """``--cfg-options`` arguments of tools/train.py and tools/test.py for ``options``."""
    if not options:
        return []
    return ['--cfg-options'] + [f'{k}={str(v).replace(" ", "")}' for k, v in options.items()]


def _run(argv: List[str], log: Optional[str] = None) -> float:
    """Run a tool from the repository root; return its wall time (raise with its log tail)."""
    start = time.time()
    with open(log or os.devnull, 'w', encoding='utf-8') as out:
        proc = subprocess.run(argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    wall = time.time() - start
    if proc.returncode != 0:
        tail = open(log, encoding='utf-8').read()[-3000:] if log else ''
        raise SystemExit(f'{" ".join(argv)} failed ({proc.returncode}):\n{tail}\nlog: {log}')
    return wall


def _config(entry: dict, options: dict) -> Config:
    """The entry's config with ``options`` merged."""
    return read_config(entry['Config'], options)


def _bare_model(cfg: Config) -> torch.nn.Module:
    """The config's model without pretrained weights (for key checks at publishing)."""
    register_all_modules()
    return MODELS.build(strip_pretrained(copy.deepcopy(cfg.model.to_dict())))


def _dataset_name(entry: dict) -> str:
    """The dataset an entry's figures are reported on."""
    build = entry.get('Build') or {}
    if build.get('Dataset'):
        return build['Dataset']
    results = entry.get('Results') or [{}]
    return str(results[0].get('Dataset', (entry.get('Metadata') or {}).get('Training Data')))


def _evaluated_queries(entry: dict) -> List[str]:
    """The queries an entry is evaluated on (``Build.Evaluate``, default all)."""
    return list((entry.get('Build') or {}).get('Evaluate', ['all']))


def _is_tier(entry: dict) -> bool:
    """Whether the entry belongs to the CPU comparison tier."""
    return fnmatch.fnmatch(osp.basename(entry['Config']), TIER_PATTERN)


def _resources(train_options: Sequence[str], threads: bool = True) -> str:
    """The machine a build runs on, in words (``threads``: with its OMP_NUM_THREADS)."""
    if torch.cuda.is_available():
        where = f'1x {torch.cuda.get_device_name(0)}'
    else:
        omp = os.environ.get('OMP_NUM_THREADS', 'unset')
        where = f'{os.cpu_count()}-core CPU ({platform.machine()}' + (
            f', OMP_NUM_THREADS={omp})' if threads else ')')
    amp = ', mixed precision (--amp)' if '--amp' in train_options else ''
    if amp and not torch.cuda.is_available() and not resolve_cpu_amp(True)[0]:
        amp = ', float32 (--amp ignored: no bfloat16 kernels on this CPU)'
    return f'{where}{amp}, torch {torch.__version__}'


def _scalars(work_dir: str) -> List[dict]:
    """The rows of every ``vis_data/scalars.json`` of a work dir (one per run or resume)."""
    rows = []
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path, encoding='utf-8') as f:
            rows += [json.loads(line) for line in f if line.strip()]
    return rows


def train_images_per_s(work_dir: str, batch_size: int) -> Optional[float]:
    """Training images per second: the batch over the mean logged iteration time."""
    times = [row['time'] for row in _scalars(work_dir) if 'loss' in row and 'time' in row]
    return batch_size * len(times) / sum(times) if times else None


_LOG_TIME = re.compile(r'^(?:\d{4}/)?(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d) - mmengine')


def log_wall_time(work_dir: str) -> Optional[float]:
    """Seconds from the first to the last line of the mmengine logs of a work dir, summed
    over its runs (a resumed training has one log per run)."""
    total, found = 0.0, False
    for log in sorted(glob.glob(osp.join(work_dir, '*', '*.log'))):
        run = osp.basename(osp.dirname(log))  # mmengine's run folder, YYYYmmdd_HHMMSS
        if not re.match(r'^\d{8}_\d{6}$', run):
            continue
        year = int(run[:4])
        stamps = []
        with open(log, encoding='utf-8', errors='replace') as f:
            for line in f:
                m = _LOG_TIME.match(line)
                if m:
                    mo, d, h, mi, sec = (int(g) for g in m.groups())
                    stamps.append(datetime.datetime(year, mo, d, h, mi, sec))
        if len(stamps) > 1:
            total += (stamps[-1] - stamps[0]).total_seconds()
            found = True
    return total if found else None


def last_checkpoint(work_dir: str) -> str:
    """The last checkpoint of a training work dir (mmengine's ``last_checkpoint`` file)."""
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        path = open(pointer, encoding='utf-8').read().strip()
        if osp.isfile(path):
            return path
    found = sorted(glob.glob(osp.join(work_dir, 'epoch_*.pth')),
                   key=lambda p: int(re.findall(r'epoch_(\d+)', p)[-1]))
    if not found:
        raise SystemExit(f'no checkpoint in {work_dir} (no last_checkpoint, no epoch_*.pth)')
    return found[-1]


def _result(dataset: str, queries: str, metrics: dict, source: str, command: str) -> dict:
    """A metafile Results item."""
    item = dict(Task=TASK, Dataset=dataset)
    if queries != 'all':
        item['Queries'] = queries
    item['Metrics'] = dict(rank1=round(float(metrics['rank1']), 2),
                           mAP=round(float(metrics['mAP']), 2))
    item['Source'] = source
    item['Command'] = command
    return item


def _ensure_data(entry: dict, cfg: Config) -> None:
    """Write the synthetic set at the config's data root when the entry asks for it."""
    if (entry.get('Build') or {}).get('Data') != 'synthetic':
        return
    roots = {cfg[k].dataset.data_root for k in ('train_dataloader', 'test_dataloader')}
    for root in sorted(roots):
        path = root if osp.isabs(root) else osp.join(ROOT, root)
        if not osp.isfile(osp.join(path, 'meta.json')):
            print(f'[zoo] writing the synthetic set to {path}')
            _run([sys.executable, 'tools/dataset_converters/generate_synthetic.py', path])


# --------------------------------------------------------------------------- evaluation
def _partial_evaluator():
    """``evaluate_partial`` of tools/analysis_tools/partial_curve.py (queries cut in memory)."""
    from partial_curve import evaluate_partial
    return evaluate_partial


def evaluate_queries(config: str,
                     checkpoint: str,
                     queries: Sequence[str],
                     cfg_options: Optional[dict] = None,
                     extra_ratios: Sequence[float] = ()) -> Dict[str, dict]:
    """Figures of a checkpoint per query set: 'all', 'occluded', 'partial <side> <ratio>'.

    Partial queries (and 'all' with them) come from ``evaluate_partial``; the curve of
    ``extra_ratios`` is returned under ``'partial <side> <ratio>'`` keys too.
    """
    out: Dict[str, dict] = {}
    sides: Dict[str, set] = {}
    for q in queries:
        m = PARTIAL.match(q)
        if m:
            sides.setdefault(m.group(1), set()).add(round(float(m.group(2)), 4))
    for side, ratios in sides.items():
        ratios = sorted(ratios | {1.0} | {round(float(r), 4) for r in extra_ratios},
                        reverse=True)
        figures = _partial_evaluator()([(config, checkpoint)], ratios, side,
                                       cfg_options=cfg_options)[0]
        for ratio, metrics in figures.items():
            ratio = round(float(ratio), 4)
            out[f'partial {side} {ratio}' if ratio != 1.0 else 'all'] = metrics
    if 'occluded' in queries or ('all' in queries and 'all' not in out):
        out.update(_holistic_and_occluded(config, checkpoint, 'occluded' in queries,
                                          cfg_options))
    return out


def _holistic_and_occluded(config: str, checkpoint: str, occluded: bool,
                           cfg_options: Optional[dict]) -> Dict[str, dict]:
    """Figures of all queries (and of the occluded ones) from one embedding of the test set."""
    from eval_query_subset import embed, occluded_queries, subset_metrics

    from mmreidparts.apis import init_model
    from mmreidparts.registry import DATASETS
    register_all_modules()
    cfg = read_config(config, cfg_options)
    model = init_model(cfg, checkpoint)
    dataset = DATASETS.build(copy.deepcopy(cfg.test_dataloader.dataset))
    samples, names = embed(model, dataset, int(cfg.test_dataloader.get('batch_size', 128)))
    evaluator = cfg.test_evaluator
    evaluator = dict(evaluator[0] if isinstance(evaluator, (list, tuple)) else evaluator)
    subset = occluded_queries(dataset.data_root) if occluded else None
    metrics = subset_metrics(evaluator, samples, names, subset, dataset.metainfo)
    return {'all': metrics['all'], 'occluded': metrics['subset']} if occluded else \
        {'all': metrics['all']}


def _entry_figures(entry: dict, checkpoint: str, options: dict,
                   extra_ratios: Sequence[float] = ()) -> Dict[str, dict]:
    """An entry's figures on its queries (``Build.Evaluate``)."""
    return evaluate_queries(entry['Config'], checkpoint, _evaluated_queries(entry), options,
                            extra_ratios)


def _results_of(entry: dict, figures: Dict[str, dict], source: str) -> List[dict]:
    """Metafile Results items of an entry's figures, in its query order."""
    command = f'python tools/model_zoo.py eval {entry["Name"]}'
    return [_result(_dataset_name(entry), q, figures[q], source, command)
            for q in _evaluated_queries(entry) if q in figures]


def _show(name: str, figures: Dict[str, dict]) -> None:
    """Print an entry's figures."""
    for queries, m in figures.items():
        print(f'[zoo] {name}: {queries:18s} rank-1 {m["rank1"]:6.2f}  mAP {m["mAP"]:6.2f}')


# --------------------------------------------------------------------------- commands
def _published_status(entry: dict) -> str:
    """Whether an entry's weights are published, to be built or converted (any machine)."""
    if entry.get('Weights'):
        return 'published'
    return {'official': 'download + convert', 'ours': 'build-only'}.get(entry_kind(entry), '-')


def cmd_list(args, index: Dict[str, dict]) -> int:
    """Print the zoo as a table: method, dataset, figures, where the weights are.

    The markdown table (for the documentation) says what is published, the plain one where
    this machine finds the weights.
    """
    rows = []
    for name in sorted(index):
        entry = index[name]
        if not fnmatch.fnmatch(name, args.pattern):
            continue
        results = entry.get('Results') or []
        best = next((r for r in results if result_source(r) != 'paper'), None) or (
            results[0] if results else None)
        figures = '-'
        if best:
            m = best['Metrics']
            q = result_queries(best)
            figures = (f'{m["rank1"]:.1f} / {m["mAP"]:.1f} ({result_source(best)}'
                       f'{", " + q + " queries" if q != "all" else ""})')
        dataset = best['Dataset'] if best else _dataset_name(entry)
        status = (_published_status(entry) if args.markdown else
                  weights_status(entry, args.zoo_dir, args.base_url))
        rows.append((name, entry.get('In Collection', '-'), dataset, figures, status))
    pending = [r for r in _pending_releases(args) if fnmatch.fnmatch(r['Name'], args.pattern)]
    for rel in pending:
        res = (rel.get('Results') or [None])[0]
        figures = (f'{res["Metrics"]["rank1"]:.1f} / {res["Metrics"]["mAP"]:.1f} (paper)'
                   if res else '-')
        dataset = res['Dataset'] if res else (rel.get('Metadata') or {}).get('Training Data')
        rows.append((rel['Name'], rel['In Collection'], dataset or '-', figures,
                     'converter pending'))
    header = ('model', 'method', 'dataset', 'rank-1 / mAP', 'weights')
    if args.markdown:
        lines = ['<!-- written by: python tools/model_zoo.py list --markdown -->', '',
                 '| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
        lines += ['| ' + ' | '.join(r) + ' |' for r in rows]
    else:
        widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
        lines = ['  '.join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()
                 for r in [header] + rows]
    text = '\n'.join(lines) + '\n'
    if args.out:
        with open(args.out, 'w', encoding='utf-8') as f:
            f.write(text)
        print(f'[zoo] {len(rows)} models -> {args.out}')
    else:
        sys.stdout.write(text)
    return 0


def _pending_releases(args) -> List[dict]:
    """The pending official releases next to the model index (configs/official_releases.yml)."""
    root = osp.dirname(osp.abspath(args.index))
    return load_official_releases(osp.join(root, 'configs', 'official_releases.yml'))


def _select(args, index: Dict[str, dict], everything=lambda e: bool(e.get('Weights'))
            ) -> List[dict]:
    """The entries named on the command line; with ``--all``, those ``everything`` keeps."""
    names = list(args.names)
    if args.all:
        names = [n for n, e in sorted(index.items()) if everything(e)]
    unknown = [n for n in names if n not in index]
    if unknown:
        raise SystemExit(f'no model {unknown[0]!r} in {args.index}; see: python '
                         'tools/model_zoo.py list')
    if not names:
        raise SystemExit('name at least one model (or --all)')
    return [index[n] for n in names]


def cmd_fetch(args, index: Dict[str, dict]) -> int:
    """Make the weights of the named entries present in the zoo directory."""
    for entry in _select(args, index):
        path, origin = locate_weights(entry, args.zoo_dir, args.base_url,
                                      timeout=args.timeout, retries=args.retries)
        print(f'[zoo] {entry["Name"]}: {path} ({origin}, verified)')
    return 0


def build_entry(entry: dict, args) -> dict:
    """Train (or take ``--from-work-dir``), publish, evaluate and record one entry."""
    name, build = entry['Name'], entry.get('Build')
    if build is None:
        raise SystemExit(f'{name}: the metafile has no Build block, so it is not built here '
                         f'({entry_kind(entry)} entry)')
    user = dict(args.cfg_options or {})
    train_opts = dict(_expand(build.get('Train Cfg Options'), name), **user)
    test_opts = dict(_expand(build.get('Test Cfg Options'), name), **user)
    train_args = list(build.get('Train Options', []))
    cfg = _config(entry, train_opts)
    _ensure_data(entry, cfg)
    work_dir = osp.abspath(args.from_work_dir or osp.join(args.work_root, name))
    os.makedirs(work_dir, exist_ok=True)
    train_cmd = (['python', 'tools/train.py', _rel(entry['Config']), '--work-dir', work_dir] +
                 train_args + _cli_options(train_opts))
    if args.from_work_dir:
        wall = log_wall_time(work_dir)
        print(f'[zoo] {name}: taking the training of {work_dir}')
    else:
        print(f'[zoo] {name}: training ({" ".join(train_cmd)})')
        wall = _run([sys.executable] + train_cmd[1:], osp.join(work_dir, 'zoo_train.log'))
    speed = train_images_per_s(work_dir, int(cfg.train_dataloader.batch_size))
    build_meta = dict(train_command=' '.join(shlex.quote(a) for a in train_cmd),
                      wall_time_s=round(wall, 1) if wall else None,
                      train_images_per_s=round(speed, 2) if speed else None,
                      resources=_resources(train_args, threads=not args.from_work_dir),
                      date=datetime.datetime.now(datetime.timezone.utc).isoformat(
                          timespec='seconds'))
    zoo = zoo_dir(args.zoo_dir)
    record = publish_checkpoint(last_checkpoint(work_dir), zoo, name, model=_bare_model(cfg),
                                meta=dict(zoo_name=name, config=_rel(entry['Config']),
                                          zoo_build=build_meta))
    print(f'[zoo] {name}: published {record["path"]} ({record["size"]} bytes)')
    figures = _entry_figures(entry, record['path'], test_opts)
    out = osp.join(work_dir, 'zoo_test_metrics.json')
    _run([sys.executable, 'tools/test.py', entry['Config'], record['path'], '--work-dir',
          osp.join(work_dir, 'zoo_test'), '--out', out] + _cli_options(test_opts),
         osp.join(work_dir, 'zoo_test.log'))
    with open(out, encoding='utf-8') as f:
        tested = {k.split('/')[-1]: v for k, v in json.load(f).items()}
    gap = abs(tested['mAP'] - figures['all']['mAP'])
    if gap > TOLERANCE:
        print(f'[zoo] WARNING {name}: tools/test.py gives mAP {tested["mAP"]:.2f}, the '
              f'in-process evaluation {figures["all"]["mAP"]:.2f}')
    figures['all'] = tested
    _show(name, figures)
    write_build_record(dict(name=name, kind='built', file=record['file'],
                            sha256=record['sha256'], size=record['size'],
                            config=_rel(entry['Config']), figures=figures,
                            torch=torch.__version__, mmreidparts=__version__, **build_meta),
                       zoo)
    if not args.no_metafile:
        metadata = {'Training Time (s)': int(round(wall)) if wall else None,
                    'Training Speed (img/s)': round(speed, 1) if speed else None,
                    'Training Resources': build_meta['resources']}
        update_metafile_entry(entry['_metafile'], name,
                              weights=dict(Weights=record['file'], Sha256=record['sha256'],
                                           Size=record['size']),
                              metadata={k: v for k, v in metadata.items() if v is not None},
                              results=_results_of(entry, figures, 'measured'))
        print(f'[zoo] {name}: recorded in {_rel(entry["_metafile"])}')
    return record


def cmd_build(args, index: Dict[str, dict]) -> int:
    """Build the named entries (``--all``: every CPU-tier entry, then the comparison)."""
    if args.from_work_dir and (args.all or len(args.names) != 1):
        raise SystemExit('--from-work-dir takes one model name')
    tier = lambda e: entry_kind(e) == 'ours' and _is_tier(e)  # noqa: E731
    for entry in _select(args, index, tier):
        build_entry(entry, args)
    if args.all:
        args.pattern = '*'
        return cmd_compare(args, load_index(args.index))
    return 0


def cmd_eval(args, index: Dict[str, dict]) -> int:
    """Evaluate the weights of entries; ``--check`` against the metafile, ``--record`` it."""
    failed = 0
    for entry in _select(args, index):
        name = entry['Name']
        path, origin = locate_weights(entry, args.zoo_dir, args.base_url,
                                      timeout=args.timeout, retries=args.retries)
        options = dict(_expand((entry.get('Build') or {}).get('Test Cfg Options'), name),
                       **(args.cfg_options or {}))
        figures = _entry_figures(entry, path, options)
        print(f'[zoo] {name}: {path} ({origin})')
        _show(name, figures)
        source = 'official weights, converted' if entry_kind(entry) == 'official' else \
            'measured'
        if args.check:
            for listed in entry.get('Results') or []:
                q = result_queries(listed)
                if result_source(listed) != source or q not in figures:
                    continue
                for key in ('rank1', 'mAP'):
                    got, want = figures[q][key], listed['Metrics'][key]
                    if abs(got - want) > TOLERANCE:
                        failed += 1
                        print(f'[zoo] MISMATCH {name} {q} {key}: {got:.2f}, metafile {want}')
        if args.record:
            update_metafile_entry(entry['_metafile'], name,
                                  results=_results_of(entry, figures, source))
    return 1 if failed else 0


def cmd_convert(args, index: Dict[str, dict]) -> int:
    """Turn a downloaded official checkpoint into the zoo file of its entry."""
    if len(args.names) != 2:
        raise SystemExit('convert takes NAME DOWNLOADED_FILE')
    name, src = args.names
    if name not in index or entry_kind(index[name]) != 'official':
        raise SystemExit(f'{name!r} is not an official entry of {args.index}')
    entry = index[name]
    conv = entry['Converted From']
    if not osp.isfile(src):
        raise SystemExit(f'{src}: no such file; download {conv.get("File")} from '
                         f'{conv["Weights"]}')
    if conv.get('Sha256'):
        verify_file(src, conv['Sha256'], what=src)
    zoo = zoo_dir(args.zoo_dir)
    os.makedirs(zoo, exist_ok=True)
    tmp = osp.join(zoo, f'.{name}.converted.pth')
    template = shlex.split(conv['Converter'])
    argv = [src if t == '{src}' else tmp if t == '{dst}' else t for t in template]
    if argv[0] in ('python', 'python3'):
        argv[0] = sys.executable
    log = osp.join(zoo, BUILD_LOGS, f'{name}.convert.log')
    os.makedirs(osp.dirname(log), exist_ok=True)
    try:
        _run(argv, log)
        cfg = _config(entry, {})
        from mmreidparts.utils import load_state_dict_file
        _, meta = load_state_dict_file(tmp)
        head_scheme = cfg.model.head.get('part_scheme')
        if meta.get('part_scheme') and head_scheme and meta['part_scheme'] != head_scheme:
            raise SystemExit(f'{src}: converted with the part scheme {meta["part_scheme"]!r}, '
                             f'but {_rel(entry["Config"])} has {head_scheme!r}')
        record = publish_checkpoint(
            tmp, zoo, name, model=_bare_model(cfg), keep_meta=None,
            meta=dict(zoo_name=name, config=_rel(entry['Config']),
                      converted_from=dict(file=osp.basename(src), page=conv['Weights'],
                                          command=conv['Converter'])))
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    write_build_record(dict(name=name, kind='converted', file=record['file'],
                            sha256=record['sha256'], size=record['size'],
                            config=_rel(entry['Config']), source=osp.basename(src),
                            converter=conv['Converter']), zoo)
    print(f'[zoo] {name}: {record["path"]}\nWeights: {record["file"]}\nSize: {record["size"]}'
          f'\nSha256: {record["sha256"]}')
    if not args.no_metafile:
        update_metafile_entry(entry['_metafile'], name,
                              weights=dict(Weights=record['file'], Sha256=record['sha256'],
                                           Size=record['size']))
        print(f'[zoo] recorded in {_rel(entry["_metafile"])}; evaluate it with: python '
              f'tools/model_zoo.py eval {name} --record')
    return 0



def _comparison_markdown(groups: Dict[str, List[Tuple[dict, Dict[str, dict]]]],
                         missing: List[str], zoo: Optional[str]) -> str:
    """The comparison tables, one per dataset."""
    lines = ['<!-- written by: python tools/model_zoo.py compare -->', '']
    for dataset, rows in groups.items():
        queries: List[str] = []
        for entry, _ in rows:
            queries += [q for q in _evaluated_queries(entry) if q not in queries]
        lines += [f'### {dataset}', '',
                  '| model | method | ' + ' | '.join(f'{q} R-1 / mAP' for q in queries) +
                  ' | training time | training img/s |',
                  '|---|---|' + '---|' * len(queries) + '---|---|']
        for entry, figures in rows:
            meta = entry.get('Metadata') or {}
            record = read_build_record(entry['Name'], zoo) or {}
            wall = meta.get('Training Time (s)', record.get('wall_time_s'))
            speed = meta.get('Training Speed (img/s)', record.get('train_images_per_s'))
            cells = [f'{figures[q]["rank1"]:.1f} / {figures[q]["mAP"]:.1f}' if q in figures
                     else '-' for q in queries]
            wall_text = f'{int(wall) // 60} min {int(wall) % 60} s' if wall else '-'
            lines.append(f'| {entry["Name"]} | {entry.get("In Collection", "-")} | ' +
                         ' | '.join(cells) + f' | {wall_text} | {speed or "-"} |')
        lines.append('')
    if missing:
        lines += ['Not built yet (no weights in the zoo directory): ' + ', '.join(missing), '']
    return '\n'.join(lines)


def _plot_curves(curves: Dict[str, Dict[float, dict]], side: str, path: str) -> None:
    """Rank-1 and mAP against the kept ratio of the query, one line per model."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for name, figures in curves.items():
        ratios = sorted(figures)
        for ax, key in zip(axes, ('rank1', 'mAP')):
            ax.plot(ratios, [figures[r][key] for r in ratios], marker='o', label=name)
    for ax, key in zip(axes, ('rank-1 (%)', 'mAP (%)')):
        ax.set_xlabel(f'kept fraction of the query ({side})')
        ax.set_ylabel(key)
        ax.invert_xaxis()
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def cmd_compare(args, index: Dict[str, dict]) -> int:
    """Evaluate every CPU-tier entry from its published weights; write table, JSON, curves."""
    os.makedirs(args.out_dir, exist_ok=True)
    groups: Dict[str, List[Tuple[dict, Dict[str, dict]]]] = {}
    curves: Dict[str, Dict[float, dict]] = {}
    missing = []
    for name in sorted(index):
        entry = index[name]
        if not _is_tier(entry) or not fnmatch.fnmatch(name, args.pattern):
            continue
        try:
            path, _ = locate_weights(entry, args.zoo_dir, args.base_url,
                                     timeout=args.timeout, retries=args.retries)
        except ZooWeightsError as err:
            print(f'[zoo] {err}')
            missing.append(name)
            continue
        options = _expand((entry.get('Build') or {}).get('Test Cfg Options'), name)
        figures = _entry_figures(entry, path, options, args.ratios)
        _show(name, figures)
        groups.setdefault(_dataset_name(entry), []).append((entry, figures))
        partial = {float(q.split()[-1]): m for q, m in figures.items() if PARTIAL.match(q)}
        if partial:
            curves[name] = {**partial, 1.0: figures['all']}
    text = _comparison_markdown(groups, missing, args.zoo_dir)
    with open(osp.join(args.out_dir, 'comparison.md'), 'w', encoding='utf-8') as f:
        f.write(text)
    with open(osp.join(args.out_dir, 'comparison.json'), 'w', encoding='utf-8') as f:
        json.dump({e['Name']: dict(dataset=d, figures=fig) for d, rows in groups.items()
                   for e, fig in rows}, f, indent=2)
    if curves:
        _plot_curves(curves, 'top', osp.join(args.out_dir, 'partial_curve.png'))
    print(text)
    print(f'[zoo] comparison -> {args.out_dir}/comparison.md, comparison.json'
          + (', partial_curve.png' if curves else ''))
    return 1 if missing and args.strict else 0


def cmd_check(args, index: Dict[str, dict]) -> int:
    """Validate the model index, every metafile and the pending official releases."""
    problems = index_problems(args.index)
    for release in _pending_releases(args):
        problems += release_problems(release, osp.dirname(osp.abspath(args.index)))
    for line in problems:
        print(line)
    print(f'[zoo] {len(index)} models, {len(problems)} problems')
    return 1 if problems else 0


COMMANDS = dict(list=cmd_list, fetch=cmd_fetch, build=cmd_build, eval=cmd_eval,
                compare=cmd_compare, convert=cmd_convert, check=cmd_check)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command line of the tool."""
    parser = argparse.ArgumentParser(description='The model zoo: list, fetch, build, compare')
    parser.add_argument('command', choices=sorted(COMMANDS))
    parser.add_argument('names', nargs='*', help='model names (list / compare: a pattern)')
    parser.add_argument('--index', default=MODEL_INDEX, help='model-index.yml to read')
    parser.add_argument('--zoo-dir', default=None, help='zoo directory ($MMREIDPARTS_ZOO)')
    parser.add_argument('--base-url', default=None,
                        help='base URL of the published files ($MMREIDPARTS_ZOO_URL)')
    parser.add_argument('--timeout', type=float, default=30.0, help='download timeout (s)')
    parser.add_argument('--retries', type=int, default=3, help='download retries')
    parser.add_argument('--all', action='store_true',
                        help='build: every CPU-tier entry, then compare; fetch / eval: all')
    parser.add_argument('--work-root', default=osp.join('work_dirs', 'zoo'),
                        help='build / eval: where the work dirs go')
    parser.add_argument('--from-work-dir', default=None,
                        help='build: publish the training of this work dir instead of training')
    parser.add_argument('--no-metafile', action='store_true',
                        help='build / convert: do not write the results into the metafile')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='build / eval: extra config overrides, key=value pairs')
    parser.add_argument('--check', action='store_true',
                        help='eval: compare with the metafile (exit 1 on a difference)')
    parser.add_argument('--record', action='store_true', help='eval: write the figures')
    parser.add_argument('--out-dir', default=osp.join('work_dirs', 'zoo_compare'),
                        help='compare: output folder')
    parser.add_argument('--ratios', type=float, nargs='+', default=list(CURVE_RATIOS),
                        help='compare: kept fractions of the partial-query curve')
    parser.add_argument('--strict', action='store_true',
                        help='compare: exit 1 when a tier entry has no weights')
    parser.add_argument('--markdown', action='store_true', help='list: a markdown table')
    parser.add_argument('--out', default=None, help='list: write the table to this file')
    args = parser.parse_args(argv)
    args.pattern = args.names[0] if args.command in ('list', 'compare') and args.names else '*'
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run one command."""
    args = parse_args(argv)
    try:
        index = load_index(args.index)
        return COMMANDS[args.command](args, index)
    except (MetafileError, ZooWeightsError, DownloadError) as err:
        print(f'[zoo] error: {err}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
