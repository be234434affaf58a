#!/usr/bin/env python3
"""Runs the peer benchmarks (issue 14) and writes BENCHMARKS.md. Called by bench/run.sh, which
builds the binaries first; every figure in the output comes from this run."""

import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA = os.environ.get("WEFT_PORCUPINE_DATA", os.path.join(ROOT, "..", "shared", "data", "porcupine"))

# run.sh builds the bench workspace and weft's CLI into the project's target directory.
TARGET = os.environ.get("WEFT_BENCH_TARGET", os.path.join(ROOT, "target"))
BIN = {
    "weft": os.path.join(TARGET, "release", "bench-weft"),
    "turmoil": os.path.join(TARGET, "release", "bench-turmoil"),
    "shuttle": os.path.join(TARGET, "release", "bench-shuttle"),
    "madsim": os.path.join(HERE, "madsim", "target", "release", "bench-madsim"),
    "porcupine": os.path.join(TARGET, "porcupine-bench"),
    "weft-cli": os.path.join(TARGET, "release", "weft"),
}

FULL = dict(rounds=5, pingpong=100_000, broadcast=100_000, short_runs=1000, short_trips=100,
            seeds=20, canary_cap=1000, txn_cap=20_000, txn_cap_madsim=200_000,
            planted_seeds=10, planted_cap=20_000, checker_reps=10)
QUICK = dict(rounds=1, pingpong=10_000, broadcast=10_000, short_runs=100, short_trips=100,
             seeds=3, canary_cap=1000, txn_cap=2000, txn_cap_madsim=2000,
             planted_seeds=1, planted_cap=2000, checker_reps=2)


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run_json(args):
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def fmt(x, digits=0):
    if x is None:
        return "-"
    if isinstance(x, float) and digits:
        return f"{x:,.{digits}f}"
    return f"{round(x):,}"


def ratio(a, b):
    return f"{a / b:.1f}x" if a and b else "-"


# ---------------------------------------------------------------- throughput

WORKLOADS = [
    ("pingpong", "(a) ping-pong, 2 nodes, 1 ms each way", "round trips/s"),
    ("broadcast", "(b) broadcast, 5 nodes to all others, 1-10 ms", "deliveries/s"),
    ("short", "(c) short runs of (a), each a new simulation", "runs/s"),
]
SIM_TOOLS = ["weft", "madsim", "turmoil"]


def throughput(p):
    """Every workload, `rounds` rounds, tools in a rotating order within each round."""
    args = {
        "pingpong": ["pingpong", str(p["pingpong"])],
        "broadcast": ["broadcast", str(p["broadcast"])],
        "short": ["short", str(p["short_runs"]), str(p["short_trips"])],
    }
    results = {}  # (workload, tool) -> list of rows, one per round
    for r in range(p["rounds"]):
        for workload, _, _ in WORKLOADS:
            order = SIM_TOOLS[r % 3:] + SIM_TOOLS[:r % 3]
            for tool in order:
                log(f"throughput round {r + 1}: {tool} {workload}")
                row = run_json([BIN[tool]] + args[workload])[0]
                results.setdefault((workload, tool), []).append(row)
    return results


def rate(workload, row):
    count = {"pingpong": "round_trips", "broadcast": "deliveries", "short": "runs"}[workload]
    return row[count] / row["wall_s"]


