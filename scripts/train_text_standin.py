#!/usr/bin/env python3
"""Train the PyTorch STAND-IN text CNN for relprop's text explanations (issue 5).

This model stands in for the text CNN that relprop's own trainer (`relprop train`, src/train/)
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
import json
import math
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


def load_ids(path):
    docs = [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]
    return [(d["ids"], d["y"], d["n"]) for d in docs]


class TextCNN(nn.Module):
    def __init__(self, vocab, classes, pad_id):
        super().__init__()
        self.emb = nn.Embedding(vocab, EMB, padding_idx=pad_id)
        self.conv = nn.Conv1d(EMB, FILTERS, WIDTH)
        self.relu = nn.ReLU()
        self.pool = nn.AdaptiveMaxPool1d(1)  # exported as GlobalMaxPool (dynamic length)
        self.flatten = nn.Flatten()
        self.drop = nn.Dropout(DROPOUT)
        self.fc = nn.Linear(FILTERS, classes)

    def forward(self, ids):
        x = self.emb(ids).transpose(1, 2)
        x = self.flatten(self.pool(self.relu(self.conv(x))))
        return self.fc(self.drop(x))


def batches(data, order, pad_id):
    for i in range(0, len(order), BATCH):
        part = [data[j] for j in order[i : i + BATCH]]
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


def tfidf_baseline(train, test, V, K, pad_id):
    """TF-IDF (smooth idf, l2 rows) + multinomial logistic regression (L2, C=1, L-BFGS)."""

    def counts(data):
        X = torch.zeros(len(data), V, dtype=torch.float64)
        for r, (row, _, n) in enumerate(data):
            for t in row[:n]:
                X[r, t] += 1
        X[:, pad_id] = 0
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
    train_path, test_path, vocab_path, out_dir = sys.argv[1:5]
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
        torch.manual_seed(SEED)
        model = TextCNN(V, K, pad_id)
        opt = torch.optim.Adam(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
        history = []
        for epoch in range(epochs):
            model.train()
            order = rng.permutation(len(train_set)).tolist()
            total = 0.0
            for ids, y in batches(train_set, order, pad_id):
                if WORD_DROPOUT > 0:
                    drop = (torch.rand(ids.shape) < WORD_DROPOUT) & (ids != pad_id)
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
    _, history = fit(train, EPOCHS, valid)
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

    base_pred = tfidf_baseline(train_all, test, V, K, pad_id)
    base_acc = float(np.mean(np.asarray(base_pred) == np.asarray(y)))
    base_pc = per_class(y, base_pred, labels)
    base_f1 = float(np.mean([v["f1"] for v in base_pc.values()]))
    print(f"TF-IDF + logistic regression: test accuracy {base_acc:.4f}, macro-F1 {base_f1:.4f}", flush=True)

    model.eval()
    example = torch.tensor([test[0][0]])
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
        "architecture": f"Embedding({V},{EMB}, padding row 0) -> Conv1d({EMB},{FILTERS},{WIDTH}) -> ReLU -> max over time -> Dropout({DROPOUT}) -> Linear({FILTERS},{K})",
        "training": {
            "seed": SEED, "optimizer": "Adam", "lr": LR, "weight_decay": WEIGHT_DECAY, "batch": BATCH,
            "word_dropout": WORD_DROPOUT, "validation_fraction": VALID_FRACTION,
            "epochs_searched": EPOCHS, "epochs": epochs, "best_valid_accuracy": best["valid_accuracy"],
            "history_validation_run": history, "history_final_run": final_history, "seconds": train_seconds,
        },
        "test": {"documents": len(test), "accuracy": acc, "macro_f1": macro_f1, "per_class": pc, "confusion": confusion(y, pred, K), "labels": labels},
        "tfidf_logreg": {"accuracy": base_acc, "macro_f1": base_f1, "per_class": base_pc, "note": "same tokens (relprop tokenizer, min count 2); smooth idf, l2 rows, multinomial LR with C=1 (L-BFGS)"},
        "test_logits_first5": logits[:5].tolist(),
    }
    json.dump(metrics, open(f"{out_dir}/metrics.json", "w"), indent=1)


if __name__ == "__main__":
    main()
