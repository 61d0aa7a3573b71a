#!/usr/bin/env bash
# Grade one shard of a class with course-grade: as a Slurm array task, as a pod of a
# Kubernetes Indexed Job, or by hand. Every shard must use the same secret file.
#
#   SUBMISSIONS  folder of student folders (shared storage)        required
#   OUT          folder for this run's gradebooks and feedback      required
#   SECRET       the assignment's secret file (same for all shards) required
#   SHARDS       how many shards (Slurm: SLURM_ARRAY_TASK_COUNT)     required off Slurm
#   SHARD_INDEX  1..SHARDS, by hand (Slurm: SLURM_ARRAY_TASK_ID; Kubernetes: JOB_COMPLETION_INDEX + 1)
#   JOBS         notebooks graded at once in this shard (default 2)
#   COURSE_GRADE the command (default: course-grade)
set -euo pipefail
if [[ -n "${SLURM_ARRAY_TASK_ID:-}" ]]; then
  index=$SLURM_ARRAY_TASK_ID                      # submit with --array=1-N
  count=${SLURM_ARRAY_TASK_COUNT:-${SHARDS:?set SHARDS}}
elif [[ -n "${JOB_COMPLETION_INDEX:-}" ]]; then
  index=$((JOB_COMPLETION_INDEX + 1))             # Kubernetes counts from 0
  count=${SHARDS:?set SHARDS}
else
  index=${SHARD_INDEX:?set SHARD_INDEX}
  count=${SHARDS:?set SHARDS}
fi
: "${SUBMISSIONS:?set SUBMISSIONS}" "${OUT:?set OUT}" "${SECRET:?set SECRET}"
mkdir -p "$OUT"
read -r -a grade <<< "${COURSE_GRADE:-course-grade}"
exec "${grade[@]}" "$SUBMISSIONS" --shard "$index/$count" --secret "$SECRET" \
  --out "$OUT/grades-$index.csv" --feedback "$OUT/feedback-$index" --jobs "${JOBS:-2}" --quiet
