//! Shared by the tests that start `compat serve` (serve, action, agreement): the real binary on a free loopback
//! port, read for the base URL it prints first, and stopped when the handle is dropped.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A running `compat serve`; killed and waited for on drop.
pub struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `compat serve --port 0 ARGS… --root ROOT`, and the base URL of its first line (`… at URL …`).
pub fn compat_serve(root: &Path, args: &[&str]) -> (Served, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_compat"))
        .args(["serve", "--port", "0"])
        .args(args)
        .arg("--root")
        .arg(root)
        .stdout(Stdio::piped())
        .spawn()
        .expect("compat serve starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).expect("compat serve prints its address");
    let served = Served(child);
    let url = line.split(" at ").nth(1).and_then(|s| s.split_whitespace().next()).unwrap_or_else(|| panic!("first line: {line}")).to_owned();
    (served, url)
}
