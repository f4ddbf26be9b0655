"""Search terms: what the full-text index stores for a chunk and what a question is looked up by.

Japanese has no spaces, so text is cut into words by SudachiPy (its core dictionary) before either
index sees it; both SQLite FTS5 and PostgreSQL then only split on the spaces between terms, and
both databases rank the same terms. Each word is kept in its normalised form (サーバ and サーバー,
引越し and 引っ越し are one term), long compounds also as their short parts (東京都庁 -> 東京,
都, 庁), particles, auxiliaries and punctuation are left out. English words come out lower-cased.

Chosen over FTS5's trigram tokenizer by recall on tests/data/retrieval_ja.json (bench/retrieval.py;
the figures are in the README): trigrams cannot match two-character words (会議, 送料, 有休),
which are most Japanese nouns.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache

# Sudachi parts of speech (first level) that carry no meaning for a search.
SKIPPED = {"助詞", "助動詞", "補助記号", "記号", "空白", "接続詞", "感動詞", "フィラー"}
# Words so common in questions and documents that they only add noise ("する", "ある", "こと" ...).
STOPWORDS = {"為る", "有る", "居る", "成る", "出来る", "言う", "こと", "もの", "ため", "よう", "其れ", "此れ",
             "何", "如何", "どう", "どの", "どこ", "いつ", "誰", "場合", "の", "ん", "さん", "様", "等", "事",
             "the", "a", "an", "of", "to", "in", "on", "is", "are", "be", "do", "does", "and", "or", "for",
             "what", "when", "how", "we", "i", "it", "can", "must"}
PIECE_CHARS = 4000  # Sudachi refuses very long inputs; chunks and questions are far shorter anyway
_LATIN = re.compile(r"[A-Za-z]")
_local = threading.local()


@lru_cache(maxsize=1)
def _dictionary():
    from sudachipy import Dictionary

    return Dictionary(dict="core")  # memory-mapped: loaded once, shared by the process's threads


def _tokenizer():
    tokenizer = getattr(_local, "tokenizer", None)
    if tokenizer is None:  # a tokenizer is not to be shared between threads
        from sudachipy import SplitMode

        tokenizer = _local.tokenizer = _dictionary().tokenizer(mode=SplitMode.C)
    return tokenizer


def _keep(morpheme) -> str | None:
    if morpheme.part_of_speech()[0] in SKIPPED:
        return None
    surface = morpheme.surface()
    # Latin words as written (Sudachi would turn "production" into プロダクション), others normalised.
    term = surface.lower() if surface.isascii() else morpheme.normalized_form().lower()
    if term in STOPWORDS or not term.strip() or '"' in term:
        return None
    if len(term) == 1 and _LATIN.match(term):
        return None
    return term


def _analysed(text: str):
    """(term, is_part) in order: each word, then the short parts of a compound word."""
    from sudachipy import SplitMode

    tokenizer = _tokenizer()
    for start in range(0, len(text), PIECE_CHARS):
        for morpheme in tokenizer.tokenize(text[start:start + PIECE_CHARS]):
            term = _keep(morpheme)
            if term is None:
                continue
            yield term, False
            parts = morpheme.split(SplitMode.A)
            if len(parts) > 1:
                for part in map(_keep, parts):
                    if part and part != term:
                        yield part, True


def terms(text: str) -> list[str]:
    """The text's search terms, in order, with repeats (the index counts them)."""
    return [term for term, _ in _analysed(text)]


def document_terms(text: str) -> str:
    """What the index stores for a chunk: its terms separated by spaces."""
    return " ".join(terms(text))


def query_terms(question: str, limit: int = 32) -> list[str]:
    """A question's distinct terms, first ones first, at most `limit`."""
    return list(dict.fromkeys(terms(question)))[:limit]


def spans(text: str, wanted: set[str]) -> list[tuple[int, int]]:
    """Where in `text` the words whose term is in `wanted` stand, as (start, end) character offsets
    in order (a compound's matching part alone when only the part was asked for): for highlights."""
    from sudachipy import SplitMode

    tokenizer, found = _tokenizer(), []
    for start in range(0, len(text), PIECE_CHARS):
        for morpheme in tokenizer.tokenize(text[start:start + PIECE_CHARS]):
            if _keep(morpheme) in wanted:
                found.append((start + morpheme.begin(), start + morpheme.end()))
                continue
            parts = morpheme.split(SplitMode.A)
            if len(parts) > 1:
                found.extend((start + part.begin(), start + part.end()) for part in parts if _keep(part) in wanted)
    return found
