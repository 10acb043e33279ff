#!/bin/bash
# htb on a Slurm job array: N workers each take a deterministic, disjoint share of the studies
# (htb batch --shard K/N hashes the study key), then one dependent job merges their outputs.
#
#   sbatch --array=1-8 docs/slurm-array.sh /data/incoming /data/htb-out
#   sbatch --dependency=afterany:<array job id> --wrap "htb merge /data/htb-out/shard-* --out /data/htb-out/all"
#
# Re-running the array after a crash or a node failure is safe: --resume keeps every study whose
# inputs did not change and redoes the rest. Exit 80 (some studies failed) is not a job failure.
#SBATCH --job-name=htb
#SBATCH --cpus-per-task=2
#SBATCH --mem=8G
#SBATCH --time=12:00:00
#SBATCH --output=htb-%A_%a.log
set -uo pipefail
ROOT=${1:?usage: slurm-array.sh ROOT OUT}
OUT=${2:?usage: slurm-array.sh ROOT OUT}
K=${SLURM_ARRAY_TASK_ID:?run as a job array}
N=${SLURM_ARRAY_TASK_COUNT:?run as a job array}
htb batch "$ROOT" --out "$OUT/shard-$K-of-$N" --shard "$K/$N" --jobs "${SLURM_CPUS_PER_TASK:-2}" \
  --memory-budget-mb 6000 --resume --deidentify
status=$?
# 0: all good; 80: some studies failed (see summary.csv); anything else is a real failure.
if [ "$status" -eq 0 ] || [ "$status" -eq 80 ]; then exit 0; fi
exit "$status"
