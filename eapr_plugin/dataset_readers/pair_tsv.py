"""Rows of the XTREME sentence-pair TSV layout shared by XNLI and PAWS-X."""
import os
from typing import Iterator, Optional

from eapr_plugin.dataset_readers.rows import Row, language_from_file_name, read_lines


def xtreme_pair_rows(file_path: str, language: Optional[str] = None) -> Iterator[Row]:
    """
    `text_a \\t text_b \\t label` per line, no header (XTREME's `dev-{lang}.tsv`); label-less
    test files (`text_a \\t text_b`) are read with `label=None`. The first line fixes the column
    count; a line with another count is an invalid row.
    """
    language = language or language_from_file_name(file_path)
    name = os.path.basename(file_path)
    expected = None
    for number, text, problem in read_lines(file_path):
        location = f"{file_path}:{number}"
        example_id = f"{name}:{number}"
        if problem is None and text == "":
            problem = "empty line"
        if problem is not None:
            yield Row("", None, None, language, example_id, location, problem)
            continue
        fields = text.split("\t")
        if expected is None and len(fields) in (2, 3):
            expected = len(fields)
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
