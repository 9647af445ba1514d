"""Docker's HEALTHCHECK: exit 0 when /healthz answers 200, or (`worker`) the worker here pongs."""
import os
import socket
import sys
import urllib.error
import urllib.request


def check_server():
    url = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=4) as response:
            print(response.read().decode())
    except urllib.error.HTTPError as exc:  # 503: the body says why
        sys.exit(f"unhealthy: {exc.code} {exc.read().decode()}")
    except OSError as exc:
        sys.exit(f"unhealthy: {exc}")


def check_worker():
    """The worker of this container (Celery's default name, celery@<hostname>) answers a ping."""
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from mailqueue.celery import celery

    node = f"celery@{socket.gethostname()}"
    replies = celery.control.ping(destination=[node], timeout=3)
    if not replies:
        sys.exit(f"unhealthy: {node} did not answer a ping within 3 s")
    print(replies)


if __name__ == "__main__":
    if sys.argv[1:] == ["worker"]:
        check_worker()
    else:
        check_server()
