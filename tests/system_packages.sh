#!/usr/bin/env bash
# Installs the Debian packages the suite needs when they are missing: Chromium for the browser
# test (Playwright never downloads a browser here) and fonts that make Chinese and emoji
# legible in its screenshots.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "tests/system_packages.sh: /usr/bin/chromium is missing; run as root:" \
         "apt-get install chromium fonts-wqy-zenhei fonts-noto-color-emoji" >&2
    exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei fonts-noto-color-emoji
