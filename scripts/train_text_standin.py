#!/usr/bin/env python3
"""Train the PyTorch STAND-IN text CNN for relprop's text explanations (issue 5).

This model stands in for the text CNN that relprop's own trainer (`relprop train`, src/core/train/)
will produce; it exists so that explain-text, the word-deleting experiment and the document
vectors can be developed and tested now. Replace it by the relprop-trained model when that lands.

Architecture (Arras et al., arXiv 1606.07298, at this corpus' scale):
  ids [N, L] (int64) -> Embedding(V, 64, padding row = 0) -> transpose -> Conv1d(64, 128, width 3)
  -> ReLU -> max over time (GlobalMaxPool) -> Flatten -> Dropout(0.5, training only) -> Linear(128, 12)

The token ids come from relprop's own tokenizer and vocabulary (so they agree with what
`relprop explain-text` produces):
  relprop text-vocab  --data train.jsonl --out textcnn.vocab.json --min-count 2
  relprop text-encode --vocab textcnn.vocab.json --data train.jsonl --out train.ids.jsonl
  relprop text-encode --vocab textcnn.vocab.json --data test.jsonl  --out test.ids.jsonl
(examples/text/standin/make.sh runs all of it.)

Also trains a TF-IDF + logistic regression baseline on the same tokens (no scikit-learn here, so
it is reimplemented in torch: raw counts, smooth idf, L2-normalised rows, L2-regularised
multinomial logistic regression with C = 1 fitted by L-BFGS, as scikit-learn's defaults) and
writes every number to metrics.json.

Usage: train_text_standin.py TRAIN_IDS TEST_IDS VOCAB_JSON OUT_DIR
Writes OUT_DIR/textcnn.onnx and OUT_DIR/metrics.json. Deterministic (seeded, CPU).
"""
import argparse
import json
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SEED = 20160622
EMB = 64
FILTERS = 128
WIDTH = 3
EPOCHS = 40
BATCH = 32
LR = 2e-3
WEIGHT_DECAY = 1e-5
DROPOUT = 0.5
WORD_DROPOUT = 0.1  # training only: replace a token by <unk> with this probability
VALID_FRACTION = 0.1


def ppmi_svd_vectors(train, V, dim, pad_id, unk_id, window=5, contexts=2000, alpha=0.75):
    """Word vectors from the training split alone: positive PMI of (word, context word) counts
    within +-window tokens (contexts: the most frequent words; context distribution smoothed by
    alpha), truncated SVD, U * sqrt(S), scaled to unit variance per dimension (like the default
    N(0, 1) embedding init). The padding row is 0."""
    C = np.zeros((V, contexts), dtype=np.float64)
    for ids, _, n in train:
        seq = np.asarray(ids[:n])
        for off in range(1, window + 1):
            a, b = seq[:-off], seq[off:]
            for x, y in ((a, b), (b, a)):
                m = (y < contexts) & (y != pad_id) & (y != unk_id)
                np.add.at(C, (x[m], y[m]), 1.0)
    total = C.sum()
    pw = C.sum(1, keepdims=True) / total
    pc = C.sum(0, keepdims=True) ** alpha
    pc = pc / pc.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        pmi = np.log((C / total) / (pw * pc))
    ppmi = np.where(np.isfinite(pmi) & (pmi > 0), pmi, 0.0)
    U, S, _ = np.linalg.svd(ppmi, full_matrices=False)
    E = U[:, :dim] * np.sqrt(S[:dim])
    E = E / E.std(0, keepdims=True).clip(1e-12)
    E[pad_id] = 0
    return torch.tensor(E, dtype=torch.float32)


def load_ids(path):
    docs = [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]
    return [(d["ids"], d["y"], d["n"]) for d in docs]


class TextCNN(nn.Module):
    def __init__(self, vocab, classes, pad_id, emb_dropout=0.0, init=None):
        super().__init__()
        self.emb = nn.Embedding(vocab, EMB, padding_idx=pad_id)
        if init is not None:
            with torch.no_grad():
                self.emb.weight.copy_(init)
        self.emb_drop = nn.Dropout(emb_dropout)
        self.conv = nn.Conv1d(EMB, FILTERS, WIDTH)
        self.relu = nn.ReLU()
        self.pool = nn.AdaptiveMaxPool1d(1)  # exported as GlobalMaxPool (dynamic length)
        self.flatten = nn.Flatten()
        self.drop = nn.Dropout(DROPOUT)
        self.fc = nn.Linear(FILTERS, classes)

    def forward(self, ids):
        x = self.emb_drop(self.emb(ids)).transpose(1, 2)
        x = self.flatten(self.pool(self.relu(self.conv(x))))
        return self.fc(self.drop(x))


