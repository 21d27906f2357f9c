"""Smoke test of `benchmarks/accuracy.py` (and its tables in `report.py`) on a tiny encoder with a
tiny budget: equal steps, paired statistics, `--report-only`. Its weight sweep, variants, `--oracle`
and `--reselect` are in `test_accuracy_sweep.py`; each file is its own pytest-xdist unit."""
import json
import os
from types import SimpleNamespace

import pytest

from tests.support.cli import REPO, load_script, run_script


@pytest.mark.slow
def test_accuracy_benchmark(tiny_encoders, synonym_table, sib200_data, tmp_path):
    out = tmp_path / "accuracy.json"
    run_script("benchmarks/accuracy.py", ["--protocol", "sib200", "--data-dir", str(sib200_data),
         "--encoder", tiny_encoders["tiny-bert"], "--synonyms", synonym_table, "--methods", "baseline", "eapr",
         "--seeds", "1", "2", "--epochs", "1", "--num-perturbations", "2", "--max-length", "32", "--batch-size", "8",
         "--runs-dir", str(tmp_path / "runs"), "--out", str(out), "--jobs", "2"])
    report = json.loads(out.read_text())
    assert list(report["summary"]) == ["baseline", "eapr"]  # the benchmark's order, whatever finished first
    assert list(report["runs"]["eapr"]) == ["1", "2"]
    # where the runs ran: no --num-gpus, so no GPU, whatever the machine has; the stack's versions
    assert report["machine"].endswith("no GPU used") and report["versions"]["allennlp"] == "2.10.1"
    eapr = report["summary"]["eapr"]
    assert set(eapr["per_language"]) == {"eng_Latn", "deu_Latn", "fra_Latn", "zho_Hans"}
    assert eapr["average_non_english"]["n"] == 2
    # equal optimizer steps: plain fine-tuning ran 2 epochs over the originals, EAPR 1 over 2 copies
    records = report["records"]
    assert [r["epochs"] for r in records["baseline"].values()] == [2, 2]
    assert [r["epochs"] for r in records["eapr"].values()] == [1, 1]
    # a finished run keeps its weights per epoch (for reselect.py), not its optimizer states
    run_dir = tmp_path / "runs" / "sib200" / "baseline_a0.1_b1.0_e2_seed1"
    assert sorted(f.name for f in run_dir.glob("*_state_e*.th")) == ["model_state_e1_b0.th", "model_state_e2_b0.th"]
    assert report["summary"]["baseline"]["optimizer_steps"] == report["summary"]["eapr"]["optimizer_steps"]
    assert all(len(r["dev_curve"]) == r["epochs"] and r["selected_epoch"] in range(r["epochs"])
               for by_seed in records.values() for r in by_seed.values())
    pair = report["paired"]["eapr - baseline"]["average_non_english"]
    by_seed = {m: report["summary"][m]["non_english_by_seed"] for m in ("eapr", "baseline")}
    assert pair["differences"] == pytest.approx([by_seed["eapr"][s] - by_seed["baseline"][s] for s in ("1", "2")])
    # Each seed on its own: a paired bootstrap over the test examples, per language and macro.
    bootstrap = report["paired"]["eapr - baseline"]["by_seed_bootstrap"]
    assert set(bootstrap) == {"1", "2"}
    macro = bootstrap["1"]["average_non_english"]
    assert macro["mean"] == pytest.approx(by_seed["eapr"]["1"] - by_seed["baseline"]["1"])
    assert macro["ci_low"] <= macro["mean"] <= macro["ci_high"] and macro["samples"] == 5000
    assert set(bootstrap["1"]["per_language"]) == set(eapr["per_language"])
    text = out.with_suffix(".md").read_text()
    assert "avg non-en" in text and "| eapr - baseline |" in text and "per seed over test examples" in text
    # --report-only gathers what is finished (seeds 1-2 of eapr) and trains nothing new.
    gathered = tmp_path / "gathered.json"
    run_script("benchmarks/accuracy.py", ["--protocol", "sib200", "--data-dir", str(sib200_data),
         "--encoder", tiny_encoders["tiny-bert"], "--synonyms", synonym_table, "--methods", "baseline", "eapr",
         "--seeds", "1", "2", "3", "--epochs", "1", "--num-perturbations", "2", "--max-length", "32", "--batch-size", "8",
         "--runs-dir", str(tmp_path / "runs"), "--out", str(gathered), "--report-only", "--references", "eapr"])
    gathered_report = json.loads(gathered.read_text())
    summary = gathered_report["summary"]
    assert list(gathered_report["paired"]) == ["baseline - eapr"]  # --references: only the ones named
    assert set(summary) == {"baseline", "eapr"} and summary["eapr"]["seeds"] == [1, 2]
    assert summary["eapr"]["average_non_english"] == eapr["average_non_english"]
    assert not list((tmp_path / "runs" / "sib200").glob("*seed3*"))
    # report.py turns the JSON into the README's table, between the markers, prose untouched.
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- results:start -->\nold\n<!-- results:end -->\nprose\n")
    run_script("benchmarks/report.py", [str(tmp_path), "--benchmarks", str(readme)])
    text = readme.read_text()
    assert text.startswith("intro\n<!-- results:start -->\n") and text.endswith("<!-- results:end -->\nprose\n")
    assert "old" not in text and "Accuracy, sib200 protocol" in text
    row = next(line for line in text.splitlines() if line.startswith("| eapr |"))
    paper_avg = f"**{100 * eapr['average_non_english']['mean']:.1f} ± {100 * eapr['average_non_english']['std']:.1f}**"
    assert paper_avg in row


