"""Train the peer libraries on a Marquee split and score them with Marquee.

For each peer, a search of the same budget as Marquee's tuning runs on the
validation split that `marquee pipeline tune` wrote, and its first trial is
the library's defaults. Then the defaults and the best parameters are
trained on the whole training split and scored on the test split. Every ranking is
written as a CSV of user_id,rank,item_id and scored by
`marquee pipeline evaluate --recs`; surprise's SVD writes a CSV of
user_id,item_id,prediction scored by `marquee pipeline evaluate
--predictions`. The results go to a JSON file.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import scipy.sparse as sp

import implicit
import surprise
from implicit.als import AlternatingLeastSquares
from implicit.nearest_neighbours import BM25Recommender, CosineRecommender
from threadpoolctl import threadpool_limits

LIST_LENGTH = 20  # Marquee's Recall@20 needs 20 items a user

# Search spaces: a list of values to pick from, or ("log", low, high, kind)
# for a log-uniform draw, kind being int or float.
SPACES = {
    "implicit-als": {
        "factors": [32, 64, 128, 256],
        "regularization": ("log", 0.001, 100.0, float),
        "alpha": ("log", 0.1, 30.0, float),
        "iterations": [10, 15, 30],
        # implicit's ALS takes negative values as negative feedback, so it
        # gets the centred input that Marquee's EASE searches over too.
        "values": ["rating", "binary", "centered"],
    },
    "implicit-bm25": {
        "K": ("log", 10, 500, int),
        "K1": ("log", 0.3, 3.0, float),
        "B": [0.25, 0.5, 0.75, 1.0],
        "values": ["rating", "binary"],
    },
    "implicit-cosine": {
        "K": ("log", 10, 500, int),
        "values": ["rating", "binary"],
    },
    "surprise-svd": {
        "n_factors": [20, 50, 100, 200],
        "n_epochs": [10, 20, 40],
        "lr_all": ("log", 0.002, 0.02, float),
        "reg_all": ("log", 0.005, 0.2, float),
    },
}

# The libraries' own defaults, the first trial of every search.
DEFAULTS = {
    "implicit-als": {"factors": 100, "regularization": 0.01, "alpha": 1.0, "iterations": 15, "values": "rating"},
    "implicit-bm25": {"K": 20, "K1": 1.2, "B": 0.75, "values": "rating"},
    "implicit-cosine": {"K": 20, "values": "rating"},
    "surprise-svd": {"n_factors": 100, "n_epochs": 20, "lr_all": 0.005, "reg_all": 0.02},
}


def draw(space, rng):
    params = {}
    for name, dim in space.items():
        if isinstance(dim, tuple):
            _, low, high, kind = dim
            v = math.exp(rng.uniform(math.log(low), math.log(high)))
            params[name] = int(round(v)) if kind is int else float(f"{v:.3g}")
        else:
            params[name] = dim[rng.integers(len(dim))]
            if isinstance(params[name], np.generic):
                params[name] = params[name].item()
    return params


def read_split(folder):
    train = pd.read_parquet(os.path.join(folder, "train.parquet"))
    test = pd.read_parquet(os.path.join(folder, "test.parquet"))
    return train, test


class Matrix:
    """The user-by-item matrix of a training file, users and items in ID order."""

    def __init__(self, train):
        self.users = np.array(sorted(train.user_id.unique()))
        self.items = np.array(sorted(train.item_id.unique()))
        self.user_index = {u: i for i, u in enumerate(self.users)}
        rows = train.user_id.map(self.user_index).to_numpy()
        cols = np.searchsorted(self.items, train.item_id.to_numpy())
        shape = (len(self.users), len(self.items))
        self.ratings = sp.csr_matrix((train.rating.to_numpy(np.float32), (rows, cols)), shape=shape)
        self.binary = self.ratings.copy()
        self.binary.data[:] = 1
        # Ratings minus 2.5, as Marquee's centred input. A rating of exactly
        # 2.5 becomes a tiny negative value, not 0, so the pair stays stored
        # and the title stays filtered out as already seen.
        self.centered = self.ratings.copy()
        self.centered.data -= 2.5
        self.centered.data[self.centered.data == 0] = -0.01

    def values(self, kind):
        return {"rating": self.ratings, "binary": self.binary, "centered": self.centered}[kind]


def implicit_model(name, params, seed):
    if name == "implicit-als":
        return AlternatingLeastSquares(factors=params["factors"], regularization=params["regularization"],
                                       alpha=params["alpha"], iterations=params["iterations"], random_state=seed)
    if name == "implicit-bm25":
        return BM25Recommender(K=params["K"], K1=params["K1"], B=params["B"])
    return CosineRecommender(K=params["K"])


def rank_implicit(name, params, train, test, seed):
    """Fits an implicit model and returns the top-N lists of the test users."""
    m = Matrix(train)
    x = m.values(params["values"])
    model = implicit_model(name, params, seed)
    model.fit(x, show_progress=False)
    users = np.array([m.user_index[u] for u in sorted(test.user_id.unique()) if u in m.user_index])
    ids, _ = model.recommend(users, x[users], N=LIST_LENGTH, filter_already_liked_items=True)
    return {m.users[u]: [m.items[i] for i in row if i >= 0] for u, row in zip(users, ids)}


def rank_popularity(train, test):
    counts = train.groupby("item_id").user_id.nunique()
    # Most users first, ties by item ID, as Marquee's popularity model.
    order = sorted(counts.index, key=lambda i: (-counts[i], i))
    seen = train.groupby("user_id").item_id.apply(set)
    lists = {}
    for u in sorted(test.user_id.unique()):
        if u not in seen.index:
            continue
        own = seen[u]
        lists[u] = [i for i in order[: LIST_LENGTH + len(own)] if i not in own][:LIST_LENGTH]
    return lists


def predict_svd(params, train, test, seed):
    reader = surprise.Reader(rating_scale=(0.5, 5.0))
    data = surprise.Dataset.load_from_df(train[["user_id", "item_id", "rating"]], reader)
    algo = surprise.SVD(random_state=seed, **params)
    algo.fit(data.build_full_trainset())
    known = test[test.user_id.isin(set(train.user_id)) & test.item_id.isin(set(train.item_id))]
    preds = [algo.predict(u, i).est for u, i in zip(known.user_id, known.item_id)]
    return pd.DataFrame({"user_id": known.user_id, "item_id": known.item_id, "prediction": preds})


class Scorer:
    """Scores files with `marquee pipeline evaluate` on one run."""

    def __init__(self, marquee, workdir, run, out):
        self.marquee, self.workdir, self.run, self.out = marquee, workdir, run, out

    def evaluate(self, flag, path, split):
        cmd = [self.marquee, "--workdir", self.workdir, "--log-level", "warn", "pipeline", "evaluate",
               "--run", self.run, flag, path, "--split", split, "--output", "json"]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {res.stderr.strip()}")
        return next(iter(json.loads(res.stdout).values()))

    def lists(self, lists, name, split):
        path = os.path.join(self.out, f"{name}.{split}.csv")
        with open(path, "w") as f:
            f.write("user_id,rank,item_id\n")
            for user in sorted(lists):
                for rank, item in enumerate(lists[user], 1):
                    f.write(f"{user},{rank},{item}\n")
        return self.evaluate("--recs", path, split)

    def predictions(self, frame, name, split):
        path = os.path.join(self.out, f"{name}.{split}.csv")
        frame.to_csv(path, index=False)
        return self.evaluate("--predictions", path, split)


def run_peer(name, scorer, validation, full, trials, seed):
    """Searches a peer on the validation split and scores it on test."""
    objective = "rmse" if name == "surprise-svd" else "ndcg_at_10"

    def score(params, data, split, tag):
        train, test = data
        start = time.time()
        if name == "surprise-svd":
            metrics = scorer.predictions(predict_svd(params, train, test, seed), f"{name}-{tag}", split)
        else:
            metrics = scorer.lists(rank_implicit(name, params, train, test, seed), f"{name}-{tag}", split)
        return metrics, time.time() - start

    rng = np.random.default_rng(seed)
    points = [DEFAULTS[name]] + [draw(SPACES[name], rng) for _ in range(trials - 1)]
    results, best, best_value = [], None, None
    for k, params in enumerate(points):
        metrics, seconds = score(params, validation, "validation", "trial")
        value = metrics.get(objective)
        results.append({"params": params, "metrics": metrics, "seconds": seconds})
        better = best is None or (value < best_value if objective == "rmse" else value > best_value)
        if better:
            best, best_value = params, value
        print(f"{name} trial {k + 1}/{len(points)} {objective}={value:.4f} {params}", file=sys.stderr, flush=True)
    default, _ = score(DEFAULTS[name], full, "test", "default")
    tuned, seconds = score(best, full, "test", "tuned")
    return {"objective": objective, "best_params": best, "best_validation": best_value, "default_params": DEFAULTS[name],
            "default_test": default, "tuned_test": tuned, "tuned_seconds": seconds, "trials": results}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--marquee", required=True, help="path of the marquee binary")
    ap.add_argument("--workdir", required=True, help="Marquee workdir holding the run")
    ap.add_argument("--run", required=True, help="run ID whose split and validation split to use")
    ap.add_argument("--trials", type=int, default=20, help="parameter sets per peer, the first being the defaults")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", required=True, help="folder for the lists and peers.json")
    args = ap.parse_args()

    split = os.path.join(args.workdir, "runs", args.run, "split")
    full = read_split(split)
    validation = read_split(os.path.join(split, "validation"))
    os.makedirs(args.out, exist_ok=True)
    scorer = Scorer(args.marquee, args.workdir, args.run, args.out)

    report = {"versions": {"python": sys.version.split()[0], "implicit": implicit.__version__,
                           "scikit-surprise": surprise.__version__, "numpy": np.__version__, "pandas": pd.__version__},
              "trials_per_model": args.trials, "seed": args.seed, "peers": {}}
    # implicit's ALS warns unless BLAS runs single-threaded, because it runs
    # its own threads.
    with threadpool_limits(1, "blas"):
        for name in ["implicit-als", "implicit-bm25", "implicit-cosine", "surprise-svd"]:
            report["peers"][name] = run_peer(name, scorer, validation, full, args.trials, args.seed)
    report["peers"]["popularity"] = {"objective": "ndcg_at_10", "best_params": {}, "default_params": {},
                                     "default_test": scorer.lists(rank_popularity(*full), "popularity", "test")}
    report["peers"]["popularity"]["tuned_test"] = report["peers"]["popularity"]["default_test"]
    with open(os.path.join(args.out, "peers.json"), "w") as f:
        json.dump(report, f, indent=2, default=str)


if __name__ == "__main__":
    main()
