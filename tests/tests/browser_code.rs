//! The officers' browser code has unit tests of its own (`node --test` in `frontend/js`);
//! this runs them as part of the one test command, installing the locked dependencies
//! first if needed. Without Node it skips, unless everything is required (CI). Each
//! JavaScript test is counted: the totals go to stderr and to `SPEAKUP_JS_TALLY` (for
//! `.ci/run`'s closing line), and under `SPEAKUP_TEST_REQUIRE_ALL=1` a skipped one fails.

use std::io::Write;
use std::path::Path;
use std::process::Command;

use speakup_tests::{available, require_all};

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
    let stderr = String::from_utf8_lossy(&out.stderr);
    // node's TAP summary: `# pass N`, `# fail N`, `# skipped N`, `# todo N`, `# cancelled N`.
    let count = |what: &str| {
        report
            .lines()
            .find_map(|l| l.strip_prefix(&format!("# {what} ")))
            .map(|n| {
                n.trim()
                    .parse::<u32>()
                    .unwrap_or_else(|_| panic!("`# {what}` is not a number:\n{report}"))
            })
    };
    let summary = |what: &str| {
        count(what)
            .unwrap_or_else(|| panic!("node printed no `# {what}` line:\n{report}\n{stderr}"))
    };
    let (passed, failed, skipped) = (summary("pass"), summary("fail"), summary("skipped"));
    let (todo, cancelled) = (count("todo").unwrap_or(0), count("cancelled").unwrap_or(0));
    // Each JavaScript test counts as one in `.ci/run`'s closing line: a cancelled test as
    // failed, a todo as skipped. Skipped ones are named on stderr, like skipped Rust tests.
    let (failed, skipped) = (failed + cancelled, skipped + todo);
    for line in report.lines() {
        let line = line.trim_start();
        if line.starts_with("ok ") && (line.contains(" # SKIP") || line.contains(" # TODO")) {
            let _ = std::io::stderr()
                .write_all(format!("SPEAKUP-SKIPPED: javascript: {line}\n").as_bytes());
        }
    }
    let tally = format!("{passed} passed, {failed} failed, {skipped} skipped");
    let _ = std::io::stderr().write_all(format!("SPEAKUP-JS-TESTS: {tally}\n").as_bytes());
    if let Some(path) = std::env::var_os("SPEAKUP_JS_TALLY") {
        std::fs::write(&path, format!("{tally}\n"))
            .unwrap_or_else(|e| panic!("write SPEAKUP_JS_TALLY {path:?}: {e}"));
    }
    assert!(
        out.status.success() && failed == 0,
        "JavaScript unit tests failed:\n{report}\n{stderr}"
    );
    assert!(passed > 20, "only {passed} JavaScript tests ran:\n{report}");
    // Under CI a JavaScript test that skips (the `age` interop tests without `age`) fails.
    assert!(
        !require_all() || skipped == 0,
        "{skipped} JavaScript tests skipped, but everything is required (SPEAKUP_TEST_REQUIRE_ALL=1):\n{report}"
    );
}
