//! `git data migrate lfs` on a git-lfs repository built by fixtures/lfs-repo.sh (the real
//! git-lfs when installed): objects imported, attributes switched, old commits still work.
