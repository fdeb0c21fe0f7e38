#!/usr/bin/env python3
"""The pieces of bench/compare-llama-finetune.sh that are easier in Python than in bash (standard library only).

  text --tokens N [--seed S]        a deterministic synthetic English-like text of about N tokens, to stdout
  records --text F --chars C        F as JSON Lines of {"prompt", "completion"} records whose concatenation is F,
                                    each about C characters, cut at line ends; to stdout
  stamp                             copies stdin to stdout, each \\r- or \\n-ended piece on a line of its own after
                                    the wall-clock time it arrived (seconds, 6 decimals) and a tab
  report ...                        reads both runs and writes compare.json and compare.md (see --help)
"""

import argparse
import json
import os
import random
import re
import statistics
import sys
import time
from datetime import datetime

WORDS = """the of and to in is was for on that with as by at from it his an were are which this be or have
had not first one their its new after but who they has her she two been other when there all during into school
time may years more most only over city some world would where later up such used many can state about national
out known university united then made these three year people part well north him him south government also
water long since small high each game under river city house began life family large name great while city four
best between work team before both city music album through second series company city film group song around
area day line place back power general early war light field town land station still short story road church
island because show own five government side point city body party record old form village country right open
league end following public north main west member several near region language east home held six left common
number however american game around set head season took club played college county age night player three law
young days period black small case city system half center like age local order support king river""".split()


def text(tokens, seed):
    """Sentences of 5 to 14 common words, capitalised and ended with a full stop, 3 to 6 to a line; about 1.3
    Llama tokens a word with its space and punctuation."""
    rng = random.Random(seed)
    words = int(tokens / 1.3)
    out, line, written = [], [], 0
    while written < words:
        n = rng.randint(5, 14)
        sentence = [rng.choice(WORDS) for _ in range(n)]
        sentence[0] = sentence[0].capitalize()
        line.append(" ".join(sentence) + ".")
        written += n
        if len(line) >= rng.randint(3, 6):
            out.append(" ".join(line))
            line = []
    if line:
        out.append(" ".join(line))
    return "\n".join(out) + "\n"


