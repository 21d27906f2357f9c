"""
Per-language result tables, the one implementation used by `allennlp evaluate-languages`, the demo
and the benchmarks: macro averages (non-English and all, "English" from the language table),
mean ± std over seeds, markdown tables and a bar chart.

A table is `{row name: {language: cell}}`, where a cell is an accuracy in [0, 1] (one run) or a
`mean_std` dict (several seeds).
"""
import statistics
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from eapr_plugin.common.languages import is_english

Stat = Dict[str, float]
Cell = Union[float, Stat, None]


def mean_std(values: Sequence[float]) -> Stat:
    """Mean, sample standard deviation (0 for one value) and count."""
    values = list(values)
    return {"mean": statistics.mean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            "n": len(values)}


def summarize(accuracies: Mapping[str, float]) -> Dict[str, Any]:
    """Macro averages over non-English languages and over all, and English accuracy."""
    others = [value for language, value in accuracies.items() if not is_english(language)]
    english = [value for language, value in accuracies.items() if is_english(language)]
    return {
        "average_non_english": statistics.mean(others) if others else None,
        "average_all": statistics.mean(accuracies.values()) if accuracies else None,
        "english": english[0] if english else None,
        "num_languages": len(accuracies),
    }


def language_order(rows: Mapping[str, Mapping[str, Any]]) -> List[str]:
    """Every language of any row: English first, then the others in first-seen order."""
    languages: List[str] = []
    for cells in rows.values():
        languages.extend(language for language in cells if language not in languages)
    return sorted(languages, key=lambda language: not is_english(language))


def percent(cell: Cell) -> str:
    """`71.3` for one run, `71.3 ± 1.2` for several seeds (the mean alone for one seed), `-` for none."""
    if cell is None:
        return "-"
    if isinstance(cell, dict):
        if cell["n"] < 2:
            return f"{100 * cell['mean']:.1f}"
        return f"{100 * cell['mean']:.1f} ± {100 * cell['std']:.1f}"
    return f"{100 * cell:.1f}"


def markdown_table(
    rows: Mapping[str, Mapping[str, Cell]],
    averages: Optional[Mapping[str, Mapping[str, Cell]]] = None,
    first_column: str = "model",
) -> str:
    """
    One row per model: a cell per language, then the average columns. With single-run rows the
    averages are computed here (`avg (non-en)`, `avg (all)`); rows over several seeds pass their
    own `averages` (`{column: {row: cell}}`), since a mean ± std over seeds of an average is not
    the average of the per-language cells.
    """
    languages = language_order(rows)
    if averages is None:
        summaries = {name: summarize(cells) for name, cells in rows.items()}
        averages = {
            "avg (non-en)": {name: s["average_non_english"] for name, s in summaries.items()},
            "avg (all)": {name: s["average_all"] for name, s in summaries.items()},
        }
    header = [first_column] + languages + list(averages)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for name, cells in rows.items():
        row = [name] + [percent(cells.get(language)) for language in languages]
        row += [f"**{percent(column.get(name))}**" for column in averages.values()]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def bar_chart(rows: Mapping[str, Mapping[str, Cell]], path: str, title: str,
              reference: Optional[Mapping[str, float]] = None, reference_label: str = "majority class",
              averages: Optional[Mapping[str, Cell]] = None) -> None:
    """
    Grouped bars: accuracy per language and the non-English average, one bar per model, with
    error bars (± std) where a cell is a mean over seeds, and an optional per-language reference
    line (e.g. the majority class; its non-English mean over the average group). The legend sits
    above the axes, clear of the bars. Rows over several seeds pass their non-English `averages`
    (`{row: cell}`), computed per seed, as `markdown_table` takes them.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy

    languages = language_order(rows)
    columns = languages + ["avg non-en"]

    def value(name: str, cells: Mapping[str, Cell], column: str):
        if column != "avg non-en":
            return cells.get(column)
        if averages is not None:
            return averages.get(name)
        if any(isinstance(c, dict) for c in cells.values()):
            raise ValueError("bar_chart: rows over several seeds need their `averages`")
        return summarize({l: c for l, c in cells.items() if c is not None})["average_non_english"]

    if reference:
        reference = {**reference, "avg non-en": summarize(reference)["average_non_english"]}

    width = 0.8 / max(len(rows), 1)
    positions = numpy.arange(len(columns))
    figure, axis = plt.subplots(figsize=(max(5.0, 0.55 * len(columns) * max(len(rows), 1) ** 0.5 + 2.0), 3.8))
    for index, (name, cells) in enumerate(rows.items()):
        stats = [value(name, cells, column) for column in columns]
        means = [100 * (s["mean"] if isinstance(s, dict) else s) if s is not None else numpy.nan for s in stats]
        errors = [100 * s["std"] if isinstance(s, dict) else 0.0 for s in stats]
        axis.bar(positions + index * width - 0.4 + width / 2, means, width, label=name,
                 yerr=errors if any(errors) else None, capsize=2)
    if reference:
        for position, column in zip(positions, columns):
            if column in reference:
                axis.hlines(100 * reference[column], position - 0.45, position + 0.45, colors="black",
                            linestyles="dashed", linewidth=1,
                            label=reference_label if position == 0 else None)
    axis.axvline(len(languages) - 0.5, color="grey", linewidth=0.5)
    axis.set_xticks(positions)
    axis.set_xticklabels(columns, rotation=45 if len(columns) > 10 else 0, ha="right" if len(columns) > 10 else "center")
    axis.set_ylabel("accuracy (%)")
    axis.set_ylim(0, 100)
    axis.set_title(title, fontsize=9)
    axis.legend(loc="lower left", bbox_to_anchor=(0.0, 1.08), ncol=min(len(rows) + bool(reference), 4),
                fontsize=8, frameon=False)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def matrix_table(matrix: Mapping[str, Mapping[str, float]], corner: str) -> str:
    """A square markdown table of accuracies (%): one row per outer key, one column per inner key."""
    columns = list(next(iter(matrix.values())))
    lines = [f"| {corner} | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    lines += [f"| {row} | " + " | ".join(percent(cells[c]) for c in columns) + " |" for row, cells in matrix.items()]
    return "\n".join(lines) + "\n"


def heat_map(matrix: Mapping[str, Mapping[str, float]], path: str, title: str) -> None:
    """The square accuracy matrix as a heat map with the values (%) written in the cells."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy

    rows, columns = list(matrix), list(next(iter(matrix.values())))
    values = numpy.array([[100 * matrix[r][c] for c in columns] for r in rows])
    size = 1.0 + 0.5 * max(len(rows), len(columns))
    figure, axis = plt.subplots(figsize=(size + 1.0, size))
    image = axis.imshow(values, cmap="viridis", vmin=0, vmax=100)
    for i in range(len(rows)):
        for j in range(len(columns)):
            axis.text(j, i, f"{values[i, j]:.0f}", ha="center", va="center", fontsize=7,
                      color="white" if values[i, j] < 60 else "black")
    axis.set_xticks(range(len(columns)))
    axis.set_xticklabels(columns)
    axis.set_yticks(range(len(rows)))
    axis.set_yticklabels(rows)
    axis.set_title(title, fontsize=9)
    figure.colorbar(image, ax=axis, label="accuracy (%)")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