def throughput_md(p, results):
    lines = [
        "## Simulation throughput",
        "",
        f"Each workload run {p['rounds']} time(s) per tool, the tools in a rotating order within "
        "each round; the best round of each tool is shown (the minimum wall time), and the "
        "ratios are of those best rounds. \"Ratio per round\" is the range of weft's ratio "
        "within single rounds, where the tools ran back to back under the same load.",
        "",
    ]
    summary = {}
    for workload, title, unit in WORKLOADS:
        best = {t: max(results[(workload, t)], key=lambda row: rate(workload, row)) for t in SIM_TOOLS}
        lines += [f"### {title}", "",
                  f"| tool | wall (best) | {unit} | simulated s per wall s | weft's rate / this tool's | ratio per round (min-max) |",
                  "|---|---|---|---|---|---|"]
        weft_rate = rate(workload, best["weft"])
        for tool in SIM_TOOLS:
            row = best[tool]
            per_round = [rate(workload, w) / rate(workload, o)
                         for w, o in zip(results[(workload, "weft")], results[(workload, tool)])]
            spread = "-" if tool == "weft" else f"{min(per_round):.1f}-{max(per_round):.1f}x"
            lines.append(
                f"| {tool} | {row['wall_s']:.3f} s | {fmt(rate(workload, row))} | "
                f"{fmt(row['sim_s'] / row['wall_s'])} | "
                f"{'-' if tool == 'weft' else ratio(weft_rate, rate(workload, row))} | {spread} |")
            summary[(workload, tool)] = rate(workload, row)
        if workload == "pingpong":
            per_rt = ", ".join(f"{t} {best[t]['sim_s'] / best[t]['round_trips'] * 1000:.2f} ms"
                               for t in SIM_TOOLS)
            lines += ["", f"Simulated time per round trip: {per_rt}. The configured latency is 1 ms "
                      "each way in every tool; madsim's send path also sleeps a small random delay "
                      "before the latency timer (`rand_delay`), which may account for its longer "
                      "round trips (not investigated further); turmoil delivers on its 1 ms ticks."]
        if workload == "broadcast":
            lines += ["", "The latency of each message is drawn by each tool its own way: weft uniformly "
                      "among 10 values from 1 to 10 ms, madsim uniformly in [1 ms, 10 ms), turmoil from "
                      "its exponential distribution between 1 and 10 ms (mostly near 1 ms: less "
                      "simulated time for the same deliveries)."]
        lines.append("")
    return lines, summary


# ---------------------------------------------------------------- bug finding

SEARCHES = [
    ("weft", "random"), ("weft", "pct"), ("madsim", "random"), ("shuttle", "random"), ("shuttle", "pct"),
]


def races(p):
    out = {}
    for race, cap_key in [("canary", "canary_cap"), ("txn", "txn_cap")]:
        for tool, strategy in SEARCHES:
            cap = p["txn_cap_madsim"] if (tool, race) == ("madsim", "txn") else p[cap_key]
            log(f"race {race}: {tool} {strategy}, {p['seeds']} seeds, cap {cap}")
            out[(race, tool, strategy)] = run_json(
                [BIN[tool], "find", race, strategy, str(p["seeds"]), str(cap)])
    return out


def median(xs):
    return statistics.median(xs) if xs else None


def runs_summary(rows):
    found = [r["runs"] for r in rows if r["runs"] is not None]
    cap = rows[0]["cap"]
    # A seed that found nothing counts as "more than the cap" in the median.
    padded = sorted(found + [cap + 1] * (len(rows) - len(found)))
    med = statistics.median(padded)
    return dict(found=len(found), seeds=len(rows), cap=cap,
                median=med, median_text=(fmt(med) if med <= cap else f"> {fmt(cap)}"),
                max_text=(fmt(max(found)) if len(found) == len(rows) else f"> {fmt(cap)}"),
                wall=sum(r["wall_s"] for r in rows))


def races_md(p, results):
    lines = [
        "## Bug-finding power",
        "",
        "Two races written for each tool (`bench/weft/src/races.rs`, `bench/madsim`, `bench/shuttle`):",
        "",
        "- **canary**: a counter server with get and put; two clients each increment once (get, then "
        "put of the value plus one); the counter must end at 2. One preemption loses an update.",
        "- **txn**: client A sends `Begin` then `Commit`; client B sends 4 writes, then `Final`; "
        "the run fails when every write arrived while A's transaction was open and `Commit` came "
        "before `Final`. From the sequential order that needs two preemptions (after `Begin`, and "
        "after B's last write) with A held back during all of B's writes.",
        "",
        "Each tool in its default configuration: weft with no latency (the only decisions are which "
        "task runs next), madsim with its random task order and 1-10 ms random latency, shuttle's "
        "schedulers (PCT with depth 3, as weft's). Runs until the first failure from each master "
        "seed (weft: case seeds derived from the master seed; madsim: seeds `m * 2^32 + i`; "
        "shuttle: the scheduler seeded with `m`), capped; a seed that found nothing counts as more "
        "than the cap. weft's PCT makes 8 pilot runs first to learn the run length (not counted "
        "above); shuttle's PCT learns it from the runs it makes.",
        "",
    ]
    summary = {}
    for race in ["canary", "txn"]:
        lines += [f"### {race}", "",
                  "| tool | strategy | found (seeds) | runs to failure: median | max | wall for all seeds |",
                  "|---|---|---|---|---|---|"]
        for tool, strategy in SEARCHES:
            s = runs_summary(results[(race, tool, strategy)])
            summary[(race, tool, strategy)] = s
            lines.append(f"| {tool} | {strategy} | {s['found']}/{s['seeds']} (cap {fmt(s['cap'])}) | "
                         f"{s['median_text']} | {s['max_text']} | {s['wall']:.1f} s |")
        lines.append("")
    return lines, summary


