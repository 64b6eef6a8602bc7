//! `benches/floor/native_rules.rs` (the rule library as native Rust closures, the
//! scoring benchmark's floor) is what the shipped library generates, and leaves out no
//! rule the engine runs natively. `FDS_BLESS=1 cargo test --test native_floor_source`
//! rewrites it; `tests/native_floor.rs` checks that its closures decide as the engine.

use anyhow::Context;
use fds_features::FeatureSet;
use fds_rules::RulePack;
use std::path::PathBuf;

#[test]
fn the_generated_floor_is_current_and_covers_the_library() -> anyhow::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("rules");
    let spec = std::fs::read_to_string(dir.join("features.toml"))?;
    let features = FeatureSet::from_toml_str(&spec).context("parsing features.toml")?;
    let pack = RulePack::load_dir(&dir, features.names(), features.utc_offset())?;
    let generated = pack.native_rust();
    let path = root.join("benches/floor/native_rules.rs");
    if std::env::var_os("FDS_BLESS").is_some() {
        std::fs::write(&path, &generated.code)?;
    }
    let shipped = std::fs::read_to_string(&path)?;
    assert!(
        shipped == generated.code,
        "{} is not what the rule library generates: rerun this test with FDS_BLESS=1 to rewrite it",
        path.display()
    );
    // Every rule the engine runs natively has a closure: the floor is the same rules.
    let native: Vec<&str> = (0..pack.rules().len())
        .filter(|&i| pack.runs_natively(i))
        .map(|i| pack.rules()[i].id.as_str())
        .collect();
    let skipped_native: Vec<&(String, String)> =
        generated.skipped.iter().filter(|(id, _)| native.contains(&id.as_str())).collect();
    assert!(skipped_native.is_empty(), "native rules without a closure: {skipped_native:?}");
    let generated_ids = generated.code.matches("        NativeRule {\n").count();
    assert_eq!(generated_ids, native.len(), "one closure per native rule");
    Ok(())
}
