//! Differential tests against npm packages: `interop/` is a small npm project (exact versions,
//! lock file committed) whose scripts the Rust tests run with `node`.
//!
//! `node_modules` is installed on first use with `npm ci`, once per checkout: test binaries
//! run in parallel, so the install happens under an exclusive lock on a file in `interop/`.

use std::{
    fs::{self, File},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::OnceLock,
};

use eyre::{WrapErr, bail, eyre};

/// The repository root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .nth(2)
        .map_or_else(|| here.to_path_buf(), Path::to_path_buf)
}

/// The `interop/` directory with its `node_modules` installed.
///
/// # Panics
/// When the install fails (no `node`/`npm`, or `npm ci` fails): this is a test helper, and a
/// test cannot go on without it.
#[allow(clippy::panic)]
pub fn interop_dir() -> PathBuf {
    match try_interop_dir() {
        Ok(dir) => dir,
        Err(e) => panic!("interop npm project unavailable: {e:?}"),
    }
}

/// [`interop_dir`] returning the error instead of panicking.
pub fn try_interop_dir() -> eyre::Result<PathBuf> {
    static READY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    READY
        .get_or_init(|| install(&repo_root().join("interop")).map_err(|e| format!("{e:?}")))
        .clone()
        .map_err(|e| eyre!(e))
}

fn install(dir: &Path) -> eyre::Result<PathBuf> {
    let lock_path = dir.join(".npm-install.lock");
    let lock = File::create(&lock_path).wrap_err_with(|| format!("{}", lock_path.display()))?;
    lock.lock().wrap_err("locking the npm install")?;
    if !installed(dir) {
        let output = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(dir)
            .stdin(Stdio::null())
            .output()
            .wrap_err("running `npm ci` (is Node.js with npm installed?)")?;
        if !output.status.success() {
            bail!(
                "`npm ci` in {} failed ({}):\n{}",
                dir.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
    lock.unlock().wrap_err("unlocking the npm install")?;
    Ok(dir.to_path_buf())
}

/// `node_modules` is there and at least as new as the lock file (npm writes
/// `node_modules/.package-lock.json` last).
fn installed(dir: &Path) -> bool {
    let modified = |p: PathBuf| fs::metadata(p).and_then(|m| m.modified()).ok();
    match (
        modified(dir.join("node_modules/.package-lock.json")),
        modified(dir.join("package-lock.json")),
    ) {
        (Some(installed), Some(wanted)) => installed >= wanted,
        (Some(_), None) => true,
        _ => false,
    }
}

/// Runs `node <interop>/<script> <args…>` and returns its standard output, trimmed. Fails
/// with the script's standard error when it exits with a non-zero status.
pub fn run_node(script: &str, args: &[&str]) -> eyre::Result<String> {
    let dir = try_interop_dir()?;
    let output = Command::new("node")
        .arg(dir.join(script))
        .args(args)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .output()
        .wrap_err("running `node` (is Node.js installed?)")?;
    if !output.status.success() {
        bail!(
            "node {script} {args:?} failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8(output.stdout)
        .wrap_err("node printed invalid UTF-8")?
        .trim()
        .to_owned())
}

/// A long-running `node` script (a server), killed when dropped.
#[derive(Debug)]
pub struct NodeProcess {
    child: std::process::Child,
    /// The first line the script printed (e.g. `{"port": 43515}`).
    pub ready: String,
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `node <interop>/<script> <args…>` and waits (at most 60 s) for its first line of
/// standard output, which a server script prints once it listens. Its standard error is
/// inherited (shown with the test's output).
pub fn spawn_node(script: &str, args: &[&str]) -> eyre::Result<NodeProcess> {
    use std::io::{BufRead, BufReader};
    let dir = try_interop_dir()?;
    let mut child = Command::new("node")
        .arg(dir.join(script))
        .args(args)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .wrap_err("running `node` (is Node.js installed?)")?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| eyre!("no stdout from node {script}"))?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let _ = tx.send(lines.next());
        // Keep draining so the script never blocks on a full pipe.
        for _ in lines {}
    });
    let process = |ready| NodeProcess { child, ready };
    match rx.recv_timeout(std::time::Duration::from_secs(60)) {
        Ok(Some(Ok(line))) => Ok(process(line)),
        other => {
            let mut p = process(String::new());
            let status = p.child.try_wait().ok().flatten();
            bail!("node {script} printed no ready line ({other:?}, exit {status:?})")
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;

    #[test]
    fn install_is_needed_until_node_modules_is_newer_than_the_lock_file() {
        let tmp = std::env::temp_dir().join(format!("test-utils-{}", std::process::id()));
        fs::create_dir_all(tmp.join("node_modules")).unwrap();
        assert!(!installed(&tmp));
        let lock = tmp.join("package-lock.json");
        let marker = tmp.join("node_modules/.package-lock.json");
        fs::write(&lock, "{}").unwrap();
        assert!(!installed(&tmp));
        fs::write(&marker, "{}").unwrap();
        let now = SystemTime::now();
        File::options()
            .write(true)
            .open(&lock)
            .unwrap()
            .set_modified(now - Duration::from_secs(60))
            .unwrap();
        assert!(installed(&tmp));
        File::options()
            .write(true)
            .open(&lock)
            .unwrap()
            .set_modified(now + Duration::from_secs(60))
            .unwrap();
        assert!(!installed(&tmp), "a newer lock file means a stale install");
        fs::remove_dir_all(&tmp).unwrap();
    }

    #[test]
    fn repo_root_holds_the_interop_project() {
        assert!(repo_root().join("interop/package.json").is_file());
    }
}
