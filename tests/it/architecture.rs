//! The crate's module structure, checked from outside: no module imports a module that imports
//! it back (tests/tools/module-cycles.py reads src/ and counts the modules in an import circle).

use std::path::Path;
use std::process::Command;

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("python3")
        .arg(root.join("tests/tools/module-cycles.py"))
        .arg("src")
        .current_dir(root)
        .output()
        .expect("python3 runs tests/tools/module-cycles.py");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "module-cycles.py failed:\n{text}");
    assert!(
        text.lines()
            .any(|l| l == "modules in an import circle: 0 in 0 circle(s)"),
        "modules import each other in a circle:\n{text}"
    );
}
