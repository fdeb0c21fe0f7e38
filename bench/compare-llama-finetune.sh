#!/usr/bin/env bash
# Training throughput: the factory against llama.cpp's own llama-finetune, on the same GGUF model, text, context,
# threads and machine, one after the other.
#
#   bench/compare-llama-finetune.sh --model-file FILE.gguf [--text FILE.txt | --tokens 4096] [--ctx 256]
#       [--threads 2] [--epochs 2] [--learning-rate 1e-4] [--peer-weights f32|given] [--nice N] [--out DIR]
#
# --model-file: an F32 or F16 model (llama.cpp trains no quantized weights), e.g. a synthetic one of 7 layers (this
#   llama.cpp's training graphs abort beyond that, see docs/benchmarks.md):
#   ./factory models synth --params 14M --quant F16 --tokenizer ../shared/models/llama-2-tiny-random.gguf \
#     --out /tmp/synth-14m-f16.gguf
# --text: plain text to train on; without it, a deterministic synthetic English-like text of about --tokens tokens.
#
# 1. Builds llama-finetune (and llama-quantize) once from the llama.cpp source the factory's natives were built from,
#    into the same cache folder as bench/compare-llama-server.sh's llama-server (bench/common.sh): at run time they
#    load the very libllama, libggml and libggml-cpu-* files the factory loads, and the script checks that the
#    running llama-finetune has those files mapped.
# 2. The factory trains an F32 copy of every base (it converts the weights in memory before training), so by default
#    llama-finetune gets an F32 copy too, made with llama-quantize (--peer-weights f32); --peer-weights given hands
#    it the file as given.
# 3. Runs llama-finetune on the text: -c = -b = -ub = --ctx (one window a step), -t = -tb = --threads, --epochs,
#    -lr, AdamW, -val-split 0; each step is timed by the lines llama.cpp's log stamps with its own clock.
# 4. Then the factory, never both at once: starts one with a throwaway home on loopback (training on --threads),
#    imports the model, uploads the text as a dataset of {"prompt", "completion"} records whose concatenation is
#    the text, and runs a training job with contextLength --ctx, batchSize 1, the same epochs and learning rate,
#    no validation and checkpoints only between epochs; reads every step's tokens/s and loss from its metrics.
# 5. Writes compare.md and compare.json to --out (default bench-results/): tokens/s of each (the tokens each
#    computed ÷ the time in its steps; llama-finetune's windows overlap by half, so it computes about twice the
#    tokens per epoch), the ratio factory ÷ llama-finetune, both loss curves' first and last values, the commands
#    and the machine's load; with both logs, the text and the dataset.
#
# --nice N runs both at that niceness (below 0 needs root). Needs cmake, a C++17 compiler, ninja or make, curl and
# python3. Stops the factory on exit.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
usage() { sed -n '2,33p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
log() { echo "compare-llama-finetune: $*" >&2; }
model_file="" text_file="" tokens=4096 ctx=256 threads=2 epochs=2 learning_rate=1e-4 peer_weights=f32 niceness=0
out=bench-results
while [ $# -gt 0 ]; do
  case "$1" in
    --model-file) model_file="$2"; shift 2 ;;
    --text) text_file="$2"; shift 2 ;;
    --tokens) tokens="$2"; shift 2 ;;
    --ctx) ctx="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --epochs) epochs="$2"; shift 2 ;;
    --learning-rate) learning_rate="$2"; shift 2 ;;
    --peer-weights) peer_weights="$2"; shift 2 ;;
    --nice) niceness="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h | --help) usage ;;
    *) log "unknown option $1"; usage ;;
  esac
done

[ -n "$model_file" ] || { log "--model-file FILE.gguf is required"; usage; }
[ -f "$model_file" ] || { log "no such file: $model_file"; exit 1; }
[ -z "$text_file" ] || [ -s "$text_file" ] || { log "no such file, or empty: $text_file"; exit 1; }
for n in "$tokens" "$ctx" "$threads" "$epochs"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { log "not a positive number: $n"; exit 2; }
done
# The factory's training windows (batch × context) are whole multiples of 256 tokens, as llama.cpp's contexts are.
[ $((ctx % 256)) -eq 0 ] || { log "--ctx must be a multiple of 256: $ctx"; exit 2; }
[[ "$learning_rate" =~ ^[0-9]*\.?[0-9]+([eE]-?[0-9]+)?$ ]] || { log "--learning-rate takes a number: $learning_rate"; exit 2; }
[[ "$peer_weights" =~ ^(f32|given)$ ]] || { log "--peer-weights takes f32 or given: $peer_weights"; exit 2; }
[[ "$niceness" =~ ^-?[0-9]+$ ]] || { log "--nice takes a number: $niceness"; exit 2; }
for tool in cmake curl python3; do
  command -v "$tool" >/dev/null || { log "needs $tool"; exit 1; }
