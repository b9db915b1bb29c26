#!/usr/bin/env bash
# Installs git-data (the binary, its manual pages and shell completions), runs
# `git data install --global`, then a short end-to-end demonstration on a local directory
# remote (no S3 needed). A prebuilt binary is used when one fits this machine: the one named
# by GIT_DATA_BINARY, else a release archive in dist/ for this platform (.ci/release makes
# them); otherwise git-data is built from source with cargo.
#
#   ./install.sh                       install, set up git, run the demo
#   PREFIX=/usr/local ./install.sh     install into $PREFIX/bin and $PREFIX/share
#   GIT_DATA_BINARY=path ./install.sh  install that binary instead of building one
#   ./install.sh --no-demo             skip the demonstration
set -euo pipefail
cd "$(dirname "$0")"

demo=1
for arg in "$@"; do
  case $arg in
    --no-demo) demo=0 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

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

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
work=$(mktemp -d "${TMPDIR:-/tmp}/git-data-install.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The release targets that run here, best first (static musl builds before glibc ones).
targets() {
  case "$(uname -s) $(uname -m)" in
    "Linux x86_64") echo x86_64-unknown-linux-musl x86_64-unknown-linux-gnu ;;
    "Linux aarch64"|"Linux arm64") echo aarch64-unknown-linux-musl aarch64-unknown-linux-gnu ;;
    "Darwin arm64") echo aarch64-apple-darwin ;;
    "Darwin x86_64") echo x86_64-apple-darwin ;;
  esac
}

# Prints the path of a prebuilt binary that runs here, or nothing.
prebuilt() {
  if [[ -n ${GIT_DATA_BINARY:-} ]]; then
    if ! "$GIT_DATA_BINARY" --version >/dev/null 2>&1; then
      echo "install.sh: GIT_DATA_BINARY=$GIT_DATA_BINARY does not run on this machine" >&2
      exit 1
    fi
    echo "$GIT_DATA_BINARY"
    return
  fi
  local target archive
  for target in $(targets); do
    archive=dist/git-data-$version-$target.tar.gz
    [[ -f $archive ]] || continue
    tar -xzf "$archive" -C "$work"
    if "$work/git-data-$version-$target/git-data" --version >/dev/null 2>&1; then
      echo "$work/git-data-$version-$target/git-data"
      return
    fi
    echo "install.sh: $archive does not run on this machine; trying the next" >&2
  done
}

binary=$(prebuilt)
if [[ -n $binary ]]; then
  echo "==> using the prebuilt $binary ($("$binary" --version))"
else
  if ! command -v cargo >/dev/null 2>&1; then
    echo "install.sh: no prebuilt git-data fits this machine and cargo is not installed; get Rust from https://rustup.rs (or a release archive into dist/), then run ./install.sh again" >&2
    exit 1
  fi
  echo "==> building git-data (release)"
  cargo build --release --locked --quiet
  binary=target/release/git-data
fi
install -d "$PREFIX/bin"
install -m 0755 "$binary" "$PREFIX/bin/git-data"
echo "==> installed $PREFIX/bin/git-data"
case :$PATH: in
  *":$PREFIX/bin:"*) ;;
  *) echo "note: $PREFIX/bin is not on your PATH; add it (export PATH=\"$PREFIX/bin:\$PATH\")"
     export PATH="$PREFIX/bin:$PATH" ;;
esac

# The manual (`git data --help` runs `man git-data`; man finds $PREFIX/share/man from
# $PREFIX/bin on PATH) and the completions: in $PREFIX/share, or in your own data folder
# when $PREFIX is in your home (the shells look there without configuration).
git-data man --quiet --out "$PREFIX/share/man/man1"
echo "==> installed the manual pages into $PREFIX/share/man/man1"
if [[ $PREFIX == "$HOME"/* ]]; then share=${XDG_DATA_HOME:-$HOME/.local/share}
else share=$PREFIX/share
fi
install -d "$share/bash-completion/completions" "$share/zsh/site-functions" \
  "$share/fish/vendor_completions.d"
git-data completions bash > "$share/bash-completion/completions/git-data"
git-data completions zsh > "$share/zsh/site-functions/_git-data"
git-data completions fish > "$share/fish/vendor_completions.d/git-data.fish"
echo "==> installed completions for bash, zsh and fish into $share"
if [[ $share != /usr/local/share && $share != /usr/share ]]; then
  echo "note: for zsh, add $share/zsh/site-functions to your fpath (before compinit)"
fi
if command -v man >/dev/null 2>&1 && ! man -w git-data >/dev/null 2>&1; then
  echo "note: man does not find git-data yet; add $PREFIX/share/man to MANPATH"
fi

echo "==> git data install --global"
git data install --global

if [[ $demo == 1 ]]; then
  echo "==> demonstration (fixtures/demo.sh)"
  fixtures/demo.sh
fi
echo "==> done: run 'git data --help' for the manual, 'git data <TAB>' to complete"
