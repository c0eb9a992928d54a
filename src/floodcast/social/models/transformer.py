"""A small transformer encoder trained from scratch (no pretrained weights).

Tokeniser: byte-level BPE learnt on the training texts (``tokenizers``), lower-cased,
so hashtags such as ``#yycflood`` / ``#qldflood`` share the ``flood`` piece across
events. Encoder: token + position embeddings, ``layers`` pre-norm transformer layers,
masked mean pooling, linear head. Training: AdamW, cross-entropy with class weights,
a held-out 10 % of the training data picks the best epoch; training stops after
``epochs`` or ``max_seconds`` (whichever first), so CPU runs are bounded.
"""

from __future__ import annotations

import time

import numpy as np


def _train_tokenizer(texts: list[str], vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=["[PAD]", "[UNK]"],
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return tok


def _build_net(
    vocab: int, n_classes: int, d: int, heads: int, layers: int, max_len: int, dropout: float
):
    import torch
    from torch import nn

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = nn.Embedding(vocab, d, padding_idx=0)
            self.pos = nn.Embedding(max_len, d)
            layer = nn.TransformerEncoderLayer(
                d, heads, 2 * d, dropout, batch_first=True, norm_first=True
            )
            self.enc = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(d)
            self.drop = nn.Dropout(dropout)
            self.head = nn.Linear(d, n_classes)

        def forward(self, ids):
            mask = ids != 0
            pos = torch.arange(ids.shape[1], device=ids.device)
            h = self.drop(self.tok(ids) + self.pos(pos)[None])
            h = self.norm(self.enc(h, src_key_padding_mask=~mask))
            m = mask.unsqueeze(-1).float()
            pooled = (h * m).sum(1) / m.sum(1).clamp(min=1.0)
            return self.head(self.drop(pooled))

    return Encoder()


class TransformerClassifier:
    def __init__(
        self,
        d: int = 96,
        heads: int = 4,
        layers: int = 2,
        max_len: int = 48,
        vocab_size: int = 6000,
        epochs: int = 8,
        batch_size: int = 64,
        lr: float = 1e-3,
        dropout: float = 0.1,
        max_seconds: float = 300.0,
        seed: int = 0,
        verbose: bool = False,
    ):
        self.d, self.heads, self.layers, self.max_len = d, heads, layers, max_len
        self.vocab_size, self.epochs, self.batch_size, self.lr = vocab_size, epochs, batch_size, lr
        self.dropout, self.max_seconds, self.seed, self.verbose = (
            dropout,
            max_seconds,
            seed,
            verbose,
        )
        self.classes_: list[str] = []
        self.history_: list[dict] = []

    def _encode(self, texts) -> np.ndarray:
        out = np.zeros((len(texts), self.max_len), dtype=np.int64)
        for i, enc in enumerate(self.tok_.encode_batch([str(t) for t in texts])):
            ids = enc.ids[: self.max_len] or [1]  # empty text -> one [UNK]
            out[i, : len(ids)] = ids
        return out

    def fit(self, texts, labels):
        import torch
        from torch import nn

        texts, labels = [str(t) for t in texts], [str(y) for y in labels]
        self.classes_ = sorted(set(labels))
        y = np.array([self.classes_.index(v) for v in labels], dtype=np.int64)
        rng = np.random.default_rng(self.seed)
        torch.manual_seed(self.seed)
        self.tok_ = _train_tokenizer(texts, self.vocab_size)
        X = self._encode(texts)
        idx = rng.permutation(len(texts))
        n_val = max(1, len(texts) // 10) if len(texts) >= 20 else 0
        val, tr = idx[:n_val], idx[n_val:]
        self.net_ = _build_net(
            self.tok_.get_vocab_size(),
            len(self.classes_),
            self.d,
            self.heads,
            self.layers,
            self.max_len,
            self.dropout,
        )
        counts = np.bincount(y[tr], minlength=len(self.classes_)).astype(np.float32)
        w = torch.tensor(counts.sum() / np.maximum(counts, 1) / len(counts))
        loss_fn = nn.CrossEntropyLoss(weight=w)
        opt = torch.optim.AdamW(self.net_.parameters(), lr=self.lr, weight_decay=0.01)
        steps = max(1, self.epochs * int(np.ceil(len(tr) / self.batch_size)))
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, self.lr, total_steps=steps, pct_start=0.1)
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
        best, best_state, t0, step = -1.0, None, time.monotonic(), 0
        for epoch in range(self.epochs):
            self.net_.train()
            perm = tr[rng.permutation(len(tr))]
            total = 0.0
            for b in range(0, len(perm), self.batch_size):
                bi = torch.from_numpy(perm[b : b + self.batch_size])
                ids = Xt[bi]
                ids = ids[:, : max(1, int((ids != 0).sum(1).max()))]
                loss = loss_fn(self.net_(ids), yt[bi])
                opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(self.net_.parameters(), 1.0)
                opt.step()
                if step < steps - 1:
                    sched.step()
                    step += 1
                total += float(loss.detach()) * len(bi)
            score = self._val_score(Xt[val], y[val]) if n_val else -float(total)
            self.history_.append(
                {
                    "epoch": epoch + 1,
                    "loss": total / max(1, len(tr)),
                    "val_macro_f1": score,
                    "seconds": time.monotonic() - t0,
                }
            )
            if self.verbose:
                print(
                    f"  epoch {epoch + 1}: loss {total / max(1, len(tr)):.4f} "
                    f"val macro-F1 {score:.4f} ({time.monotonic() - t0:.0f}s)",
                    flush=True,
                )
            if score > best:
                best = score
                best_state = {k: v.detach().clone() for k, v in self.net_.state_dict().items()}
            if time.monotonic() - t0 > self.max_seconds:
                break
        if best_state is not None:
            self.net_.load_state_dict(best_state)
        self.net_.eval()
        return self

    def _val_score(self, Xv, yv) -> float:
        from sklearn.metrics import f1_score

        pred = self._logits(Xv).argmax(1)
        return float(f1_score(yv, pred, average="macro", zero_division=0))

    def _logits(self, X) -> np.ndarray:
        import torch

        self.net_.eval()
        X = torch.as_tensor(X)
        outs = []
        with torch.no_grad():
            for b in range(0, len(X), 256):
                ids = X[b : b + 256]
                ids = ids[:, : max(1, int((ids != 0).sum(1).max()))]
                outs.append(self.net_(ids).numpy())
        self.net_.train(False)
        return np.concatenate(outs) if outs else np.zeros((0, len(self.classes_)))

    def predict_proba(self, texts) -> np.ndarray:
        z = self._logits(self._encode(texts))
        z = z - z.max(1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(1, keepdims=True)

    def predict(self, texts) -> list[str]:
        return [self.classes_[i] for i in self.predict_proba(texts).argmax(1)]
