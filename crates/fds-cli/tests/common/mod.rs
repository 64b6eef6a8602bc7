//! Helpers the `fds` end-to-end tests share: the test vault keys, the binary with a
//! clean environment, a Postgres database per test, polling.

#![allow(dead_code, reason = "each test binary uses a part of these helpers")]
#![allow(clippy::unwrap_used, reason = "test helpers: a failure is the test failing")]

use sqlx::{Connection, Executor, PgConnection};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Valid vault keys for the tests (not secret: tests only), as every `fds` the
/// tests run gets them.
pub(crate) const VAULT_ENV: [(&str, &str); 3] = [
    ("FDS__VAULT__ACTIVE_KEY", "test"),
    ("FDS__VAULT__KEYS", "test:abababababababababababababababababababababababababababababababab"),
    ("FDS__VAULT__INDEX_KEY", "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"),
];

/// The vault of [`VAULT_ENV`], for opening the stores `fds` wrote.
pub(crate) fn vault() -> std::sync::Arc<fds_vault::Vault> {
    let ring =
        fds_vault::KeyRing::from_config(VAULT_ENV[0].1, [("test", &VAULT_ENV[1].1[5..])], VAULT_ENV[2].1)
            .expect("valid test keys");
    std::sync::Arc::new(fds_vault::Vault::new(ring))
}

/// The repository root (the rule library's `rules/` is there).
pub(crate) fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The `fds` binary, run from the repository root, with no `FDS__` setting or
/// `RUST_LOG` of the caller's and the test vault keys.
pub(crate) fn fds() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fds"));
    cmd.current_dir(repo()).env_remove("RUST_LOG");
    for (key, _) in std::env::vars() {
        if key.starts_with("FDS__") {
            cmd.env_remove(key);
        }
    }
    for (key, value) in VAULT_ENV {
        cmd.env(key, value);
    }
    cmd
}

/// Runs `cmd` to the end: (success, stdout, stderr).
pub(crate) fn run(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd.output().expect("fds runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A name no other test (or run) uses.
pub(crate) fn unique(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{prefix}-{}-{nanos}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// Waits for `check` to hold, polling; panics with `what` after `timeout`.
pub(crate) fn wait_until(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < timeout, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// (event id, action, score, reasons) of every decision the store at `url` holds
/// for `ids`, by event id: what two runs are compared on.
pub(crate) fn stored_decisions(url: &str, ids: &[&str]) -> Vec<(String, String, String, serde_json::Value)> {
    runtime().block_on(async {
        let store = fds_store::open(url, vault()).await.unwrap();
        let mut out: Vec<_> = store
            .decisions_for_events(ids)
            .await
            .unwrap()
            .into_iter()
            .map(|d| {
                (
                    d.event_id.clone(),
                    d.action.as_str().to_string(),
                    format!("{:.6}", d.score),
                    serde_json::to_value(&d.reasons).unwrap(),
                )
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    })
}

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

/// A Postgres database of the test's own, dropped with it. The server comes from
/// `FDS_TEST_POSTGRES_URL` (default: the local one); a missing server fails the
/// test.
pub(crate) struct Database {
    admin_url: String,
    name: String,
    pub(crate) url: String,
}

impl Database {
    pub(crate) fn create() -> Database {
        let admin_url = std::env::var("FDS_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = unique("fds_cli").replace('-', "_");
        runtime().block_on(async {
            let mut admin = PgConnection::connect(&admin_url)
                .await
                .unwrap_or_else(|e| panic!("these tests need Postgres at {admin_url}: {e}"));
            admin.execute(format!("CREATE DATABASE {name}").as_str()).await.unwrap();
        });
        let (base, _) = admin_url.rsplit_once('/').unwrap();
        let url = format!("{base}/{name}");
        Database { admin_url, name, url }
    }

    /// Rows in `table`; 0 until `fds` has created the schema.
    pub(crate) fn count(&self, table: &str) -> i64 {
        runtime().block_on(async {
            let mut c = PgConnection::connect(&self.url).await.unwrap();
            sqlx::query_as::<_, (i64,)>(&format!("SELECT count(*) FROM {table}"))
                .fetch_one(&mut c)
                .await
                .map_or(0, |(n,)| n)
        })
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            runtime().block_on(async {
                if let Ok(mut admin) = PgConnection::connect(&admin_url).await {
                    let _ =
                        admin.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await;
                }
            })
        })
        .join();
    }
}

/// A running `fds serve` on `store_url` with JSON logs: the child, its address and
/// the rest of its log lines.
pub(crate) struct Serving {
    pub(crate) child: std::process::Child,
    pub(crate) addr: String,
    pub(crate) lines: std::io::Lines<BufReader<std::process::ChildStderr>>,
}

pub(crate) const API_KEY: &str = "cli-test-key-0123456789";

pub(crate) fn serve(store_url: &str) -> Serving {
    serve_with(store_url, &[])
}

/// [`serve`] with more `FDS__…` settings.
pub(crate) fn serve_with(store_url: &str, env: &[(&str, &str)]) -> Serving {
    let mut child = fds()
        .arg("serve")
        .envs(env.iter().copied())
        .env("FDS__SERVER__LISTEN", "127.0.0.1:0")
        .env("FDS__API__KEYS", API_KEY)
        .env("FDS__STORE__URL", store_url)
        .env("FDS__LOG__FORMAT", "json")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("fds serve starts");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let addr = loop {
        let line = lines.next().expect("serve logs before exiting").expect("line");
        let entry: serde_json::Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(_) => continue,
        };
        if entry["fields"]["message"] == "fds api listening" {
            break entry["fields"]["addr"].as_str().expect("addr").to_string();
        }
    };
    Serving { child, addr, lines }
}

impl Serving {
    /// SIGTERM, then the exit status and the log lines written until the exit.
    pub(crate) fn terminate(mut self) -> (std::process::ExitStatus, Vec<String>) {
        let killed =
            Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().expect("kill runs");
        assert!(killed.success());
        let status = self.child.wait().expect("serve exits");
        (status, self.lines.map_while(Result::ok).collect())
    }
}
