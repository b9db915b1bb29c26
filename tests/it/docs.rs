//! The documentation outside `--help`: the manual pages (`git data man`, shown by
//! `git data --help`, and committed for the Python wheel) and the shell completions.

use crate::common::*;
use std::path::Path;

/// Where the wheel's manual pages are committed (pyproject.toml's `[tool.maturin] data`).
const COMMITTED: &str = "docs/man/data/share/man/man1";

/// The names and bytes of the pages in `dir`, sorted.
fn pages(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut pages: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.unwrap())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), read(&e.path())))
        .collect();
    pages.sort();
    pages
}

#[test]
fn git_data_help_opens_the_generated_manual() {
    let env = Env::bare();
    let man1 = env.path("man/man1");
    let out = env.data(env.root(), &["man", "--out", man1.to_str().unwrap()]);
    assert!(out.stdout.contains("manual pages written"), "{}", out.all());
    let names: Vec<String> = pages(&man1).into_iter().map(|(name, _)| name).collect();
    for page in ["git-data.1", "git-data-push.1", "git-data-remote-add.1", "git-data-completions.1"]
    {
        assert!(names.iter().any(|n| n == page), "{page} missing from {names:?}");
    }
    assert!(
        !names.iter().any(|n| n.contains("filter-process") || n.contains("-man.")),
        "{names:?}"
    );

    env.set_env("MANPATH", env.path("man").to_str().unwrap());
    env.set_env("MANPAGER", "cat");
    env.set_env("MANWIDTH", "80");
    for args in [&["help", "-m", "data"][..], &["data", "--help"]] {
        let out = env.run(env.root(), "git", args);
        assert_eq!(out.code, 0, "git {args:?}:\n{}", out.all());
        assert!(out.stdout.contains("NAME"), "git {args:?}:\n{}", out.all());
        assert!(out.stdout.contains("Version large data"), "git {args:?}:\n{}", out.stdout);
        assert!(out.stdout.contains("git-data-push(1)"), "subcommands listed:\n{}", out.stdout);
    }
    let push = env.run(env.root(), "man", &["git-data-push"]);
    assert!(push.stdout.contains("--verify-remote"), "{}", push.all());
}

#[test]
fn committed_manual_pages_are_current() {
    let env = Env::bare();
    let fresh = env.path("man1");
    env.data(env.root(), &["man", "--out", fresh.to_str().unwrap()]);
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join(COMMITTED);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        let _ = std::fs::remove_dir_all(&committed);
        std::fs::create_dir_all(&committed).unwrap();
        for (name, bytes) in pages(&fresh) {
            std::fs::write(committed.join(name), bytes).unwrap();
        }
    }
    let (want, have) = (pages(&fresh), pages(&committed));
    let names = |p: &[(String, Vec<u8>)]| p.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&have), names(&want), "{COMMITTED} is stale: rerun with UPDATE_SNAPSHOTS=1");
    for ((name, have), (_, want)) in have.iter().zip(&want) {
        assert!(have == want, "{COMMITTED}/{name} is stale: rerun with UPDATE_SNAPSHOTS=1");
    }
}

#[test]
fn completions_name_every_visible_command() {
    let env = Env::bare();
    for shell in ["bash", "zsh", "fish"] {
        let out = env.data(env.root(), &["completions", shell]);
        for word in ["push", "remote", "set-url", "completions", "verify-remote"] {
            assert!(out.stdout.contains(word), "{shell}: no {word}");
        }
        for hidden in ["filter-process", "merge-driver"] {
            assert!(!out.stdout.contains(hidden), "{shell} offers the hidden {hidden}");
        }
    }
    let bash = env.data(env.root(), &["completions", "bash"]).stdout;
    assert!(bash.contains("\n_git_data() {"), "git's completion calls _git_data");
    assert!(bash.contains("complete -F _gitdata -o nosort -o bashdefault -o default git-data\n"));
    assert!(
        env.data(env.root(), &["completions", "zsh"]).stdout.starts_with("#compdef git-data\n")
    );
    assert!(env.data(env.root(), &["completions", "fish"]).stdout.contains("complete -c git-data"));
    let unknown = env.run(env.root(), "git", &["data", "completions", "tcsh"]);
    assert_eq!(unknown.code, 2, "an unknown shell is a usage error");
}

/// What bash completes for the words of `line` (the last one being completed), with git's own
/// completion script loaded first when `with_git` (it calls `_git_data` for `git data …`).
fn bash_complete(env: &Env, git_completion: Option<&Path>, line: &str) -> String {
    let script = env.path("git-data.bash");
    write(&script, env.data(env.root(), &["completions", "bash"]).stdout.as_bytes());
    let load_git = git_completion.map(|p| format!("source '{}'", p.display())).unwrap_or_default();
    let function = if git_completion.is_some() { "__git_wrap__git_main" } else { "_gitdata" };
    let program = format!(
        r#"{load_git}
source '{}'
COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}
read -ra COMP_WORDS <<< "$COMP_LINE"
[[ $COMP_LINE == *' ' ]] && COMP_WORDS+=('')
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
{function} "${{COMP_WORDS[0]}}" "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s|' "${{COMPREPLY[@]}}""#,
        script.display()
    );
    let out = env.run(env.root(), "bash", &["-c", &program]);
    assert_eq!(out.code, 0, "{line}: {}", out.all());
    out.stdout
}

#[test]
fn bash_completes_git_data_and_git_dash_data() {
    let env = Env::bare();
    assert_eq!(bash_complete(&env, None, "git-data pu"), "push|pull|");
    assert_eq!(bash_complete(&env, None, "git-data remote set-"), "set-url|set-credentials|");
    let git_completion =
        ["/usr/share/bash-completion/completions/git", "/etc/bash_completion.d/git"]
            .into_iter()
            .map(Path::new)
            .find(|p| p.exists());
    let Some(git_completion) = git_completion else {
        eprintln!("note: git's bash completion is not installed; `git data <TAB>` not tried");
        return;
    };
    let some = Some(git_completion);
    assert_eq!(bash_complete(&env, some, "git data pu"), "push |pull |");
    assert_eq!(bash_complete(&env, some, "git -C . data remote a"), "add |");
    assert_eq!(bash_complete(&env, some, "git data push --ver"), "--verify-remote |");
    assert_eq!(bash_complete(&env, some, "git data completions z"), "zsh |");
}
