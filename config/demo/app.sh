#!/bin/sh
# The demo's workload: a small "app" that leaves orphans behind, reloads on
# SIGUSR1 and shuts down gracefully on SIGTERM. $DEMO_DIR is where it reports.
set -u
trap 'echo "  app: got SIGUSR1 -> reloading config"' USR1
trap 'echo "  app: got SIGTERM -> finishing work, exiting 0"; exit 0' TERM

# 200 short-lived background jobs whose parent exits first: orphans that
# PID 1 must reap, or they stay zombies for the container's lifetime.
i=0; while [ $i -lt 200 ]; do (sleep 0.01 &); i=$((i+1)); done
echo "  app: started as pid $$ with APP_URL=$APP_URL, left 200 orphaned jobs behind"
touch "$DEMO_DIR/ready"
while :; do sleep 1 & wait $!; done
