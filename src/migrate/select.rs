//! Which files `migrate import` moves, and the survey of history that decides it (also the
//! data of `migrate info`).
//!
//! Invariant: a path is selected as a whole. Every version of a selected path in the
//! rewritten history becomes a pointer, so that the attribute line covering the path never
//! covers a blob left in git (a checkout of any rewritten commit is then `git status` clean).
//! `--above` selects a path when any of its versions is larger than the size; `--include`
//! selects by gitattributes pattern; `--exclude` always wins. `.gitattributes` files and
//! blobs that are already pointers are never converted.

use crate::git::attributes::ATTRS;
use crate::git::attributes::normalize;
use crate::git::globs::pattern_matches;
use crate::git::{Repo, obj_err};
use crate::pointer::{MAX_POINTER_SIZE, Pointer};
use anyhow::{Context as _, Result};
use gix::ObjectId;
use gix::bstr::{BStr, BString, ByteSlice};
use gix::glob::Pattern;
use std::collections::{BTreeMap, HashMap, HashSet};

/// The selection flags, parsed.
pub(crate) struct Selection {
    pub above: Option<u64>,
    /// (normalized text, compiled) of `--include` and `--exclude`.
    pub include: Vec<(String, Pattern)>,
    pub exclude: Vec<(String, Pattern)>,
}

impl Selection {
    /// Parses `--above`, `--include` and `--exclude`; patterns given from a subdirectory are
    /// anchored there, like `track`.
    pub(crate) fn parse(
        above: Option<&str>,
        include: &[String],
        exclude: &[String],
        root: &std::path::Path,
    ) -> Result<Selection> {
        let above = match above {
            Some(text) => Some(crate::config::parse_size(text).with_context(|| {
                format!("--above {text:?} is not a size; write it like 5MiB, 500KB or 1048576")
            })?),
            None => None,
        };
        let cwd = std::env::current_dir()?;
        let compile = |raw: &[String]| -> Result<Vec<(String, Pattern)>> {
            let mut out = Vec::new();
            for p in raw.iter().filter(|p| !p.trim().is_empty()) {
                let text = normalize(root, &cwd, p.trim())?;
                let pattern = Pattern::from_bytes_without_negation(text.as_bytes())
                    .with_context(|| format!("{p:?} is not a usable pattern"))?;
                out.push((text, pattern));
            }
            Ok(out)
        };
        Ok(Selection { above, include: compile(include)?, exclude: compile(exclude)? })
    }

    /// Whether anything selects files (import needs `--above` or `--include`).
    pub(crate) fn is_set(&self) -> bool {
        self.above.is_some() || !self.include.is_empty()
    }

    /// Whether the path passes `--include` / `--exclude` (size aside).
    pub(crate) fn path_matches(&self, path: &BStr) -> bool {
        let hit = |list: &[(String, Pattern)]| list.iter().any(|(_, p)| pattern_matches(p, path));
        let name = path.rsplit_str("/").next().unwrap_or_default();
        name != b".gitattributes"
            && (self.include.is_empty() || hit(&self.include))
            && !hit(&self.exclude)
    }

    /// The lines `import` appends to the root `.gitattributes`: the include patterns (and
    /// exclude lines that undo them) when selecting by pattern only, else one anchored line
    /// per selected path (attributes cannot express a size).
    pub(crate) fn attribute_lines(&self, selected: &HashSet<BString>) -> Vec<String> {
        if self.above.is_none() {
            let mut lines: Vec<String> =
                self.include.iter().map(|(t, _)| format!("{t} {ATTRS}")).collect();
            lines.extend(
                self.exclude.iter().map(|(t, _)| format!("{t} !filter !diff !merge !text")),
            );
            return lines;
        }
        let mut paths: Vec<&BString> = selected.iter().collect();
        paths.sort();
        paths
            .into_iter()
            .map(|p| format!("{} {ATTRS}", crate::git::attributes::rooted(p.as_bstr())))
            .collect()
    }
}

/// One version of a file found in history.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Version {
    pub blob: ObjectId,
    pub size: u64,
    pub pointer: bool,
}

/// What the survey found in the commits of the scope.
#[derive(Default)]
pub(crate) struct Survey {
    /// Every file path with its distinct versions.
    pub files: BTreeMap<BString, Vec<Version>>,
    /// Directories (other than the root) whose `.gitattributes` sets a `filter`.
    pub attr_dirs: BTreeMap<BString, ObjectId>,
}

impl Survey {
    /// Walks the trees of `commits` (each distinct tree at a path once), reading only object
    /// headers, plus the content of blobs small enough to be pointers when `pointers`.
    pub(crate) fn walk(repo: &Repo, commits: &[ObjectId], pointers: bool) -> Result<Survey> {
        let mut survey = Survey::default();
        let mut seen_trees: HashSet<(BString, ObjectId)> = HashSet::new();
        let mut seen_files: HashSet<(BString, ObjectId)> = HashSet::new();
        let mut sizes: HashMap<ObjectId, (u64, bool)> = HashMap::new();
        for commit in commits {
            let mut stack = vec![(BString::default(), repo.tree_of(*commit)?)];
            while let Some((dir, tree)) = stack.pop() {
                if !seen_trees.insert((dir.clone(), tree)) {
                    continue;
                }
                let t = repo.gix.find_tree(tree).map_err(|e| obj_err(tree, e))?;
                for entry in t.iter() {
                    let entry = entry.map_err(|e| obj_err(tree, e))?;
                    let path = join(dir.as_bstr(), entry.filename());
                    let (mode, id) = (entry.mode(), entry.object_id());
                    if mode.is_tree() {
                        stack.push((path, id));
                        continue;
                    }
                    if !mode.is_blob() || !seen_files.insert((path.clone(), id)) {
                        continue;
                    }
                    if !dir.is_empty()
                        && entry.filename() == ".gitattributes"
                        && sets_filter(repo, id)?
                    {
                        survey.attr_dirs.insert(dir.clone(), id);
                    }
                    let (size, pointer) = match sizes.get(&id) {
                        Some(v) => *v,
                        None => {
                            let v = classify(repo, id, pointers)?;
                            sizes.insert(id, v);
                            v
                        }
                    };
                    survey.files.entry(path).or_default().push(Version { blob: id, size, pointer });
                }
            }
        }
        Ok(survey)
    }

