#!/usr/bin/env bash
# ensure_system_package.sh COMMAND DEBIAN_PACKAGE "what happens without it"
# Installs DEBIAN_PACKAGE with apt-get when COMMAND is missing and we are root on Debian/Ubuntu;
# otherwise says what will not work and how to install it. Never fails: the course runs without it.
command -v "$1" >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing $2 with apt-get"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null) \
        || echo "WARNING: could not install $2: $3"
else
    echo "NOTE: '$1' is not installed: $3 Install the $2 package (e.g. sudo apt-get install $2)."
fi
exit 0
