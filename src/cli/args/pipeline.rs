//! Arguments of the pipeline commands: `repro`.

use clap::Args;

#[derive(Args, Debug)]
pub struct ReproArgs {
    /// Stages to run, with the stages they depend on (`name`, or a foreach/matrix `name` for
    /// all its items, or `name@item`). Default: every stage of dvc.yaml.
    pub targets: Vec<String>,
    /// Only the target stages, not the stages they depend on (as `dvc repro -s`).
    #[arg(short, long, requires = "targets")]
    pub single_item: bool,
    /// The target stages and every stage that depends on them, not those they depend on.
    #[arg(long, requires = "targets", conflicts_with = "single_item")]
    pub downstream: bool,
    /// Run up to N stages at once: any stage whose upstream stages are done may start.
    #[arg(short, long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: u16,
    /// Run the selected stages even if nothing they read changed.
    #[arg(short, long)]
    pub force: bool,
    /// Neither restore stages from the run cache (here or on the data remote) nor record the
    /// stages that run in it.
    #[arg(long)]
    pub no_run_cache: bool,
    /// Print each stage and why it would run; run nothing, write nothing.
    #[arg(long)]
    pub dry: bool,
    /// After a stage fails, keep running the stages that do not depend on it.
    #[arg(short = 'k', long)]
    pub keep_going: bool,
    /// Set a param before running, as `dvc exp run --set-param` does: `section.key=VALUE`
    /// (in the params.yaml beside dvc.yaml) or `file.yaml:section.key=VALUE`. VALUE is read
    /// as YAML: a number, bool or string. Only the value on the key's line changes; comments
    /// stay. Repeatable.
    #[arg(short = 'S', long = "set", value_name = "KEY=VALUE", conflicts_with = "dry")]
    pub set: Vec<String>,
}
