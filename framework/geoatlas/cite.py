"""BibTeX for a plugin's papers (``geoatlas cite ponita``) and for geoatlas itself."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

GEOATLAS_BIBTEX = """@software{geoatlas,
  title = {geoatlas: geometric deep-learning methods as plugins},
  author = {{The geoatlas developers}},
  year = {2026},
  version = {%s},
  license = {MIT},
  note = {See CITATION.cff in the repository}
}
"""


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _key(paper: Any) -> str:
    last = re.sub(r"[^A-Za-z]", "", _ascii(paper.authors[0].split()[-1])) if paper.authors else "anon"
    word = next((w for w in re.findall(r"[A-Za-z]+", _ascii(paper.title)) if len(w) > 3), "paper")
    return f"{last.lower()}{paper.year}{word.lower()}"


_CONFERENCES = ("ICML", "ICLR", "NeurIPS", "NIPS", "CVPR", "ICCV", "ECCV", "AAAI", "IJCAI", "KDD", "CIKM", "WWW",
                "SIGIR", "AISTATS", "UAI", "COLT", "WSDM", "VLDB", "SIGMOD", "MICCAI", "ACL", "EMNLP")


def paper_bibtex(paper: Any) -> str:
    """One BibTeX entry: ``@inproceedings`` for a conference, ``@article`` otherwise (arXiv
    preprints carry ``eprint``/``archivePrefix``)."""
    venue = paper.venue or ""
    conf = any(c.lower() in venue.lower() for c in _CONFERENCES)
    kind = "inproceedings" if conf else "article"
    fields = [("title", "{" + paper.title + "}"), ("author", " and ".join(paper.authors)), ("year", str(paper.year))]
    if venue:
        fields.append(("booktitle" if conf else "journal", venue))
    elif paper.arxiv:
        fields.append(("journal", f"arXiv preprint arXiv:{paper.arxiv}"))
    if paper.arxiv:
        fields += [("eprint", paper.arxiv), ("archivePrefix", "arXiv")]
    if paper.url:
        fields.append(("url", paper.url))
    body = ",\n".join(f"  {k} = {{{v}}}" for k, v in fields)
    return f"@{kind}{{{_key(paper)},\n{body}\n}}\n"


def bibtex_for(name: str) -> str:
    """BibTeX of the papers of a plugin (by id, or the plugin owning a component), or of geoatlas."""
    from . import __version__
    from .api import _find_any_kind
    from .errors import GeoatlasError
    from .plugins import catalog

    if name == "geoatlas":
        return GEOATLAS_BIBTEX % __version__
    cat = catalog()
    plugin = name if name in cat.statuses else _find_any_kind(name).plugin
    manifest = cat.statuses[plugin].manifest
    if manifest is None or not manifest.papers:
        raise GeoatlasError(f"plugin {plugin!r} names no paper to cite; cite geoatlas itself: `geoatlas cite geoatlas`")
    return "\n".join(paper_bibtex(p) for p in manifest.papers)
