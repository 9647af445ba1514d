"""Exit 0 when the local server's /healthz answers 200: Docker's HEALTHCHECK."""
import os
import sys
import urllib.error
import urllib.request

url = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/healthz"
try:
    with urllib.request.urlopen(url, timeout=4) as response:
        print(response.read().decode())
except urllib.error.HTTPError as exc:  # 503: the body says why
    sys.exit(f"unhealthy: {exc.code} {exc.read().decode()}")
except OSError as exc:
    sys.exit(f"unhealthy: {exc}")
