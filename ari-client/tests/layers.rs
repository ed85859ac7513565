//! The runtime's modules form layers: `src/lib.rs` lists them bottom up (its `// layers:`
//! lines), and a module may name (`crate::…`, in `use` lines or paths) only the modules
//! listed before it, or the crate-root re-exports of those. So no two modules import each
//! other. (Unit tests, after `#[cfg(test)]`, may use the whole crate.)

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The `// layers:` lines of lib.rs, in order; every declared module must be in them.
fn layers(lib: &str) -> Vec<String> {
    let order: Vec<String> = lib
        .lines()
        .filter_map(|l| l.trim().strip_prefix("// layers:"))
        .flat_map(str::split_whitespace)
        .map(str::to_owned)
        .collect();
    for l in lib.lines() {
        let l = l.trim();
        if let Some(m) = l
            .strip_prefix("pub mod ")
            .or_else(|| l.strip_prefix("mod "))
        {
            let m = m.trim_end_matches(';');
            assert!(
                order.iter().any(|o| o == m),
                "module `{m}` is in no `// layers:` line"
            );
        }
    }
    order
}

/// Crate-root names re-exported by lib.rs (`pub use client::{Client, …}`) → their module.
fn reexports(lib: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for l in lib
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub use "))
    {
        let (module, names) = l.split_once("::").expect("pub use module::…");
        let names = names.trim_end_matches(';').trim_matches(['{', '}']);
        for name in names.split(',') {
            out.insert(name.trim().to_owned(), module.to_owned());
        }
    }
    out
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The modules a source text names through `crate::`, with the line.
fn named(text: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.push((name, n + 1));
            }
        }
        // `use crate::{a, b::c}`
        if let Some(group) = code.trim().strip_prefix("use crate::{") {
            for part in group.trim_end_matches("};").split(',') {
                let name: String = part
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.push((name, n + 1));
                }
            }
        }
    }
    out
}

#[test]
fn every_module_names_only_the_layers_below_it() {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    let order = layers(&lib);
    assert!(order.len() > 10, "lib.rs lists the modules: {order:?}");
    let reexports = reexports(&lib);
    let rank = |module: &str| order.iter().position(|m| m == module);
    // the generated files are included into the module of the same name (`api/` into `api`)
    let mut all = Vec::new();
    files(&src(), &mut all);
    let generated = PathBuf::from(env!("OUT_DIR"));
    files(&generated, &mut all);
    assert!(
        all.iter().any(|p| p.starts_with(&generated)),
        "no generated files"
    );
    let mut wrong = Vec::new();
    for path in all {
        let rel = path
            .strip_prefix(src())
            .or_else(|_| path.strip_prefix(&generated))
            .unwrap();
        let top = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        // src/bin/*: binaries, crates of their own that use the library's public API
        if top == "lib" || top == "bin" {
            continue;
        }
        let own =
            rank(&top).unwrap_or_else(|| panic!("{} is not declared in lib.rs", rel.display()));
        let text = std::fs::read_to_string(&path).unwrap();
        // unit tests may use the whole crate
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for (name, line) in named(code) {
            let module = match rank(&name) {
                Some(_) => name.clone(),
                None => match reexports.get(&name) {
                    Some(module) => module.clone(),
                    None => continue,
                },
            };
            let other = rank(&module).unwrap();
            if other > own {
                wrong.push(format!(
                    "{}:{line}: `{top}` names `crate::{name}` of the higher layer `{module}`",
                    rel.display()
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "layering broken:\n{}", wrong.join("\n"));
}