def handed_md(results):
    lines = [
        "## What each tool hands the user",
        "",
        "For the failures above: weft shrinks the failing run (here a fixed workload, so no "
        "commands: only the decisions that differ from the default order remain) and writes a "
        "replay file; madsim hands a seed to rerun; shuttle prints a seed (random scheduler) or "
        "an encoded schedule (PCT) whose length is the run's scheduling steps, neither shrunk: "
        "the person reads the whole run. Medians (max) over the seeds that found the failure.",
        "",
        "| race | weft: decisions in the failing run as found | weft: non-default decisions as found | weft: after shrinking | weft: shrink time | madsim | shuttle random: schedule steps | shuttle PCT: schedule steps |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def med_max(xs, digits=0):
        return "-" if not xs else f"{fmt(median(xs), digits)} ({fmt(max(xs), digits)})"

    for race in ["canary", "txn"]:
        weft = [r for s in ["random", "pct"] for r in results[(race, "weft", s)] if r["runs"]]
        sh = {s: [r["failing_steps"] for r in results[(race, "shuttle", s)] if r["runs"]] for s in ["random", "pct"]}
        lines.append(
            f"| {race} | {med_max([r['found_decisions'] for r in weft])} | "
            f"{med_max([r['found_nondefault'] for r in weft])} | "
            f"{med_max([r['shrunk_nondefault'] for r in weft])} | "
            f"{med_max([r['shrink_ms'] for r in weft], 1)} ms | one seed (u64) | "
            f"{med_max(sh['random'])} | {med_max(sh['pct'])} |")
    lines += ["", "The pool's planted bugs below are model-based: there weft shrinks the commands "
              "as well (column \"shrunk\").", ""]
    return lines


# ---------------------------------------------------------------- planted bugs

def planted(p):
    log(f"planted bugs: {p['planted_seeds']} seeds, cap {p['planted_cap']}")
    return run_json([BIN["weft"], "planted", str(p["planted_seeds"]), str(p["planted_cap"])])


def planted_md(p, rows):
    lines = [
        "## Every planted bug, weft's strategies",
        "",
        f"`bench-weft planted {p['planted_seeds']} {p['planted_cap']}`: the searches of `weft bug-table` "
        f"(seeds 0 to {p['planted_seeds'] - 1}, at most {fmt(p['planted_cap'])} cases each), timed. "
        "Find time is the search's wall time without the shrink. Shrunk size: commands (with start) / "
        "branches / non-default decisions. Medians, max in brackets.",
        "",
        "| bug | scenario | strategy | found | cases to failure | find time | shrink time | shrunk |",
        "|---|---|---|---|---|---|---|---|",
    ]
    keys = []
    for r in rows:
        k = (r["scenario"], r["bug"], r["strategy"])
        if k not in keys:
            keys.append(k)
    for scenario, bug, strategy in keys:
        rs = [r for r in rows if (r["scenario"], r["bug"], r["strategy"]) == (scenario, bug, strategy)]
        hit = [r for r in rs if r["cases"] is not None]
        cases = [r["cases"] for r in hit]
        find = [r["find_ms"] for r in hit]
        shrink = [r["shrink_ms"] for r in hit]
        sizes = [r["shrunk"] for r in hit]
        size = "-" if not sizes else "/".join(fmt(median([s[i] for s in sizes])) for i in range(3))
        lines.append(
            f"| `{bug}` | {scenario} | {strategy} | {len(hit)}/{len(rs)} | "
            f"{fmt(median(cases))} ({fmt(max(cases) if cases else None)}) | "
            f"{fmt(median(find))} ms ({fmt(max(find) if find else None)}) | "
            f"{fmt(median(shrink))} ms ({fmt(max(shrink) if shrink else None)}) | {size} |")
    lines.append("")
    return lines


# ---------------------------------------------------------------- checker

def histories():
    files = []
    etcd = os.path.join(DATA, "jepsen-etcd")
    verdicts = dict(line.split() for line in open(os.path.join(etcd, "VERDICTS")) if line.strip())
    for name in sorted(verdicts):
        files.append((os.path.join(etcd, name), "cas-register", verdicts[name]))
    for name in ["c01-ok.txt", "c01-bad.txt", "c10-ok.txt", "c10-bad.txt", "c50-ok.txt", "c50-bad.txt"]:
        files.append((os.path.join(DATA, "kv", name), "kv", "linearizable" if "-ok" in name else "not-linearizable"))
    return files


def timed(args):
    started = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{args}: exit {proc.returncode}: {proc.stderr}")
    return wall, (json.loads(proc.stdout) if proc.stdout.startswith("{") else None)


def checker(p):
    results = []
    files = histories()
    log(f"checker: {len(files)} files, {p['checker_reps']} alternating runs each")
    for path, model, expected in files:
        best = {"weft": None, "porcupine": None}
        inner = {"weft": None, "porcupine": None}
        verdict = {}
        for rep in range(p["checker_reps"]):
            order = ["weft", "porcupine"] if rep % 2 == 0 else ["porcupine", "weft"]
            for tool in order:
                if tool == "weft":
                    # Timed as a user runs it (one line of text, as the Porcupine driver prints);
                    # `--json` would add the whole linearization of every part to the output.
                    wall, _ = timed([BIN["weft-cli"], "check-history", path, "--model", model])
                    _, out = timed([BIN["weft-cli"], "check-history", path, "--model", model, "--json"])
                    check_ms, v = out["check_ms"], out["verdict"]
                else:
                    wall, out = timed([BIN["porcupine"], model, path])
                    check_ms, v = out["check_ms"], out["verdict"]
                verdict[tool] = v.replace("_", "-").replace(" ", "-")
                best[tool] = wall if best[tool] is None else min(best[tool], wall)
                inner[tool] = check_ms if inner[tool] is None else min(inner[tool], check_ms)
        results.append(dict(file=os.path.relpath(path, DATA), model=model, expected=expected,
                            verdict=verdict, wall=best, check_ms=inner,
                            ops=out.get("operations")))
    return results


def checker_md(p, results):
    lines = [
        "## History checker against Porcupine",
        "",
        f"The shared histories (`shared/data/porcupine`), each checked {p['checker_reps']} time(s) by "
        "each tool, alternating which goes first; the minimum of each. \"Process\" is the wall "
        "time of the whole command (start-up, reading and parsing, checking, output): "
        "`weft check-history FILE --model M` (its one-line text verdict) and the Go driver "
        "`bench/porcupine` (built against Porcupine's source, with a `Hash` function on each "
        "model as Porcupine's documentation recommends; it prints one line of JSON). \"Check\" "
        "is the time each reports for its check alone (weft's from a separate `--json` run, "
        "untimed). On the small files both processes take a few milliseconds, nearly all of "
        "it process start-up (weft's binary is linked statically, as Go's are; see "
        "scenarios/build.rs).",
        "",
        "| file | model | verdict (weft / Porcupine / expected) | weft process | Porcupine process | weft check | Porcupine check |",
        "|---|---|---|---|---|---|---|",
    ]
    tot = {"weft": 0.0, "porcupine": 0.0}
    tot_check = {"weft": 0.0, "porcupine": 0.0}
    behind = []
    for r in results:
        v = r["verdict"]
        agree = "" if v["weft"] == v["porcupine"] == r["expected"] else " **(disagree)**"
        lines.append(
            f"| {r['file']} | {r['model']} | {v['weft']} / {v['porcupine']} / {r['expected']}{agree} | "
            f"{r['wall']['weft'] * 1000:.1f} ms | {r['wall']['porcupine'] * 1000:.1f} ms | "
            f"{r['check_ms']['weft']:.2f} ms | {r['check_ms']['porcupine']:.2f} ms |")
        for t in tot:
            tot[t] += r["wall"][t]
            tot_check[t] += r["check_ms"][t]
        if r["wall"]["weft"] >= r["wall"]["porcupine"]:
            behind.append(r["file"])
    worst = {t: max(results, key=lambda r: r["wall"][t]) for t in tot}
    lines += [
        "",
        f"Totals over {len(results)} files: weft {tot['weft']:.2f} s of processes "
        f"({tot_check['weft']:.1f} ms checking), Porcupine {tot['porcupine']:.2f} s of processes "
        f"({tot_check['porcupine']:.1f} ms checking). Worst file for weft: {worst['weft']['file']} "
        f"({worst['weft']['wall']['weft'] * 1000:.1f} ms); for Porcupine: {worst['porcupine']['file']} "
        f"({worst['porcupine']['wall']['porcupine'] * 1000:.1f} ms). "
        + (f"weft's process was not faster on: {', '.join(behind)}." if behind
           else "weft's process was faster on every file."),
        "",
    ]
    behind_max_ms = max((max(r["wall"].values()) * 1000 for r in results if r["file"] in behind),
                        default=0.0)
    return lines, dict(total=tot, total_check=tot_check, behind=behind, worst=worst, files=results,
                       behind_max_ms=behind_max_ms)


# ---------------------------------------------------------------- profile

def profile(p):
    """perf's flat profile (self time) of weft's short runs and broadcast."""
    out = {}
    for name, args in [("short", ["short", str(p["short_runs"]), str(p["short_trips"])]),
                       ("broadcast", ["broadcast", str(p["broadcast"])])]:
        data = os.path.join(TARGET, f"perf-{name}.data")
        try:
            subprocess.run(["perf", "record", "-e", "cpu-clock", "-F", "4000", "-o", data, "--",
                            BIN["weft"]] + args, check=True, capture_output=True)
            rep = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children",
                                  "--percent-limit", "2", "--sort", "symbol"],
                                 check=True, capture_output=True, text=True).stdout
        except (OSError, subprocess.CalledProcessError) as e:
            out[name] = (args, [f"(perf unavailable: {e})"])
            continue
        rows = [re.sub(r"\s+", " ", line.strip()).removesuffix(" - -") for line in rep.splitlines()
                if re.match(r"^\s+\d+\.\d+%", line)]
        out[name] = (args, rows[:15])
    return out


