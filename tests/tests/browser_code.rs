//! The officers' browser code has unit tests of its own (`node --test` in `frontend/js`);
//! this runs them as part of the one test command, installing the locked dependencies
//! first if needed. Without Node it skips, unless everything is required (CI).

use std::path::Path;
use std::process::Command;

use speakup_tests::available;

fn node_present() -> bool {
    Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn javascript_unit_tests_pass() {
    if !available("Node.js (for frontend/js unit tests)", node_present()) {
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../frontend/js");
    if !dir.join("node_modules").is_dir() {
        let ci = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .status()
            .expect("run npm ci");
        assert!(ci.success(), "npm ci failed in frontend/js");
    }
    let out = Command::new("node")
        .args(["--test", "test/"])
        .current_dir(&dir)
        .output()
        .expect("run node --test");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "JavaScript unit tests failed:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let passed = report
        .lines()
        .find_map(|l| l.strip_prefix("# pass "))
        .and_then(|n| n.trim().parse::<u32>().ok())
        .unwrap_or(0);
    assert!(passed > 20, "only {passed} JavaScript tests ran:\n{report}");
}
