//! A private PostgreSQL cluster for running without `DATABASE_URL`.
//!
//! `serve`, `worker` and `migrate` call [`EmbeddedPostgres::start`] when no `DATABASE_URL` is
//! set: it finds `initdb`/`pg_ctl` (PATH, then the usual install folders), creates a cluster under
//! `ODIS_DATA_DIR/pgdata` on first use, starts it on a free loopback port (or reuses one that is
//! already running there), creates the `odis` database, and stops the cluster again when the
//! handle is stopped — if this process started it.
//!
//! `initdb` refuses to run as root, and containers (and CI machines) often are root. Then the
//! cluster is created and run as the unprivileged `postgres` OS user (via `runuser`/`su`), which
//! Debian's and the official images' PostgreSQL packages create. Without such a user we say so.
//!
//! The cluster trusts local connections and listens on 127.0.0.1 only: it is a development
//! convenience, not a production database.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error(
        "no PostgreSQL server binaries (initdb, pg_ctl) found on PATH or in /usr/lib/postgresql/*/bin: \
         install PostgreSQL (e.g. `apt-get install postgresql`) or set DATABASE_URL"
    )]
    BinariesNotFound,
    #[error(
        "running as root, and initdb refuses to run as root: create an unprivileged `postgres` OS user \
         (e.g. `useradd --system postgres`), run as a non-root user, or set DATABASE_URL"
    )]
    NoUnprivilegedUser,
    #[error("embedded PostgreSQL: {0}")]
    Io(#[from] std::io::Error),
    #[error("embedded PostgreSQL: `{command}` failed: {output}")]
    Command { command: String, output: String },
}

/// A running embedded cluster. Call [`EmbeddedPostgres::stop`] on shutdown.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    bin_dir: PathBuf,
    data_dir: PathBuf,
    run_as: Option<String>,
    port: u16,
    started_here: bool,
}

