"""Registration mail: sent within the request, or handed to a Celery worker through RabbitMQ."""
