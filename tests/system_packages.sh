#!/usr/bin/env bash
# Installs the Debian packages the suite needs when they are missing: Chromium for the browser
# test (Playwright never downloads a browser here) and fonts that make Chinese and emoji
# legible in its screenshots; and, where a MariaDB server runs on this machine, its Mroonga
# plugin, which search uses (README, Search). CI's MariaDB is a container: the workflow adds
# Mroonga to it itself (.github/workflows/ci.yml).
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
# Checked on their own: a Chromium installed by hand comes without them.
for font in fonts-wqy-zenhei fonts-noto-color-emoji; do
    dpkg -s "$font" >/dev/null 2>&1 || missing+=("$font")
done
if command -v mariadbd >/dev/null && ! dpkg -s mariadb-plugin-mroonga >/dev/null 2>&1; then
    missing+=(mariadb-plugin-mroonga)
fi
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "tests/system_packages.sh: missing packages; run as root:" \
             "apt-get install ${missing[*]}" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
# The package does not load the plugin into a running server; INSTALL SONAME does, once.
if command -v mariadb >/dev/null && dpkg -s mariadb-plugin-mroonga >/dev/null 2>&1 &&
        mariadb -uroot -h127.0.0.1 -e "SELECT 1" >/dev/null 2>&1 &&
        ! mariadb -uroot -h127.0.0.1 -N -e "SHOW ENGINES" | grep -qi '^mroonga'; then
    mariadb -uroot -h127.0.0.1 -e "INSTALL SONAME 'ha_mroonga'"
fi