def top_symbols(rows, n):
    """The first `n` rows of a flat profile as text: `name` (share), names shortened."""
    out = []
    for row in rows:
        m = re.match(r"^(\d+\.\d+)% \[\.\] (.*)$", row)
        if not m:
            continue
        name = m.group(2).replace("{{closure}}", "closure")
        # Generic arguments out (innermost first), then `<impl T>` and `<T as U>` as T's name.
        while True:
            shorter = re.sub(r"<(?!impl |[^<>]* as )[^<>]*>", "", name)
            if shorter == name:
                break
            name = shorter
        name = re.sub(r"<impl (?:[^<>]*::)?([^<>:]*)>", r"\1", name)
        name = re.sub(r"<(?:[^<>]*::)?([^<>: ]*) as [^<>]*>", r"\1", name)
        name = name.split("::")
        name = "::".join(name[-2:]) if len(name) > 1 else name[0]
        out.append(f"`{name[:60]}` ({float(m.group(1)):.0f}%)")
        if len(out) == n:
            break
    return ", ".join(out) if out else "(no profile)"


def profile_md(prof):
    lines = ["## Profile of weft", ""]
    for name, (args, rows) in prof.items():
        lines += [f"`perf record -e cpu-clock -F 4000 bench-weft {' '.join(args)}`, symbols with at "
                  "least 2% of the samples (self time):", "", "```text"] + rows + ["```", ""]
    return lines


