#!/usr/bin/python3
"""Re-measures the labels of a toy model's mechanisms.json with the
independent float64 reference forward (tests/models/reference), on fresh
held-out inputs drawn here from the toy's own task description, so that the
labels do not lean on mechlens' forward, hooks or trainer. Prints JSON with
per-head scores [layer][head]:

  induction:    induction_score (attention from each second-half position to
                the token after that word's first occurrence), previous_token_score
                (attention to the previous position), accuracy_when_zeroed
                (second-half next-token accuracy with the head's output zeroed)
  grammar_bert: attention_to_subject, attention_to_next (from the masked verb),
                agreement_accuracy_when_zeroed (the right-number form of the true
                verb out-scores the other-number form at the [MASK])

usage: remeasure_labels.py TOY_DIR   (experiments/toy/models/induction or grammar_bert)
"""
import json
import os
import random
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "reference"))
from reference_models import ReferenceModel  # noqa: E402


def per_head(model, fn):
    return [[fn(layer, head) for head in range(model.heads)] for layer in range(model.layers)]


def induction(model, mech, directory):
    with open(os.path.join(directory, "tokenizer.json")) as f:
        vocab = json.load(f)["model"]["vocab"]
    words = [vocab["\u0120" + w] for w in mech["words"]]  # " word" as the byte-level BPE spells it
    n = mech["half_length"]
    rng = random.Random(7)
    rows = []
    for _ in range(64):
        first = rng.sample(words, n)
        rows.append(first + first)
    T = 2 * n
    clean = model.forward_many(rows, internals=True)
    q = torch.arange(1, T)
    q2 = torch.arange(n, T)
    target = torch.tensor(rows)[:, n + 1:]

    def accuracy(out):
        return float((out["logits"][:, n:T - 1].argmax(-1) == target).double().mean())

    return {
        "induction_score": per_head(model, lambda l, h: float(clean["pattern_%d" % l][:, h, q2, q2 - n + 1].mean())),
        "previous_token_score": per_head(model, lambda l, h: float(clean["pattern_%d" % l][:, h, q, q - 1].mean())),
        # Uniform attention over the causal prefix, the score of a head that ignores position.
        "previous_token_chance": float(sum(1.0 / (i + 1) for i in range(1, T)) / (T - 1)),
        "accuracy": accuracy(clean),
        "accuracy_when_zeroed": per_head(model, lambda l, h: accuracy(model.forward_many(rows, [(l, h)]))),
    }


def grammar_bert(model, mech, directory):
    with open(os.path.join(directory, "vocab.txt")) as f:
        vocab = {w.strip(): i for i, w in enumerate(f)}
    g = mech["grammar"]
    rng = random.Random(7)
    sentences = []  # (words, subject index, verb index, lemma, plural)
    for _ in range(200):
        words = ["the"] + rng.sample(g["adjectives"], rng.randint(0, 2))
        subject = rng.choice(g["nouns"])
        plural = rng.random() < 0.5
        words.append(subject["plural" if plural else "singular"])
        subject_at = len(words) - 1
        for _ in range(rng.randint(0, 2)):
            words += [rng.choice(g["prepositions"]), "the"] + rng.sample(g["adjectives"], rng.randint(0, 1))
            words.append(rng.choice(g["nouns"])["plural" if rng.random() < 0.5 else "singular"])
        verb = rng.choice(g["verbs"])
        words += ["[MASK]", verb["adverb"], "."]
        sentences.append((words, subject_at, len(words) - 3, verb, plural))
    # One batch per length (no padding in the reference call).
    by_length = {}
    for s in sentences:
        by_length.setdefault(len(s[0]), []).append(s)

    def measure(zero_heads, internals):
        sums = {"subject": torch.zeros(model.layers, model.heads), "next": torch.zeros(model.layers, model.heads)}
        right = 0
        for group in by_length.values():
            rows = [[vocab["[CLS]"]] + [vocab[w] for w in s[0]] + [vocab["[SEP]"]] for s in group]
            out = model.forward_many(rows, zero_heads, internals)
            for b, (words, subject_at, mask_at, verb, plural) in enumerate(group):
                m = mask_at + 1  # after [CLS]
                logits = out["logits"][b, m]
                good = vocab[verb["plural" if plural else "singular"]]
                bad = vocab[verb["singular" if plural else "plural"]]
                right += int(logits[good] > logits[bad])
                if internals:
                    for layer in range(model.layers):
                        pattern = out["pattern_%d" % layer][b]
                        sums["subject"][layer] += pattern[:, m, subject_at + 1]
                        sums["next"][layer] += pattern[:, m, m + 1]
        return sums, right / len(sentences)

    sums, accuracy = measure((), True)
    return {
        "attention_to_subject": (sums["subject"] / len(sentences)).tolist(),
        "attention_to_next": (sums["next"] / len(sentences)).tolist(),
        "agreement_accuracy": accuracy,
        "agreement_accuracy_when_zeroed": per_head(model, lambda l, h: measure([(l, h)], False)[1]),
    }


def main():
    directory = sys.argv[1]
    with open(os.path.join(directory, "mechanisms.json")) as f:
        mech = json.load(f)
    model = ReferenceModel(directory)
    name = os.path.basename(os.path.normpath(directory))
    measured = {"induction": induction, "grammar_bert": grammar_bert}[name](model, mech, directory)
    print(json.dumps(measured))


if __name__ == "__main__":
    main()
