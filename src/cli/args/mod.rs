//! Command-line definitions. The doc comments are the `--help` text, which is product surface
//! (snapshot-tested).

mod metrics;
mod pipeline;
mod remote;
mod setup;

pub use metrics::{FormatArgs, LineageArgs, LogArgs, ShowArgs, ValuesCommand, ValuesDiffArgs};
pub use pipeline::ReproArgs;
pub use remote::{RemoteAddArgs, RemoteCommand, SetCredentialsArgs};
pub use setup::{CompletionShell, CompletionsArgs, InitArgs, InstallArgs, ManArgs, Preset};

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Version large data and models beside your code, with plain git commands.
///
/// Files matching `git data track` patterns are stored in a content-addressed cache and on a
/// data remote (a directory or an S3 bucket); git commits only small pointers. `git push`
/// uploads the data, `git clone` and `git checkout` bring it back.
#[derive(Parser, Debug)]
#[command(name = "git-data", bin_name = "git data", version, max_term_width = 100)]
#[command(after_help = "Exit codes: 0 success, 1 the operation failed, 2 usage error.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub global: GlobalArgs,
}

#[derive(Args, Debug, Clone, Default)]
pub struct GlobalArgs {
    /// Show progress bars even when stderr is not a terminal.
    #[arg(long, global = true, overrides_with = "no_progress")]
    pub progress: bool,
    /// Never show progress bars.
    #[arg(long, global = true)]
    pub no_progress: bool,
    /// Print less.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Start a project: git init if needed, install, track data folders, add a remote.
    ///
    /// Each step is the command you would run yourself (`git data install`, `git data track`,
    /// `git data remote add NAME URL --default`), with its own output and checks; `track`
    /// warns when a .gitignore rule hides what it tracks.
    Init(InitArgs),
    /// Set up git-data: filter and merge driver in git config, hooks in this repository.
    Install(InstallArgs),
    /// Remove what `install` set up (your own hooks are restored).
    Uninstall(InstallArgs),
    /// Track file patterns with git-data (writes .gitattributes); without patterns, list them.
    Track(TrackArgs),
    /// Stop tracking patterns (files already committed stay as they are).
    Untrack(UntrackArgs),
    /// Stage files as `git add` does, hashing and storing data files on every core.
    ///
    /// Data files (those `git data track` patterns match) are stored in the cache and their
    /// pointers staged without passing through git's filter one file at a time; everything
    /// else under the paths (other files, deletions) is then staged by `git add` itself.
    Add(AddArgs),
    /// Show every tracked file: modified, not in cache, not pushed, pointer only.
    Status(StatusArgs),
    /// List the tracked files of a revision with their object id and size.
    LsFiles(LsFilesArgs),
    /// Show the tracked files added, deleted or changed between two revisions.
    Diff(DiffArgs),
    /// Upload the data of the current branch (or of --all refs) to a data remote.
    Push(PushArgs),
    /// Download the data of the current checkout (or of --all refs) into the cache.
    Fetch(FetchArgs),
    /// Fetch, then write the data into the work tree.
    Pull(FetchArgs),
    /// Write data files that are still pointers into the work tree, from the cache.
    Checkout(CheckoutArgs),
    /// Manage data remotes (recorded in .gitdata.yaml).
    #[command(subcommand)]
    Remote(RemoteCommand),
    /// Verify the cache by re-hashing every object, and check pointers of a revision.
    ///
    /// With --remote, also hash the remote's copy of every object the revision needs; with
    /// --repair, upload this clone's verified copy over each one the remote lacks or holds
    /// damaged. This is the command that mends a remote.
    Fsck(FsckArgs),
    /// Delete cached (and remote) objects that no ref, reflog or index reaches.
    ///
    /// An object stays while any branch, tag, remote-tracking ref, stash, reflog entry or
    /// worktree index reaches it, and while it is younger than the grace period. A shared cache
    /// or a remote may hold other repositories' data: for them this is a dry run unless --force.
    Gc(GcArgs),
    /// Delete cached objects of old versions that are safely on the data remote.
    ///
    /// Keeps what every work tree's HEAD and index use, the data of local branches', tags' and
    /// HEAD's commits of the last `data.pruneRecentDays` days (default 7), and every object
    /// the default remote does not hold (the remote is asked). A pruned version comes back
    /// from the remote when it is checked out. A shared cache may hold other repositories'
    /// data: for it this is a dry run unless --force.
    Prune(PruneArgs),
    /// Run the stages of dvc.yaml whose inputs changed, in parallel along the pipeline.
    ///
    /// Reads the dvc.yaml of the current folder, unchanged, and records each stage's command, dependency ids, param
    /// values and output ids in gitdata.lock beside it (dvc.lock is only read). A stage
    /// runs when it has no entry there, or its command, a dependency, a tracked param or an
    /// output changed; one with no entry that dvc.lock shows up to date (same command and
    /// params, every file with its recorded md5) is taken over without running. Outputs become git-data files, stored in the cache and staged with the
    /// lock file, never committed. Logs: .git/data/repro/logs/<stage>.log.
    Repro(ReproArgs),
    /// Show, compare and log the metrics files of dvc.yaml across revisions.
    ///
    /// Metrics files are the `metrics:` of the stages and the top-level `metrics:` list, in
    /// JSON, YAML, TOML or CSV (the last row, by column); nested keys print as `a.b.c`.
    #[command(subcommand)]
    Metrics(ValuesCommand),
    /// Show, compare and log the params the stages of dvc.yaml track, across revisions.
    #[command(subcommand)]
    Params(ValuesCommand),
    /// Print the commit, the ids of its data files and the pipeline's stages (for MLflow).
    Lineage(LineageArgs),
    /// Show what git-data sees: version, repository, cache, remotes, link mode.
    Env,
    /// Check commits against the large-file policy and check their pointers (for CI).
    Check(CheckArgs),
    /// Move large files out of git history, or adopt a git-lfs or DVC repository.
    #[command(subcommand)]
    Migrate(MigrateCommand),
    /// Print a shell completion script (bash, zsh or fish) to stdout.
    ///
    /// bash: `git data completions bash > ~/.local/share/bash-completion/completions/git-data`
    /// (git's own bash completion then completes `git data <TAB>` too). zsh: save it as
    /// `_git-data` in a folder of your $fpath. fish: save it as
    /// ~/.config/fish/completions/git-data.fish. install.sh does this for you.
    Completions(CompletionsArgs),
    /// Write the manual pages (git-data.1 and one per subcommand) into a folder.
    #[command(hide = true)]
    Man(ManArgs),
    /// Run the long-running filter process (git calls this).
    #[command(hide = true)]
    FilterProcess,
    /// Clean one file from stdin to stdout (git's per-file fallback).
    #[command(hide = true)]
    Clean { path: Option<std::ffi::OsString> },
    /// Smudge one file from stdin to stdout (git's per-file fallback).
    #[command(hide = true)]
    Smudge { path: Option<std::ffi::OsString> },
    /// Run a hook (git calls this through the shims in .git/hooks).
    #[command(hide = true)]
    Hook {
        name: String,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// The merge driver for tracked files (git calls this).
    #[command(hide = true)]
    MergeDriver { base: PathBuf, ours: PathBuf, theirs: PathBuf, path: String },
}

impl Command {
    /// Commands that print listings and never touch a remote.
    pub fn prints_offline(&self) -> bool {
        matches!(
            self,
            Command::LsFiles(_)
                | Command::Diff(_)
                | Command::Track(_)
                | Command::Env
                | Command::Metrics(_)
                | Command::Params(_)
                | Command::Lineage(_)
                | Command::Completions(_)
                | Command::Remote(RemoteCommand::List)
        )
    }
}

#[derive(Args, Debug)]
pub struct TrackArgs {
    /// Patterns (gitattributes syntax) or directories; a directory `d` tracks `d/**`.
    pub patterns: Vec<String>,
    /// Track every file larger than SIZE (e.g. 5MiB), present and future.
    #[arg(long, value_name = "SIZE")]
    pub above: Option<String>,
}

#[derive(Args, Debug)]
pub struct UntrackArgs {
    #[arg(required = true)]
    pub patterns: Vec<String>,
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
    /// Only these paths (files or directories).
    pub paths: Vec<String>,
}

#[derive(Args, Debug)]
pub struct LsFilesArgs {
    /// The revision to list (default: HEAD).
    pub rev: Option<String>,
    /// Show full object ids.
    #[arg(short, long)]
    pub long: bool,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct TransferArgs {
    /// The data remote (default: the default remote of .gitdata.yaml).
    pub remote: Option<String>,
    /// Revisions whose data to transfer (default: HEAD; push: the current branch's history).
    #[arg(long = "rev", value_name = "REV")]
    pub revs: Vec<String>,
    /// Transfer the data of every branch and tag, in all of history.
    #[arg(long)]
    pub all: bool,
    /// Only files under these paths.
    #[arg(last = true)]
    pub paths: Vec<String>,
}

#[derive(Args, Debug)]
pub struct FetchArgs {
    #[command(flatten)]
    pub transfer: TransferArgs,
    /// Only files matching these patterns (gitattributes syntax from the repository's root,
    /// comma-separated or repeated; a directory means everything below it). Default:
    /// data.fetchInclude.
    #[arg(short = 'I', long, value_delimiter = ',', value_name = "PATTERNS")]
    pub include: Vec<String>,
    /// Never files matching these patterns. Default: data.fetchExclude.
    #[arg(short = 'X', long, value_delimiter = ',', value_name = "PATTERNS")]
    pub exclude: Vec<String>,
}

#[derive(Args, Debug)]
pub struct PushArgs {
    #[command(flatten)]
    pub transfer: TransferArgs,
    /// Ask the remote which objects it has (and their sizes) instead of trusting this clone's
    /// record of past uploads; uploads what is missing or truncated.
    #[arg(long)]
    pub verify_remote: bool,
}

#[derive(Args, Debug)]
pub struct AddArgs {
    /// Files, directories or pathspecs to stage, as for `git add`.
    #[arg(required = true)]
    pub paths: Vec<String>,
    /// Also add files that .gitignore excludes.
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct CheckoutArgs {
    /// Only these paths (files or directories).
    pub paths: Vec<String>,
}

#[derive(Args, Debug)]
pub struct FsckArgs {
    /// Also hash the default remote's copy of every object the revision needs.
    #[arg(long)]
    pub remote: bool,
    /// Upload verified local copies over objects the remote lacks or holds damaged (implies
    /// --remote).
    #[arg(long)]
    pub repair: bool,
    /// Check the pointers of every branch and tag in all of history.
    #[arg(long, conflicts_with = "rev")]
    pub all: bool,
    /// The revision whose pointers to check (default: HEAD).
    pub rev: Option<String>,
}

#[derive(Args, Debug)]
pub struct DiffArgs {
    /// The revision to compare from.
    pub old: String,
    /// The revision to compare to (default: HEAD).
    pub new: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Only files under these paths.
    #[arg(last = true)]
    pub paths: Vec<String>,
}

#[derive(Args, Debug)]
pub struct GcArgs {
    /// Also delete unreachable objects from this data remote (default: the default remote).
    #[arg(long, value_name = "NAME", num_args = 0..=1, default_missing_value = "")]
    pub remote: Option<String>,
    /// Keep unreachable objects written less than this many days ago.
    #[arg(long, value_name = "DAYS", default_value_t = 14)]
    pub grace: u64,
    /// Only show what would be deleted.
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    /// Delete from a remote or a shared cache (without it, those are dry runs).
    #[arg(short, long)]
    pub force: bool,
    /// List every object that is (or would be) deleted.
    #[arg(short, long)]
    pub verbose: bool,
}

#[derive(Args, Debug)]
pub struct PruneArgs {
    /// Keep the data of commits made in the last DAYS days (default: data.pruneRecentDays,
    /// else 7).
    #[arg(long, value_name = "DAYS")]
    pub recent: Option<u64>,
    /// Only show what would be deleted.
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    /// Delete from a shared cache (without it, that is a dry run).
    #[arg(short, long)]
    pub force: bool,
    /// List every object that is (or would be) deleted, with a file that names it.
    #[arg(short, long)]
    pub verbose: bool,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The commits to check, as for `git log` (default: commits not yet on any remote).
    pub range: Option<String>,
    /// Never contact the data remote: objects not in the cache are reported as not verified.
    #[arg(long)]
    pub offline: bool,
}

#[derive(Subcommand, Debug)]
pub enum MigrateCommand {
    /// Rewrite history (or, with --no-rewrite, make one commit) so matching files become pointers.
    Import(MigrateImportArgs),
    /// Show what `migrate import` would move, by extension and size; changes nothing.
    Info(MigrateSelectArgs),
    /// Switch a git-lfs repository to git-data: attributes rewritten, objects imported.
    Lfs(MigrateLfsArgs),
    /// Convert a DVC repository's .dvc files and cache into git-data pointers in one commit.
    Dvc(MigrateDvcArgs),
}

#[derive(Args, Debug)]
pub struct MigrateSelectArgs {
    /// Files larger than SIZE (e.g. 5MiB).
    #[arg(long, value_name = "SIZE")]
    pub above: Option<String>,
    /// Files matching these patterns (gitattributes syntax, comma-separated or repeated).
    #[arg(long, value_delimiter = ',', value_name = "PATTERNS")]
    pub include: Vec<String>,
    /// Never files matching these patterns.
    #[arg(long, value_delimiter = ',', value_name = "PATTERNS")]
    pub exclude: Vec<String>,
    /// Every local branch and tag, pushed commits included (default: the current branch,
    /// commits already on a remote left alone).
    #[arg(long)]
    pub everything: bool,
    /// The branches and tags to rewrite (default: the current branch); `^REF` leaves REF's
    /// history alone.
    pub refs: Vec<String>,
}

#[derive(Args, Debug)]
pub struct MigrateImportArgs {
    #[command(flatten)]
    pub select: MigrateSelectArgs,
    /// Make one new commit of the given paths instead of rewriting history.
    #[arg(long)]
    pub no_rewrite: bool,
}

#[derive(Args, Debug)]
pub struct MigrateLfsArgs {
    /// Also rewrite .gitattributes in history (default: one new commit).
    #[arg(long)]
    pub history: bool,
    /// With --history: every local branch and tag (default: the current branch).
    #[arg(long)]
    pub everything: bool,
    /// Switch even if history needs git-lfs objects that are not in .git/lfs/objects.
    #[arg(long)]
    pub allow_missing: bool,
}

#[derive(Args, Debug)]
pub struct MigrateDvcArgs {
    /// A DVC remote to pull missing data from before converting (its data is then pushed by
    /// `git data push`).
    #[arg(long, value_name = "NAME")]
    pub dvc_remote: Option<String>,
}