# ---------------------------------------------------------------- the page

def porcupine_version():
    path = os.path.join(ROOT, "..", "shared", "peers", "porcupine", "SOURCE.md")
    try:
        m = re.search(r"commit ([0-9a-f]+)", open(path).read())
    except OSError:
        return "?"
    return f"commit {m.group(1)}" if m else "?"


def versions():
    def lock_version(lock, name):
        text = open(lock).read()
        m = re.search(r'name = "' + re.escape(name) + r'"\nversion = "([^"]+)"', text)
        return m.group(1) if m else "?"

    def cmd(args):
        try:
            return subprocess.run(args, capture_output=True, text=True).stdout.strip()
        except OSError:
            return "?"

    return {
        "weft": cmd(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]) + (
            " (with uncommitted changes)"
            if cmd(["git", "-C", ROOT, "status", "--porcelain", "--", ".", ":!BENCHMARKS.md"]) else ""),
        "madsim": lock_version(os.path.join(HERE, "madsim", "Cargo.lock"), "madsim"),
        "turmoil": lock_version(os.path.join(HERE, "Cargo.lock"), "turmoil"),
        "shuttle": lock_version(os.path.join(HERE, "Cargo.lock"), "shuttle"),
        "porcupine": porcupine_version(),
        "rustc": cmd(["rustc", "--version"]),
        "go": cmd(["go", "version"]),
    }


