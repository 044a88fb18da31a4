#!/usr/bin/env python3
"""Writes kimi-k2-pretokenizer.json: texts and how Kimi's own split pattern cuts them.

Usage: python3 gen_kimi_k2_pretokenizer.py > kimi-k2-pretokenizer.json   (needs `regex`)
The pattern is the pat_str of Kimi-K2's (and Moonlight's) tokenization_kimi.py, verbatim;
tiktoken runs it with Rust's fancy-regex, here the `regex` package runs it (V1: the `&&`
class intersections), an engine independent of moeinfer's hand-written matcher. The texts
are hand-picked cases and seeded random strings over characters of every class the pattern
tells apart (no ligatures or other characters whose full and simple case folding differ).
"""
import json
import random

import regex

PAT_PARTS = [
    r"""[\p{Han}]+""",
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]*[\p{Ll}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]+[\p{Ll}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""\p{N}{1,3}""",
    r""" ?[^\s\p{L}\p{N}]+[\r\n]*""",
    r"""\s*[\r\n]+""",
    r"""\s+(?!\S)""",
    r"""\s+""",
]

HAND = [
    "Hello World! It's a test.",
    "DON'T YOU'LL we'RE they'Ve I'M he'd it'ſ o'clock",
    "HTTPRequest parseJSON iPhone McDonald's",
    "ǅungla ǈ Ǆ ʰaʰ ªb ƻx",
    "e\u0301cole cafe\u0301 \u0301x  \u0301",
    "中文字符abc 日本語のテキスト ひらがなカタカナ 한국어",
    "〇1〇2 々々x .⺀a ⺀⺁ 𠀀𠀁z",
    "12345 1234567 ٣٤٥٦ ½¼ Ⅻ",
    "a  b   c\n\n d \r\n e\t\tf \u00a0g\u3000h",
    "trailing spaces   ",
    "  leading",
    "\n\n\nnewlines\n",
    "...!!! ?? (x) [y] {z} \"quoted\" 'single'",
    "price: $100.00 + €5 🚀🚀 x🚀",
    "snake_case kebab-case CamelCase UPPER_CASE",
    "a'\u017f b'S c'T d'LL e'Re f'x g'",
    "Ωmega σίσυφος ЖУК жук",
    "ऩमस्ते \u0903x",
    "zero\u200dwidth joiner",
    "line\u2028sep",
    "。、「引用」",
    "x\u0007y\u0000z",
]

PALETTE = (
    list("aAbBsStTdDmMrReEvVlLzZ") * 3 + ["'"] * 8 +
    ["\u017f", "\u01c5", "\u02b0", "\u00aa", "\u01bb", "\u00e9", "\u0301", "\u0903", "\u20dd",
     "\u03a3", "\u03c3", "\u0416", "\u0436",
     "\u4e2d", "\u6587", "\u3005", "\u3007", "\u2e80", "\U00020000",
     "\u3042", "\u30a2", "\ud55c",
     "0", "1", "7", "\u0663", "\u00bd", "\u216b",
     ".", ",", "!", "?", "-", "_", "(", ")", "\"", "\u3001", "\u3002",
     "$", "+", "\u20ac", "\U0001f680",
     "\u200d", "\u0007"] +
    [" "] * 10 + ["\t", "\n", "\n", "\r", "\u00a0", "\u3000", "\u2028"]
)


def main():
    pat = regex.compile("|".join(PAT_PARTS), regex.V1)
    rng = random.Random(20261130)
    texts = list(HAND)
    for _ in range(600):
        texts.append("".join(rng.choice(PALETTE) for _ in range(rng.randint(1, 24))))
    cases = []
    for t in texts:
        pieces = pat.findall(t)
        assert "".join(pieces) == t, repr(t)
        cases.append({"text": t, "pieces": pieces})
    doc = {
        "source": "pat_str of Kimi-K2 / Moonlight tokenization_kimi.py, run by the Python regex "
                  "package %s (gen_kimi_k2_pretokenizer.py)" % regex.__version__,
        "pattern": PAT_PARTS,
        "cases": cases,
    }
    print(json.dumps(doc, ensure_ascii=False, indent=0))


if __name__ == "__main__":
    main()
