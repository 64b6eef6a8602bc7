//! `fds users` end to end: the first admin created from the command line, read back
//! through the store, and logging in to the console of a real `fds serve` on the
//! same database.

mod common;

use common::{fds, run, runtime, serve, vault};
use std::io::Write;
use std::process::Stdio;

const PASSWORD: &str = "a long enough passphrase";

fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("fds.db").display())
}

/// `fds users add ... --password-stdin` with `password` on standard input.
fn add_with_stdin(url: &str, args: &[&str], password: &str) -> (Option<i32>, String, String) {
    let mut child = fds()
        .args(["users", "add", "--password-stdin"])
        .args(args)
        .env("FDS__STORE__URL", url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("fds runs");
    // fds may refuse its arguments and exit before it reads the password: a pipe it
    // closed is not a failure of the test (the exit code and stderr tell).
    let _ = child.stdin.take().expect("stdin").write_all(format!("{password}\n").as_bytes());
    let out = child.wait_with_output().expect("fds exits");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_first_admin_comes_from_the_command_line_and_logs_in_to_the_served_console() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = sqlite_url(&dir);

    let (code, stdout, stderr) = add_with_stdin(&url, &["--login", "boss", "--role", "admin"], PASSWORD);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("created console user boss (admin)"), "{stdout}");
    assert!(!stdout.contains(PASSWORD), "a password from stdin is never printed");

    let (ok, listed, _) = run(fds().args(["users", "list"]).env("FDS__STORE__URL", &url));
    assert!(ok && listed.contains("boss\tadmin\tactive"), "{listed}");

    runtime().block_on(async {
        let store = fds_store::open(&url, vault()).await.expect("store opens");
        let user = store.user_by_login("boss").await.expect("read").expect("the user");
        assert!(user.has_role(fds_store::Role::Admin));
        assert!(user.password_hash.expose().starts_with("$argon2id$"));
        let audit = store.audit_records(0, 10).await.expect("audit");
        assert_eq!((audit[0].entry.action.as_str(), audit[0].entry.actor.as_str()), ("user.create", "cli"));
    });

    // `fds serve` mounts the console: the admin's password passes and the
    // second factor's enrolment comes next.
    let server = serve(&url);
    runtime().block_on(async {
        let client =
            reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        let base = format!("http://{}", server.addr);
        let form = client.get(format!("{base}/console/login")).send().await.expect("login form");
        assert_eq!(form.status(), 200);
        let csp = form.headers()["content-security-policy"].to_str().expect("csp").to_string();
        assert!(csp.contains("default-src 'self'"), "{csp}");
        let cookie = form.headers()["set-cookie"].to_str().expect("cookie").to_string();
        let token = cookie.split(';').next().and_then(|c| c.split_once('=')).expect("token").1.to_string();
        let answer = client
            .post(format!("{base}/console/login"))
            .header("cookie", format!("fds_login={token}"))
            .form(&[("login", "boss"), ("password", PASSWORD), ("csrf", &token)])
            .send()
            .await
            .expect("login");
        assert_eq!(answer.status(), 303);
        assert_eq!(answer.headers()["location"], "/console/enrol");
    });
    let (status, _) = server.terminate();
    assert!(status.success());
}

#[test]
fn bad_roles_a_short_password_and_a_taken_login_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = sqlite_url(&dir);

    let (code, _, stderr) = add_with_stdin(&url, &["--login", "kim", "--role", "root"], PASSWORD);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("unknown role \"root\""), "{stderr}");
    let (code, _, stderr) = add_with_stdin(&url, &["--login", "kim", "--role", "viewer"], "short");
    assert_eq!(code, Some(2));
    assert!(stderr.contains("12 to 256 characters"), "{stderr}");

    let (ok, stdout, _) =
        run(fds().args(["users", "add", "--login", "kim", "--role", "viewer"]).env("FDS__STORE__URL", &url));
    assert!(ok && stdout.contains("password (shown once): "), "{stdout}");
    let (code, _, stderr) = add_with_stdin(&url, &["--login", "kim", "--role", "analyst"], PASSWORD);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("the login \"kim\" is taken"), "{stderr}");
}
