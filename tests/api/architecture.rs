//! The layers import only downwards: HTTP -> GraphQL -> service -> domain
//! (ARCHITECTURE.md). Checked on the source text, so that a stray `use`
//! fails CI instead of slowly bending the design.

use std::path::Path;

/// Each layer's directory, and the crate modules it must never name.
const RULES: &[(&str, &[&str])] = &[
    (
        "src/domain",
        &["service", "graphql", "http", "cli", "config", "app"],
    ),
    ("src/service", &["graphql", "http", "cli", "config", "app"]),
    ("src/graphql", &["http", "cli", "config", "app"]),
    ("src/http", &["cli", "config", "app"]),
];

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn layers_import_only_downwards() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut violations = Vec::new();
    for (dir, forbidden) in RULES {
        let mut files = Vec::new();
        rust_files(&root.join(dir), &mut files);
        assert!(!files.is_empty(), "{dir} has no sources");
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for (n, line) in text.lines().enumerate() {
                for module in *forbidden {
                    if line.contains(&format!("crate::{module}::"))
                        || line.contains(&format!("crate::{module};"))
                        || line.contains(&format!("crate::{module}::{{"))
                    {
                        violations.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                    }
                }
                if line.contains("super::super::") {
                    violations.push(format!(
                        "{}:{}: reaches up with super::super",
                        file.display(),
                        n + 1
                    ));
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "imports against the layers:\n{}",
        violations.join("\n")
    );
}