def test_seed_bootstrap_resamples_parallel_protocols_jointly(capsys):
    """Every protocol declares its test files parallel translations; a run's bootstrap then draws
    rows jointly across languages, and falls back (with a warning naming the sizes) to resampling
    each language on its own where the files differ in size."""
    from eapr_plugin.common.paired import paired_bootstrap_languages

    accuracy = load_script("benchmarks/accuracy.py")
    assert all(accuracy.protocol_settings(p, "data")["_parallel"] == "true" for p in ("sib200", "pawsx", "xnli"))
    mine = {"en": "1101101101", "de": "1100110011", "fr": "1111100000"}
    theirs = {"en": "1001001001", "de": "0100110010", "fr": "1011100001"}
    joint = accuracy.seed_bootstrap(mine, theirs, 2000, 1, parallel=True)
    assert joint == paired_bootstrap_languages(mine, theirs, 2000, seed=1, parallel=True)
    assert joint != paired_bootstrap_languages(mine, theirs, 2000, seed=1, parallel=False)
    assert capsys.readouterr().out == ""
    uneven = {**mine, "fr": mine["fr"][:8]}
    uneven_theirs = {**theirs, "fr": theirs["fr"][:8]}
    apart = accuracy.seed_bootstrap(uneven, uneven_theirs, 2000, 1, parallel=True)
    assert apart == paired_bootstrap_languages(uneven, uneven_theirs, 2000, seed=1, parallel=False)
    assert "differ in size (de 10, en 10, fr 8)" in capsys.readouterr().out


