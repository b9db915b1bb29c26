#!/usr/bin/env bash
# Installs what benches/compare.sh compares git-data with: git-lfs (apt), DVC with its S3
# support (pip: dvc, dvc-s3), and the measuring tools (GNU time, openssl). Idempotent: a tool
# that is already there is left alone, so CI can call it on every run.
#
#   benches/setup.sh            # env: PIP="python3 -m pip" (the interpreter DVC should use)
set -euo pipefail
pip=${PIP:-python3 -m pip}
say() { printf 'setup: %s\n' "$*" >&2; }
sudo=""; if ((EUID != 0)) && command -v sudo > /dev/null; then sudo=sudo; fi

apt_pkgs=()
command -v git-lfs > /dev/null || apt_pkgs+=(git-lfs)
[[ -x /usr/bin/time ]] || apt_pkgs+=(time)
command -v openssl > /dev/null || apt_pkgs+=(openssl)
if ((${#apt_pkgs[@]})); then
  say "apt-get install ${apt_pkgs[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${apt_pkgs[@]}" > /dev/null
fi

# dvc-s3 pulls in s3fs/aiobotocore; installing both in one call lets pip pick compatible versions.
py_pkgs=()
$pip show dvc > /dev/null 2>&1 || py_pkgs+=(dvc)
$pip show dvc-s3 > /dev/null 2>&1 || py_pkgs+=(dvc-s3)
if ((${#py_pkgs[@]})); then
  say "pip install ${py_pkgs[*]}"
  $pip install --quiet "${py_pkgs[@]}"
  command -v pyenv > /dev/null && pyenv rehash
fi

say "git-lfs: $(git lfs version)"
say "dvc: $(dvc --version) (dvc-s3 $($pip show dvc-s3 2>/dev/null | awk '/^Version:/ {print $2}'))"
