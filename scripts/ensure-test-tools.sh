#!/usr/bin/env bash
# Browser and deployment tests drive Debian's Chromium and a real nginx, and validate the compose
# file with docker-compose; install them (and fonts with Vietnamese glyphs) if missing.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium fonts-dejavu-core)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
# No Docker engine here: Debian's docker-compose validates docker/docker-compose.yml instead.
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
# Certificate tests render PDFs to PNG and text (pdftoppm, pdftotext, pdffonts); certificates
# are drawn with the DejaVu fonts.
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf ] || missing+=(fonts-dejavu-core)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "Installing test tools: ${missing[*]}…"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