def test_oracle_on_a_subset_of_languages(tmp_path):
    """`--oracle-languages`: the epoch evaluation names those languages' dev and test files (a missing
    one stops it, named); the report compares oracle selection with English-dev selection on the
    same languages, paired by seed."""
    accuracy = load_script("benchmarks/accuracy.py")
    for language in ("deu_Latn", "yor_Latn"):
        (tmp_path / "sib200" / language).mkdir(parents=True)
        for split in ("dev", "test"):
            (tmp_path / "sib200" / language / f"{split}.tsv").write_text("")
    root = tmp_path / "sib200"
    assert accuracy.oracle_inputs(str(tmp_path), ["deu_Latn", "yor_Latn"]) == (
        f"dev={root}/deu_Latn/dev.tsv,{root}/yor_Latn/dev.tsv;test={root}/deu_Latn/test.tsv,{root}/yor_Latn/test.tsv")
    with pytest.raises(SystemExit, match=f"--oracle-languages: no such file: {root}/zho_Hans/dev.tsv"):
        accuracy.oracle_inputs(str(tmp_path), ["deu_Latn", "zho_Hans"])
    with pytest.raises(SystemExit, match="--oracle-languages eng_Latn: the training language"):
        accuracy.oracle_inputs(str(tmp_path), ["eng_Latn", "deu_Latn"])
    records = {"1": {"oracle": {"accuracy": {"deu_Latn": 0.8, "yor_Latn": 0.5}}},
               "2": {"oracle": {"accuracy": {"deu_Latn": 0.9, "yor_Latn": 0.4}}}}
    english_dev = {1: {"eng_Latn": 0.9, "deu_Latn": 0.7, "yor_Latn": 0.5, "zho_Hans": 0.1},
                   2: {"eng_Latn": 0.9, "deu_Latn": 0.8, "yor_Latn": 0.4, "zho_Hans": 0.1}}
    summary = accuracy.oracle_summary(records, english_dev)
    assert summary["oracle"]["languages"] == ["deu_Latn", "yor_Latn"]  # zho_Hans is not in the curves
    assert summary["oracle_average_non_english"]["mean"] == pytest.approx(0.65)
    assert summary["oracle"]["english_dev_same_languages"]["mean"] == pytest.approx(0.6)
    assert summary["oracle"]["minus_english_dev"]["differences"] == pytest.approx([0.05, 0.05])
    assert accuracy.oracle_summary({"1": {}}, english_dev) == {}  # a seed without curves: no oracle figures


def test_accuracy_variants_are_checked():
    """`--variant NAME METHOD EAPR_VAR=VALUE`: a taken name, an unknown method, a malformed or
    harness-owned variable each stop the benchmark with a message naming the variant."""
    accuracy = load_script("benchmarks/accuracy.py")
    parse_variants = accuracy.parse_variants

    def fails(*variant):
        with pytest.raises(SystemExit) as stop:
            parse_variants(SimpleNamespace(methods=["baseline"], variant=[list(variant)]))
        return str(stop.value)

    assert "the name is taken" in fails("baseline", "eapr")
    assert "unknown method 'eaprr'" in fails("mine", "eaprr")
    assert "'PERTURBER=synonym' is not EAPR_VARIABLE=VALUE" in fails("mine", "eapr", "PERTURBER=synonym")
    assert "EAPR_SEED is set by the harness" in fails("mine", "eapr", "EAPR_SEED=3")
    assert "EAPR_BALANSE is not a recipe variable" in fails("mine", "eapr", "EAPR_BALANSE=embedding_push=0.1")
    assert "needs NAME METHOD" in fails("mine")
    with pytest.raises(SystemExit, match="--references eapr_no_pus: not among"):
        accuracy.check_references(["baseline", "eapr_no_pus"], {"baseline": {}, "eapr_no_push": {}})
    assert accuracy.check_references(None, {"baseline": {}, "eapr": {}}) == ["baseline"]  # the defaults that ran
    variants = parse_variants(SimpleNamespace(methods=["baseline"], variant=[
        ["balanced", "eapr", "EAPR_BALANCE=embedding_push=0.1,attention_pull=0.1"]]))
    assert variants == {"baseline": {"method": "baseline", "env": {}},
                        "balanced": {"method": "eapr", "env": {"EAPR_BALANCE": "embedding_push=0.1,attention_pull=0.1"}}}
    # `--methods` alone: only the variants run (a variant's seeds beside a process training its method's)
    only = parse_variants(SimpleNamespace(methods=[], variant=[["frozen", "two_stream_ce", "EAPR_FREEZE=embeddings"]]))
    assert only == {"frozen": {"method": "two_stream_ce", "env": {"EAPR_FREEZE": "embeddings"}}}
    with pytest.raises(SystemExit, match="nothing to run"):
        parse_variants(SimpleNamespace(methods=[], variant=None))


