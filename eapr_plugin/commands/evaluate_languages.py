"""
`allennlp evaluate-languages`: evaluate one archive on every language of a task in one call.
"""
import argparse
import glob
import json
import logging
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch

from allennlp.commands.subcommand import Subcommand
from allennlp.common import logging as common_logging
from allennlp.common.checks import ConfigurationError
from allennlp.common.util import prepare_environment
from allennlp.data import Instance, Vocabulary
from allennlp.data.data_loaders import SimpleDataLoader
from allennlp.data.samplers import BucketBatchSampler
from allennlp.nn.util import int_to_device

from eapr_plugin.common.languages import check_language
from eapr_plugin.common.reporting import bar_chart, heat_map, markdown_table, matrix_table, percent, summarize
from eapr_plugin.dataset_readers.eapr_reader import cross_lingual_path
from eapr_plugin.dataset_readers.hf_datasets import is_hf_path
from eapr_plugin.dataset_readers.rows import language_from_file_name
from eapr_plugin.models.archival import load_run_archive

logger = logging.getLogger(__name__)

DATA_SUFFIXES = (".tsv", ".jsonl")


@Subcommand.register("evaluate-languages")
class EvaluateLanguages(Subcommand):
    """
    Loads a trained archive once and evaluates it on every language of a task, then writes
    `metrics.json` (per-language metrics and averages), `results.md` (a markdown table: accuracy per
    language, macro averages over non-English languages and over all, English) and
    `accuracy.png` (a bar chart) into `--output-dir`.

    Inputs are data files, globs (`data/xnli/dev-*.tsv`, `sib200/*/test.tsv`), folders (their
    `*.tsv` / `*.jsonl` files, or `*/{--split}.tsv` for one folder per language), a Hugging Face
    path template with `{lang}` (`hf:facebook/xnli:{lang}:test`) together with `--languages`, or
    any of these as `LANG=INPUT` to name the language yourself.

    Nothing is scored that should not be: every evaluated row must carry a gold label (else the
    command fails and points to `allennlp predict`), every file must have a known language (from
    its name through the language table, its `{lang}` folder, `LANG=INPUT`, or the reader's
    `language` setting), a file holding several languages (XNLI-1.0's `xnli.test.tsv`) is scored
    per language, and an archive that is empty or truncated is reported as such. An archive of an
    unfinished run (`allennlp train` archives the best epoch so far when training is interrupted)
    is refused unless `--allow-unfinished` is given; `metrics.json` records the archive's run
    (`run`: finished or not, epochs, optimizer steps, the English dev curve) whenever the archive
    carries it (the recipes' `eapr_run_record` callback).

    With `--cross-lingual` (sentence-pair tasks, parallel inputs such as XTREME's XNLI
    `dev-{lang}.tsv`), it scores the generalized cross-lingual setting instead (Robust-XLT): every
    ordered pair of the inputs' languages, premise from one, hypothesis from the other (the
    reader's `cross:` paths), and writes `cross_lingual.json` (accuracy[premise][hypothesis], the
    per-row correctness, the same-language and mixed-language means), `cross_lingual.md` (rows:
    premise language, columns: hypothesis language) and `cross_lingual.png` (a heat map).

    Registered as a `Subcommand` with name "evaluate-languages".
    """

    requires_plugins = True

    def add_subparser(self, parser: argparse._SubParsersAction) -> argparse.ArgumentParser:
        description = "Evaluate an archive on every language of a task; write JSON, markdown, PNG."
        subparser = parser.add_parser(self.name, description=description, help=description)
        subparser.add_argument("archive_file", type=str, help="path or URL of the model archive")
        subparser.add_argument(
            "inputs", nargs="+",
            help="data files, globs, folders, an hf:...{lang}... template, or LANG=INPUT for any of them",
        )
        subparser.add_argument("--output-dir", required=True, help="where results are written")
        subparser.add_argument(
            "--languages", nargs="+", default=None, help="languages for an hf:...{lang}... template"
        )
        subparser.add_argument(
            "--split", default="test", help="file name (without .tsv) inside per-language folders"
        )
        subparser.add_argument("--cuda-device", type=int, default=-1)
        subparser.add_argument("--batch-size", type=int, default=64)
        subparser.add_argument(
            "--cross-lingual", action="store_true",
            help="premise and hypothesis in different languages: every ordered pair of the inputs' languages",
        )
        subparser.add_argument(
            "-o", "--overrides", type=str, default="", help="JSON overrides for the archive's config"
        )
        add_allow_unfinished(subparser)
        subparser.set_defaults(func=evaluate_languages_from_args)
        return subparser


