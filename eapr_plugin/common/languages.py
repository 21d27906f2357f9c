"""
The one language table of the plugin. Readers, `evaluate-languages`, the demo and the benchmarks
all decide "is this a language tag?" and "is this English?" here.

Tags are ISO 639-1 codes (`en`, `de`, `zh`, ...) as XNLI/PAWS-X/XTREME use them, and Flores-200
codes (`eng_Latn`, `zho_Hans`, ...) as SIB-200 uses them. Anything else is a configuration error
naming the setting, so a typo such as `ger` or `english` cannot silently create a language of its
own in the results.
"""
import re
from typing import Optional

from allennlp.common.checks import ConfigurationError

ISO_639_1 = frozenset("""
aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de
dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id
ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu
lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu
rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr
ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu
""".split())
FLORES = re.compile(r"^[a-z]{3}_[A-Z][a-z]{3}$")

#: English as ISO 639-1 tags it (XNLI, PAWS-X, MultiNLI's rows) and as Flores-200 does (SIB-200).
ISO_ENGLISH, FLORES_ENGLISH = "en", "eng_Latn"
#: The training (source) language of zero-shot transfer, in both tag systems.
ENGLISH = frozenset({ISO_ENGLISH, FLORES_ENGLISH})


def is_language_code(code: str) -> bool:
    return code in ISO_639_1 or bool(FLORES.match(code))


def is_english(code: Optional[str]) -> bool:
    return code in ENGLISH


def check_language(code: Optional[str], setting: str) -> Optional[str]:
    """Return `code` if it is None or a known tag; otherwise raise naming the setting."""
    if code is not None and not is_language_code(code):
        raise ConfigurationError(
            f"unknown language code {code!r} (setting `{setting}`): use an ISO 639-1 code such as "
            "'en', 'de', 'zh' or a Flores-200 code such as 'eng_Latn', 'zho_Hans'"
        )
    return code
