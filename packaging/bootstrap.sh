#!/usr/bin/env bash
# Set up a fresh Debian/Ubuntu machine for Atelier4D, then launch the studio or run the tests.
#
#   bash packaging/bootstrap.sh launch   # install, then open the studio on the bundled demo project
#   bash packaging/bootstrap.sh test     # install, then run the whole test suite with coverage floors
#                                        # (extra args go to pytest instead: those tests only, no coverage)
#
# Both put the `atelier4d` command on the PATH: a link in ~/.local/bin ($ATELIER4D_BIN_DIR) to the venv's
# launcher, and they say what to type instead when that folder is not on the PATH.
#
# Idempotent: apt packages are installed only when missing, the venv (.venv) is reused, and pip
# runs again only when pyproject.toml changed. torch is pinned so pip takes the build that suits
# the machine (CPU here, CUDA on a machine with an NVIDIA driver) instead of the newest CUDA wheels.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
BIN_DIR="${ATELIER4D_BIN_DIR:-$HOME/.local/bin}"
TORCH_PIN="torch==2.13.0"
GLTF_VALIDATOR="gltf-validator@2.0.0-dev.3.10"  # Khronos' validator; the tests check every GLB we write with it
APT_PACKAGES=(
  python3 python3-venv python3-pip
  xvfb xauth libegl1 libegl-mesa0 libgl1 libgl1-mesa-dri libgbm1
  libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0
  libxcb-render-util0 libxcb-shape0 libxcb-randr0 libxcb-xfixes0 libxcb-sync1 libxcb-xkb1 libxcb-glx0
  libx11-xcb1 libfontconfig1 libdbus-1-3 libglib2.0-0
)

say() { printf '\033[1m[atelier4d]\033[0m %s\n' "$*" >&2; }

install_apt_packages() {
  command -v dpkg-query >/dev/null || { say "not a Debian/Ubuntu system: install the GL/Xvfb libraries by hand"; return; }
  local missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return
  say "installing system packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The test tools that come from npm, in .tools/ (node and npm from Debian when the machine has none).
install_node_tools() {
  if ! command -v npm >/dev/null; then
    local APT_PACKAGES=(nodejs npm)
    install_apt_packages
  fi
  local stamp="$ROOT/.tools/.installed"
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$GLTF_VALIDATOR" ] && return
  say "installing $GLTF_VALIDATOR into .tools"
  npm install --silent --no-audit --no-fund --prefix "$ROOT/.tools" "$GLTF_VALIDATOR" >/dev/null
  echo "$GLTF_VALIDATOR" > "$stamp"
}

install_python_packages() {
  [ -x "$VENV/bin/python" ] || { say "creating $VENV"; python3 -m venv "$VENV"; }
  local stamp="$VENV/.atelier4d-installed"
  local wanted
  wanted="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1) $TORCH_PIN"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then return; fi
  say "installing Python packages into $VENV (about a minute)"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q "$TORCH_PIN" -e "$ROOT[dev]"
  echo "$wanted" > "$stamp"
}

# `atelier4d ...` as the README prints it: a link to the venv's launcher in $BIN_DIR. A file of that name
# that is not a link is someone else's and stays; silent when all is already in place.
install_launcher() {
  local launcher="$VENV/bin/atelier4d" link="$BIN_DIR/atelier4d"
  if [ -e "$link" ] && [ ! -L "$link" ]; then
    say "$link is not ours, so it stays: type $launcher to run Atelier4D's command line"
    return
  fi
  if [ "$(readlink "$link" 2>/dev/null)" != "$launcher" ]; then
    mkdir -p "$BIN_DIR"
    ln -sfn "$launcher" "$link"
    say "linked $link -> $launcher"
  fi
  case ":$PATH:" in
    *":$BIN_DIR:"*) ;;
    *) say "$BIN_DIR is not on your PATH: type $launcher, or add the folder to the PATH with" \
         "echo 'export PATH=\"$BIN_DIR:\$PATH\"' >> ~/.bashrc (then open a new terminal)" ;;
  esac
}

main() {
  local action="${1:-}"
  shift || true
  case "$action" in
    launch|test) ;;
    *) echo "usage: bash packaging/bootstrap.sh launch|test [pytest args...]" >&2; exit 2 ;;
  esac
  install_apt_packages
  install_python_packages
  install_launcher
  cd "$ROOT"
  export XDG_CACHE_HOME="${XDG_CACHE_HOME:-$ROOT/.cache}"
  if [ "$action" = launch ]; then
    if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
      say "no display: run this from a desktop session (or under 'xvfb-run -a' for a virtual screen)"
      exit 1
    fi
    exec "$VENV/bin/atelier4d" open "$ROOT/assets/demo.a4d"
  fi
  install_node_tools
  # The whole suite measures coverage and holds each package to its floor (tests/coverage_floor.py);
  # a run of chosen tests (extra args) does not.
  local coverage=()
  [ $# -eq 0 ] && coverage=(--cov --cov-report=)
  exec "$VENV/bin/python" -m pytest -q -p no:cacheprovider "${coverage[@]}" "$@"
}

[ "${BASH_SOURCE[0]}" != "$0" ] || main "$@"  # sourced (by the tests): only define the functions