def test_a_run_folder_has_one_process_at_a_time(tmp_path, monkeypatch):
    """While one benchmark process trains or scores a run (its lock held), another that reaches the
    same run folder stops naming it and the holder; once the holder is done, the next one goes on."""
    accuracy = load_script("benchmarks/accuracy.py")
    monkeypatch.setattr(accuracy, "run_dir_of", lambda args, method, seed: tmp_path / "xnli" / f"{method}_seed{seed}")
    reached = []
    monkeypatch.setattr(accuracy, "run_one", lambda args, settings, method, seed, run_dir: reached.append(run_dir) or {})
    args = SimpleNamespace(report_only=False, reselect=[])
    (tmp_path / "xnli").mkdir()
    with accuracy.sole_user(tmp_path / "xnli" / "eapr_seed1"):  # as another process would hold it
        with pytest.raises(SystemExit, match=rf"{tmp_path / 'xnli' / 'eapr_seed1'} is being trained or scored by "
                                             rf"another process \(pid {os.getpid()} on "):
            accuracy.run_and_score(args, {}, "eapr", 1)
        assert reached == []
        accuracy.run_and_score(args, {}, "eapr", 2)  # another run folder: free
    accuracy.run_and_score(args, {}, "eapr", 1)  # released
    assert reached == [tmp_path / "xnli" / "eapr_seed2", tmp_path / "xnli" / "eapr_seed1"]


def test_reused_runs_must_match_the_settings_asked(tmp_path, capsys):
    """A finished run folder is reused only when it was trained with the same recipe variables: one
    that differs stops the benchmark naming the folder and the variable; a folder from before the
    record is reused with a warning. The scoring-only `EAPR_EPOCH_EVAL` is not compared, and pair
    methods on other than the recipe's 3 copies get their own folders."""
    accuracy = load_script("benchmarks/accuracy.py")
    run_dir = tmp_path / "eapr_a0.1_b1.0_e1_seed1"
    run_dir.mkdir()
    accuracy.check_reused(run_dir, {"EAPR_LR": "0.0001"})
    assert f"{run_dir} has no benchmark_settings.json" in capsys.readouterr().out
    trained = {"EAPR_LR": "0.0001", "EAPR_NUM_PERTURBATIONS": "3", "EAPR_METHOD": "eapr"}
    (run_dir / accuracy.RUN_SETTINGS).write_text(json.dumps(trained))
    accuracy.check_reused(run_dir, dict(trained))  # the same: reused silently
    assert capsys.readouterr().out == ""
    with pytest.raises(SystemExit, match="EAPR_NUM_PERTURBATIONS: trained '3', asked '1'"):
        accuracy.check_reused(run_dir, {**trained, "EAPR_NUM_PERTURBATIONS": "1"})
    with pytest.raises(SystemExit, match="EAPR_PC_WEIGHT: trained None, asked '5.0'"):
        accuracy.check_reused(run_dir, {**trained, "EAPR_PC_WEIGHT": "5.0"})
    env = {"EAPR_LR": "0.0001", "EAPR_EPOCH_EVAL": "dev=x.tsv", "EAPR_TEST_FIXTURES": "build", "PATH": "/bin",
           "EAPR_PC_WEIGHT": ""}
    assert accuracy.recipe_settings(env) == {"EAPR_LR": "0.0001"}
    assert accuracy.ambient_recipe_variables(
        {"EAPR_PC_WEIGHT": "5", "EAPR_TEST_FIXTURES": "x", "EAPR_RAMP_UP": ""}) == ["EAPR_PC_WEIGHT"]
    # run folders: `_pN` for a pair method's other copy counts; plain fine-tuning has none. The
    # unmarked count is the recipe's own default.
    recipe = (REPO / "training_configs" / "eapr.libsonnet").read_text()
    assert f'num("EAPR_NUM_PERTURBATIONS", {accuracy.DEFAULT_PERTURBATIONS})' in recipe
    args = SimpleNamespace(runs_dir=str(tmp_path), protocol="xnli", alpha=0.1, beta=1.0, epochs=3,
                           num_perturbations=1, budget="equal-steps",
                           variants=accuracy.parse_variants(SimpleNamespace(methods=["baseline", "consistency"],
                                                                            variant=None)))
    assert accuracy.run_dir_of(args, "consistency", 2).name == "consistency_a0.1_b1.0_e3_p1_seed2"
    assert accuracy.run_dir_of(args, "baseline", 2).name == "baseline_a0.1_b1.0_e3_seed2"
    args.num_perturbations, args.epochs = 3, 1
    assert accuracy.run_dir_of(args, "consistency", 2).name == "consistency_a0.1_b1.0_e1_seed2"
    assert accuracy.run_dir_of(args, "baseline", 2).name == "baseline_a0.1_b1.0_e3_seed2"


