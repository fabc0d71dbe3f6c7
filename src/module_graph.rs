//! The layering of the crate, checked from the source: the modules directly under `src/`
//! (`config`, `aws`, `web`, `refresh`, ...) form a graph with no cycle, and only the places
//! where a run is assembled (`accounts`; `main` outside the library) read the [`crate::config`].
//! And the files stay ones a person can hold: none over [`MAX_LINES`].
//!
//! The graph is read from the text of every file under `src/`: each `crate::a::...` path
//! (in `use` lines, `use crate::{a, b}` groups and inline paths) is an edge from the file's
//! top-level module to `a`. `super::` paths are not followed: in this crate they stay inside
//! their top-level module (name another one with `crate::`, as every file does). Comments are left out (an intra-doc link is no
//! dependency). A file included with `#[path = "..."]` counts as part of the module that
//! includes it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The longest a file under `src/` may be (the project's style).
const MAX_LINES: usize = 800;

/// The modules allowed to read the configuration: where a run is assembled.
const CONFIG_READERS: &[&str] = &["accounts"];

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src/") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The text of a file without its comments: everything from `//` to the end of a line, unless
/// the `//` is inside a string (an even number of quotes before it).
fn code_of(text: &str) -> String {
    let mut code = String::with_capacity(text.len());
    for line in text.lines() {
        let mut cut = line.len();
        let mut from = 0;
        while let Some(at) = line[from..].find("//") {
            let at = from + at;
            if line[..at].matches('"').count() % 2 == 0 {
                cut = at;
                break;
            }
            from = at + 2;
        }
        code.push_str(&line[..cut]);
        code.push('\n');
    }
    code
}

fn ident_at(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The first path segment of every item of a `{a, b::c, d::{e, f}}` group (text after `{`).
fn group_heads(s: &str) -> Vec<&str> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut item_start = true;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => item_start = true,
            c if item_start && (c.is_alphanumeric() || c == '_') && depth == 0 => {
                heads.push(ident_at(&s[i..]));
                item_start = false;
            }
            c if !c.is_whitespace() => item_start = false,
            _ => {}
        }
    }
    heads
}

/// The top-level modules that `code` names with `crate::` paths.
fn crate_references(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        // `$crate::` (macros) and `aws_iam_exporter::`-like longer names are not ours.
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        let rest = &code[at + "crate::".len()..];
        match rest.strip_prefix('{') {
            Some(group) => found.extend(group_heads(group).into_iter().map(str::to_owned)),
            None => {
                found.insert(ident_at(rest).to_owned());
            }
        }
    }
    found.retain(|m| !m.is_empty() && m != "self");
    found
}

/// Top-level module -> the top-level modules its files name.
fn module_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    // `#[path = "x_tests.rs"] mod tests;` in `src/x.rs`: that file belongs to `x`.
    let mut included: BTreeMap<PathBuf, String> = BTreeMap::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read a source file");
        for (at, _) in text.match_indices("#[path = \"") {
            let rest = &text[at + "#[path = \"".len()..];
            let name = &rest[..rest.find('"').unwrap_or(0)];
            let dir = file.parent().expect("a file has a directory");
            included.insert(dir.join(name), top_level(src, file));
        }
    }
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let module = included
            .get(file)
            .cloned()
            .unwrap_or_else(|| top_level(src, file));
        // The roots, and this file (its tests hold paths as examples).
        if matches!(module.as_str(), "lib" | "main" | "module_graph") {
            continue;
        }
        let code = code_of(&std::fs::read_to_string(file).expect("read a source file"));
        let mut refs = crate_references(&code);
        refs.retain(|r| *r != module && !r.is_empty());
        graph.entry(module).or_default().extend(refs);
    }
    graph
}

/// `src/aws/account.rs` -> `aws`, `src/refresh.rs` -> `refresh`.
fn top_level(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).expect("a file under src/");
    let first = relative
        .components()
        .next()
        .expect("a path")
        .as_os_str()
        .to_string_lossy();
    first.strip_suffix(".rs").unwrap_or(&first).to_owned()
}

/// A cycle of `graph`, as the path that closes it, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut cycle = path[start..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn the_top_level_modules_import_each_other_without_a_cycle() {
    let graph = module_graph(&src());
    assert!(graph.len() > 10, "the graph was read: {graph:?}");
    assert!(
        graph["refresh"].contains("snapshot") && graph["accounts"].contains("config"),
        "edges are found: {graph:?}"
    );
    if let Some(cycle) = find_cycle(&graph) {
        panic!("import cycle: {}", cycle.join(" -> "));
    }
}

#[test]
fn only_where_a_run_is_assembled_reads_the_config() {
    let graph = module_graph(&src());
    let readers: Vec<&str> = graph
        .iter()
        .filter(|(_, uses)| uses.contains("config"))
        .map(|(m, _)| m.as_str())
        .collect();
    assert_eq!(readers, CONFIG_READERS, "modules that import `config`");
}

#[test]
fn no_file_in_src_is_over_800_lines() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let long: Vec<String> = files
        .iter()
        .map(|f| {
            (
                f,
                std::fs::read_to_string(f)
                    .expect("read a source file")
                    .lines()
                    .count(),
            )
        })
        .filter(|(_, n)| *n > MAX_LINES)
        .map(|(f, n)| format!("{} ({n} lines)", f.display()))
        .collect();
    assert!(long.is_empty(), "split these: {long:?}");
}

#[test]
fn the_reader_finds_grouped_inline_and_super_paths_and_skips_comments() {
    let code = code_of(
        "use crate::{aws::{A, B}, fetch};\n\
         // use crate::web;\n\
         /// [`crate::config`]\n\
         let s = \"http://x\"; crate::report::parse(b);\n\
         $crate::ignored::x; aws_iam_exporter::snapshot::State;\n",
    );
    let found: Vec<String> = crate_references(&code).into_iter().collect();
    assert_eq!(found, ["aws", "fetch", "report"]);
    let mut graph = BTreeMap::new();
    graph.insert("a".to_owned(), BTreeSet::from(["b".to_owned()]));
    graph.insert("b".to_owned(), BTreeSet::from(["c".to_owned()]));
    assert_eq!(find_cycle(&graph), None);
    graph.insert("c".to_owned(), BTreeSet::from(["a".to_owned()]));
    assert_eq!(
        find_cycle(&graph).map(|c| c.join(" -> ")),
        Some("a -> b -> c -> a".to_owned())
    );
}