def bucketed_order(data, rng):
    """Shuffle, then batch documents of the same row length together (less padding, same
    predictions: every row keeps >= 3 trailing paddings, see the vocabulary's minPad)."""
    by_len = {}
    for j in rng.permutation(len(data)).tolist():
        by_len.setdefault(len(data[j][0]), []).append(j)
    chunks = [ids[i : i + BATCH] for ids in by_len.values() for i in range(0, len(ids), BATCH)]
    return [chunks[k] for k in rng.permutation(len(chunks)).tolist()]


def batches(data, order, pad_id):
    chunks = order if order and isinstance(order[0], list) else [order[i : i + BATCH] for i in range(0, len(order), BATCH)]
    for chunk in chunks:
        part = [data[j] for j in chunk]
        L = max(len(p[0]) for p in part)
        ids = torch.full((len(part), L), pad_id, dtype=torch.long)
        for r, (row, _, _) in enumerate(part):
            ids[r, : len(row)] = torch.tensor(row)
        yield ids, torch.tensor([p[1] for p in part])


def predict(model, data, pad_id):
    model.eval()
    out = []
    with torch.no_grad():
        for ids, _ in batches(data, list(range(len(data))), pad_id):
            out.append(model(ids))
    return torch.cat(out)


def per_class(y, pred, labels):
    y = np.asarray(y)
    pred = np.asarray(pred)
    res = {}
    for k, name in enumerate(labels):
        m = y == k
        tp = int(((pred == k) & m).sum())
        prec = tp / max(1, int((pred == k).sum()))
        rec = tp / max(1, int(m.sum()))
        f1 = 2 * prec * rec / max(1e-12, prec + rec)
        res[name] = {"n": int(m.sum()), "accuracy": rec, "precision": prec, "f1": f1}
    return res


def confusion(y, pred, K):
    c = np.zeros((K, K), dtype=int)
    for a, b in zip(y, pred):
        c[a, b] += 1
    return c.tolist()


