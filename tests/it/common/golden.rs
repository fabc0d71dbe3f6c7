//! Files the tests read and write: fixtures under `tests/fixtures/`, files written into a
//! temporary directory, and golden outputs compared byte for byte (`UPDATE_GOLDEN=1` rewrites
//! them).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::repo_root;

/// `tests/fixtures/<path>` (e.g. `fixture("reports/full.csv")`).
pub fn fixture(path: &str) -> PathBuf {
    repo_root().join("tests/fixtures").join(path)
}

/// Writes `contents` to `dir/name` and returns the path.
pub fn write_file(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let p = dir.join(name);
    let mut f = File::create(&p).unwrap_or_else(|e| panic!("create {}: {e}", p.display()));
    f.write_all(contents.as_bytes()).expect("write");
    p
}

/// Compares `got` with the golden file at `path`, printing the lines that differ; with
/// `UPDATE_GOLDEN=1` it rewrites the file instead. `module` is the test module that rewrites it
/// (for the hint: `cargo test --test it MODULE`).
pub fn assert_golden(path: &Path, got: &str, module: &str) {
    if std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1") {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(path, got).unwrap();
        eprintln!("rewrote {}", path.display());
        return;
    }
    let want = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (create it with UPDATE_GOLDEN=1 cargo test --test it {module})",
            path.display()
        )
    });
    if got != want {
        let diff: Vec<String> = want
            .lines()
            .filter(|l| !got.lines().any(|g| g == *l))
            .map(|l| format!("- {l}"))
            .chain(
                got.lines()
                    .filter(|l| !want.lines().any(|w| w == *l))
                    .map(|l| format!("+ {l}")),
            )
            .collect();
        panic!(
            "output differs from {} (UPDATE_GOLDEN=1 to accept):\n{}\n--- got ---\n{got}",
            path.display(),
            diff.join("\n")
        );
    }
}
