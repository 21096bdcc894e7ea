//! The Zoom simulator as a separate process, driven like Zoom: over HTTP, plus its `/_sim/`
//! controls for faults, clocks and counters.

use crate::helpers::*;
use reqwest::Client;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Sim {
    pub url: String,
    child: Child,
    http: Client,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sim {
    pub fn start() -> Sim {
        let mut child = Command::new(env!("CARGO_BIN_EXE_zoom-sim"))
            .args(["--addr", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start zoom-sim");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("zoom-sim listening on ") {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("zoom-sim did not start");
        let http = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Sim { url, child, http }
    }

    /// Environment that points an app at this simulator.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("ZOOM_OAUTH_BASE_URL", self.url.clone()),
            ("ZOOM_API_BASE_URL", format!("{}/v2", self.url)),
        ]
    }

    pub async fn control(&self, path: &str, body: Value) -> Value {
        let response = self
            .http
            .post(format!("{}/_sim/{path}", self.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "sim control {path}: {}",
            response.status()
        );
        response.json().await.unwrap_or(Value::Null)
    }

    /// The meeting creates and updates the app sent, oldest first (`method`, `path`, `body`).
    pub async fn requests(&self) -> Vec<Value> {
        self.http
            .get(format!("{}/_sim/requests", self.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn counters(&self) -> Value {
        self.http
            .get(format!("{}/_sim/counters", self.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn counter(&self, name: &str) -> i64 {
        self.counters().await[name]
            .as_i64()
            .unwrap_or_else(|| panic!("no counter {name}"))
    }

    /// Every token and code the simulator ever issued.
    pub async fn issued_secrets(&self) -> Vec<String> {
        let mut all = Vec::new();
        for kind in ["access_tokens", "refresh_tokens", "codes"] {
            all.extend(self.issued_secrets_of(kind).await);
        }
        all
    }

    /// The issued secrets of one kind (`access_tokens`, `refresh_tokens`, `codes`), oldest first.
    pub async fn issued_secrets_of(&self, kind: &str) -> Vec<String> {
        let value: Value = self
            .http
            .get(format!("{}/_sim/issued-secrets", self.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        value[kind]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    }

    /// From now on Zoom carries out every create but holds its answer (`true`), or releases
    /// every held answer (`false`).
    pub async fn hold_creates(&self, hold: bool) {
        self.control("hold", json!({ "creates": hold })).await;
    }

    /// `{creates, waiting, held, meetings}`: whether creates are held, how many answers wait
    /// right now, how many were ever held, and the ids of their meetings.
    pub async fn hold_status(&self) -> Value {
        self.http
            .get(format!("{}/_sim/hold", self.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Waits (bounded) until at least `n` create answers have been held.
    pub async fn wait_until_held(&self, n: u64, within: Duration) -> Value {
        let started = std::time::Instant::now();
        loop {
            let status = self.hold_status().await;
            if status["held"].as_u64() >= Some(n) {
                return status;
            }
            assert!(
                started.elapsed() < within,
                "fewer than {n} creates reached Zoom in {within:?}: {status}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A host's Zoom defaults, locks (`settings.locked`) and licence (`type`), as their Zoom
    /// admin set them; `user` None changes every host.
    pub async fn host_settings(&self, user: Option<&str>, settings: Value, user_type: Option<i64>) {
        let mut body = json!({ "settings": settings });
        if let Some(user) = user {
            body["user"] = json!(user);
        }
        if let Some(kind) = user_type {
            body["type"] = json!(kind);
        }
        self.control("host-settings", body).await;
    }

    /// Zoom's per-second limit depends on the plan (Pro: 30 Light calls/s); tests that are
    /// about something else raise it so bursts of 200 calls measure that something else.
    pub async fn allow_bursts(&self) {
        self.control("config", json!({ "rate_limit_per_sec": 10_000 }))
            .await;
    }

    pub async fn set_token_ttl(&self, secs: u64) {
        self.control("config", json!({ "token_ttl_secs": secs }))
            .await;
    }

    /// Answers Zoom's consent page as a person would: picks the first Zoom user and clicks
    /// Allow (or Deny). Returns where the simulator redirects the browser.
    pub async fn consent(&self, authorize_url: &str, allow: bool) -> String {
        let page = self.http.get(authorize_url).send().await.unwrap();
        assert_eq!(page.status(), 200, "consent page");
        let html = page.text().await.unwrap();
        let mut form = form_fields(&html);
        let (name, value) = button(&html, if allow { "Allow" } else { "Deny" });
        if let Some(name) = name {
            form.push((name, value.unwrap_or_default()));
        }
        let response = self
            .http
            .post(format!("{}/oauth/authorize", self.url))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_redirection(),
            "consent answered {}",
            response.status()
        );
        response.headers()["location"].to_str().unwrap().to_owned()
    }
}

/// A doctor connects Zoom through the app and the simulator's consent page. (The benches
/// include this file without `fixtures.rs`, so the two requests are spelled out here.)
pub async fn connect_doctor(app: &TestApp, sim: &Sim, doctor: &Client) {
    let authorize = doctor
        .get(app.url("/api/zoom/authorize"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        authorize.status(),
        303,
        "{}",
        authorize.text().await.unwrap()
    );
    let zoom_url = authorize.headers()["location"].to_str().unwrap().to_owned();
    let back = sim.consent(&zoom_url, true).await;
    let query = back
        .split_once('?')
        .map(|(_, q)| q)
        .expect("redirect carries code and state");
    let callback = doctor
        .get(app.url(&format!("/api/zoom/callback?{query}")))
        .send()
        .await
        .unwrap();
    assert_eq!(callback.status(), 303, "{}", callback.text().await.unwrap());
    assert_eq!(callback.headers()["location"], "/zoom?connected=1");
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let needle = format!("{name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let end = tag[start..].find('"')? + start;
    Some(
        tag[start..end]
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&#39;", "'")
            .replace("&amp;", "&"),
    )
}

fn tags<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("<{name}");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(&open) {
        let tail = &rest[i..];
        let end = tail.find('>').unwrap_or(tail.len());
        out.push(&tail[..end]);
        rest = &tail[end..];
    }
    out
}

/// The named inputs of the page's form: hidden fields, the first choice of each select, the
/// first radio of each group.
fn form_fields(html: &str) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for tag in tags(html, "input") {
        let Some(name) = attribute(tag, "name") else {
            continue;
        };
        let kind = attribute(tag, "type").unwrap_or_default();
        if kind == "submit" || (kind == "radio" && fields.iter().any(|(n, _)| *n == name)) {
            continue;
        }
        fields.push((name, attribute(tag, "value").unwrap_or_default()));
    }
    for (i, select) in tags(html, "select").into_iter().enumerate() {
        let Some(name) = attribute(select, "name") else {
            continue;
        };
        let after = html.split("<select").nth(i + 1).unwrap_or_default();
        if let Some(option) = tags(after, "option").first() {
            fields.push((name, attribute(option, "value").unwrap_or_default()));
        }
    }
    fields
}

/// The name and value of the button whose text is `label`.
fn button(html: &str, label: &str) -> (Option<String>, Option<String>) {
    for part in html.split("<button").skip(1) {
        let (tag, rest) = part.split_once('>').unwrap_or((part, ""));
        let text = rest.split("</button>").next().unwrap_or_default();
        if text.trim() == label {
            return (attribute(tag, "name"), attribute(tag, "value"));
        }
    }
    panic!("no {label} button on the consent page");
}
