//! The Zoom side on its own: the simulator (`simulator`) and the Zoom `VideoProvider` driven
//! directly against it (`provider`).

mod provider;
mod simulator;
mod webhooks;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use telehealth::zoom_sim::{SimConfig, Simulator};

pub const REDIRECT: &str = "http://127.0.0.1:3000/api/zoom/callback";
pub const VERIFIER: &str = "a-proper-pkce-verifier-of-sufficient-length-0123456789";

pub struct Sim {
    pub url: String,
    pub http: Client,
}

pub async fn start() -> Sim {
    let sim = Simulator::bind("127.0.0.1:0".parse().unwrap(), SimConfig::default())
        .await
        .unwrap();
    let url = format!("http://{}", sim.local_addr());
    tokio::spawn(sim.run());
    Sim {
        url,
        http: Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    }
}

impl Sim {
    pub async fn control(&self, path: &str, body: Value) {
        let r = self
            .http
            .post(format!("{}/_sim/{path}", self.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
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

    /// Consent as `user`, returning the redirect back to the app.
    pub async fn consent(&self, user: &str, decision: &str, challenge: &str) -> reqwest::Url {
        let page = self
            .http
            .get(format!("{}/oauth/authorize", self.url))
            .query(&[
                ("response_type", "code"),
                ("client_id", "demo-oauth-client"),
                ("redirect_uri", REDIRECT),
                ("state", "st4te"),
                ("code_challenge", challenge),
                ("code_challenge_method", "S256"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains(">Allow</button>") && html.contains(">Deny</button>"));
        let answer = self
            .http
            .post(format!("{}/oauth/authorize", self.url))
            .form(&[
                ("client_id", "demo-oauth-client"),
                ("redirect_uri", REDIRECT),
                ("state", "st4te"),
                ("code_challenge", challenge),
                ("code_challenge_method", "S256"),
                ("user", user),
                ("decision", decision),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::SEE_OTHER);
        reqwest::Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap()
    }

    pub async fn token(&self, client: (&str, &str), form: &[(&str, &str)]) -> (StatusCode, Value) {
        let r = self
            .http
            .post(format!("{}/oauth/token", self.url))
            .basic_auth(client.0, Some(client.1))
            .form(form)
            .send()
            .await
            .unwrap();
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }

    /// A user-managed access and refresh token for `user`.
    pub async fn user_tokens(&self, user: &str) -> (String, String) {
        let code = query(
            &self.consent(user, "allow", &challenge(VERIFIER)).await,
            "code",
        )
        .unwrap();
        let (status, body) = self
            .token(
                ("demo-oauth-client", "demo-oauth-secret"),
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", REDIRECT),
                    ("code_verifier", VERIFIER),
                ],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        (
            body["access_token"].as_str().unwrap().to_owned(),
            body["refresh_token"].as_str().unwrap().to_owned(),
        )
    }

    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, format!("{}/v2{path}", self.url))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let r = request.send().await.unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }
}

pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

pub fn query(url: &reqwest::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

pub fn meeting_body(password: &str) -> Value {
    json!({
        "topic": "Video visit", "type": 2, "start_time": "2030-03-31T12:02:00Z", "duration": 30,
        "timezone": "Europe/Berlin", "agenda": "visit 1", "password": password,
        "settings": { "waiting_room": true, "join_before_host": false }
    })
}
