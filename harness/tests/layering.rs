//! The direction of knowledge inside crate `weft`, as ARCHITECTURE.md states it, read from the
//! source: every `crate::<module>` path (in `use` lines and in code) of every file under
//! `harness/src` is an edge from the file's top-level module to `<module>`. The test checks
//! that each layer names only the layers below it, and that the module graph has no cycle.
//!
//! Layers, lowest first:
//! 1. `ids` (task, node and address ids): knows nothing else.
//! 2. `decision`, `strategy`, `source`: the decision interface; they know only `ids` and each
//!    other.
//! 3. `sim` (the executor and its domains' state): knows layers 1-2.
//! 4. The runtime modules that simulated code calls (`task`, `time`, `net`, `node`, `disk`,
//!    `fault`, `rand`): know layers 1-3 and each other.
//! 5. `model` (model-based testing): knows layers 1-4.
//! 6. `search` (search loop, shrinker, explanations, replay files, scenarios): knows 1-5.
//!
//! The crate root (`lib.rs`) is the facade and may name anything.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const LAYERS: &[&[&str]] = &[
    &["ids"],
    &["decision", "strategy", "source"],
    &["sim"],
    &["task", "time", "net", "node", "disk", "fault", "rand"],
    &["model"],
    &["search"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The top-level module a file belongs to: `sim/world.rs` is in `sim`, `net.rs` is `net`.
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap();
    let first = relative.components().next().unwrap().as_os_str();
    first.to_string_lossy().trim_end_matches(".rs").to_string()
}

/// Strips `//` comments (doc comments included: they may name other layers in prose).
fn code_of(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The modules a piece of code names as `crate::x` or inside `crate::{x, y::z}`.
fn named_modules(code: &str) -> BTreeSet<String> {
    let mut named = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level items of the group, up to its matching brace.
            let mut depth = 0;
            let mut start = 0;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        named.insert(ident(group[start..i].trim()));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        named.insert(ident(group[start..i].trim()));
                        start = i + 1;
                    }
                    _ => {}
                }
            }
        } else {
            named.insert(ident(rest));
        }
    }
    named.retain(|m| !m.is_empty());
    named
}

fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in rust_files(&src) {
        let module = module_of(&src, &file);
        let code = code_of(&std::fs::read_to_string(&file).unwrap());
        let edges = graph.entry(module.clone()).or_default();
        for named in named_modules(&code) {
            // Items of the crate root (`crate::fail`) are not modules.
            if named != module && layer_of(&named).is_some() {
                edges.insert(named);
            }
        }
    }
    graph
}

#[test]
fn every_module_names_only_the_layers_below_it() {
    let graph = module_graph();
    let mut wrong = Vec::new();
    for (module, edges) in &graph {
        if module == "lib" {
            continue;
        }
        let Some(layer) = layer_of(module) else {
            wrong.push(format!(
                "module {module} is in no layer: add it to LAYERS and to ARCHITECTURE.md"
            ));
            continue;
        };
        for named in edges {
            let below = layer_of(named).expect("edges only name layered modules");
            // A layer may name modules of its own layer (the runtime modules use each other).
            if below > layer {
                wrong.push(format!(
                    "{module} (layer {}) names {named} (layer {}), a layer above it",
                    layer + 1,
                    below + 1
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "layering violated:\n{}", wrong.join("\n"));
}

#[test]
fn the_module_graph_has_no_cycle() {
    let graph = module_graph();
    // Depth-first search with colours; a grey node reached again closes a cycle.
    fn visit(
        module: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match state.get(module) {
            Some(2) => return None,
            Some(1) => {
                let start = path.iter().position(|m| m == module).unwrap();
                let mut cycle = path[start..].to_vec();
                cycle.push(module.to_string());
                return Some(cycle);
            }
            _ => {}
        }
        state.insert(module.to_string(), 1);
        path.push(module.to_string());
        for next in graph.get(module).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, state, path) {
                return Some(cycle);
            }
        }
        path.pop();
        state.insert(module.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for module in graph.keys() {
        if let Some(cycle) = visit(module, &graph, &mut state, &mut Vec::new()) {
            panic!("module cycle inside weft: {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn the_reader_of_paths_sees_groups_and_plain_paths() {
    let named = named_modules(
        "use crate::{sim::{Config, Sim}, ids::TaskId};\nlet x = crate::task::spawn(f);",
    );
    let expected: BTreeSet<String> = ["sim", "ids", "task"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(named, expected);
}

#[test]
fn every_impl_world_block_is_inside_sim() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let outside: Vec<String> = rust_files(&src)
        .into_iter()
        .filter(|f| module_of(&src, f) != "sim")
        .filter(|f| code_of(&std::fs::read_to_string(f).unwrap()).contains("impl World"))
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        outside.is_empty(),
        "impl World outside sim/ (a domain reaching into the executor): {outside:?}"
    );
}