done
model_file="$(cd "$(dirname "$model_file")" && pwd)/$(basename "$model_file")"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
helper=(python3 "$root/bench/finetune_compare.py")

# shellcheck source=bench/common.sh
. "$root/bench/common.sh"
llama_tools_init
llama_tool llama-finetune
[ "$peer_weights" = given ] || llama_tool llama-quantize

work="$(mktemp -d)"
factory_pid=""
cleanup() {
  local status=$?
  if [ -n "$factory_pid" ]; then kill "$factory_pid" 2>/dev/null; wait "$factory_pid" 2>/dev/null || true; fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT

# ---- the text, and the same text as a dataset ----

if [ -n "$text_file" ]; then
  cp "$text_file" "$out/text.txt"
else
  "${helper[@]}" text --tokens "$tokens" >"$out/text.txt"
fi
# Records of about 16 windows' worth of text each (some 4 characters a token): every record becomes BOS + its
# tokens + EOS in the factory, so few large records keep its token stream close to llama-finetune's, which
# tokenizes the whole text at once with one BOS.
"${helper[@]}" records --text "$out/text.txt" --chars $((16 * 4 * ctx)) >"$out/dataset.jsonl"

# ---- llama-finetune ----

peer_model="$model_file"
if [ "$peer_weights" = f32 ]; then
  peer_model="$work/peer-f32.gguf"
  log "converting the model to F32 for llama-finetune (the factory trains an F32 copy of it too)..."
  (cd "$llama_bin" && LD_LIBRARY_PATH="$llama_bin" ./llama-quantize --allow-requantize "$model_file" "$peer_model" F32) \
    >"$out/llama-quantize.log" 2>&1 || { log "llama-quantize failed, see $out/llama-quantize.log"; exit 1; }
fi
finetune_args=(-m "$peer_model" -f "$out/text.txt" -c "$ctx" -b "$ctx" -ub "$ctx" -t "$threads" -tb "$threads"
  --epochs "$epochs" -lr "$learning_rate" -opt adamw -val-split 0 -o "$work/finetuned.gguf")
load_before_finetune="$(cut -d' ' -f1-3 /proc/loadavg)"
log "running llama-finetune: ${finetune_args[*]}"
mkfifo "$work/stderr"
# At the program's niceness, so that reading its output keeps up with it on a busy machine.
nice -n "$niceness" "${helper[@]}" stamp <"$work/stderr" >"$out/llama-finetune.log" &
stamp_pid=$!
started="$(date +%s.%N)"
(cd "$llama_bin" && exec nice -n "$niceness" env LD_LIBRARY_PATH="$llama_bin" ./llama-finetune "${finetune_args[@]}") \
  >"$out/llama-finetune.stdout" 2>"$work/stderr" &
finetune_pid=$!
# The same kernels: the running program must have the prebuilt natives' files mapped, not libraries of its own.
finetune_natives="$(llama_check_natives "$finetune_pid")" || { kill "$finetune_pid" 2>/dev/null; exit 1; }
finetune_status=0
wait "$finetune_pid" || finetune_status=$?
ended="$(date +%s.%N)"
wait "$stamp_pid" || true
load_after_finetune="$(cut -d' ' -f1-3 /proc/loadavg)"
[ "$finetune_status" -eq 0 ] || { log "llama-finetune failed ($finetune_status), see $out/llama-finetune.log"; exit 1; }
finetune_wall="$(python3 -c "print(round($ended - $started, 3))")"
rm -f "$work/finetuned.gguf"

# ---- the factory ----

load_before_factory="$(cut -d' ' -f1-3 /proc/loadavg)"
# Training at the process's own niceness (--nice, the same as llama-finetune's), not below it as a factory serving
# requests would run it (training.niceness).
factory_start "$work/home" "$niceness" "$out/factory.log" FACTORY_TRAINING_THREADS="$threads" \
  FACTORY_TRAINING_NICENESS=0
fctl models import "$model_file" --name bench/base >/dev/null
fctl datasets upload "$out/dataset.jsonl" --name bench/text >/dev/null
key="$(cat "$work/home/admin.key")"
api() { # METHOD PATH [BODY]
  curl -fsS -X "$1" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    "http://127.0.0.1:$factory_port$2" ${3:+--data "$3"}
}
job_body="$(printf '{"name": "bench", "baseModel": "bench/base", "trainingDataset": "bench/text", "outputModel": "bench/tuned", "hyperparameters": {"epochCount": %d, "learningRate": %s, "contextLength": %d, "batchSize": 1, "checkpointSteps": 0, "validationSplit": 0}}' \
  "$epochs" "$learning_rate" "$ctx")"
log "running the factory's training job: $job_body"
job_id="$(api POST /api/v1/training-jobs "$job_body" | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')"
# Polled every 5 s with nothing but curl and grep: a python3 and a curl every second took about 5% of the two cores
# while the factory trained (perf), time llama-finetune's run never loses, as nothing polls it.
while :; do
  sleep 5
  api GET "/api/v1/training-jobs/$job_id" >"$out/factory-job.json"
  status="$(grep -o '"status" *: *"[a-z-]*"' "$out/factory-job.json" | head -1 | sed 's/.*"\([a-z-]*\)"$/\1/')"
  case "$status" in
    completed) break ;;
    failed | stopped) log "the training job ended $status, see $out/factory-job.json and $out/factory.log"; exit 1 ;;
  esac
  kill -0 "$factory_pid" 2>/dev/null || { log "the factory stopped, see $out/factory.log"; exit 1; }
