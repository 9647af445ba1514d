"""The mail_queue extension: the app's mail queue when CELERY_BROKER_URL is set, else None."""


class BrokerError(Exception):
    """The broker did not take the job: not reachable, refused it, or did not confirm it."""


class MailQueue:
    """``app.extensions["mail_queue"]`` is a ``mailqueue.celery_app.CeleryQueue``, or None when
    CELERY_BROKER_URL is not set (the web process then sends mail itself)."""

    def init_app(self, app):
        if not app.config["CELERY_BROKER_URL"]:
            app.extensions["mail_queue"] = None
            if not (app.debug or app.testing):
                app.logger.warning(
                    "CELERY_BROKER_URL is not set: registration mail is sent by the web "
                    "process itself, within the request. Set CELERY_BROKER_URL to a RabbitMQ "
                    "URL and run 'python manage.py worker' to send it from a queue.")
            return
        # Imported here: Celery, kombu and py-amqp take 0.1-0.4 s to import, which only a
        # process with a broker should pay (not every manage.py command, not every test).
        from mailqueue.celery_app import CeleryQueue

        app.extensions["mail_queue"] = CeleryQueue(app)
