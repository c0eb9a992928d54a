"""Topics by LDA (scikit-learn): top words per topic and per-topic sentiment."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

# Normalisation placeholders and Twitter noise that would otherwise top every topic.
_EXTRA_STOP = {
    "url",
    "user",
    "rt",
    "amp",
    "via",
    "http",
    "https",
    "co",
    "just",
    "like",
    "get",
    "got",
    "im",
    "dont",
    "u",
    "ur",
    "lol",
    "today",
    "new",
    "one",
}
_TOKEN = r"(?u)(?<![\w@])#?[a-zA-Z][a-zA-Z']{2,}"


@dataclass
class TopicModel:
    n_topics: int
    top_words: list[list[str]] = field(default_factory=list)
    doc_topic: np.ndarray | None = None  # (n_docs, n_topics)

    @property
    def dominant(self) -> np.ndarray:
        return self.doc_topic.argmax(1) if self.doc_topic is not None else np.zeros(0, int)


def fit_lda(
    texts, n_topics: int = 6, n_top: int = 10, seed: int = 0, max_iter: int = 20
) -> TopicModel:
    """Fit LDA on word counts (English stop words, placeholders removed)."""
    from sklearn.decomposition import LatentDirichletAllocation
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    texts = [re.sub(r"\b(URL|@USER)\b", " ", str(t)) for t in texts]
    n = len(texts)
    stop = sorted(ENGLISH_STOP_WORDS | _EXTRA_STOP)
    vec = CountVectorizer(
        lowercase=True,
        token_pattern=_TOKEN,
        stop_words=stop,
        min_df=2 if n >= 50 else 1,
        max_df=0.5 if n >= 50 else 1.0,
        max_features=5000,
    )
    try:
        X = vec.fit_transform(texts)
    except ValueError:  # empty vocabulary (too few / too short posts)
        return TopicModel(n_topics=0, doc_topic=np.zeros((n, 0)))
    k = max(1, min(n_topics, X.shape[0] // 2 or 1, X.shape[1]))
    lda = LatentDirichletAllocation(
        n_components=k, learning_method="batch", max_iter=max_iter, random_state=seed
    )
    doc_topic = lda.fit_transform(X)
    vocab = np.array(vec.get_feature_names_out())
    top = [vocab[np.argsort(comp)[::-1][:n_top]].tolist() for comp in lda.components_]
    return TopicModel(n_topics=k, top_words=top, doc_topic=doc_topic)


def topic_table(
    tm: TopicModel,
    sentiment: pd.Series | np.ndarray,
    positive: pd.Series | np.ndarray | None = None,
) -> pd.DataFrame:
    """One row per topic: top words, number of posts whose dominant topic it is,
    mean VADER compound and share positive of those posts."""
    sent = np.asarray(sentiment, float)
    pos = np.asarray(positive, bool) if positive is not None else sent >= 0.05
    dom = tm.dominant
    rows = []
    for k in range(tm.n_topics):
        m = dom == k
        rows.append(
            {
                "topic": k,
                "top_words": " ".join(tm.top_words[k]),
                "posts": int(m.sum()),
                "mean_sentiment": float(sent[m].mean()) if m.any() else float("nan"),
                "share_positive": float(pos[m].mean()) if m.any() else float("nan"),
            }
        )
    return pd.DataFrame(
        rows, columns=["topic", "top_words", "posts", "mean_sentiment", "share_positive"]
    )
