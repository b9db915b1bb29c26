//! The stage graph: stage A comes before stage B when an output of A and a dependency of B
//! are the same path or one lies inside the other (prefixes both ways, by whole path parts).
//!
//! Invariants: no path is written by two stages (overlapping outputs are refused, naming both
//! stages); the graph has no cycle (refused, naming the stages in the cycle); `order` is a
//! topological order that keeps the order of `dvc.yaml` wherever the edges allow.

use super::error::PipelineError;
use super::spec::Stage;

/// Edges and a topological order over stage indexes.
#[derive(Debug)]
pub(crate) struct Dag {
    pub order: Vec<usize>,
    pub upstream: Vec<Vec<usize>>,
    pub downstream: Vec<Vec<usize>>,
}

/// `a` and `b` are the same path or one contains the other.
pub(crate) fn overlaps(a: &str, b: &str) -> bool {
    let inside = |x: &str, dir: &str| {
        x.len() > dir.len() && x.starts_with(dir) && x.as_bytes()[dir.len()] == b'/'
    };
    a == b || inside(a, b) || inside(b, a)
}

pub(crate) fn build(stages: &[Stage]) -> Result<Dag, PipelineError> {
    let outs: Vec<(usize, &str)> = stages
        .iter()
        .enumerate()
        .flat_map(|(i, s)| s.outs.iter().map(move |o| (i, o.at.repo.as_str())))
        .collect();
    for (n, (i, a)) in outs.iter().enumerate() {
        for (j, b) in &outs[n + 1..] {
            if overlaps(a, b) {
                let path = if a.len() <= b.len() { a } else { b };
                return Err(PipelineError::Overlap {
                    a: stages[*i].name.clone(),
                    b: stages[*j].name.clone(),
                    path: path.to_string(),
                });
            }
        }
    }
    let n = stages.len();
    let mut upstream = vec![Vec::new(); n];
    let mut downstream = vec![Vec::new(); n];
    for (s, stage) in stages.iter().enumerate() {
        for dep in &stage.deps {
            for (t, out) in &outs {
                if overlaps(&dep.repo, out) && !upstream[s].contains(t) {
                    if *t == s {
                        return Err(PipelineError::Cycle(format!(
                            "`{}` depends on its own output `{out}`",
                            stage.name
                        )));
                    }
                    upstream[s].push(*t);
                    downstream[*t].push(s);
                }
            }
        }
    }
    // Kahn's algorithm, always taking the first ready stage in file order
    let mut waiting: Vec<usize> = upstream.iter().map(Vec::len).collect();
    let mut done = vec![false; n];
    let mut order = Vec::with_capacity(n);
    while order.len() < n {
        let Some(next) = (0..n).find(|&i| !done[i] && waiting[i] == 0) else {
            return Err(PipelineError::Cycle(describe_cycle(stages, &upstream, &done)));
        };
        done[next] = true;
        order.push(next);
        for &d in &downstream[next] {
            waiting[d] -= 1;
        }
    }
    Ok(Dag { order, upstream, downstream })
}

/// `a -> b -> a`, following upstream edges among the stages not yet ordered.
fn describe_cycle(stages: &[Stage], upstream: &[Vec<usize>], done: &[bool]) -> String {
    let Some(start) = (0..stages.len()).find(|&i| !done[i]) else {
        return String::new();
    };
    let mut path = vec![start];
    let mut at = start;
    while let Some(&next) = upstream[at].iter().find(|&&u| !done[u]) {
        if let Some(pos) = path.iter().position(|&p| p == next) {
            let mut cycle: Vec<usize> = path[pos..].to_vec();
            cycle.reverse();
            cycle.rotate_right(1); // start where the walk found the cycle
            cycle.push(cycle[0]);
            return cycle
                .iter()
                .map(|&i| format!("`{}`", stages[i].name))
                .collect::<Vec<_>>()
                .join(" -> ");
        }
        path.push(next);
        at = next;
    }
    format!("`{}`", stages[start].name)
}

/// The stages `targets` name (a `foreach`/`matrix` name selects all its items; `dvc.yaml:`
/// before a name is allowed) and, by `reach`, everything upstream or downstream of them; all
/// stages for no targets.
/// Which stages a target brings along (`dvc repro`'s default, `-s` and `--downstream`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) enum Reach {
    /// The target and every stage it depends on.
    #[default]
    Upstream,
    /// The target alone.
    Single,
    /// The target and every stage that depends on it.
    Downstream,
}

