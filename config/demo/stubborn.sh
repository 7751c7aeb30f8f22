#!/bin/sh
# A workload that ignores SIGTERM: init must end it with SIGKILL when the stop budget runs out.
trap 'echo "  stubborn: got SIGTERM and ignores it"' TERM
touch "$DEMO_DIR/ready"
while :; do sleep 1 & wait $!; done
