//! `git data completions SHELL` and the hidden `git data man --out DIR`: the command line's
//! documentation outside `--help`, generated from the same clap definitions (`cli::args`), so
//! the manual and the completions never drift from the parser.
//!
//! Completions are made for the program `git-data`, which is what git's own completions hand
//! `git data …` to: bash's git completion calls a function `_git_data` (loading the file named
//! `git-data` from bash-completion's folder first), zsh's `_git` calls `_git-data`, and fish's
//! git completion runs the completion of `git-data` for the words after `git data`.

use crate::cli::args::{Cli, CompletionShell, CompletionsArgs, GlobalArgs, ManArgs};
use anyhow::{Context as _, Result};
use clap::CommandFactory;
use std::io::Write;

/// The name the bash script's functions are built from: clap_complete names a hyphenated
/// program's subcommand functions inconsistently, so the script is made for a name without
/// one and registered for `git-data` afterwards.
const BASH_NAME: &str = "gitdata";

/// What git's bash completion calls for `git data <TAB>`: the words from `data` on become the
/// words of a `git-data` command line, so the generated function completes them. git's
/// completion registers itself with `-o nospace`, hence the space (or slash) added here.
const BASH_BRIDGE: &str = r#"
# `git data <TAB>`: git's completion calls _git_data; complete as if `git-data ...` was typed
_git_data() {
    local idx=${__git_cmd_idx:-0} n
    local -a git_words=("${COMP_WORDS[@]}")
    local git_cword=$COMP_CWORD
    if [[ -n ${words+set} && -n ${cword:-} ]]; then
        git_words=("${words[@]}")
        git_cword=$cword
    fi
    if (( idx == 0 )); then
        for (( n = 1; n < git_cword; n++ )); do
            [[ ${git_words[n]} == data ]] && { idx=$n; break; }
        done
    fi
    (( idx > 0 )) || return 0
    local -a COMP_WORDS=(git-data "${git_words[@]:idx+1}")
    local COMP_CWORD=$(( git_cword - idx ))
    _gitdata git-data "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    local i
    for i in "${!COMPREPLY[@]}"; do
        if [[ -d ${COMPREPLY[i]} ]]; then COMPREPLY[i]+=/; else COMPREPLY[i]+=' '; fi
    done
}
"#;

pub(crate) fn completions(args: &CompletionsArgs) -> Result<i32> {
    let mut out = std::io::stdout().lock();
    out.write_all(&completion_script(args.shell)?)?;
    out.flush()?;
    Ok(0)
}

/// The completion script for `shell`.
fn completion_script(shell: CompletionShell) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    match shell {
        CompletionShell::Bash => {
            let mut cmd = offered(BASH_NAME);
            clap_complete::generate(clap_complete::Shell::Bash, &mut cmd, BASH_NAME, &mut out);
            let script = String::from_utf8(out).context("the bash script is not UTF-8")?;
            let ours = format!(" _{BASH_NAME} ");
            let theirs = format!("{ours}-o nosort -o bashdefault -o default {BASH_NAME}\n");
            if !script.contains(&theirs) {
                anyhow::bail!("the generated bash script has no `complete` line for {BASH_NAME}");
            }
            let script = script.replace(&format!(" {BASH_NAME}\n"), " git-data\n");
            out = format!("{script}{BASH_BRIDGE}").into_bytes();
        }
        CompletionShell::Zsh | CompletionShell::Fish => {
            let generator = match shell {
                CompletionShell::Zsh => clap_complete::Shell::Zsh,
                _ => clap_complete::Shell::Fish,
            };
            let mut cmd = offered("git-data");
            clap_complete::generate(generator, &mut cmd, "git-data", &mut out);
        }
    }
    Ok(out)
}

/// The command line as completions offer it: without the subcommands only git calls.
fn offered(bin_name: &str) -> clap::Command {
    let cli = Cli::command();
    clap::Command::new("git-data")
        .bin_name(bin_name.to_owned())
        .version(env!("CARGO_PKG_VERSION"))
        .subcommand_required(true)
        .args(cli.get_arguments().cloned())
        .subcommands(cli.get_subcommands().filter(|s| !s.is_hide_set()).cloned())
}

pub(crate) fn man(g: &GlobalArgs, args: &ManArgs) -> Result<i32> {
    let written = write_manual(&args.out)
        .with_context(|| format!("cannot write the manual pages into {}", args.out.display()))?;
    crate::cli::ui::say(
        g.quiet,
        format!(
            "git-data: {written} manual page{} written to {}",
            crate::cli::ui::plural(written),
            args.out.display()
        ),
    );
    Ok(0)
}

/// Writes git-data.1 and a page per visible subcommand (git-data-push.1, git-data-remote-add.1,
/// …) into `dir`; returns how many.
fn write_manual(dir: &std::path::Path) -> std::io::Result<usize> {
    std::fs::create_dir_all(dir)?;
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build(); // names each subcommand's page from its parent's: git-data-remote-add
    let mut todo = vec![cmd];
    let mut written = 0;
    while let Some(cmd) = todo.pop() {
        todo.extend(cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
        let page = clap_mangen::Man::new(cmd)
            .source(concat!("git-data ", env!("CARGO_PKG_VERSION")))
            .manual("git-data Manual");
        page.generate_to(dir)?;
        written += 1;
    }
    Ok(written)
}
