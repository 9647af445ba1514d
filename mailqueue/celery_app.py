"""The Celery app that carries registration mail to the workers: configured, published to."""
import contextlib

from amqp.exceptions import AMQPError, MessageNacked, NotFound
from celery import Celery, Task, signals
from kombu.exceptions import KombuError

import logging_config
from mailqueue.extension import BrokerError
from mailqueue.tasks import TASK_NAME, register_tasks

# kombu's own errors, py-amqp's (a refused login, a closed channel), a nack, socket errors.
BROKER_ERRORS = (KombuError, AMQPError, MessageNacked, OSError)


@signals.setup_logging.connect
def keep_app_logging(**kwargs):
    """A receiver here tells Celery to leave logging alone: create_app set it up already
    (logging_config.py), with the level of LOG_LEVEL rather than the worker's --loglevel."""


def make_celery(app):
    config = app.config

    class AppContextTask(Task):
        """Runs each job inside the Flask app's context, logging with its request's id."""

        def __call__(self, *args, **kwargs):
            with app.app_context(), logging_config.job_context(
                    self.request.get("request_id"), self.request.id):
                return self.run(*args, **kwargs)

    celery = Celery(app.import_name, task_cls=AppContextTask, set_as_current=False)
    celery.conf.update(
        broker_url=config["CELERY_BROKER_URL"],
        broker_connection_timeout=config["BROKER_TIMEOUT"],
        # A worker started before RabbitMQ waits for it instead of exiting.
        broker_connection_retry_on_startup=True,
        # Every publish (the web's, and the worker's own retries) waits for the broker's ack.
        broker_transport_options={"confirm_publish": True},
        # A durable queue of persistent messages: a broker restart loses no job.
        task_default_queue=config["MAIL_QUEUE"],
        task_default_delivery_mode="persistent",
        # Acknowledged only once the job returned (the SMTP server took the mail, or it was
        # given up with a log line). A worker that dies mid-job leaves it in the queue; a
        # pool process that dies has it put back; each worker holds one job at a time.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_cancel_long_running_tasks_on_connection_loss=True,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        timezone="UTC",
        # logging_config.py has set up logging already, for the worker as for the web.
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
    )
    register_tasks(celery)
    return celery


class CeleryQueue:
    """The Celery app of one Flask app, and what the web side does with it."""

    def __init__(self, app):
        self.celery = make_celery(app)

    @contextlib.contextmanager
    def _connection(self):
        with self.celery.connection_for_write() as connection:
            # Connecting may be tried twice: nothing was sent yet.
            connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0)
            yield connection

    def publish(self, email, code, expires_at, request_id=None):
        """Put the mail job in the queue and wait for the broker to confirm it holds it.

        *expires_at* (an aware datetime) is when the code expires: the broker drops the job
        then, and the worker never sends it after. Raises BrokerError if it may not be queued.
        """
        timeout = self.celery.conf.broker_connection_timeout
        try:
            # A connection of its own, and no retry of the publish: after a lost
            # confirmation a retry could put the job in the queue twice.
            with self._connection() as connection:
                self.celery.send_task(
                    TASK_NAME,
                    kwargs={"email": email, "code": code, "expires_at": expires_at.timestamp()},
                    # What Celery writes in its own log lines instead of the arguments.
                    kwargsrepr=repr({"email": email, "code": "******"}),
                    expires=expires_at, headers={"request_id": request_id},
                    connection=connection, retry=False, timeout=timeout,
                    confirm_timeout=timeout,
                )
        except BROKER_ERRORS as exc:
            raise BrokerError(describe(exc)) from exc

    def status(self):
        """For /healthz: whether the broker answers, jobs waiting, workers listening."""
        queue = self.celery.conf.task_default_queue
        try:
            with self._connection() as connection, connection.channel() as channel:
                try:
                    _, waiting, workers = channel.queue_declare(queue, passive=True)
                except NotFound:
                    waiting = workers = 0  # no job was ever queued and no worker ever ran
        except BROKER_ERRORS as exc:
            return {"status": "unavailable", "error": describe(exc)}
        return {"status": "ok", "queue": queue, "waiting": waiting, "workers": workers}


def describe(exc):
    return " ".join(str(exc).split()) or type(exc).__name__
