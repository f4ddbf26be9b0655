"""Text out of a stored file, a page (PDF) or a block (DOCX, text) at a time, never the whole file in
memory; and chunks cut on structure (headings, paragraphs) with a little overlap for retrieval."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

CHUNK_CHARS = 800  # a passage: a few paragraphs of English, a long paragraph of Japanese
OVERLAP_CHARS = 120  # the end of one chunk starts the next, so a sentence across the cut is found whole
TEXT_BLOCK = 256 * 1024


@dataclass(frozen=True)
class Block:
    """A piece of a document: a paragraph (or a page's text), with the heading it falls under."""

    text: str
    page: int | None = None
    heading: bool = False


@dataclass(frozen=True)
class Piece:
    text: str
    page: int | None
    heading: str


class ExtractionFailed(Exception):
    """The file cannot be read as its type (a damaged or encrypted PDF, a broken DOCX)."""


def page_count(path: Path, file_type: str) -> int | None:
    if file_type != "pdf":
        return None
    from pypdf import PdfReader

    try:
        with path.open("rb") as handle:  # a handle, not the path: pypdf reads a whole path into memory
            return len(PdfReader(handle).pages)
    except Exception as error:  # noqa: BLE001 (pypdf raises many kinds for damaged files)
        raise ExtractionFailed(f"the PDF cannot be read ({error.__class__.__name__})") from None


def blocks(path: Path, file_type: str, *, start_page: int = 0) -> Iterator[Block]:
    if file_type == "pdf":
        yield from _pdf(path, start_page)
    elif file_type == "docx":
        yield from _docx(path)
    else:
        yield from _text(path)


def _pdf(path: Path, start_page: int) -> Iterator[Block]:
    from pypdf import PdfReader

    try:
        with path.open("rb") as handle:  # read from disk as needed: pypdf reads a whole path into memory
            reader = PdfReader(handle)
            if reader.is_encrypted:
                raise ExtractionFailed("the PDF is encrypted")
            for number in range(start_page, len(reader.pages)):
                text = reader.pages[number].extract_text() or ""
                # pypdf keeps every object it resolved, photos included: a page's are not needed again.
                reader.resolved_objects.clear()
                for paragraph in re.split(r"\n\s*\n", text):
                    if paragraph.strip():
                        yield Block(paragraph.strip(), page=number + 1)
                yield Block("", page=number + 1)  # the page is done (progress)
    except ExtractionFailed:
        raise
    except Exception as error:  # noqa: BLE001
        raise ExtractionFailed(f"the PDF cannot be read ({error.__class__.__name__})") from None


def _docx(path: Path) -> Iterator[Block]:
    import docx

    try:
        document = docx.Document(str(path))
        for paragraph in document.paragraphs:
            text = paragraph.text.strip()
            if text:
                style = (paragraph.style.name or "") if paragraph.style is not None else ""
                yield Block(text, heading=style.startswith(("Heading", "Title")) or style.startswith("見出し"))
        for table in document.tables:
            for row in table.rows:
                cells = [cell.text.strip() for cell in row.cells if cell.text.strip()]
                if cells:
                    yield Block(" | ".join(cells))
    except Exception as error:  # noqa: BLE001 (python-docx raises many kinds for damaged files)
        raise ExtractionFailed(f"the DOCX cannot be read ({error.__class__.__name__})") from None


def _text(path: Path) -> Iterator[Block]:
    with open(path, encoding="utf-8-sig", errors="replace") as source:
        carry = ""
        while piece := source.read(TEXT_BLOCK):
            parts = re.split(r"\n\s*\n", carry + piece)
            carry = parts.pop()
            for part in parts:
                if part.strip():
                    yield Block(part.strip(), heading=_looks_like_heading(part))
        if carry.strip():
            yield Block(carry.strip(), heading=_looks_like_heading(carry))


def _looks_like_heading(text: str) -> bool:
    """Markdown headings, or a short single line that ends without punctuation."""
    line = text.strip()
    ends_a_sentence = line.endswith(("。", ".", "、", ",", ":"))
    return line.startswith("#") or ("\n" not in line and len(line) <= 60 and not ends_a_sentence)


def chunks(source: Iterator[Block]) -> Iterator[Piece | int]:
    """Pieces of about CHUNK_CHARS that never span two headings (a heading starts a new piece, and
    the piece carries it); each starts with the last OVERLAP_CHARS of the one before under the same
    heading. Yields an int (the page just finished) between pieces, for progress."""
    heading, buffer, page, fresh = "", "", None, False

    def cut() -> Piece:
        nonlocal buffer, fresh
        piece = Piece(buffer.strip(), page, heading)
        buffer, fresh = buffer.strip()[-OVERLAP_CHARS:], False
        return piece

    for block in source:
        if not block.text:
            yield block.page
            continue
        if block.heading:
            if fresh:
                yield cut()
            heading, buffer, page = block.text.lstrip("# ").strip()[:300], "", block.page
            continue
        for part in _split_long(block.text):
            if fresh and len(buffer) + len(part) + 1 > CHUNK_CHARS:
                yield cut()
            if not fresh:
                page = block.page
            buffer, fresh = (f"{buffer}\n{part}" if buffer else part), True
    if fresh:
        yield cut()


def _split_long(text: str) -> list[str]:
    """A paragraph longer than a chunk, cut at sentence ends where it can be."""
    if len(text) <= CHUNK_CHARS:
        return [text]
    sentences = re.split(r"(?<=[。．.!?！？])\s*", text)
    parts, current = [], ""
    for sentence in sentences:
        while len(sentence) > CHUNK_CHARS:
            parts.append(sentence[:CHUNK_CHARS])
            sentence = sentence[CHUNK_CHARS:]
        if current and len(current) + len(sentence) > CHUNK_CHARS:
            parts.append(current)
            current = ""
        current += sentence
    if current:
        parts.append(current)
    return parts
