//! Keeps the crate graph one-way, as ARCHITECTURE.md says: the pure crates (event
//! model, features, rules, scoring, simulator) never reach I/O or async runtimes, and
//! no crate depends on one further out.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// Each crate's layer: a crate may depend only on crates of a lower layer.
fn layer(name: &str) -> Option<u8> {
    Some(match name {
        "fds-core" => 0,
        "fds-features" | "fds-rules" | "fds-sim" | "fds-vault" | "fds-ml" => 1,
        "fds-scoring" => 2,
        "fds-store" | "fds-redis" => 3,
        "fds-pipeline" => 4,
        "fds-web" | "fds-stream" => 5,
        "fds-cli" => 6,
        _ => return None,
    })
}

const PURE: [&str; 7] =
    ["fds-core", "fds-features", "fds-rules", "fds-scoring", "fds-sim", "fds-vault", "fds-ml"];
const IO_CRATES: [&str; 7] = ["tokio", "sqlx", "axum", "rdkafka", "hyper", "reqwest", "redis"];

fn metadata() -> serde_json::Value {
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON")
}

/// Normal (non-dev) dependencies of every workspace package, by name, transitively.
fn closure(meta: &serde_json::Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut names = BTreeMap::new();
    for p in meta["packages"].as_array().expect("packages") {
        names
            .insert(p["id"].as_str().expect("id").to_string(), p["name"].as_str().expect("name").to_string());
    }
    let mut direct: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for node in meta["resolve"]["nodes"].as_array().expect("nodes") {
        let name = names[node["id"].as_str().expect("id")].clone();
        let deps = node["deps"]
            .as_array()
            .expect("deps")
            .iter()
            .filter(|d| {
                d["dep_kinds"]
                    .as_array()
                    .expect("kinds")
                    .iter()
                    .any(|k| k["kind"].is_null() || k["kind"] == "build")
            })
            .map(|d| names[d["pkg"].as_str().expect("pkg")].clone())
            .collect();
        direct.insert(name, deps);
    }
    let mut out = BTreeMap::new();
    for start in direct.keys().filter(|n| layer(n).is_some()) {
        let mut seen = BTreeSet::new();
        let mut stack = vec![start.clone()];
        while let Some(n) = stack.pop() {
            for d in direct.get(&n).into_iter().flatten() {
                if seen.insert(d.clone()) {
                    stack.push(d.clone());
                }
            }
        }
        out.insert(start.clone(), seen);
    }
    out
}

#[test]
fn crates_depend_only_on_lower_layers() {
    let meta = metadata();
    for node in meta["packages"].as_array().expect("packages") {
        let name = node["name"].as_str().expect("name");
        let Some(own) = layer(name) else { continue };
        for dep in node["dependencies"].as_array().expect("dependencies") {
            let dep_name = dep["name"].as_str().expect("name");
            if !dep["kind"].is_null() {
                continue; // dev and build dependencies may reach anywhere
            }
            if let Some(theirs) = layer(dep_name) {
                assert!(theirs < own, "{name} (layer {own}) must not depend on {dep_name} (layer {theirs})");
            }
        }
    }
}

#[test]
fn pure_crates_never_reach_io_or_async_runtimes() {
    let deps = closure(&metadata());
    for krate in PURE {
        let reached = deps.get(krate).unwrap_or_else(|| panic!("{krate} is a workspace member"));
        for io in IO_CRATES {
            assert!(!reached.contains(io), "{krate} must stay pure but reaches {io}");
        }
    }
}