def records(content, chars):
    """Cuts content at line ends into chunks of at least `chars` characters (the last may be shorter), each a
    record whose prompt is the chunk's first line and whose completion is the rest (a one-line chunk is cut at a
    space near its middle). Joined in order, prompts and completions give back content exactly."""
    lines = content.splitlines(keepends=True)
    chunks, current = [], ""
    for line in lines:
        current += line
        if len(current) >= chars:
            chunks.append(current)
            current = ""
    if current:
        if chunks and len(current) < chars // 4:
            chunks[-1] += current
        else:
            chunks.append(current)
    out = []
    for chunk in chunks:
        first = chunk.find("\n") + 1
        if 0 < first < len(chunk):
            prompt, completion = chunk[:first], chunk[first:]
        else:
            cut = chunk.find(" ", len(chunk) // 2) + 1
            if not 0 < cut < len(chunk):
                cut = max(1, len(chunk) // 2)
            prompt, completion = chunk[:cut], chunk[cut:]
        out.append({"prompt": prompt, "completion": completion})
    assert "".join(r["prompt"] + r["completion"] for r in out) == content
    return out


def stamp():
    """llama-finetune's progress bar rewrites one line with \\r after every micro-batch: each rewrite is a piece."""
    pending = b""
    while True:
        data = os.read(0, 65536)
        now = time.time()
        if not data:
            break
        pending += data
        while True:
            m = re.search(rb"[\r\n]", pending)
            if not m:
                break
            piece, pending = pending[: m.start()], pending[m.end():]
            if piece:
                sys.stdout.write("%.6f\t%s\n" % (now, piece.decode("utf-8", "replace")))
        sys.stdout.flush()
    if pending:
        sys.stdout.write("%.6f\t%s\n" % (time.time(), pending.decode("utf-8", "replace")))


PROGRESS = re.compile(r"train: \[.*?\] data=(\d+)/(\d+) loss=([0-9.eE+-]+|nan|inf)")
# llama.cpp's common log stamps each line with the time since the program started, minutes.seconds.ms.µs.
LOG_TIME = re.compile(r"^(\d+)\.(\d{2})\.(\d{3})\.(\d{3}) ")
LR_LINE = re.compile(r" epoch (\d+) lr=")


def finetune_run(stamped, ctx):
    """llama-finetune's steps from its stamped stderr.

    Each progress line is one micro-batch; with -b = -ub = -c that is one datapoint and one optimizer step. Its
    loss is the running mean over the epoch so far, so step k's own loss is k·mean_k − (k−1)·mean_{k−1}.

    A step's time comes from llama.cpp's own clock, not from when this side read the line: as each step's optimizer
    parameters are read, before its forward pass (its graph already built), llama.cpp logs "epoch E lr=..." with
    the time since the program started. A step runs from its line to the next one (the next step's graph
    building included, as the factory's step includes its own); the very last step, to its progress line, whose
    time is its arrival here less the smallest delay any log line had between being logged and arriving."""
    offset = None
    step_starts = []  # (log time of the step's learning-rate line)
    steps = []        # (epoch number, done, total, running mean, arrival)
    for raw in stamped.splitlines():
        at, _, piece = raw.partition("\t")
        at = float(at)
        t = LOG_TIME.match(piece)
        if t:
            logged = int(t.group(1)) * 60 + int(t.group(2)) + int(t.group(3)) / 1e3 + int(t.group(4)) / 1e6
            offset = at - logged if offset is None else min(offset, at - logged)
            if LR_LINE.search(piece):
                step_starts.append(logged)
            continue
        m = PROGRESS.search(piece)
        if m:
            steps.append((int(m.group(1)), int(m.group(2)), float(m.group(3)), at))
    if len(step_starts) < len(steps):
        raise SystemExit("llama-finetune's log has %d steps but %d learning-rate lines; its log format changed"
                         % (len(steps), len(step_starts)))
    epochs, current = [], None
    for i, (done, total, mean, arrival) in enumerate(steps):
        if current is None or done <= current["steps"][-1]["index"]:
            current = {"steps": [], "total": total}
            epochs.append(current)
        end = step_starts[i + 1] if i + 1 < len(steps) else arrival - offset
        k = len(current["steps"]) + 1
        prev_mean = current["steps"][-1]["mean"] if current["steps"] else 0.0
        current["steps"].append({"index": done, "mean": mean, "loss": k * mean - (k - 1) * prev_mean,
                                 "seconds": end - step_starts[i]})
        if done == total:
            current = None
    out = []
    for e in epochs:
        steps_ = e["steps"]
        out.append({"steps": len(steps_), "stepsPlanned": e["total"], "tokens": len(steps_) * ctx,
                    "seconds": sum(s["seconds"] for s in steps_), "meanLoss": steps_[-1]["mean"],
                    "stepLosses": [s["loss"] for s in steps_], "stepSeconds": [s["seconds"] for s in steps_]})
    return out


def factory_run(job, metrics, window):
    """The factory's steps from its job's metrics: every step's loss and tokens/s as the trainer timed the one
    llama_opt_epoch call that is the step (graph building, forward, backward, optimizer update), and the instant
    the step was recorded; every epoch's mean loss."""
    steps = [m for m in metrics["metrics"] if m["kind"] == "step"]
    epoch_means = {m["epoch"]: m["loss"] for m in metrics["metrics"] if m["kind"] == "epoch"}
    out = []
    for epoch in sorted({s["epoch"] for s in steps}):
        mine = sorted((s for s in steps if s["epoch"] == epoch), key=lambda s: s["step"])
        seconds = [window / s["tokensPerSecond"] for s in mine]
        at = [datetime.fromisoformat(s["at"].replace("Z", "+00:00")).timestamp() for s in mine]
        out.append({"steps": len(mine), "tokens": len(mine) * window, "seconds": sum(seconds),
                    "meanLoss": epoch_means.get(epoch), "stepLosses": [s["loss"] for s in mine],
                    "stepSeconds": seconds,
                    # from the first step's record to the last's: every step but the first, with the bookkeeping
                    # between steps (recording the metric) included
                    "recordedSeconds": at[-1] - at[0] if len(at) > 1 else None})
    return out


def summary(epochs):
    """Tokens/s leave out the run's first step: the factory's includes allocating the optimizer's buffers for the
    first time, llama-finetune's is timed from after that (its first log line of the step comes later), so that
    step compares nothing. It is shown on its own."""
    seconds = [s for e in epochs for s in e["stepSeconds"]]
    window = epochs[0]["tokens"] // epochs[0]["steps"]
    tokens = sum(e["tokens"] for e in epochs)
    later_seconds = sum(seconds[1:])
    per_epoch = []
    for i, e in enumerate(epochs):
        steps = e["stepSeconds"][1:] if i == 0 else e["stepSeconds"]
        per_epoch.append(len(steps) * window / sum(steps) if steps and sum(steps) > 0 else None)
    losses = [l for e in epochs for l in e["stepLosses"]]
    return {"epochs": len(epochs), "steps": len(seconds), "tokens": tokens, "stepSeconds": sum(seconds),
            "firstStepSeconds": seconds[0] if seconds else None,
            "tokensPerSecond": (len(seconds) - 1) * window / later_seconds if later_seconds > 0 else None,
            "epochTokensPerSecond": per_epoch,
            "stepTokensPerSecondMedian": statistics.median(window / s for s in seconds[1:] if s > 0)
            if len(seconds) > 1 else None,
            "firstStepLoss": losses[0] if losses else None, "lastStepLoss": losses[-1] if losses else None,
            "epochMeanLosses": [e["meanLoss"] for e in epochs]}


def fmt(v, digits=1):
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    return f"{v:,}"


def ratio(a, b):
    return a / b if a and b else None


def report(a):
    setup = json.loads(open(a.setup).read())
    ctx = setup["ctx"]
    ft = finetune_run(open(a.finetune_log, encoding="utf-8", errors="replace").read(), ctx)
    job = json.loads(open(a.job).read())
    metrics = json.loads(open(a.metrics).read())
    fa = factory_run(job, metrics, ctx)
    s_ft, s_fa = summary(ft), summary(fa)
    s_ft["wallSeconds"] = setup["finetuneWallSeconds"]
    started = datetime.fromisoformat(job["startedAt"].replace("Z", "+00:00")).timestamp()
    ended = datetime.fromisoformat(job["endedAt"].replace("Z", "+00:00")).timestamp()
    s_fa["wallSeconds"] = ended - started
    recorded = [e["recordedSeconds"] for e in fa]
    if all(r for r in recorded):
        tokens = sum((e["steps"] - 1) * ctx for e in fa)
        s_fa["recordedTokensPerSecond"] = tokens / sum(recorded)
    result = {"setup": setup, "llamaFinetune": {**s_ft, "perEpoch": ft}, "factory": {**s_fa, "perEpoch": fa},
              "ratio": {"tokensPerSecond": ratio(s_fa["tokensPerSecond"], s_ft["tokensPerSecond"]),
                        "stepTokensPerSecondMedian": ratio(s_fa["stepTokensPerSecondMedian"],
                                                           s_ft["stepTokensPerSecondMedian"])}}
    with open(os.path.join(a.out, "compare.json"), "w") as f:
        json.dump(result, f, indent=2)

    rows = [
        ("optimizer steps (windows of %d tokens)" % ctx, fmt(s_fa["steps"]), fmt(s_ft["steps"]), ""),
        ("tokens computed", fmt(s_fa["tokens"]), fmt(s_ft["tokens"]), ""),
        ("time in steps, s", fmt(s_fa["stepSeconds"], 2), fmt(s_ft["stepSeconds"], 2), ""),
        ("first step, s", fmt(s_fa["firstStepSeconds"], 2), fmt(s_ft["firstStepSeconds"], 2), ""),
        ("**tokens/s** (tokens ÷ time in steps, after the first step)", "**%s**" % fmt(s_fa["tokensPerSecond"]),
         "**%s**" % fmt(s_ft["tokensPerSecond"]), "**%s**" % fmt(result["ratio"]["tokensPerSecond"], 2)),
    ]
    for i in range(max(len(fa), len(ft))):
        a_tps = s_fa["epochTokensPerSecond"][i] if i < len(fa) else None
        b_tps = s_ft["epochTokensPerSecond"][i] if i < len(ft) else None
        rows.append(("tokens/s, epoch %d" % (i + 1), fmt(a_tps), fmt(b_tps), fmt(ratio(a_tps, b_tps), 2)))
    rows += [
        ("median step tokens/s", fmt(s_fa["stepTokensPerSecondMedian"]), fmt(s_ft["stepTokensPerSecondMedian"]),
         fmt(result["ratio"]["stepTokensPerSecondMedian"], 2)),
        ("loss, first step", fmt(s_fa["firstStepLoss"], 3), fmt(s_ft["firstStepLoss"], 3), ""),
        ("loss, last step", fmt(s_fa["lastStepLoss"], 3), fmt(s_ft["lastStepLoss"], 3), ""),
        ("mean loss per epoch", " → ".join(fmt(l, 3) for l in s_fa["epochMeanLosses"]),
         " → ".join(fmt(l, 3) for l in s_ft["epochMeanLosses"]), ""),
        ("wall time, s (%s)" % "factory: the job's start to end; llama-finetune: the process",
         fmt(s_fa["wallSeconds"], 1), fmt(s_ft["wallSeconds"], 1), ""),
    ]
    with open(os.path.join(a.out, "compare.md"), "w") as f:
        f.write("# Training throughput: the factory against llama-finetune\n\n")
        f.write("| | factory | llama-finetune | factory ÷ llama-finetune |\n| --- | --- | --- | --- |\n")
        for r in rows:
            f.write("| %s |\n" % " | ".join(r))
        if "recordedTokensPerSecond" in s_fa:
            f.write("\nThe factory's steps from one step's record to the next (each epoch's first step left out; "
                    "the per-step bookkeeping included): %s tokens/s.\n" % fmt(s_fa["recordedTokensPerSecond"]))
        f.write("\nA step's time: the factory's trainer times the one `llama_opt_epoch` call that is the step (graph "
                "building, forward, backward, optimizer update); llama-finetune's runs from the line llama.cpp logs "
                "as the step's optimizer parameters are read (`epoch E lr=...`, stamped with llama.cpp's own clock) "
                "to the next step's, or for the last step to its progress line. Each step is one window of %d "
                "tokens (`-b` = `-ub` = `-c`). llama-finetune's windows start every %d tokens (n_ctx / 2), so it "
                "computes about twice the tokens of the text per epoch; the factory's windows do not overlap. "
                "Tokens/s counts what each computed. The run's first step is left out of tokens/s (the factory's "
                "includes allocating the optimizer's buffers, llama-finetune's is timed after that) and shown on its "
                "own. llama-finetune keeps its learning rate constant, the factory decays it linearly to zero at "
                "the last step, so their losses part after the first step.\n" % (ctx, ctx // 2))
        f.write("\n## Setup\n\n```\n")
        for k, v in setup.items():
            f.write("%s: %s\n" % (k, v))
        f.write("```\n")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("text")
    t.add_argument("--tokens", type=int, required=True)
    t.add_argument("--seed", type=int, default=1)
    r = sub.add_parser("records")
    r.add_argument("--text", required=True)
    r.add_argument("--chars", type=int, required=True)
    sub.add_parser("stamp")
    rep = sub.add_parser("report")
    rep.add_argument("--setup", required=True, help="a JSON object of the run's settings, with ctx and "
                     "finetuneWallSeconds")
    rep.add_argument("--finetune-log", required=True, help="llama-finetune's stderr as `stamp` wrote it")
    rep.add_argument("--job", required=True, help="the factory's job as GET /api/v1/training-jobs/ID answered")
    rep.add_argument("--metrics", required=True, help="its /metrics")
    rep.add_argument("--out", required=True)
    a = p.parse_args()
    if a.command == "text":
        if a.tokens < 1:
            p.error("--tokens must be positive")
        sys.stdout.write(text(a.tokens, a.seed))
    elif a.command == "records":
        if a.chars < 1:
            p.error("--chars must be positive")
        content = open(a.text, encoding="utf-8").read()
        if not content.strip():
            p.error("the text is empty")
        for rec in records(content, a.chars):
            sys.stdout.write(json.dumps(rec, ensure_ascii=False) + "\n")
    elif a.command == "stamp":
        stamp()
    else:
        report(a)


if __name__ == "__main__":
    main()
