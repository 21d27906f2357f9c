"""
The row type every EAPR reader produces, and the small file helpers they share. Kept apart from
the readers so that `hf_datasets` and the format modules can import it without a cycle.
"""
import os
from typing import Iterator, NamedTuple, Optional, Tuple

from allennlp.common.checks import ConfigurationError

from eapr_plugin.common.languages import is_language_code


class InvalidRowError(ValueError):
    """A data row that cannot be read; the message names the file, the line and the setting."""


class Row(NamedTuple):
    """One example as read from a file, before validation and tokenization."""

    text_a: str
    text_b: Optional[str]
    label: Optional[str]
    language: Optional[str]
    example_id: str
    location: str  # "path:line" (or "name[index]" for HF datasets), for error messages
    problem: Optional[str] = None  # set by a subclass for a row it could not parse


def read_lines(file_path: str) -> Iterator[Tuple[int, Optional[str], Optional[str]]]:
    """
    Yield `(line_number, text, problem)` for each line of a UTF-8 file; a line with undecodable
    bytes has `text=None` and a `problem` naming the byte, so the caller can report or skip it.
    A UTF-8 byte-order mark at the start of the file is dropped (it never changes the parse).
    """
    try:
        handle = open(file_path, "rb")
    except OSError as error:
        raise ConfigurationError(f"cannot open data file {file_path!r}: {error}") from error
    with handle:
        for number, raw in enumerate(handle, start=1):
            try:
                yield number, raw.decode("utf-8-sig" if number == 1 else "utf-8").rstrip("\r\n"), None
            except UnicodeDecodeError as error:
                yield number, None, f"not valid UTF-8 ({error.reason} at byte {error.start})"


def language_from_file_name(file_path: str) -> Optional[str]:
    """`dev-en.tsv` -> `en`, `test-zh.tsv` -> `zh`; None unless the name ends in `-{code}`."""
    stem = os.path.basename(file_path).split(".")[0]
    if "-" in stem and is_language_code(stem.rsplit("-", 1)[1]):
        return stem.rsplit("-", 1)[1]
    return None
