"""Baseline: TF-IDF (word 1-2-grams + character 2-5-grams) and logistic regression."""

from __future__ import annotations

import numpy as np


class TfidfClassifier:
    """Word and character n-gram TF-IDF features, class-balanced logistic regression.

    Character n-grams (within word boundaries) let ``#yycflood`` and ``#qldflood`` share
    features, which matters when training on one flood and testing on another.
    """

    def __init__(self, C: float = 4.0, max_features: int = 200_000, seed: int = 0):
        self.C, self.max_features, self.seed = C, max_features, seed
        self.classes_: list[str] = []

    def fit(self, texts, labels, sample_weight=None):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion, make_pipeline

        self._min_df = 2 if len(texts) >= 200 else 1
        feats = FeatureUnion(
            [
                (
                    "word",
                    TfidfVectorizer(
                        ngram_range=(1, 2),
                        min_df=self._min_df,
                        sublinear_tf=True,
                        lowercase=True,
                        max_features=self.max_features,
                    ),
                ),
                (
                    "char",
                    TfidfVectorizer(
                        analyzer="char_wb",
                        ngram_range=(2, 5),
                        min_df=self._min_df,
                        sublinear_tf=True,
                        lowercase=True,
                        max_features=self.max_features,
                    ),
                ),
            ]
        )
        self.pipe_ = make_pipeline(
            feats,
            LogisticRegression(
                C=self.C, max_iter=2000, class_weight="balanced", random_state=self.seed
            ),
        )
        self.pipe_.fit(list(texts), list(labels), logisticregression__sample_weight=sample_weight)
        self.classes_ = [str(c) for c in self.pipe_.classes_]
        return self

    def predict_proba(self, texts) -> np.ndarray:
        return self.pipe_.predict_proba(list(texts))

    def predict(self, texts) -> list[str]:
        return [str(c) for c in self.pipe_.predict(list(texts))]