def tfidf_baseline(train, test, V, K, pad_id, unk_id):
    """TF-IDF (smooth idf, l2 rows) + multinomial logistic regression (L2, C=1, L-BFGS)."""

    def counts(data):
        X = torch.zeros(len(data), V, dtype=torch.float64)
        for r, (row, _, n) in enumerate(data):
            for t in row[:n]:
                X[r, t] += 1
        X[:, pad_id] = 0
        X[:, unk_id] = 0  # unknown words are ignored, as scikit-learn's vectorizer does
        return X

    Xtr, Xte = counts(train), counts(test)
    df = (Xtr > 0).sum(0).double()
    idf = torch.log((1 + len(train)) / (1 + df)) + 1
    def tf(X):
        X = X * idf
        return X / X.norm(dim=1, keepdim=True).clamp_min(1e-12)
    Xtr, Xte = tf(Xtr), tf(Xte)
    ytr = torch.tensor([d[1] for d in train])
    W = torch.zeros(V, K, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(K, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([W, b], lr=1, max_iter=500, tolerance_grad=1e-8, history_size=20, line_search_fn="strong_wolfe")
    C = 1.0

    def closure():
        opt.zero_grad()
        # scikit-learn's objective: C * sum of losses + 0.5 * ||W||^2
        loss = C * F.cross_entropy(Xtr @ W + b, ytr, reduction="sum") + 0.5 * (W * W).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        pred = (Xte @ W + b).argmax(1).tolist()
    return pred


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("train_ids")
    ap.add_argument("test_ids")
    ap.add_argument("vocab")
    ap.add_argument("out_dir")
    ap.add_argument("--emb-init", choices=["random", "ppmi"], default="ppmi")
    ap.add_argument("--emb-dropout", type=float, default=0.0)
    ap.add_argument("--word-dropout", type=float, default=WORD_DROPOUT)
    ap.add_argument("--lr", type=float, default=LR)
    ap.add_argument("--epochs", type=int, default=EPOCHS, help="epochs searched on the validation split")
    ap.add_argument("--no-export", action="store_true", help="exploration: do not write the ONNX model")
    ap.add_argument("--tag", default="", help="suffix of metrics file name")
    a = ap.parse_args()
    train_path, test_path, vocab_path, out_dir = a.train_ids, a.test_ids, a.vocab, a.out_dir
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    torch.set_num_threads(2)
    vocab = json.load(open(vocab_path, encoding="utf-8"))
    pad_id, unk_id = vocab["padId"], vocab["unkId"]
    labels = vocab["labels"]
    V, K = len(vocab["tokens"]), len(labels)
    train_all, test = load_ids(train_path), load_ids(test_path)

    rng = np.random.default_rng(SEED)
    perm = rng.permutation(len(train_all))
    n_valid = int(round(VALID_FRACTION * len(train_all)))
    valid = [train_all[i] for i in perm[:n_valid]]
    train = [train_all[i] for i in perm[n_valid:]]

    def fit(train_set, epochs, valid_set=None):
        init = ppmi_svd_vectors(train_set, V, EMB, pad_id, unk_id) if a.emb_init == "ppmi" else None
        torch.manual_seed(SEED)
        model = TextCNN(V, K, pad_id, a.emb_dropout, init)
        opt = torch.optim.Adam(model.parameters(), lr=a.lr, weight_decay=WEIGHT_DECAY)
        history = []
        for epoch in range(epochs):
            model.train()
            order = bucketed_order(train_set, rng)
            total = 0.0
            for ids, y in batches(train_set, order, pad_id):
                if a.word_dropout > 0:
                    drop = (torch.rand(ids.shape) < a.word_dropout) & (ids != pad_id)
                    ids = ids.masked_fill(drop, unk_id)
                opt.zero_grad()
                loss = F.cross_entropy(model(ids), y)
                loss.backward()
                opt.step()
                total += float(loss) * len(y)
            row = {"epoch": epoch + 1, "train_loss": total / len(train_set)}
            if valid_set is not None:
                p = predict(model, valid_set, pad_id).argmax(1)
                row["valid_accuracy"] = float((p == torch.tensor([d[1] for d in valid_set])).float().mean())
            history.append(row)
            print(json.dumps(row), flush=True)
        return model, history

    t0 = time.time()
    # 1) choose the number of epochs on a held-out 10% of the training split
    _, history = fit(train, a.epochs, valid)
    best = max(history, key=lambda r: (r["valid_accuracy"], -r["epoch"]))
    epochs = best["epoch"]
    print(f"best epoch on validation: {epochs} ({best['valid_accuracy']:.4f})", flush=True)
    # 2) retrain on the whole training split for that many epochs
    model, final_history = fit(train_all, epochs)
    train_seconds = time.time() - t0

    logits = predict(model, test, pad_id)
    pred = logits.argmax(1).tolist()
    y = [d[1] for d in test]
    acc = float(np.mean(np.asarray(pred) == np.asarray(y)))
    pc = per_class(y, pred, labels)
    macro_f1 = float(np.mean([v["f1"] for v in pc.values()]))
    print(f"test accuracy {acc:.4f}, macro-F1 {macro_f1:.4f}", flush=True)

    base_pred = tfidf_baseline(train_all, test, V, K, pad_id, unk_id)
    base_acc = float(np.mean(np.asarray(base_pred) == np.asarray(y)))
    base_pc = per_class(y, base_pred, labels)
    base_f1 = float(np.mean([v["f1"] for v in base_pc.values()]))
    print(f"TF-IDF + logistic regression: test accuracy {base_acc:.4f}, macro-F1 {base_f1:.4f}", flush=True)

    model.eval()
    example = torch.tensor([test[0][0]])
    if not a.no_export:
        torch.onnx.export(
            model,
            (example,),
            f"{out_dir}/textcnn.onnx",
            input_names=["input"],
            output_names=["logits"],
            dynamic_axes={"input": {0: "batch", 1: "length"}, "logits": {0: "batch"}},
            opset_version=17,
            do_constant_folding=True,
        )
    metrics = {
        "model": "textcnn.onnx (PyTorch stand-in, to be replaced by a relprop-trained model)",
        "torch": torch.__version__,
        "architecture": f"Embedding({V},{EMB}, padding row 0) -> Dropout({a.emb_dropout}, training only) -> Conv1d({EMB},{FILTERS},{WIDTH}) -> ReLU -> max over time -> Dropout({DROPOUT}) -> Linear({FILTERS},{K})",
        "training": {
            "seed": SEED, "optimizer": "Adam", "lr": a.lr, "weight_decay": WEIGHT_DECAY, "batch": BATCH,
            "embedding_init": a.emb_init, "embedding_dropout": a.emb_dropout,
            "word_dropout": a.word_dropout, "validation_fraction": VALID_FRACTION,
            "epochs_searched": a.epochs, "epochs": epochs, "best_valid_accuracy": best["valid_accuracy"],
            "history_validation_run": history, "history_final_run": final_history, "seconds": train_seconds,
        },
        "test": {"documents": len(test), "accuracy": acc, "macro_f1": macro_f1, "per_class": pc, "confusion": confusion(y, pred, K), "labels": labels},
        "tfidf_logreg": {"accuracy": base_acc, "macro_f1": base_f1, "per_class": base_pc, "note": "same tokens (relprop tokenizer, min count 2, unknown words ignored); raw counts, smooth idf, l2 rows, multinomial LR with C=1 (L-BFGS)"},
        "test_logits_first5": logits[:5].tolist(),
    }
    json.dump(metrics, open(f"{out_dir}/metrics{a.tag}.json", "w"), indent=1)


if __name__ == "__main__":
    main()
