"""Write the side-by-side table from Marquee's tuning and the peers' results.

Usage: table.py MARQUEE_TUNE_JSON MARQUEE_POPULARITY_JSON PEERS_JSON MACHINE_JSON > results.md
"""

import json
import sys

RANKING = ["ndcg_at_10", "recall_at_20", "hit_rate_at_10", "map_at_10", "coverage_at_10", "long_tail_at_10"]


def params_text(p):
    return ", ".join(f"{k}={v}" for k, v in sorted(p.items())) or "-"


def main():
    tune, popularity, peers, machine = (json.load(open(path)) for path in sys.argv[1:5])
    rows = []  # (system, model, default, tuned, best params)
    for name, m in sorted(tune["models"].items()):
        rows.append(("Marquee", name, m["default_test"], m["tuned_test"], m["best_params"]))
    rows.append(("Marquee", "popularity", popularity, popularity, {}))
    for name, m in peers["peers"].items():
        rows.append(("peer", name, m["default_test"], m["tuned_test"], m["best_params"]))

    out = []
    out.append(f"Measured on {machine['date']} on {machine['cpu']} ({machine['nproc']} cores, {machine['memory']}), "
               f"{machine['go']}, Marquee {machine['commit']}; Python {peers['versions']['python']}, "
               f"implicit {peers['versions']['implicit']}, scikit-surprise {peers['versions']['scikit-surprise']}, "
               f"numpy {peers['versions']['numpy']}. Command: `{machine['command']}`. "
               f"Dataset: {machine['dataset']}; split: {machine['split']}. Validation split (carved out of the "
               f"training split by the same protocol): {tune['validation']['train_ratings']} training and "
               f"{tune['validation']['test_ratings']} test ratings. Search: {tune['search']}, "
               f"{tune['trials_per_model']} trials per model for Marquee and {peers['trials_per_model']} per peer, "
               f"the first trial being the defaults; seed {tune['seed']}.")
    out.append("")
    out.append("Ranking, on the test split, after training on the whole training split (NDCG@10 with default "
               "parameters, then every metric with the parameters that won on the validation split):")
    out.append("")
    out.append("| system | model | NDCG@10 default | NDCG@10 tuned | Recall@20 | HitRate@10 | MAP@10 | "
               "Coverage@10 | LongTail@10 | tuned parameters |")
    out.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    ranked = [r for r in rows if r[1] not in ("als", "surprise-svd")]
    ranked.sort(key=lambda r: -r[3]["ndcg_at_10"])
    for system, name, default, tuned, best in ranked:
        cells = " | ".join(f"{tuned[k]:.4f}" for k in RANKING[1:])
        out.append(f"| {system} | {name} | {default['ndcg_at_10']:.4f} | **{tuned['ndcg_at_10']:.4f}** | {cells} | "
                   f"{params_text(best)} |")
    out.append("")
    out.append("Rating prediction, RMSE on the test ratings whose user and item are in training (lower is better):")
    out.append("")
    out.append("| system | model | RMSE default | RMSE tuned | tuned parameters |")
    out.append("| --- | --- | ---: | ---: | --- |")
    for system, name, default, tuned, best in rows:
        if name in ("als", "surprise-svd"):
            out.append(f"| {system} | {name} | {default['rmse']:.4f} | **{tuned['rmse']:.4f}** | {params_text(best)} |")

    marquee = max((r for r in ranked if r[0] == "Marquee"), key=lambda r: r[3]["ndcg_at_10"])
    peer = max((r for r in ranked if r[0] == "peer"), key=lambda r: r[3]["ndcg_at_10"])
    ratio = marquee[3]["ndcg_at_10"] / peer[3]["ndcg_at_10"]
    als = next(r for r in rows if r[1] == "als")[3]["rmse"]
    svd = next(r for r in rows if r[1] == "surprise-svd")[3]["rmse"]
    out.append("")
    out.append(f"Best Marquee model: {marquee[1]}, NDCG@10 {marquee[3]['ndcg_at_10']:.4f}; best peer: {peer[1]}, "
               f"{peer[3]['ndcg_at_10']:.4f}; ratio {ratio:.3f} (goal: at least 1.10, "
               f"{'met' if ratio >= 1.10 else 'missed'}). Explicit ALS RMSE {als:.4f} against SVD's {svd:.4f} "
               f"(goal: at most SVD's, {'met' if als <= svd else 'missed'}).")
    print("\n".join(out))


if __name__ == "__main__":
    main()
