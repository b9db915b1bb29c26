#!/usr/bin/env bash
# Builds git-data, installs the binary, runs `git data install --global`, then a short
# end-to-end demonstration on a local directory remote (no S3 needed).
#
#   ./install.sh              build, install, set up git, run the demo
#   PREFIX=/usr/local ./install.sh   install into $PREFIX/bin
#   ./install.sh --no-demo    skip the demonstration
set -euo pipefail
cd "$(dirname "$0")"

demo=1
for arg in "$@"; do
  case $arg in
    --no-demo) demo=0 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

if ! command -v cargo >/dev/null 2>&1; then
  echo "install.sh: cargo is not installed; get Rust from https://rustup.rs, then run ./install.sh again" >&2
  exit 1
fi
if ! command -v git >/dev/null 2>&1; then
  echo "install.sh: git is not installed; install git 2.30 or newer, then run ./install.sh again" >&2
  exit 1
fi

if [[ -z ${PREFIX:-} ]]; then
  if [[ :$PATH: == *":$HOME/.cargo/bin:"* ]]; then PREFIX=$HOME/.cargo
  elif [[ -w /usr/local/bin ]]; then PREFIX=/usr/local
  else PREFIX=$HOME/.local
  fi
fi

echo "==> building git-data (release)"
cargo build --release --locked --quiet
install -d "$PREFIX/bin"
install -m 0755 target/release/git-data "$PREFIX/bin/git-data"
echo "==> installed $PREFIX/bin/git-data"
case :$PATH: in
  *":$PREFIX/bin:"*) ;;
  *) echo "note: $PREFIX/bin is not on your PATH; add it (export PATH=\"$PREFIX/bin:\$PATH\")"
     export PATH="$PREFIX/bin:$PATH" ;;
esac

echo "==> git data install --global"
git data install --global

if [[ $demo == 1 ]]; then
  echo "==> demonstration (fixtures/demo.sh)"
  fixtures/demo.sh
fi
echo "==> done: run 'git data --help' to see every command"
