#!/usr/bin/env bash
# Start RabbitMQ (the mail queue tests need it) when it is installed but does not answer on
# 127.0.0.1:5672, and wait until it does. .ci/run calls this before `make test`.
set -euo pipefail

rabbitmq_answers() {
    (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null
}

if ! rabbitmq_answers && command -v rabbitmq-server >/dev/null; then
    echo "RabbitMQ is installed but does not answer on 127.0.0.1:5672: starting it"
    rabbitmq-server -detached
    # It opens the AMQP port only once it has booted; polling that port is the only signal
    # an external daemon gives. Bounded at 90 s.
    for _ in $(seq 180); do
        rabbitmq_answers && break
        sleep 0.5
    done
    rabbitmq_answers || echo "RabbitMQ did not answer within 90 s; the queue tests will fail" >&2
fi
