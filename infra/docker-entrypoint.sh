#!/bin/sh
# Chooses the service by its first argument. Each line is the package.json script of the same name
# (shared/config/deployment-files.test.ts checks that), run by node itself so that SIGTERM reaches it.
set -e
service="${1:-all-in-one}"
[ "$#" -gt 0 ] && shift
case "$service" in
  api)        exec node --import tsx services/api/main.ts "$@" ;;
  ingestion)  exec node --import tsx services/ingestion/main.ts "$@" ;;
  pipeline)   exec node --import tsx services/pipeline/main.ts "$@" ;;
  scheduler)  exec node --import tsx services/scheduler/main.ts "$@" ;;
  all-in-one) exec node --import tsx services/all-in-one.main.ts "$@" ;;
  migrate)    exec node --import tsx scripts/db-migrate.ts "$@" ;;
  job)        exec node --import tsx scripts/job.ts "$@" ;;
  cli)        exec node --import tsx scripts/cli.ts "$@" ;;
  *)
    echo "usage: tyndau api|ingestion|pipeline|scheduler|all-in-one|migrate|job|cli [args]" >&2
    exit 64
    ;;
esac