    /// The paths `import` converts, and the blobs to convert (non-empty, not pointers).
    pub(crate) fn select(&self, sel: &Selection) -> (HashSet<BString>, HashSet<ObjectId>) {
        let mut paths = HashSet::new();
        let mut blobs = HashSet::new();
        for (path, versions) in &self.files {
            if !sel.path_matches(path.as_bstr()) {
                continue;
            }
            if let Some(above) = sel.above
                && !versions.iter().any(|v| !v.pointer && v.size > above)
            {
                continue;
            }
            paths.insert(path.clone());
            blobs.extend(versions.iter().filter(|v| !v.pointer && v.size > 0).map(|v| v.blob));
        }
        (paths, blobs)
    }

    /// Selected paths that a subdirectory `.gitattributes` could take away from git-data.
    pub(crate) fn shadowed<'a>(
        &'a self,
        paths: &'a HashSet<BString>,
    ) -> Vec<(&'a BString, &'a BString)> {
        let mut out = Vec::new();
        for dir in self.attr_dirs.keys() {
            let mut hits: Vec<&BString> = paths
                .iter()
                .filter(|p| p.starts_with(dir.as_slice()) && p.get(dir.len()) == Some(&b'/'))
                .collect();
            hits.sort();
            if let Some(first) = hits.first() {
                out.push((dir, *first));
            }
        }
        out
    }
}

/// `dir/name`, or `name` at the root.
pub(crate) fn join(dir: &BStr, name: &BStr) -> BString {
    let mut path = BString::from(dir.to_vec());
    if !path.is_empty() {
        path.push(b'/');
    }
    path.extend_from_slice(name);
    path
}

fn classify(repo: &Repo, id: ObjectId, pointers: bool) -> Result<(u64, bool)> {
    let size = repo.blob_size(id)?;
    let pointer = pointers
        && (size as usize) < MAX_POINTER_SIZE
        && Pointer::parse(&repo.gix.find_blob(id).map_err(|e| obj_err(id, e))?.data).is_ok();
    Ok((size, pointer))
}

fn sets_filter(repo: &Repo, id: ObjectId) -> Result<bool> {
    let blob = repo.gix.find_blob(id).map_err(|e| obj_err(id, e))?;
    Ok(blob.data.lines().any(|l| {
        !l.trim_start().starts_with(b"#")
            && l.fields().skip(1).any(|w| w.starts_with(b"filter") || w.starts_with(b"-filter"))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(include: &[&str], exclude: &[&str], above: Option<u64>) -> Selection {
        let compile = |l: &[&str]| {
            l.iter()
                .map(|t| {
                    (t.to_string(), Pattern::from_bytes_without_negation(t.as_bytes()).unwrap())
                })
                .collect()
        };
        Selection { above, include: compile(include), exclude: compile(exclude) }
    }

    #[test]
    fn patterns_match_like_gitattributes() {
        let s = sel(&["*.bin", "data/**"], &["data/keep.csv"], None);
        assert!(s.path_matches(b"a.bin".as_bstr()));
        assert!(s.path_matches(b"deep/dir/a.bin".as_bstr()));
        assert!(s.path_matches(b"data/x/y.csv".as_bstr()));
        assert!(!s.path_matches(b"data/keep.csv".as_bstr()));
        assert!(!s.path_matches(b"src/data/y.csv".as_bstr()));
        assert!(!s.path_matches(b"a.bin/.gitattributes".as_bstr()));
        assert!(sel(&[], &[], Some(1)).path_matches(b"any".as_bstr()));
    }

    #[test]
    fn exact_patterns_are_anchored_and_escaped() {
        assert_eq!(
            crate::git::attributes::rooted(b"my model [v1].bin".as_bstr()),
            "/my[[:space:]]model[[:space:]]\\[v1].bin"
        );
        let p = Pattern::from_bytes_without_negation(
            crate::git::attributes::rooted(b"m*.bin".as_bstr()).as_bytes(),
        )
        .unwrap();
        assert!(pattern_matches(&p, b"m*.bin".as_bstr()));
        assert!(!pattern_matches(&p, b"mx.bin".as_bstr()));
        assert!(!pattern_matches(&p, b"sub/m*.bin".as_bstr()));
    }

    #[test]
    fn a_path_is_selected_with_all_its_versions() {
        let v = |n: u8, size| Version {
            blob: ObjectId::from_bytes_or_panic(&[n; 20]),
            size,
            pointer: false,
        };
        let mut survey = Survey::default();
        survey.files.insert("big.csv".into(), vec![v(1, 10), v(2, 5000)]);
        survey.files.insert("small.csv".into(), vec![v(3, 10)]);
        survey.files.insert("empty.bin".into(), vec![v(4, 0), v(5, 9000)]);
        let (paths, blobs) = survey.select(&sel(&[], &[], Some(1000)));
        assert_eq!(paths.len(), 2);
        assert!(paths.contains(&BString::from("big.csv")));
        assert_eq!(blobs.len(), 3, "both versions of big.csv, the non-empty one of empty.bin");
        let lines = sel(&[], &[], Some(1000)).attribute_lines(&paths);
        assert_eq!(lines[0], format!("/big.csv {ATTRS}"));
    }
}
