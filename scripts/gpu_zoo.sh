#!/usr/bin/env bash
# The GPU zoo driver lives in the lab: lab/gpu_zoo.sh (usage there). This thin wrapper keeps the old path working.
exec bash "$(dirname "$0")/../lab/gpu_zoo.sh" "$@"
