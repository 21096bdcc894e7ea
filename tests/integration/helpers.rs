//! Black-box helpers: every test gets the real server binary, started on port 0 with its own
//! fresh database (a SQLite file in a temp dir, or a new PostgreSQL database when
//! `TEST_DATABASE=postgres` and `TEST_POSTGRES_URL` are set), driven over HTTP.
//!
//! The benches include this file and `sim.rs` by `#[path]`, without `fixtures.rs`: so the few
//! requests made here are spelled out instead of using the endpoint methods of `fixtures.rs`.

use reqwest::{Client, Response};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const ADMIN: (&str, &str) = ("admin@demo.clinic", "demo-admin-password");
pub const RECEPTIONIST: (&str, &str) = ("reception@demo.clinic", "demo-reception-password");
pub const DOCTOR: (&str, &str) = ("doctor@demo.clinic", "demo-doctor-password");
pub const PATIENT: (&str, &str) = ("patient@demo.clinic", "demo-patient-password");

pub struct TestApp {
    pub address: String,
    pub database_url: String,
    child: Child,
    logs: Arc<Mutex<Vec<String>>>,
    _dir: TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> Self {
        let unique = format!(
            "telehealth-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        );
        let path = std::env::temp_dir().join(unique);
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !self.0.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

pub fn using_postgres() -> bool {
    std::env::var("TEST_DATABASE").as_deref() == Ok("postgres")
}

/// A database URL nobody else uses.
pub async fn fresh_database_url(dir: &TempDir) -> String {
    if !using_postgres() {
        return format!("sqlite:{}/app.db?mode=rwc", dir.0.display());
    }
    use sqlx::Connection;
    let base = std::env::var("TEST_POSTGRES_URL")
        .expect("TEST_DATABASE=postgres needs TEST_POSTGRES_URL (postgres://user@host:port/db)");
    let name = format!(
        "t_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    );
    let mut conn = sqlx::PgConnection::connect(&base)
        .await
        .expect("connect to test postgres");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let (prefix, _) = base
        .rsplit_once('/')
        .expect("postgres URL has a database part");
    format!("{prefix}/{name}")
}

/// The encryption key of test installs (outside demo mode the app refuses to start without
/// one); a test may pass its own `ENCRYPTION_KEY`.
pub const TEST_KEY: &str = "test-key:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

/// A fresh install set up the way a real one is, with demo mode off: see `spawn_app_with`.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// A fresh install with demo mode off, set up through the ways a real clinic has: the admin
/// is made with the `create-user` subcommand (password on stdin), the receptionist, doctor
/// and patient are created by that admin through the API (with the accounts and passwords of
/// `ADMIN`, `RECEPTIONIST`, `DOCTOR`, `PATIENT`), and the admin saves the Zoom settings (the
/// simulator's OAuth app). So no test passes because demo mode seeded something.
/// With `("DEMO_MODE", "true")` in `env` the app starts in demo mode instead, untouched.
pub async fn spawn_app_with(env: &[(&str, &str)]) -> TestApp {
    if env.contains(&("DEMO_MODE", "true")) {
        let dir = TempDir::new();
        let database_url = fresh_database_url(&dir).await;
        return spawn_app_on(dir, database_url, env).await;
    }
    spawn_install(env, true).await
}

/// The same install as `spawn_app_with`, but the admin has not set up Zoom yet.
pub async fn spawn_app_without_zoom(env: &[(&str, &str)]) -> TestApp {
    spawn_install(env, false).await
}

/// Demo mode: the seeded demo accounts and Zoom settings, nothing else.
pub async fn spawn_demo_app() -> TestApp {
    spawn_app_with(&[("DEMO_MODE", "true")]).await
}

async fn spawn_install(env: &[(&str, &str)], zoom: bool) -> TestApp {
    let dir = TempDir::new();
    let database_url = fresh_database_url(&dir).await;
    create_first_admin(&database_url, ADMIN);
    let app = spawn_app_on(dir, database_url, env).await;
    let admin = app.logged_in(ADMIN).await;
    for (who, role, name, zone) in [
        (RECEPTIONIST, "receptionist", None, None),
        (
            DOCTOR,
            "doctor",
            Some("Dr. Ada Lovelace"),
            Some("Europe/Berlin"),
        ),
        (PATIENT, "patient", None, Some("America/New_York")),
    ] {
        let mut form = vec![("email", who.0), ("role", role), ("password", who.1)];
        form.extend(name.map(|n| ("display_name", n)));
        form.extend(zone.map(|z| ("time_zone", z)));
        let response = app.call(&admin, "/api/admin/users/create", &form).await;
        assert_eq!(
            response.status(),
            200,
            "creating {}: {}",
            who.0,
            response.text().await.unwrap()
        );
    }
    if zoom {
        let response = app
            .call(
                &admin,
                "/api/admin/zoom/settings/save",
                &[
                    ("mode", "user_oauth"),
                    ("client_id", "demo-oauth-client"),
                    ("client_secret", "demo-oauth-secret"),
                ],
            )
            .await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }
    app.call(&admin, "/api/auth/logout", &[]).await;
    app
}

/// `telehealth create-user --role admin`, as on a real install: the password on stdin.
pub fn create_first_admin(database_url: &str, who: (&str, &str)) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_telehealth"))
        .args(["create-user", "--role", "admin", "--email", who.0])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env("APP_CONFIG_FILE", "/dev/null")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run create-user");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{}\n", who.1).as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "create-user failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The app binary on `database_url`, with nothing from our environment but `PATH`: demo mode
/// off, `TEST_KEY`, any free port on loopback. Shared by the tests and the benchmarks.
pub fn app_command(database_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_telehealth"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env("APP_CONFIG_FILE", "/dev/null")
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .env("LEPTOS_OUTPUT_NAME", "telehealth")
        .env("DEMO_MODE", "false")
        .env("ENCRYPTION_KEY", TEST_KEY)
        // Plain HTTP on loopback: outside demo mode an http:// PUBLIC_URL is refused unless
        // allowed (tests of https set PUBLIC_URL themselves).
        .env("ALLOW_INSECURE_HTTP", "true")
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    command
}

/// Starts the app on an existing database (a restart, a second instance), with demo mode off
/// and `TEST_KEY` unless `env` says otherwise.
pub async fn spawn_app_on(dir: TempDir, database_url: String, env: &[(&str, &str)]) -> TestApp {
    let mut command = app_command(&database_url);
    command
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().expect("start the app binary");
    let logs = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    {
        let logs = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("listening on ") {
                    let _ = tx.send(addr.to_owned());
                }
                logs.lock().unwrap().push(line);
            }
        });
    }
    {
        let logs = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                logs.lock().unwrap().push(line);
            }
        });
    }
    let address = match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(address) => address,
        Err(_) => {
            let _ = child.kill();
            panic!(
                "app did not start; output:\n{}",
                logs.lock().unwrap().join("\n")
            );
        }
    };
    TestApp {
        address,
        database_url,
        child,
        logs,
        _dir: dir,
    }
}

