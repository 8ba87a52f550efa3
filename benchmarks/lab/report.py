"""docs/lab/: the Markdown table (README.md's figures come from here) and the plots, from
lab.json (figures) and runs/*.json (the 100 ms series). Plots need matplotlib (make lab
installs it); the table does not."""

from __future__ import annotations

import glob
import json
import os
from typing import Any, Dict, List, Optional, Tuple

ORDER = ["procguard", "systemd", "supervisord", "monit", "none"]
RECOVERY = {   # which figure is "recovery" for each fault, and what it means
    "kill_web_worker": ("first_success_from_faulty_s", "first answer from the killed worker's server"),
    "kill_web_master": ("first_success_from_faulty_s", "first answer from the killed server"),
    "kill_ap_master": ("first_success_from_faulty_s", "first answer through the killed AP"),
    "hang_ap": ("first_success_from_faulty_s", "first answer from the hung service again"),
    "bad_binary": ("haproxy_out_s", "HAProxy stops sending it traffic"),
    "hang_for_good": ("vip_moved_s", "the VIP moves to node2"),
    "dead_node": ("vip_moved_s", "the VIP moves to node2"),
}
SCENARIO = {"single": "1 single server", "lb": "2 load-balanced", "cluster": "3 two-node cluster"}


def load(out: str) -> Tuple[Dict[str, Any], List[Dict[str, Any]]]:
    with open(os.path.join(out, "lab.json")) as handle:
        doc = json.load(handle)
    return doc["meta"], doc["results"]


def seconds(value: Optional[float]) -> str:
    return "never" if value is None else f"{value:.2f} s"


def recovery(result: Dict[str, Any], target: Dict[str, Any]) -> Optional[float]:
    key = RECOVERY[result["fault"]][0]
    return result.get(key, target.get(key))


def rows(results: List[Dict[str, Any]]) -> Dict[Tuple[str, str, str], Dict[str, Any]]:
    """(scenario, fault, target) -> {contender: (result, target figures)}"""
    table: Dict[Tuple[str, str, str], Dict[str, Any]] = {}
    for r in results:
        if r.get("skipped"):
            continue
        if r.get("error"):
            table.setdefault((r["scenario"], r["fault"], "-"), {})[r["contender"]] = (r, None)
            continue
        for name, t in r["targets"].items():
            table.setdefault((r["scenario"], r["fault"], name), {})[r["contender"]] = (r, t)
    return table


def cell(entry: Optional[Tuple[Dict[str, Any], Optional[Dict[str, Any]]]]) -> str:
    if entry is None:
        return "-"
    r, t = entry
    if t is None:
        return "error"
    return f"{t['failed']} / {t['delayed_over_0_5s']} / {seconds(recovery(r, t))}"


def markdown(meta: Dict[str, Any], results: List[Dict[str, Any]]) -> str:
    contenders = [c for c in ORDER if any(r["contender"] == c for r in results)]
    skipped = [f"{r['contender']} ({r['skipped']})" for r in results if r.get("skipped")]
    lines = [
        "# Fleet lab: results",
        "",
        f"Run {meta['date']}, {meta['cpus']} CPUs, `{meta['uname']}`, seed {meta['seed']}, "
        f"{meta['rate_per_target']:g} requests/s per target, {meta['took_s']:.0f} s in all."
        + (f" Skipped: {', '.join(skipped)}." if skipped else ""),
        "",
        "Each cell: **failed requests / requests delayed over 0.5 s / recovery** (the recovery",
        "figure of each fault is named in the last column). `defaults` and `redispatch` are",
        "the two HAProxy settings, measured at the same time on the same servers; `vip` is",
        "traffic straight to the keepalived VIP.",
        "",
        "| scenario | fault | traffic | " + " | ".join(contenders) + " | recovery means |",
        "|---|---|---|" + "---|" * len(contenders) + "---|",
    ]
    for (scenario, fault, target), by in rows(results).items():
        what = next(iter(by.values()))[0]["what"]
        lines.append(f"| {SCENARIO.get(scenario, scenario)} | {what} | {target} | "
                     + " | ".join(cell(by.get(c)) for c in contenders) + f" | {RECOVERY[fault][1]} |")
    lines += ["", "## More figures", "",
              "Extra requests carried by the other servers (beyond their share before the fault),",
              "time to detection of a hang (the stopped process is signalled away), time until",
              "HAProxy takes the server out (any state but UP), time until the VIP moves.", "",
              "| scenario | fault | traffic | contender | extra on others | hang detected | HAProxy out"
              " | VIP moved | p99 normal after |",
              "|---|---|---|---|---|---|---|---|---|"]
    for (scenario, fault, target), by in rows(results).items():
        for c in contenders:
            if by.get(c) is None or by[c][1] is None:
                continue
            r, t = by[c]
            extra = "-" if t["extra_on_others"] is None else t["extra_on_others"]
            lines.append(f"| {scenario} | {fault} | {target} | {c} | {extra} | "
                         f"{seconds(r['hang_ended_s']) if 'hang_ended_s' in r else '-'} | "
                         f"{seconds(t['haproxy_out_s']) if 'haproxy_out_s' in t else '-'} | "
                         f"{seconds(r['vip_moved_s']) if 'vip_moved_s' in r else '-'} | {seconds(t['p99_normal_after_s'])} |")
    lines += ["", "## Rows procguard does not win", ""] + not_won(rows(results), contenders)
    return "\n".join(lines) + "\n"