def add_allow_unfinished(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-unfinished", action="store_true",
        help="score an archive of an interrupted run (the best epoch so far) instead of refusing it; "
             "the results record that the run is unfinished",
    )


def expand_inputs(
    inputs: Sequence[str], languages: Optional[Sequence[str]] = None, split: str = "test"
) -> List[Tuple[str, Optional[str]]]:
    """`(data path, language named by the user or None)` for files, globs, folders, `hf:`
    templates and `LANG=INPUT` items, in a stable order."""
    paths: List[Tuple[str, Optional[str]]] = []
    for item in inputs:
        named: Optional[str] = None
        if "=" in item.split(":")[0] and not os.path.exists(item):
            named, item = item.split("=", 1)
            check_language(named, f"LANG=INPUT ({named}={item})")
        found = _expand_one(item, languages, split)
        if named is not None and len(found) > 1:
            raise ConfigurationError(f"input {named}={item} names one language for {len(found)} files")
        paths.extend((path, named or language) for path, language in found)
    return paths


def _expand_one(item: str, languages: Optional[Sequence[str]], split: str) -> List[Tuple[str, Optional[str]]]:
    if is_hf_path(item):
        if "{lang}" not in item:
            return [(item, None)]
        if not languages:
            raise ConfigurationError(f"input {item!r} has {{lang}}: pass --languages")
        return [(item.replace("{lang}", check_language(language, "--languages")), language)
                for language in languages]
    if os.path.isdir(item):
        found = sorted(
            p for p in glob.glob(os.path.join(item, "*")) if p.endswith(DATA_SUFFIXES)
        ) or sorted(glob.glob(os.path.join(item, "*", f"{split}.tsv")))
        if not found:
            raise ConfigurationError(
                f"input folder {item!r} holds no *.tsv / *.jsonl files and no */{split}.tsv"
            )
        return [(path, None) for path in found]
    if any(char in item for char in "*?["):
        found = sorted(glob.glob(item))
        if not found:
            raise ConfigurationError(f"input glob {item!r} matches no file")
        return [(path, None) for path in found]
    if os.path.exists(item):
        return [(item, None)]
    raise ConfigurationError(f"input {item!r} does not exist")


def by_language(instances: List[Instance], path: str, named: Optional[str]) -> Dict[str, List[Instance]]:
    """The instances of one input grouped by language: the user's name for it, else each
    instance's language tag (from the file name, folder, row or reader setting)."""
    if named is not None:
        return {named: instances}
    groups: Dict[str, List[Instance]] = {}
    for instance in instances:
        language = instance["metadata"].metadata.get("language")
        if language is None:
            raise ConfigurationError(
                f"{path}: cannot tell its language (its name ends in no known language code). Name "
                f"the file like dev-de.tsv, put it in a folder named by its language (deu_Latn/), "
                f"or pass it as LANG={path} (e.g. de={path})"
            )
        groups.setdefault(language, []).append(instance)
    return groups


def check_gold_labels(instances: List[Instance], path: str, vocab: Vocabulary, namespace: str) -> None:
    """Every instance has a gold label the model knows; else an error naming file and line."""
    unlabelled = [i for i in instances if "label" not in i.fields]
    if unlabelled:
        raise ConfigurationError(
            f"{path}: {len(unlabelled)} of {len(instances)} rows carry no gold label (first: "
            f"{unlabelled[0]['metadata'].metadata.get('location')}), so there is no accuracy to report. "
            f"Evaluate labelled data, or label these rows with `allennlp predict ARCHIVE {path}`"
        )
    known = set(vocab.get_token_to_index_vocabulary(namespace))
    for instance in instances:
        label = instance["label"].label
        if label not in known:
            raise ConfigurationError(
                f"{instance['metadata'].metadata.get('location')}: gold label {label!r} is not one the "
                f"model was trained with ({sorted(known)})"
            )