impl TestApp {
    /// A client with its own cookie jar that never follows redirects.
    pub fn client(&self) -> Client {
        Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    /// The app's process id, for what only the operating system can tell about it (its
    /// memory, its paging policy).
    #[allow(dead_code)]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn call(&self, client: &Client, endpoint: &str, form: &[(&str, &str)]) -> Response {
        client
            .post(self.url(endpoint))
            .form(form)
            .send()
            .await
            .expect("request failed")
    }

    /// A client logged in as `who`.
    pub async fn logged_in(&self, who: (&str, &str)) -> Client {
        let client = self.client();
        let response = self
            .call(
                &client,
                "/api/auth/login",
                &[("email", who.0), ("password", who.1)],
            )
            .await;
        assert_eq!(
            response.status(),
            200,
            "login as {} failed: {}",
            who.0,
            response.text().await.unwrap()
        );
        client
    }

    pub async fn me(&self, client: &Client) -> serde_json::Value {
        let response = self.call(client, "/api/auth/me", &[]).await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// Stops the server but keeps its data directory (and so a SQLite database) for a restart.
    pub fn stop(mut self) -> TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::mem::replace(&mut self._dir, TempDir(PathBuf::new()))
    }

    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }

    /// Waits (bounded) for a JSON log line that `matches`, and returns it.
    pub async fn wait_for_log(
        &self,
        matches: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let started = std::time::Instant::now();
        loop {
            let found = self
                .logs
                .lock()
                .unwrap()
                .iter()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .find(|l| matches(l));
            if let Some(found) = found {
                return found;
            }
            if started.elapsed() > Duration::from_secs(20) {
                let logs = self.logs();
                let tail: Vec<&str> = logs.lines().rev().take(30).collect();
                panic!(
                    "no such log line in 20 s; the last lines:\n{}",
                    tail.join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Returns once every line the app logged before this call has been read: it sends a
    /// request that logs a line of its own (a login as the receptionist, marked with a fresh
    /// request id) and waits for that line. Logs come through one pipe, in order.
    pub async fn log_fence(&self) {
        let marker = format!(
            "fence-{}",
            NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        );
        let response = self
            .client()
            .post(self.url("/api/auth/login"))
            .header("x-request-id", &marker)
            .form(&[("email", RECEPTIONIST.0), ("password", RECEPTIONIST.1)])
            .send()
            .await
            .expect("request failed");
        assert_eq!(response.status(), 200, "the fence login failed");
        self.wait_for_log(|l| request_id_of(l) == Some(marker.as_str()))
            .await;
    }

    /// Stops the process the way an orchestrator does, and waits for it.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().unwrap()
    }
}

/// The request id a JSON log line carries: that of its enclosing `request` span (the line's
/// own `span` is the innermost one, a server function's, say).
pub fn request_id_of(line: &serde_json::Value) -> Option<&str> {
    line["spans"]
        .as_array()?
        .iter()
        .find(|span| span["name"] == "request")?["request_id"]
        .as_str()
}

/// The session cookie's `name=value`, as sent by the server.
pub fn session_cookie(response: &Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("telehealth_session=") || v.starts_with("__Host-telehealth="))
        .map(|v| v.split(';').next().unwrap().to_owned())
}

pub fn full_cookie_header(response: &Response) -> HashMap<String, String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| {
            let name = v.split('=').next().unwrap().to_owned();
            (name, v.to_owned())
        })
        .collect()
}