pub(crate) fn select(
    stages: &[Stage],
    dag: &Dag,
    targets: &[String],
    reach: Reach,
) -> Result<Vec<bool>, PipelineError> {
    if targets.is_empty() {
        return Ok(vec![true; stages.len()]);
    }
    let mut selected = vec![false; stages.len()];
    let mut stack = Vec::new();
    for target in targets {
        let name = target.strip_prefix("dvc.yaml:").unwrap_or(target);
        let before = stack.len();
        for (i, s) in stages.iter().enumerate() {
            let group = s.name.split_once('@').map(|(g, _)| g);
            if s.name == name || group == Some(name) {
                stack.push(i);
            }
        }
        if stack.len() == before {
            return Err(PipelineError::UnknownTarget(target.clone()));
        }
    }
    while let Some(i) = stack.pop() {
        if !selected[i] {
            selected[i] = true;
            match reach {
                Reach::Upstream => stack.extend(&dag.upstream[i]),
                Reach::Downstream => stack.extend(&dag.downstream[i]),
                Reach::Single => {}
            }
        }
    }
    Ok(selected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::spec::parse_stage;

    fn stages(yaml: &str) -> Vec<Stage> {
        let map: serde_yaml::Mapping = serde_yaml::from_str(yaml).unwrap();
        map.iter().map(|(k, v)| parse_stage(k.as_str().unwrap(), v, "").unwrap()).collect()
    }

    #[test]
    fn edges_by_path_both_ways_and_file_order() {
        let s = stages(
            "eval: {cmd: x, deps: [model/weights.bin, data/clean], outs: [m.json]}\n\
             prep: {cmd: x, deps: [raw.csv], outs: [data/clean/a.csv, data/clean/b.csv]}\n\
             train: {cmd: x, deps: [data], outs: [model]}\n\
             other: {cmd: x, deps: [data/clean_x], outs: [o]}\n",
        );
        let dag = build(&s).unwrap();
        assert_eq!(dag.order, [1, 2, 0, 3]);
        assert_eq!(dag.upstream[0], [2, 1]);
        assert_eq!(dag.upstream[2], [1]);
        assert!(dag.upstream[3].is_empty(), "data/clean_x is not inside data/clean");
        let sel = |t: &str, reach| select(&s, &dag, &[t.into()], reach).unwrap();
        assert_eq!(sel("train", Reach::Upstream), [false, true, true, false]);
        assert_eq!(sel("train", Reach::Single), [false, false, true, false]);
        assert_eq!(sel("train", Reach::Downstream), [true, false, true, false]);
        assert_eq!(sel("prep", Reach::Downstream), [true, true, true, false]);
        let e = select(&s, &dag, &["nope".into()], Reach::Single);
        assert!(matches!(e, Err(PipelineError::UnknownTarget(_))));
    }

    #[test]
    fn overlaps_and_cycles_are_refused() {
        let e = build(&stages("a: {cmd: x, outs: [out]}\nb: {cmd: y, outs: [out/sub.txt]}\n"))
            .unwrap_err();
        assert_eq!(e.to_string(), "stages `a` and `b` both write `out`");
        let e = build(&stages(
            "a: {cmd: x, deps: [c.txt], outs: [a.txt]}\nb: {cmd: x, deps: [a.txt], outs: [b.txt]}\n\
             c: {cmd: x, deps: [b.txt], outs: [c.txt]}\n",
        ))
        .unwrap_err();
        assert_eq!(e.to_string(), "the stages form a cycle: `a` -> `b` -> `c` -> `a`");
        let e = build(&stages("a: {cmd: x, deps: [d], outs: [d/x]}\n")).unwrap_err();
        assert!(e.to_string().contains("`a` depends on its own output `d/x`"), "{e}");
    }

    #[test]
    fn group_targets_select_every_item() {
        let s = stages(
            "'p@a': {cmd: x, outs: [a]}\n'p@b': {cmd: x, outs: [b]}\nq: {cmd: x, deps: [a]}\n",
        );
        let dag = build(&s).unwrap();
        let up = Reach::Upstream;
        assert_eq!(select(&s, &dag, &["p".into()], up).unwrap(), [true, true, false]);
        assert_eq!(select(&s, &dag, &["dvc.yaml:q".into()], up).unwrap(), [true, false, true]);
    }
}
