//! The architecture's numbers, held: no function in `server/src` over 80 lines, no function in
//! the reporter pages or the officer workspace over 60 (handlers parse, call one use case,
//! render), and the layer boundaries (the reporter pages and the officer workspace never
//! import each other, the command line imports no web module, and nothing below `web/`
//! imports it). Read from the source text, so a change that breaks one fails here.

use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/src")
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)
            .expect("read a source folder")
            .flatten()
        {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Every function with a body: (file, name, lines from `fn` to its closing brace). A body
/// ends at the first line that closes a brace at the `fn`'s own indentation.
fn functions(file: &Path) -> Vec<(String, usize)> {
    let text = std::fs::read_to_string(file).expect("read a source file");
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let is_fn = [
            "fn ",
            "pub fn ",
            "async fn ",
            "pub async fn ",
            "pub(crate) fn ",
            "pub(crate) async fn ",
            "pub(super) fn ",
            "pub(super) async fn ",
        ]
        .iter()
        .any(|p| trimmed.starts_with(p));
        if !is_fn {
            i += 1;
            continue;
        }
        // The signature ends with `{` (a body) or `;` (a declaration).
        let mut j = i;
        while j < lines.len()
            && !lines[j].trim_end().ends_with('{')
            && !lines[j].trim_end().ends_with(';')
        {
            j += 1;
        }
        if j >= lines.len() || lines[j].trim_end().ends_with(';') {
            i = j + 1;
            continue;
        }
        let close = " ".repeat(indent) + "}";
        let end = (j + 1..lines.len())
            .find(|k| {
                lines[*k].starts_with(&close) && !lines[*k].starts_with(&(close.clone() + " "))
            })
            .unwrap_or(lines.len() - 1);
        let name = trimmed
            .split("fn ")
            .nth(1)
            .unwrap_or("")
            .split(['(', '<'])
            .next()
            .unwrap_or("");
        out.push((name.to_owned(), end - i + 1));
        i = end + 1;
    }
    out
}

#[test]
fn functions_stay_short() {
    let root = src();
    let mut long = Vec::new();
    for file in rust_files(&root) {
        let rel = file
            .strip_prefix(&root)
            .unwrap_or(&file)
            .display()
            .to_string();
        let audience = rel.starts_with("web/reporter/") || rel.starts_with("web/officer/");
        let limit = if audience { 60 } else { 80 };
        for (name, lines) in functions(&file) {
            if lines > limit {
                long.push(format!("{rel}: {name} has {lines} lines (limit {limit})"));
            }
        }
    }
    assert!(
        long.is_empty(),
        "functions over the limit:\n{}",
        long.join("\n")
    );
}

#[test]
fn the_reader_finds_long_functions() {
    // The check above is not vacuous: a function of 100 lines is found and measured.
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("long.rs");
    let body: String = (0..98).map(|n| format!("    let _x{n} = {n};\n")).collect();
    std::fs::write(
        &file,
        format!("pub async fn long() {{\n{body}}}\n\nfn short() {{\n    let _y = 1;\n}}\n"),
    )
    .expect("write");
    assert_eq!(
        functions(&file),
        vec![("long".to_owned(), 100), ("short".to_owned(), 3)]
    );
}

/// `use` lines and paths in a file that name `module`.
fn imports(file: &Path, module: &str) -> Vec<String> {
    std::fs::read_to_string(file)
        .expect("read a source file")
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .filter(|l| l.contains(module))
        .map(|l| l.trim().to_owned())
        .collect()
}

#[test]
fn layers_do_not_reach_sideways_or_up() {
    let root = src();
    let mut wrong = Vec::new();
    for file in rust_files(&root) {
        let rel = file
            .strip_prefix(&root)
            .unwrap_or(&file)
            .display()
            .to_string();
        let forbidden: &[&str] = if rel.starts_with("web/reporter/") {
            &["web::officer", "super::officer", "super::super::officer"]
        } else if rel.starts_with("web/officer/") {
            &["web::reporter", "super::reporter", "super::super::reporter"]
        } else if rel == "cli.rs" {
            &["crate::web"]
        } else if [
            "app/",
            "store/",
            "domain/",
            "auth/",
            "crypto.rs",
            "config.rs",
            "i18n.rs",
            "clock.rs",
            "telemetry.rs",
        ]
        .iter()
        .any(|p| rel.starts_with(p))
        {
            &["crate::web", "super::web"]
        } else {
            &[]
        };
        for m in forbidden {
            for line in imports(&file, m) {
                wrong.push(format!("{rel}: {line}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports across layers:\n{}",
        wrong.join("\n")
    );
}