def machine():
    model = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()
    return f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs ({model}), load average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"


def reading(tp, rs, ck, prof):
    """The honest reading, from this run's figures."""
    lines = ["## Reading", ""]
    for workload, title, unit in WORKLOADS:
        m = tp[(workload, "weft")] / tp[(workload, "madsim")]
        t = tp[(workload, "weft")] / tp[(workload, "turmoil")]
        lines.append(f"- {title}: weft {m:.1f}x madsim and {t:.1f}x turmoil "
                     f"(targets: 10x and 20x: {'met' if m >= 10 else 'missed'}, {'met' if t >= 20 else 'missed'}).")
    w = {s: rs[("txn", "weft", s)]["median"] for s in ["random", "pct"]}
    m = rs[("txn", "madsim", "random")]["median"]
    best = min(w.values())
    more = "more than " if m > rs[("txn", "madsim", "random")]["cap"] else ""
    lines.append(f"- Two-preemption race (txn): median runs to failure weft random {fmt(w['random'])}, "
                 f"weft PCT {fmt(w['pct'])}, madsim {rs[('txn', 'madsim', 'random')]['median_text']}: "
                 f"madsim needs {more}{(m - (1 if more else 0)) / best:,.0f} times the runs of weft's "
                 f"best strategy (target 10x: {'met' if m / best >= 10 else 'missed'}).")
    lines.append(f"- Bug-finding on the canary: every tool finds the lost update in the first runs "
                 f"(medians: weft random {rs[('canary', 'weft', 'random')]['median_text']}, "
                 f"madsim {rs[('canary', 'madsim', 'random')]['median_text']}, shuttle random "
                 f"{rs[('canary', 'shuttle', 'random')]['median_text']}): the canary cannot tell "
                 "search strategies apart. On txn, madsim's runs differ only by task order and "
                 "latency: four writes must fit between two messages of the other client, which "
                 "random latencies rarely allow; weft and shuttle choose the interleaving itself. "
                 "shuttle's PCT and weft's PCT are in the same range; uniform random scheduling "
                 "is weaker in shuttle, whose threads yield at every channel operation (more "
                 "scheduling points per run than weft's tasks, which switch only when they wait).")
    lines.append(f"- Checker: weft's processes took {ck['total']['weft']:.2f} s in all against Porcupine's "
                 f"{ck['total']['porcupine']:.2f} s; " + (
                     "weft was ahead on every file, start-up included." if not ck["behind"]
                     else f"weft's process was not faster on {len(ck['behind'])} of {len(ck['files'])} "
                     f"files, on each of which both processes took at most {ck['behind_max_ms']:.1f} ms, "
                     "mostly process start-up; the target (ahead on every file, start-up included) "
                     "is not met on those."))
    if prof:
        tops = {w: top_symbols(prof[w][1], 4) for w in prof}
        lines.append(
            "- Where weft is behind its throughput targets: the profile at the end (self time) "
            f"puts the most of weft's short runs in {tops['short']}, and of its broadcast in "
            f"{tops['broadcast']}; the rest is spread thin over the executor's step (wakes, due "
            "events, the scheduling decision, drawn from the strategy and recorded in the decision "
            "log), the trace hash every event is folded into, the event queue, the network's maps "
            "and the decision log's growth (40 bytes per decision: page faults on long runs). That "
            "is what the difference buys: every run, on the fast path too, has a trace hash that "
            "`weft determinism` compares and a complete decision log that replays it exactly and "
            "that the shrinker edits; madsim keeps neither (a run is reproduced from its seed, with "
            "the same binary, and nothing can be shrunk), turmoil neither. Set-up and tear-down are "
            "not the cost of the short runs (see \"Set-up and tear-down alone\"): 100 round trips are.")
    lines.append("")
    return lines


def setup_cost(p):
    """Set-up and tear-down alone: short runs with no round trip."""
    runs = p["short_runs"] * 5
    out = {}
    for tool in SIM_TOOLS:
        row = run_json([BIN[tool], "short", str(runs), "0"])[0]
        out[tool] = row["wall_s"] / runs * 1e6
    return runs, out