def not_won(table: Dict[Tuple[str, str, str], Dict[str, Any]], contenders: List[str]) -> List[str]:
    """Every row where some contender has fewer failed requests, or fewer delayed, or an
    earlier recovery than procguard (ties are not losses)."""
    out = []
    for (scenario, fault, target), by in table.items():
        mine = by.get("procguard")
        if mine is None or mine[1] is None:
            continue
        r, t = mine
        for c in contenders:
            if c == "procguard" or by.get(c) is None or by[c][1] is None:
                continue
            r2, t2 = by[c]
            worse = []
            if t2["failed"] < t["failed"]:
                worse.append(f"failed {t2['failed']} vs {t['failed']}")
            if t2["delayed_over_0_5s"] < t["delayed_over_0_5s"]:
                worse.append(f"delayed {t2['delayed_over_0_5s']} vs {t['delayed_over_0_5s']}")
            mine_rec, theirs = recovery(r, t), recovery(r2, t2)
            if theirs is not None and (mine_rec is None or theirs < mine_rec - 0.05):
                worse.append(f"recovery {seconds(theirs)} vs {seconds(mine_rec)}")
            if worse:
                out.append(f"- {scenario}/{fault} ({target}): {c} does better: {'; '.join(worse)}")
    return out or ["- none"]


def plots(out: str, results: List[Dict[str, Any]]) -> List[str]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made = []
    runs: Dict[Tuple[str, str], Dict[str, Dict[str, Any]]] = {}
    for path in glob.glob(os.path.join(out, "runs", "*.json")):
        with open(path) as handle:
            r = json.load(handle)
        if r.get("targets"):
            runs.setdefault((r["scenario"], r["fault"]), {})[r["contender"]] = r
    for (scenario, fault), by in sorted(runs.items()):
        targets = sorted(next(iter(by.values()))["targets"])
        for target in targets:
            contenders = [c for c in ORDER if c in by and target in by[c]["targets"]]
            fig, axes = plt.subplots(len(contenders), 1, figsize=(9, 1.6 * len(contenders) + 0.8),
                                     sharex=True, squeeze=False)
            for ax, c in zip(axes[:, 0], contenders):
                series = by[c]["targets"][target]["series"]
                xs = [b["t"] for b in series]
                servers = sorted({s for b in series for s in b["by_server"]})
                stacks = [[b["by_server"].get(s, 0) for b in series] for s in servers]
                stacks.append([b["failed"] for b in series])
                ax.stackplot(xs, *stacks, labels=[*servers, "failed"], step="post",
                             colors=[*plt.cm.tab10.colors[:len(servers)], "#d62728"][:len(stacks)])
                ax.axvline(0, color="black", linewidth=0.8)
                ax.set_ylabel(c, rotation=0, ha="right", va="center")
                ax.set_ylim(0, max(12, max((sum(col) for col in zip(*stacks)), default=0) + 2))
            axes[0, 0].set_title(f"{by[contenders[0]]['what']} ({target})\nrequests answered per 100 ms, by backend",
                                 fontsize="small")
            axes[0, 0].legend(loc="upper right", fontsize="x-small", ncol=6)
            axes[-1, 0].set_xlabel("seconds from the fault")
            fig.tight_layout()
            name = f"timeline-{scenario}-{fault}-{target}.png"
            fig.savefig(os.path.join(out, name), dpi=80)
            plt.close(fig)
            made.append(name)
    made.append(bars(out, results, plt))
    return made


def bars(out: str, results: List[Dict[str, Any]], plt: Any) -> str:
    table = rows(results)
    keys = [k for k in table if k[2] != "-"]
    contenders = [c for c in ORDER if any(c in table[k] for k in keys)]
    fig, ax = plt.subplots(figsize=(11, 4.5))
    width = 0.8 / max(1, len(contenders))
    for i, c in enumerate(contenders):
        values = [(table[k][c][1] or {}).get("failed", 0) if c in table[k] else 0 for k in keys]
        ax.bar([x + i * width for x in range(len(keys))], [max(v, 0.5) for v in values], width, label=c)
    ax.set_yscale("log")
    ax.set_xticks([x + 0.4 - width / 2 for x in range(len(keys))])
    ax.set_xticklabels([f"{s}\n{f}\n{t}" for s, f, t in keys], fontsize="x-small")
    ax.set_ylabel("failed requests (log; 0 drawn as 0.5)")
    ax.set_title("Failed requests per scenario and fault, by contender")
    ax.legend(fontsize="small")
    fig.tight_layout()
    name = "failed-requests.png"
    fig.savefig(os.path.join(out, name), dpi=80)
    plt.close(fig)
    return name


def write_report(out: str) -> None:
    meta, results = load(out)
    with open(os.path.join(out, "results.md"), "w") as handle:
        handle.write(markdown(meta, results))
    try:
        made = plots(out, results)
    except ImportError:
        print("lab: matplotlib missing, no plots (make lab installs it)")
        return
    print(f"lab: wrote {os.path.join(out, 'results.md')} and {len(made)} plots")


if __name__ == "__main__":
    import sys
    write_report(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.dirname(
        os.path.dirname(os.path.abspath(__file__)))), "docs", "lab"))
