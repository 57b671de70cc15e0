//! Replays every saved fuzz crash input (`testdata/fuzz-regressions/<target>/*`) and every fuzz
//! seed (`fuzz/seeds/<target>/*`) through the same property checks the fuzz targets run
//! (`fuzz/checks.rs`), so a fixed crash stays fixed without a nightly toolchain.

#[path = "../../fuzz/checks.rs"]
mod checks;

use crate::support::repo;

fn inputs(dir: &str, target: &str) -> Vec<std::path::PathBuf> {
    let dir = repo().join(dir).join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != "README.md"))
        .collect();
    files.sort();
    files
}

#[test]
fn saved_crash_inputs_and_seeds_hold_every_property() {
    let mut replayed = 0;
    for (target, check) in checks::TARGETS {
        for dir in ["testdata/fuzz-regressions", "fuzz/seeds"] {
            for file in inputs(dir, target) {
                let data = std::fs::read(&file).unwrap();
                let outcome = std::panic::catch_unwind(|| check(&data));
                assert!(outcome.is_ok(), "{target}: {} fails", file.display());
                replayed += 1;
            }
        }
    }
    assert!(replayed > 50, "only {replayed} inputs found");
}

#[test]
fn every_fuzz_target_has_a_check() {
    let manifest = std::fs::read_to_string(repo().join("fuzz/Cargo.toml")).unwrap();
    for line in manifest.lines() {
        if let Some(name) = line
            .strip_prefix("name = \"")
            .and_then(|l| l.strip_suffix('"'))
            && name != "ocicred-fuzz"
        {
            assert!(
                checks::TARGETS.iter().any(|(t, _)| *t == name),
                "fuzz target {name} has no entry in checks::TARGETS"
            );
        }
    }
}