impl EmbeddedPostgres {
    /// The connection URL of the service database (`odis`) in this cluster.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/odis", self.port)
    }

    pub async fn start(odis_data_dir: &Path) -> Result<Self, EmbeddedError> {
        let odis_data_dir = odis_data_dir.to_path_buf();
        tokio::task::spawn_blocking(move || Self::start_blocking(&odis_data_dir))
            .await
            .map_err(|e| EmbeddedError::Io(std::io::Error::other(e)))?
    }

    fn start_blocking(odis_data_dir: &Path) -> Result<Self, EmbeddedError> {
        let bin_dir = find_bin_dir().ok_or(EmbeddedError::BinariesNotFound)?;
        let run_as = if is_root() {
            let user = "postgres";
            if !user_exists(user) {
                return Err(EmbeddedError::NoUnprivilegedUser);
            }
            Some(user.to_string())
        } else {
            None
        };
        std::fs::create_dir_all(odis_data_dir)?;
        let odis_data_dir = odis_data_dir.canonicalize()?;
        let data_dir = odis_data_dir.join("pgdata");
        let mut pg = Self {
            bin_dir,
            data_dir,
            run_as,
            port: 0,
            started_here: false,
        };

        if !pg.data_dir.join("PG_VERSION").exists() {
            std::fs::create_dir_all(&pg.data_dir)?;
            pg.hand_over(&odis_data_dir)?;
            pg.run(
                "initdb",
                &[
                    "-D",
                    &pg.data_dir.to_string_lossy(),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-instructions",
                ],
            )?;
        }

        if let Some(port) = pg.running_port() {
            tracing::info!(port, data_dir = %pg.data_dir.display(), "reusing running embedded PostgreSQL");
            pg.port = port;
        } else {
            pg.port = free_port()?;
            let opts = server_options(pg.port);
            let log = pg.data_dir.join("server.log");
            pg.run(
                "pg_ctl",
                &[
                    "-D",
                    &pg.data_dir.to_string_lossy(),
                    "-l",
                    &log.to_string_lossy(),
                    "-o",
                    &opts,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
            )?;
            pg.started_here = true;
        }
        pg.ensure_database()?;
        Ok(pg)
    }

    /// Crashes the server (`pg_ctl stop -m immediate`): every connection is dropped at once and
    /// no shutdown checkpoint is written, as when the machine dies. [`Self::start_again`] then
    /// recovers the cluster from its WAL. Used by the fault tests to hold an outage open.
    pub async fn crash(&self) -> Result<(), EmbeddedError> {
        let dir = self.data_dir.to_string_lossy().to_string();
        self.run_detached(vec![
            "-D".into(),
            dir,
            "-m".into(),
            "immediate".into(),
            "-w".into(),
            "stop".into(),
        ])
        .await
    }

    /// Starts the cluster again on its port after [`Self::crash`] and waits until it accepts
    /// connections (crash recovery included).
    pub async fn start_again(&self) -> Result<(), EmbeddedError> {
        let dir = self.data_dir.to_string_lossy().to_string();
        let log = self.data_dir.join("server.log");
        self.run_detached(vec![
            "-D".into(),
            dir,
            "-l".into(),
            log.to_string_lossy().to_string(),
            "-o".into(),
            server_options(self.port),
            "-w".into(),
            "-t".into(),
            "60".into(),
            "start".into(),
        ])
        .await
    }

    /// Runs `pg_ctl args` on a blocking thread (it waits for the server).
    async fn run_detached(&self, args: Vec<String>) -> Result<(), EmbeddedError> {
        let this = Self {
            bin_dir: self.bin_dir.clone(),
            data_dir: self.data_dir.clone(),
            run_as: self.run_as.clone(),
            port: self.port,
            started_here: false,
        };
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            this.run("pg_ctl", &args)
        })
        .await
        .map_err(|e| EmbeddedError::Io(std::io::Error::other(e)))??;
        Ok(())
    }

    /// Stops the cluster if this process started it.
    pub async fn stop(self) {
        if !self.started_here {
            return;
        }
        let result = tokio::task::spawn_blocking(move || {
            let dir = self.data_dir.to_string_lossy().to_string();
            self.run("pg_ctl", &["-D", &dir, "-m", "fast", "-w", "stop"])
        })
        .await;
        match result {
            Ok(Ok(_)) => tracing::info!("embedded PostgreSQL stopped"),
            Ok(Err(e)) => tracing::warn!(error = %e, "could not stop embedded PostgreSQL"),
            Err(e) => tracing::warn!(error = %e, "could not stop embedded PostgreSQL"),
        }
    }

    /// The port of a server already running on this data directory (line 4 of postmaster.pid),
    /// if `pg_ctl status` confirms it is alive.
    fn running_port(&self) -> Option<u16> {
        let pid_file = std::fs::read_to_string(self.data_dir.join("postmaster.pid")).ok()?;
        let port = pid_file.lines().nth(3)?.trim().parse().ok()?;
        let dir = self.data_dir.to_string_lossy().to_string();
        self.run("pg_ctl", &["-D", &dir, "status"]).ok()?;
        Some(port)
    }

    fn ensure_database(&self) -> Result<(), EmbeddedError> {
        // `createdb` fails when the database exists; that is the common, fine case.
        let port = self.port.to_string();
        let args = ["-h", "127.0.0.1", "-p", &port, "-U", "postgres", "odis"];
        match self.run("createdb", &args) {
            Ok(_) => Ok(()),
            Err(EmbeddedError::Command { output, .. }) if output.contains("already exists") => {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// When running as root, the cluster's files must belong to the user that runs it.
    fn hand_over(&self, dir: &Path) -> Result<(), EmbeddedError> {
        if let Some(user) = &self.run_as {
            let out = Command::new("chown")
                .args(["-R", &format!("{user}:"), &dir.to_string_lossy()])
                .output()?;
            if !out.status.success() {
                return Err(EmbeddedError::Command {
                    command: format!("chown -R {user} {}", dir.display()),
                    output: String::from_utf8_lossy(&out.stderr).into_owned(),
                });
            }
        }
        Ok(())
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<String, EmbeddedError> {
        let exe = self.bin_dir.join(program);
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        cmd.args(args);
        // Run from a directory the unprivileged user can read, or initdb complains.
        cmd.current_dir(&self.data_dir);
        let out = cmd.output()?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if out.status.success() {
            Ok(text)
        } else {
            Err(EmbeddedError::Command {
                command: format!("{} {}", exe.display(), args.join(" ")),
                output: text.trim().to_string(),
            })
        }
    }
}

/// `postgres` options: the port, loopback only, no Unix socket.
fn server_options(port: u16) -> String {
    format!("-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn user_exists(user: &str) -> bool {
    Command::new("id")
        .arg("-u")
        .arg(user)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn free_port() -> Result<u16, EmbeddedError> {
    // Bind-then-release: a small race with other processes, acceptable for a dev cluster.
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Finds a directory holding both `initdb` and `pg_ctl`: PATH first, then the usual install
/// folders, newest major version first.
fn find_bin_dir() -> Option<PathBuf> {
    let has_both = |d: &Path| d.join("initdb").is_file() && d.join("pg_ctl").is_file();
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if has_both(&dir) {
                // /usr/local/bin/initdb is often a symlink into the real bin folder, which
                // also holds createdb: resolve it so every tool comes from one installation.
                return dir
                    .join("initdb")
                    .canonicalize()
                    .ok()
                    .and_then(|p| p.parent().map(Path::to_path_buf))
                    .or(Some(dir));
            }
        }
    }
    let mut candidates: Vec<PathBuf> = Vec::new();
    for root in [
        "/usr/lib/postgresql",
        "/usr/local/pgsql",
        "/opt/homebrew/opt",
    ] {
        if let Ok(entries) = std::fs::read_dir(root) {
            for e in entries.flatten() {
                candidates.push(e.path().join("bin"));
            }
        }
    }
    candidates.push(PathBuf::from("/usr/local/pgsql/bin"));
    // Highest version first ("17" > "16" > "15"), numerically.
    candidates.sort_by_key(|p| {
        std::cmp::Reverse(
            p.parent()
                .and_then(|v| v.file_name())
                .and_then(|v| v.to_str())
                .and_then(|v| v.split('.').next())
                .and_then(|v| v.parse::<u32>().ok())
                .unwrap_or(0),
        )
    });
    candidates.into_iter().find(|d| has_both(d))
}