done
load_after_factory="$(cut -d' ' -f1-3 /proc/loadavg)"
api GET "/api/v1/training-jobs/$job_id/metrics" >"$out/factory-metrics.json"

# ---- the report ----

if [ "$peer_weights" = f32 ]; then peer_desc="an F32 copy of the model (llama-quantize ... F32)"; else peer_desc="the model as given"; fi
SETUP_DATE="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
SETUP_MACHINE="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(free -g | awk '/^Mem/ {print $2}') GiB" \
SETUP_MODEL="$model_file ($(du -h "$model_file" | cut -f1))" SETUP_PEER_MODEL="$peer_desc" \
SETUP_TEXT="$(wc -c <"$out/text.txt") bytes, $(wc -l <"$out/dataset.jsonl") dataset records" \
SETUP_CTX="$ctx" SETUP_THREADS="$threads" SETUP_EPOCHS="$epochs" SETUP_LR="$learning_rate" SETUP_NICE="$niceness" \
SETUP_FINETUNE="llama-finetune ${finetune_args[*]}" SETUP_FINETUNE_NATIVES="$finetune_natives" \
SETUP_FACTORY="FACTORY_TRAINING_THREADS=$threads FACTORY_TRAINING_NICENESS=0 factory up; POST /api/v1/training-jobs $job_body" \
SETUP_FACTORY_NATIVES="$llama_lib" \
SETUP_LOAD_FINETUNE="$load_before_finetune / $load_after_finetune" \
SETUP_LOAD_FACTORY="$load_before_factory / $load_after_factory" SETUP_WALL="$finetune_wall" \
python3 -c '
import json, os, sys
e = os.environ
json.dump({"date": e["SETUP_DATE"], "machine": e["SETUP_MACHINE"], "model": e["SETUP_MODEL"],
           "llama-finetune weights": e["SETUP_PEER_MODEL"], "text": e["SETUP_TEXT"], "ctx": int(e["SETUP_CTX"]),
           "threads": int(e["SETUP_THREADS"]), "epochs": int(e["SETUP_EPOCHS"]), "learningRate": e["SETUP_LR"],
           "niceness": int(e["SETUP_NICE"]), "llama-finetune": e["SETUP_FINETUNE"],
           "llama-finetune natives": e["SETUP_FINETUNE_NATIVES"], "factory": e["SETUP_FACTORY"],
           "factory natives": e["SETUP_FACTORY_NATIVES"],
           "load average (1, 5, 15 min) before / after llama-finetune": e["SETUP_LOAD_FINETUNE"],
           "load average (1, 5, 15 min) before / after the factory": e["SETUP_LOAD_FACTORY"],
           "finetuneWallSeconds": float(e["SETUP_WALL"])}, open(sys.argv[1], "w"), indent=1)
' "$out/setup.json"
"${helper[@]}" report --setup "$out/setup.json" --finetune-log "$out/llama-finetune.log" \
  --job "$out/factory-job.json" --metrics "$out/factory-metrics.json" --out "$out"
log "results in $out/compare.md and $out/compare.json"
cat "$out/compare.md"