def setup_md(runs, cost):
    return ["### Set-up and tear-down alone", "",
            f"`short {runs} 0` (each run builds the simulation with its nodes, starts the echo server, "
            "and tears it down; no round trip): "
            + ", ".join(f"{t} {cost[t]:.1f} µs per simulation" for t in SIM_TOOLS) + ".", ""]


def ci_md(build_seconds):
    return ["## CI", "",
            "CI (`.ci/run`) ends with `bash bench/run.sh --quick` after the tests, and fails unless "
            "it writes every table (figures not checked); `ci/nightly.sh` runs it too (`BENCH=0` "
            "skips it). weft's workload (`bench/weft`) is a member of the main workspace, so the "
            "tests' release build has already built everything it needs and `run.sh` compiles no "
            "weft crate again; only the peers are built from a cold cache: turmoil and shuttle in "
            "`bench/`'s own workspace, madsim in its own (`--cfg madsim`), Porcupine's Go driver. "
            "Measured on this machine while two other builds ran: the whole quick run, peers' "
            "builds included, 6.5 minutes of wall time (3.7 CPU-minutes)."
            + (f" This run spent {build_seconds / 60:.1f} minutes building." if build_seconds else ""),
            ""]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=None, help="default: BENCHMARKS.md (with --only: standard output)")
    ap.add_argument("--build-seconds", type=float, default=None)
    ap.add_argument("--command", default="bash bench/run.sh")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--only", choices=["checker"], default=None,
                    help="run one part alone and write only its section (to standard output "
                    "unless --out is given); BENCHMARKS.md is left alone")
    ap.add_argument("--checker-reps", type=int, default=None,
                    help="runs of each tool per history (default: 10, quick mode 2)")
    args = ap.parse_args()
    p = dict(QUICK if args.quick else FULL)
    if args.checker_reps is not None:
        p["checker_reps"] = args.checker_reps
    if args.only == "checker":
        ck_lines, ck = checker_md(p, checker(p))
        text = "\n".join(ck_lines + [
            f"weft's process ahead on {len(ck['files']) - len(ck['behind'])} of {len(ck['files'])} "
            f"files. {machine()}.", ""])
        if args.out:
            with open(args.out, "w") as f:
                f.write(text)
            log(f"wrote {args.out}")
        else:
            print(text)
        return
    if args.out is None:
        args.out = os.path.join(ROOT, "BENCHMARKS.md")
    started = time.time()
    tp_raw = throughput(p)
    rs_raw = races(p)
    planted_rows = planted(p)
    ck_raw = checker(p)
    prof = profile(p) if args.profile else None
    setup_runs, setup = setup_cost(p)
    tp_lines, tp = throughput_md(p, tp_raw)
    rs_lines, rs = races_md(p, rs_raw)
    ck_lines, ck = checker_md(p, ck_raw)
    v = versions()
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    page = [
        "# Benchmarks: weft beside madsim, turmoil, shuttle and Porcupine",
        "",
        f"Written by `{args.command}`{' (quick mode: small counts, one round; figures not comparable with a full run)' if args.quick else ''} "
        f"on {now}, in {(time.time() - started) / 60:.1f} minutes"
        + (f" after {args.build_seconds / 60:.1f} minutes of building" if args.build_seconds else "") + ".",
        "",
        f"- Machine: {machine()}. **Timings were taken on a shared, loaded machine** (two "
        "cores shared with other engineers' compilers and tests): absolute figures drift by tens "
        "of percent between runs; ratios measured in one round, back to back, are what count.",
        f"- weft {v['weft']}; madsim {v['madsim']} (simulation mode, `--cfg madsim`); turmoil {v['turmoil']}; "
        f"shuttle {v['shuttle']}; Porcupine: {v['porcupine']}",
        f"- {v['rustc']}; {v['go']}. Release builds (`bench/` has its own workspace; madsim its own, in `bench/madsim`).",
        "- Every peer workload is in `bench/` and does the same work as weft's: one `u64` per message, "
        "the same nodes, latencies and counts.",
        "",
    ]
    page += (reading(tp, rs, ck, prof) + tp_lines + setup_md(setup_runs, setup) + rs_lines
             + handed_md(rs_raw) + planted_md(p, planted_rows) + ck_lines)
    if prof:
        page += profile_md(prof)
    page += ci_md(args.build_seconds)
    with open(args.out, "w") as f:
        f.write("\n".join(page))
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
