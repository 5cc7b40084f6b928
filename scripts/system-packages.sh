#!/usr/bin/env bash
# The system packages the tests need beyond Python: installed with apt when this runs as
# root on Debian or Ubuntu (as CI does), otherwise listed for you to install.
# To add one: a line in PACKAGES (the Debian name) and, if it helps, a hint in OTHER_SYSTEMS.
set -euo pipefail

PACKAGES=(
    libportaudio2      # PortAudio, which sounddevice records with (`vocalis listen`)
    libasound2-plugins # ALSA's pulse plugin: PortAudio's way to PulseAudio and PipeWire
    pulseaudio         # the virtual microphone of tests/audio/test_microphone.py
    pulseaudio-utils   # pactl and paplay, to set it up and play into it
    chromium           # the real browser of the web page's tests (tests/web), driven by Playwright
    systemd            # systemd-analyze, which tests/deploy verify the service unit with
)
OTHER_SYSTEMS="Fedora: sudo dnf install portaudio pulseaudio pulseaudio-utils chromium; \
macOS: brew install portaudio pulseaudio and brew install --cask chromium"

if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
    echo "system-packages: not Debian/Ubuntu; the tests need PortAudio, PulseAudio and Chromium ($OTHER_SYSTEMS)."
    exit 0
fi

missing=()
for package in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "system-packages: missing ${missing[*]}; the tests that need them will fail. Install them:"
    echo "    sudo apt-get install -y ${missing[*]}"
    exit 0
fi
echo "system-packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
