//! A real `odis-worker worker` child process, for the tests that run several processes
//! (`fault_crash`, `provider_limits`, `long_uptime`): started with a cleared environment plus the
//! variables the test gives, logging to its own file, killed (SIGKILL) and reaped when dropped,
//! so a failing assertion never leaves it running.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub struct Worker {
    child: Child,
    pub log: PathBuf,
}

impl Worker {
    /// `odis-worker worker` in `dir` (where its `jobs/catalogue.toml` is looked up), logging JSON
    /// at `warn` to `<dir>/<name>.log`, with only `env` set besides.
    pub fn spawn(dir: &Path, name: &str, env: &[(&str, String)]) -> Self {
        let log = dir.join(format!("{name}.log"));
        let out = File::create(&log).expect("worker log file");
        let err = out.try_clone().expect("worker log file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_odis-worker"));
        command
            .arg("worker")
            .current_dir(dir)
            .env_clear()
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "warn");
        for (k, v) in env {
            command.env(k, v);
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .expect("start odis-worker");
        Self { child, log }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `kill -9` (std's `Child::kill` sends SIGKILL on unix) and reap.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Panics, with the end of its log, when the process has exited.
    pub fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "worker exited early with {status}; log:\n{}",
                tail(&self.log)
            );
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The last ~4,000 characters of a log file.
pub fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let start = text.len().saturating_sub(4000);
    let start = (start..text.len())
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(text.len());
    text[start..].to_string()
}