def evaluate_languages(
    archive_file: str,
    inputs: Sequence[str],
    output_dir: str,
    languages: Optional[Sequence[str]] = None,
    split: str = "test",
    cuda_device: int = -1,
    batch_size: int = 64,
    overrides: str = "",
    cross_lingual: bool = False,
    allow_unfinished: bool = False,
) -> Dict[str, Any]:
    from tqdm import tqdm

    paths = expand_inputs(inputs, languages, split)
    if cross_lingual:
        paths_by_language = languages_of_inputs(paths)  # before the archive loads: fail fast
    archive, run = load_run_archive(archive_file, cuda_device=cuda_device, overrides=overrides,
                                    allow_unfinished=allow_unfinished)
    prepare_environment(archive.config)
    model = archive.model
    model.eval()
    reader = archive.validation_dataset_reader
    if cross_lingual:
        return evaluate_cross_lingual(model, reader, paths_by_language, archive_file, output_dir, cuda_device,
                                      batch_size, run)
    results: Dict[str, Dict[str, Any]] = {}
    namespace = getattr(model, "_label_namespace", "labels")
    for path, named in tqdm(paths, desc="languages", disable=common_logging.FILE_FRIENDLY_LOGGING):
        instances = list(reader.read(path))  # the reader fails on a source with no instance
        check_gold_labels(instances, path, model.vocab, namespace)
        for language, group in by_language(instances, path, named).items():
            if language in results:
                raise ConfigurationError(
                    f"two inputs are language {language!r} ({results[language]['path']} and {path})"
                )
            metrics, correct = evaluate_group(model, group, batch_size, cuda_device)
            results[language] = {**metrics, "path": path, "num_instances": len(group), "correct": correct}
            logger.info("%s: accuracy %.4f (%d instances)", language, metrics["accuracy"], len(group))

    accuracies = {language: result["accuracy"] for language, result in results.items()}
    summary = summarize(accuracies)
    os.makedirs(output_dir, exist_ok=True)
    title = run_title(archive_file, run)
    report = {"archive": archive_file, "run": run, "languages": results, "summary": summary}
    with open(os.path.join(output_dir, "metrics.json"), "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2)
    with open(os.path.join(output_dir, "results.md"), "w", encoding="utf-8") as handle:
        handle.write(markdown_table({title: accuracies}))
    bar_chart({title: accuracies}, os.path.join(output_dir, "accuracy.png"), title)
    print(markdown_table({title: accuracies}))
    return report


def run_title(archive_file: str, run: Optional[Dict[str, Any]] = None) -> str:
    """An archive's name in tables and plots: its run folder, marked when the run is unfinished."""
    name = os.path.basename(os.path.dirname(os.path.abspath(archive_file))) or archive_file
    if run is not None and not run.get("finished"):
        name += (f" (UNFINISHED: {run['epochs_completed']} of {run['num_epochs']} epochs)"
                 if run.get("num_epochs") is not None else " (UNFINISHED)")
    return name


def languages_of_inputs(paths: List[Tuple[str, Optional[str]]]) -> Dict[str, str]:
    """`{language: path}` for `--cross-lingual`: one input per language, named or told by its file
    name, at least two languages."""
    found: Dict[str, str] = {}
    for path, named in paths:
        language = named or language_from_file_name(path)
        if language is None:
            raise ConfigurationError(f"--cross-lingual: cannot tell the language of {path} from its name; "
                                     f"pass it as LANG={path}")
        if language in found:
            raise ConfigurationError(f"--cross-lingual: two inputs are language {language!r} "
                                     f"({found[language]} and {path})")
        found[language] = path
    if len(found) < 2:
        raise ConfigurationError(f"--cross-lingual needs inputs in at least two languages, got {sorted(found)}")
    return found


def evaluate_cross_lingual(model, reader, paths: Dict[str, str], archive_file: str, output_dir: str,
                           cuda_device: int, batch_size: int, run: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Every ordered pair (premise language, hypothesis language) of `paths`; see the command's docstring."""
    namespace = getattr(model, "_label_namespace", "labels")
    languages = list(paths)
    accuracy: Dict[str, Dict[str, float]] = {}
    details: Dict[str, Dict[str, Any]] = {}
    for premise in languages:
        for hypothesis in languages:
            path = cross_lingual_path(paths[premise], paths[hypothesis])
            instances = list(reader.read(path))
            check_gold_labels(instances, path, model.vocab, namespace)
            metrics, correct = evaluate_group(model, instances, batch_size, cuda_device)
            accuracy.setdefault(premise, {})[hypothesis] = metrics["accuracy"]
            details[f"{premise}/{hypothesis}"] = {"accuracy": metrics["accuracy"], "num_instances": len(instances),
                                                  "correct": correct}
            logger.info("premise %s, hypothesis %s: accuracy %.4f", premise, hypothesis, metrics["accuracy"])
    same = [accuracy[l][l] for l in languages]
    mixed = [accuracy[a][b] for a in languages for b in languages if a != b]
    summary = {"same_language_mean": sum(same) / len(same), "mixed_language_mean": sum(mixed) / len(mixed)}
    report = {"archive": archive_file, "run": run, "languages": languages, "inputs": paths, "accuracy": accuracy,
              "pairs": details, "summary": summary}
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, "cross_lingual.json"), "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2)
    table = matrix_table(accuracy, "premise \\ hypothesis") + (
        f"\nsame-language mean {percent(summary['same_language_mean'])}, "
        f"mixed-language mean {percent(summary['mixed_language_mean'])} (accuracy, %)\n")
    with open(os.path.join(output_dir, "cross_lingual.md"), "w", encoding="utf-8") as handle:
        handle.write(table)
    title = run_title(archive_file, run)
    heat_map(accuracy, os.path.join(output_dir, "cross_lingual.png"), f"{title}: premise (rows) × hypothesis (columns)")
    print(table)
    return report


def evaluate_group(model, instances: List[Instance], batch_size: int, cuda_device: int) -> Tuple[Dict[str, Any], str]:
    """
    The model's metrics on `instances` (batches bucketed by length) and which instances it gets
    right, as a string of `0`/`1` in the instances' order (what a paired bootstrap over test
    examples needs; the accuracy is the model's own metric, as `allennlp evaluate` reports it).
    """
    device = int_to_device(cuda_device)
    loader = SimpleDataLoader(by_length(instances, batch_size), batch_size, vocab=model.vocab)
    loader.set_target_device(device)
    model.get_metrics(reset=True)
    hits: Dict[int, int] = {}
    losses: List[float] = []
    with torch.no_grad():
        for batch in loader:
            output = model(**batch)
            losses.append(float(output["loss"]))
            right = (output["logits"].argmax(-1) == batch["label"].view(-1)).tolist()
            for metadata, hit in zip(batch["metadata"], right):
                hits[id(metadata)] = int(hit)
    metrics = model.get_metrics(reset=True)
    metrics["loss"] = sum(losses) / max(len(losses), 1)
    order = [id(instance["metadata"].metadata) for instance in instances]
    return metrics, "".join(str(hits[key]) for key in order)


def by_length(instances: List[Instance], batch_size: int) -> List[Instance]:
    """
    The instances reordered so that consecutive batches of `batch_size` hold similar lengths
    (AllenNLP's `BucketBatchSampler` on the `tokens` field, no noise, no shuffle): less padding
    per batch, the same instances, so the same accuracy.
    """
    sampler = BucketBatchSampler(batch_size, sorting_keys=["tokens"], shuffle=False)
    return [instances[i] for batch in sampler.get_batch_indices(instances) for i in batch]


def evaluate_languages_from_args(args: argparse.Namespace) -> Dict[str, Any]:
    return evaluate_languages(
        args.archive_file,
        args.inputs,
        args.output_dir,
        languages=args.languages,
        split=args.split,
        cuda_device=args.cuda_device,
        batch_size=args.batch_size,
        overrides=args.overrides,
        cross_lingual=args.cross_lingual,
        allow_unfinished=args.allow_unfinished,
    )