def test_variants_may_not_change_the_budget():
    """Every variable the harness sets (copies, batch, epochs, weights in the folder name ...) is
    refused in a variant: it would change the budget or the folder's name would lie."""
    accuracy = load_script("benchmarks/accuracy.py")
    # what the harness sets, on every protocol and with --oracle, is all in the refused list
    for protocol in accuracy.PROTOCOLS:
        args = SimpleNamespace(encoder="enc", synonyms="syn.json", num_gpus=0, max_length=64, batch_size=16,
                               grad_accum=1, lr=1e-4, epochs=1, num_perturbations=3, budget="equal-steps",
                               ap_mode="exact", head=None, alpha=0.1, beta=1.0, oracle=protocol == "sib200")
        settings = accuracy.protocol_settings(protocol, "data")
        for method in ("baseline", "eapr"):
            assert set(accuracy.harness_env(args, settings, method, 1)) <= set(accuracy.HARNESS_VARIABLES)
    for key in ("EAPR_NUM_PERTURBATIONS", "EAPR_BATCH_SIZE", "EAPR_GRAD_ACCUM", "EAPR_ALPHA", "EAPR_LR"):
        with pytest.raises(SystemExit, match=f"{key} is set by the harness itself"):
            accuracy.parse_variants(SimpleNamespace(methods=["baseline"], variant=[["mine", "eapr", f"{key}=1"]]))


def test_an_interrupted_run_is_resumed_not_reused(tmp_path, monkeypatch):
    """A run is reused only when `allennlp train` returned (`metrics.json`, and `run_status.json`
    finished where there is one): an archive alone may be AllenNLP's archive of an interrupted run.
    An interrupted run with its optimizer states continues with `--recover` (its stale scores
    removed); one without starts afresh with `--force`."""
    accuracy = load_script("benchmarks/accuracy.py")
    run_dir = tmp_path / "eapr_a0.1_b1.0_e6_p1_seed1"
    run_dir.mkdir()
    (run_dir / "model.tar.gz").write_bytes(b"the best epoch so far")
    assert not accuracy.trained(run_dir)  # AllenNLP's archive of an interrupted run, no metrics.json
    (run_dir / "metrics.json").write_text("{}")
    assert accuracy.trained(run_dir)  # a finished run from before run_status.json
    (run_dir / "run_status.json").write_text(json.dumps({"finished": False}))
    assert not accuracy.trained(run_dir)
    (run_dir / "run_status.json").write_text(json.dumps({"finished": True}))
    assert accuracy.trained(run_dir)

    commands = []
    monkeypatch.setattr(accuracy.subprocess, "run", lambda command, **kwargs: commands.append(command[-1]))
    monkeypatch.setattr(accuracy, "evaluate", lambda *args: {})
    args = SimpleNamespace(encoder="enc", synonyms="syn.json", num_gpus=0, max_length=64, batch_size=16,
                           grad_accum=1, lr=1e-4, epochs=6, num_perturbations=1, budget="equal-steps",
                           ap_mode="exact", head=None, alpha=0.1, beta=1.0, oracle=False,
                           variants=accuracy.parse_variants(SimpleNamespace(methods=["eapr"], variant=None)))
    settings = accuracy.protocol_settings("xnli", "data")
    (run_dir / "run_status.json").write_text(json.dumps({"finished": False}))
    (run_dir / "training_state_e3_b0.th").write_bytes(b"")
    (run_dir / "languages").mkdir()  # the interrupted archive's scores
    accuracy.run_one(args, settings, "eapr", 1, run_dir)
    assert commands == ["--recover"] and not (run_dir / "languages").exists()
    assert not (run_dir / "training_state_e3_b0.th").exists()  # removed once the run returned
    accuracy.run_one(args, settings, "eapr", 1, run_dir)
    assert commands == ["--recover", "--force"]
