//! Micro-benchmarks of the pure hot paths of a `get` (divan; `cargo bench --bench hot_paths`).
//!
//! Key parsing and candidates, the auth-file lookup on a 1,000-entry file both ways (the
//! borrowed read-only path `get` uses, and the full model that writes use), and registries.conf
//! parsing, merging and prefix matching with 2,000 `[[registry]]` tables. Inputs are built in
//! memory, so these measure code, not the filesystem. Whole-process figures are in
//! `bench/run.sh`.

use std::hint::black_box;
use std::path::Path;

use divan::Bencher;
use ocicred::auth_file::{AuthFileFormat, AuthJson, AuthLookup};
use ocicred::registries_conf::{matching, merge, parse};
use ocicred::registry_key::RegistryKey;

fn main() {
    divan::main();
}

const KEYS: &[&str] = &[
    "127.0.0.1:5000",
    "https://index.docker.io/v1/",
    "quay.io/org/team/repo:tag",
];

#[divan::bench(args = KEYS)]
fn key_parse(key: &str) -> RegistryKey {
    RegistryKey::parse(black_box(key)).unwrap()
}

#[divan::bench(args = KEYS)]
fn key_candidates(bencher: Bencher, key: &str) {
    let key = RegistryKey::parse(key).unwrap();
    bencher.bench_local(|| black_box(&key).candidates());
}

/// An auth.json like bench/fixtures.py writes: `n` entries, the looked-up one in the middle.
fn auth_json(n: usize) -> Vec<u8> {
    let mut s = String::from("{\n\t\"auths\": {");
    for i in 1..=n {
        let key = if i == n / 2 {
            "127.0.0.1:5000".to_string()
        } else {
            format!("registry-{i}.example:5000")
        };
        if i > 1 {
            s.push(',');
        }
        s.push_str(&format!(
            "\n\t\t\"{key}\": {{\n\t\t\t\"auth\": \"dXNlcjpzZWNyZXQ=\"\n\t\t}}"
        ));
    }
    s.push_str("\n\t}\n}\n");
    s.into_bytes()
}

#[divan::bench]
fn auth_lookup_borrowed_1000(bencher: Bencher) {
    let bytes = auth_json(1000);
    let key = RegistryKey::parse("127.0.0.1:5000").unwrap();
    bencher.bench_local(|| {
        let file = AuthLookup::parse(black_box(&bytes), AuthFileFormat::Auths, &key).unwrap();
        file.lookup().unwrap()
    });
}

#[divan::bench]
fn auth_lookup_full_model_1000(bencher: Bencher) {
    let bytes = auth_json(1000);
    let key = RegistryKey::parse("127.0.0.1:5000").unwrap();
    bencher.bench_local(|| {
        let file = AuthJson::parse(black_box(&bytes), AuthFileFormat::Auths).unwrap();
        file.lookup(&key).unwrap()
    });
}

/// A registries.conf with `n` tables: plain, namespaced and wildcard prefixes, some mirrors.
fn registries_conf(n: usize) -> String {
    let mut s = String::from("unqualified-search-registries = [\"docker.io\"]\n");
    for i in 1..=n {
        s.push_str("\n[[registry]]\n");
        if i % 10 == 0 {
            s.push_str(&format!("prefix = \"*.registry-{i}.example.com\"\n"));
        } else if i % 3 == 0 {
            s.push_str(&format!(
                "prefix = \"registry-{i}.example.com/team/app\"\n\
                 location = \"mirror-{i}.example.net/team/app\"\n"
            ));
        } else {
            s.push_str(&format!("location = \"registry-{i}.example.com\"\n"));
        }
        if i % 5 == 0 && i % 10 != 0 {
            s.push_str(&format!(
                "[[registry.mirror]]\nlocation = \"cache-{i}.example.org\"\n"
            ));
        }
    }
    s
}

#[divan::bench]
fn registries_parse_and_merge_2000(bencher: Bencher) {
    let text = registries_conf(2000);
    bencher.bench_local(|| {
        let file = parse::parse_file(Path::new("/bench.conf"), black_box(&text), false).unwrap();
        merge::merge(vec![file])
    });
}

#[divan::bench(args = ["registry-1001.example.com/team/app:1.0", "a.registry-1000.example.com/x", "nowhere.example/x"])]
fn registries_find_2000(bencher: Bencher, name: &str) {
    let file = parse::parse_file(Path::new("/bench.conf"), &registries_conf(2000), false).unwrap();
    let conf = merge::merge(vec![file]);
    bencher.bench_local(|| matching::find(black_box(&conf.registries), black_box(name)));
}
