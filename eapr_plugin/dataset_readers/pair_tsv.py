"""Rows of the XTREME sentence-pair TSV layout shared by XNLI and PAWS-X."""
import itertools
import os
from collections import Counter
from typing import Iterator, Optional

from eapr_plugin.dataset_readers.rows import Row, language_from_file_name, read_lines


#: lines looked at to decide whether a file carries a label column
PEEK = 50


def xtreme_pair_rows(file_path: str, language: Optional[str] = None) -> Iterator[Row]:
    """
    `text_a \\t text_b \\t label` per line, no header (XTREME's `dev-{lang}.tsv`); label-less
    test files (`text_a \\t text_b`) are read with `label=None`. The file's column count is the
    most common one (2 or 3) among its first `PEEK` lines, so a line with another count is blamed
    itself, even when it is the first; ties go to 3 (labelled).
    """
    language = language or language_from_file_name(file_path)
    name = os.path.basename(file_path)
    lines = read_lines(file_path)
    head = list(itertools.islice(lines, PEEK))
    widths = Counter(len(text.split("\t")) for _, text, problem in head if problem is None and text)
    expected = max((2, 3), key=lambda width: (widths[width], width)) if widths[2] or widths[3] else None
    for number, text, problem in itertools.chain(head, lines):
        location = f"{file_path}:{number}"
        example_id = f"{name}:{number}"
        if problem is None and text == "":
            problem = "empty line"
        if problem is not None:
            yield Row("", None, None, language, example_id, location, problem)
            continue
        fields = text.split("\t")
        if len(fields) != expected:
            wanted = {None: "2 or 3", 2: "2", 3: "3"}[expected]
            yield Row(
                "", None, None, language, example_id, location,
                f"expected {wanted} tab-separated columns (premise, hypothesis[, label]), "
                f"found {len(fields)}",
            )
            continue
        label = fields[2] if expected == 3 else None
        yield Row(fields[0], fields[1], label, language, example_id, location)
