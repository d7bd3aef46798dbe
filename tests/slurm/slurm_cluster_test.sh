#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, started and stopped by this
# script: munged, slurmctld and slurmd on localhost with their state, sockets
# and logs in a temporary folder (no cgroups: proctrack/linuxproc, task/none).
# Submits a 4-shard toy sweep with `mechlens slurm --submit`, requeues one
# running array task with `scontrol requeue`, waits for the merge job and
# checks that the merged archive equals the unsharded run dataset by dataset
# (tests/merge/compare_runs.py).
#
# usage: slurm_cluster_test.sh MECHLENS SOURCE_DIR
# Exit 77 (skipped) when Slurm or munge is not installed or does not start,
# unless CI=true or MECHLENS_REQUIRE_REFERENCES=1: then that is a failure.
# Every wait is bounded; the whole test takes well under two minutes.
set -uo pipefail
mechlens="$1"
src="$2"
recipe="$src/experiments/toy/induction_sensitivity.toml"
export PATH="/usr/sbin:/sbin:$PATH"

work="$(mktemp -d /tmp/mechlens_slurm.XXXXXX)"
chmod 700 "$work"
pids=()
cleanup() {
  # Our daemons only, by the pids we started.
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  done
  if [[ -n "${KEEP_SLURM_TEST:-}" ]]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

required() { [[ "${CI:-}" == true || "${MECHLENS_REQUIRE_REFERENCES:-}" == 1 ]]; }
unavailable() {
  echo "slurm test: $*"
  for log in "$work"/*.log; do [[ -f $log ]] && { echo "--- $log"; tail -n 20 "$log"; }; done
  if required; then echo "FAILED: Slurm is required here (CI=true or MECHLENS_REQUIRE_REFERENCES=1)"; exit 1; fi
  echo "SKIPPED (install slurm-wlm and munge: tools/setup.sh does)"
  exit 77
}
fail() {
  echo "FAILED: $*"
  for log in "$work"/*.log "$work"/sweep_slurm/logs/*.log; do [[ -f $log ]] && { echo "--- $log"; tail -n 30 "$log"; }; done
  exit 1
}
# wait_for SECONDS DESCRIPTION COMMAND...: polls every 0.2 s until COMMAND succeeds.
wait_for() {
  local seconds="$1" what="$2"
  shift 2
  local end=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < end)) || return 1
    sleep 0.2
  done
}

for tool in munged munge slurmctld slurmd sbatch scontrol squeue sinfo; do
  command -v "$tool" >/dev/null || unavailable "$tool is not installed"
done
[[ -x "$mechlens" ]] || fail "no mechlens executable at $mechlens"
/usr/bin/python3 -c "import h5py, numpy" 2>/dev/null || {
  required && fail "h5py is missing"
  echo "SKIPPED: no h5py"
  exit 77
}

# --- munge -------------------------------------------------------------------
user="$(id -un)"
socket="$work/munge.socket"
head -c 1024 /dev/urandom >"$work/munge.key"
chmod 400 "$work/munge.key"
munged --foreground --force --key-file="$work/munge.key" --socket="$socket" --pid-file="$work/munged.pid" \
  --log-file="$work/munged.log" --seed-file="$work/munged.seed" >>"$work/munged.log" 2>&1 &
pids+=($!)
wait_for 10 "munged" test -S "$socket" || unavailable "munged did not start"
munge -n -S "$socket" | unmunge -S "$socket" >/dev/null 2>&1 || unavailable "munge cannot encode and decode a credential"

# --- slurmctld + slurmd --------------------------------------------------------
node="$(hostname -s)"
port=$((20000 + RANDOM % 20000))
cpus="$(nproc)"
mkdir -p "$work/state" "$work/spool"
conf="$work/slurm.conf"
cat >"$conf" <<CONF
ClusterName=mechlens-test
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=$user
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
JobRequeue=1
KillWait=2
MinJobAge=600
InactiveLimit=0
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$conf"
slurmctld -D -i -f "$conf" >>"$work/slurmctld.log" 2>&1 &
pids+=($!)
slurmd -D -f "$conf" -N "$node" >>"$work/slurmd.log" 2>&1 &
pids+=($!)
node_idle() { [[ "$(sinfo -h -N -o %t 2>/dev/null)" == idle* ]]; }
wait_for 30 "node idle" node_idle || unavailable "slurmctld + slurmd did not bring the node up (sinfo: $(sinfo -h -N -o %t 2>&1))"
echo "slurm test: cluster up (node $node, $cpus CPUs, port $port)"

# --- the unsharded run, then the same recipe through Slurm ------------------------
"$mechlens" run "$recipe" --out "$work/full.h5" >"$work/full.run.log" 2>&1 || fail "the unsharded run failed: $(tail -3 "$work/full.run.log")"
submit="$("$mechlens" slurm "$recipe" --shards 4 --out "$work/sweep.h5" --time 10 --submit 2>&1)" || fail "mechlens slurm --submit: $submit"
echo "$submit"
array="$(sed -n 's/^array job: //p' <<<"$submit")"
merge="$(sed -n 's/^merge job: //p' <<<"$submit")"
[[ -n "$array" && -n "$merge" ]] || fail "no job ids in: $submit"
grep -q -- "--array=0-3" "$work/sweep_slurm/shards.sbatch" || fail "the array script lacks --array=0-3"
grep -q -- "--requeue" "$work/sweep_slurm/shards.sbatch" || fail "the array script lacks --requeue"

# Requeue a running array task (polled every 0.1 s): preferably one that has
# begun writing its .partial (its second attempt then continues it), else,
# after 10 s, any running one.
requeued=""
start=$SECONDS
end=$((SECONDS + 60))
while [[ -z "$requeued" ]] && ((SECONDS < end)); do
  for running in $(squeue -h -j "$array" -t RUNNING -o %i 2>/dev/null); do
    i="${running#*_}"
    if [[ -f "$work/sweep.shard-$i-of-4.h5.partial" ]] || ((SECONDS - start > 10)); then
      scontrol requeue "$running" && requeued="$running"
      break
    fi
  done
  sleep 0.1
done
[[ -n "$requeued" ]] || fail "no array task of job $array was seen running within 60 s"
echo "slurm test: requeued running task $requeued"
task="${requeued#*_}"
# Slurm holds a requeued job back (BeginTime a while ahead): let it start again now.
task_state() { scontrol show job "$requeued" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'; }
task_pending() { [[ "$(task_state)" == PENDING ]]; }
wait_for 20 "requeued task pending" task_pending || fail "task $requeued did not go back to PENDING ($(task_state))"
scontrol update JobId="$requeued" StartTime=now || fail "cannot reset the start time of $requeued"

# The merge job ends (COMPLETED) once every task, the requeued one again, succeeded.
merge_state() { scontrol show job "$merge" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'; }
merge_ended() { case "$(merge_state)" in COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY) return 0 ;; *) return 1 ;; esac; }
wait_for 120 "merge job" merge_ended || fail "the merge job $merge did not end within 120 s (state $(merge_state); $(squeue -h 2>&1))"
[[ "$(merge_state)" == COMPLETED ]] || fail "the merge job $merge ended $(merge_state): $(cat "$work/sweep_slurm/logs/merge.log" 2>/dev/null)"

log="$work/sweep_slurm/logs/shard-$task.log"
restarts="$(scontrol show job "$requeued" 2>/dev/null | sed -n 's/.*Restarts=\([0-9]*\).*/\1/p')"
[[ "${restarts:-0}" -ge 1 ]] || fail "task $requeued shows no restart (Restarts=$restarts)"
grep -q "restart 1" "$log" || fail "the log of task $task does not show its second attempt: $(cat "$log")"
echo "slurm test: task $task ran again (Restarts=$restarts): $(grep -c '^shard ' "$log") attempts in its log"
resumed="$(/usr/bin/python3 -c 'import h5py, sys; print(len(h5py.File(sys.argv[1])["runs/run_0001"].attrs.get("resumed_at", [])))' \
  "$work/sweep.shard-$task-of-4.h5" 2>/dev/null)"
echo "slurm test: the second attempt $( [[ "${resumed:-0}" -gt 0 ]] && echo "continued the first one's .partial" || echo "started afresh (requeued before its .partial existed)")"

[[ -f "$work/sweep.h5" ]] || fail "no merged archive $work/sweep.h5"
for i in 0 1 2 3; do [[ -f "$work/sweep.shard-$i-of-4.h5" ]] || fail "shard $i's archive is missing"; done
/usr/bin/python3 "$src/tests/merge/compare_runs.py" "$work/full.h5" "$work/sweep.h5" --attrs || fail "the merged archive differs from the unsharded run"
echo "PASSED: 4 shards through Slurm, one requeued while running, merged = unsharded"