/// A cookie-less client that sends `cookie` verbatim, to replay an old session id.
pub async fn me_with_cookie(app: &TestApp, cookie: &str) -> serde_json::Value {
    let response = reqwest::Client::new()
        .post(app.url("/api/auth/me"))
        .header("cookie", cookie)
        .form(&[("", "")][..0])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// The decoded value of `name` in a URL's query string.
pub fn query_value(url: &str, name: &str) -> Option<String> {
    let parsed = reqwest::Url::parse(url).ok()?;
    parsed
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Polls `probe` until it answers `Some` and returns that, or panics after `within`: for
/// conditions the app or the simulator reach on their own, instead of sleeping and hoping.
pub async fn eventually<T, F, Fut>(what: &str, within: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = std::time::Instant::now();
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(started.elapsed() < within, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether `needle` appears anywhere in the database: every byte of the SQLite files (the
/// database and its write-ahead log), or in PostgreSQL every text column of every table and
/// the whole `pg_dump` of the database.
pub async fn database_contains(app: &TestApp, needle: &str) -> bool {
    if using_postgres() {
        let dump = Command::new("pg_dump")
            .arg(&app.database_url)
            .output()
            .expect("run pg_dump");
        assert!(
            dump.status.success(),
            "pg_dump failed: {}",
            String::from_utf8_lossy(&dump.stderr)
        );
        assert!(
            String::from_utf8_lossy(&dump.stdout).contains("CREATE TABLE public.users"),
            "pg_dump dumped something else"
        );
        if dump
            .stdout
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
        {
            return true;
        }
        use sqlx::{Connection, Row};
        let mut conn = sqlx::PgConnection::connect(&app.database_url)
            .await
            .unwrap();
        let columns = sqlx::query(
            "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns \
             WHERE table_schema = 'public' AND data_type IN ('text', 'character varying')",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap();
        for column in columns {
            let (table, col): (String, String) = (column.get("t"), column.get("c"));
            let sql = format!("SELECT COUNT(*) AS n FROM \"{table}\" WHERE \"{col}\" LIKE $1");
            let n: i64 = sqlx::query(&sql)
                .bind(format!("%{needle}%"))
                .fetch_one(&mut conn)
                .await
                .unwrap()
                .get("n");
            if n > 0 {
                return true;
            }
        }
        false
    } else {
        let path = app
            .database_url
            .trim_start_matches("sqlite:")
            .split('?')
            .next()
            .unwrap()
            .to_owned();
        [path.clone(), format!("{path}-wal")].iter().any(|file| {
            std::fs::read(file)
                .is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
        })
    }
}

/// The kinds of caller every role matrix is checked against.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Caller {
    Anonymous,
    Patient,
    Receptionist,
    Doctor,
    Admin,
}

pub const CALLERS: [Caller; 5] = [
    Caller::Anonymous,
    Caller::Patient,
    Caller::Receptionist,
    Caller::Doctor,
    Caller::Admin,
];

impl TestApp {
    pub async fn client_for(&self, caller: Caller) -> Client {
        match caller {
            Caller::Anonymous => self.client(),
            Caller::Patient => self.logged_in(PATIENT).await,
            Caller::Receptionist => self.logged_in(RECEPTIONIST).await,
            Caller::Doctor => self.logged_in(DOCTOR).await,
            Caller::Admin => self.logged_in(ADMIN).await,
        }
    }
}

/// A GET of `path` on `app` with `cookie`.
pub async fn get_with(app: &TestApp, cookie: &str, path: &str) -> Response {
    reqwest::Client::new()
        .get(app.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
}

/// A form POST to `path` on `app` with `cookie`.
pub async fn post_with(app: &TestApp, cookie: &str, path: &str, form: &[(&str, &str)]) -> Response {
    reqwest::Client::new()
        .post(app.url(path))
        .header("cookie", cookie)
        .form(form)
        .send()
        .await
        .unwrap()
}

/// The script nonce of a page's `Content-Security-Policy`.
pub fn csp_nonce(csp: &str) -> String {
    csp.split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a script nonce in the policy")
        .to_owned()
}
