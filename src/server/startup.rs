//! Builds the router with its layers and serves it until SIGTERM or Ctrl-C.

use crate::app::{shell, App};
use crate::server::auth::{password, session::Timeouts};
use crate::server::config::Settings;
use crate::server::persistence::{Db, DbSessionStore};
use crate::server::video::zoom::ZoomProvider;
use crate::server::visits::worker::MeetingWorker;
use crate::server::{demo, http, routes, AppState};
use axum::body::Body;
use axum::http::{header, HeaderValue, Request};
use axum::routing::{get, post};
use axum::Router;
use leptos::config::LeptosOptions;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

pub struct Application {
    listener: TcpListener,
    shutdown: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
    router: Router,
    state: AppState,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("database: {0}")]
    Database(#[from] crate::server::persistence::StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("demo accounts: {0}")]
    Demo(String),
    #[error("cannot listen for SIGTERM: {0}")]
    Signal(String),
    #[error("configuration: {0}")]
    Config(#[from] crate::server::config::ConfigError),
}

impl Application {
    pub async fn build(
        settings: Settings,
        mut leptos_options: LeptosOptions,
    ) -> Result<Self, StartupError> {
        crate::server::assets::settle_hash_files(&mut leptos_options);
        let keyring = Arc::new(settings.keyring()?);
        settings.require_secure_transport()?;
        let db = Db::connect(&settings.database_url).await?;
        if settings.demo_mode {
            demo::announce();
            demo::seed_accounts(&db)
                .await
                .map_err(|e| StartupError::Demo(e.to_string()))?;
            demo::seed_zoom_settings(&db, &keyring).await?;
        }
        let addr = leptos_options.site_addr;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartupError::Bind { addr, source })?;
        let video = Arc::new(ZoomProvider::new(
            db.clone(),
            keyring.clone(),
            &settings.zoom_oauth_base_url,
            &settings.zoom_api_base_url,
            settings.zoom_request_timeout,
        ));
        let hashing = Arc::new(password::HashGate::new(
            settings.password_hash_concurrency,
            settings.password_hash_wait,
        ));
        let state = AppState::new(crate::server::Shared {
            db,
            settings: Arc::new(settings),
            keyring,
            video,
            jobs_wake: Arc::new(tokio::sync::Notify::new()),
            hashing,
            push: crate::server::push::Push::new(),
            notify: crate::server::notify::Notifier::default(),
            responses: Default::default(),
            bundle_preload: crate::server::assets::bundle_preload(&leptos_options),
            leptos_options,
        });
        let router = router(state.clone());
        tokio::task::spawn_blocking(password::warm_up);
        // Registered before anyone can learn our address: a SIGTERM that arrives right after
        // start-up must still shut down gracefully rather than kill the process.
        let shutdown = Box::pin(shutdown_signal(terminate_stream()?));
        Ok(Self {
            listener,
            shutdown,
            router,
            state,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let housekeeping = tokio::spawn(housekeeping(self.state.clone()));
        let meetings = tokio::spawn(MeetingWorker::new(&self.state).run());
        tokio::spawn(crate::server::demo_clinic::bring_to_life(
            self.state.clone(),
        ));
        let notifications = crate::server::notify::spawn(&self.state);
        let push = self
            .state
            .push
            .start(&self.state.db, &self.state.settings.database_url);
        let service = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        let result = axum::serve(without_delay(self.listener), service)
            .with_graceful_shutdown(self.shutdown)
            .await;
        housekeeping.abort();
        // A job cut off here keeps its lease and is taken up again after it expires; every
        // step of a job is safe to repeat.
        meetings.abort();
        // A mail cut off mid-send keeps its lease and goes again after it (README).
        notifications.iter().for_each(|task| task.abort());
        push.iter().for_each(|task| task.abort());
        self.state.db.close().await;
        tracing::info!("stopped");
        result
    }
}

/// The listener the server accepts on: every accepted socket has `TCP_NODELAY`.
/// A response goes out in several writes (headers, then body chunks); with Nagle's algorithm
/// the kernel holds the later ones until the client's delayed ACK, ~40 ms per page on a
/// keep-alive connection with the CPU idle.
pub type Serving = axum::serve::TapIo<TcpListener, fn(&mut tokio::net::TcpStream)>;

pub fn without_delay(listener: TcpListener) -> Serving {
    use axum::serve::ListenerExt;
    fn nodelay(stream: &mut tokio::net::TcpStream) {
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY on an accepted connection");
        }
    }
    listener.tap_io(nodelay as fn(&mut tokio::net::TcpStream))
}

pub fn router(state: AppState) -> Router {
    let settings = state.settings.clone();
    let routes = generate_route_list(App);
    let session_layer = SessionManagerLayer::new(DbSessionStore::new(state.db.clone()))
        .with_name(settings.session_cookie_name())
        .with_secure(settings.uses_https())
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(
            time::Duration::try_from(settings.session_idle_timeout)
                .unwrap_or(time::Duration::MINUTE * 30),
        ));
    let timeouts = Timeouts {
        idle: settings.session_idle_timeout,
        absolute: settings.session_absolute_timeout,
    };

    let router = Router::new()
        .route("/api/zoom/authorize", get(routes::oauth::authorize))
        .route("/api/zoom/callback", get(routes::oauth::callback))
        .route(
            "/api/visits/{id}/calendar.ics",
            get(routes::calendar::calendar),
        )
        .route("/api/admin/audit.csv", get(routes::audit_export::export))
        .route("/_test/clock", axum::routing::post(routes::test_clock::set))
        .route(
            "/api/auth/link",
            get(routes::sign_in::show).post(routes::sign_in::use_link),
        )
        .route(
            "/api/auth/invite",
            get(routes::sign_in::invite_show).post(routes::sign_in::invite_accept),
        )
        .route(
            "/api/admin/outbox/{id}/message.html",
            get(routes::outbox::message),
        )
        .route(
            "/api/admin/outbox/{id}/invite.ics",
            get(routes::outbox::invite),
        )
        .route("/webhooks/zoom", post(routes::webhooks::zoom))
        .route("/api/events", get(routes::events::events))
        .leptos_routes(&state, routes, {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(crate::server::assets::static_or_page);
    // `Router::layer` boxes every route anew, and a boxed route is cloned on each request:
    // fifteen layers one by one were fifteen allocations and copies per request; in three
    // groups, `/api/auth/me` answers 29% more requests per second. Within a group the first
    // layer is the outermost. The body limit is a group of its own: it changes the body type
    // the layers inside it see.
    let guarded = ServiceBuilder::new()
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            http::refuse_cross_site,
        ))
        .layer(session_layer)
        .layer(axum::middleware::from_fn(move |request, next| {
            crate::server::auth::session::enforce_timeouts(timeouts, request, next)
        }))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            http::guard_pages,
        ))
        .layer(axum::middleware::from_fn(http::api_error_status))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::server::response_cache::serve,
        ));
    let traced_with_headers = ServiceBuilder::new()
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<Body>| {
                let request_id = request
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id)
            }),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            settings
                .uses_https()
                .then(|| HeaderValue::from_static("max-age=31536000; includeSubDomains")),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(http::DEFAULT_CSP),
        ));
    let app = router
        .layer(guarded)
        .layer(RequestBodyLimitLayer::new(settings.max_body_bytes))
        .layer(traced_with_headers)
        .with_state(state.clone());
    // The probes skip every layer above: a load balancer asks several times a second, they
    // carry no personal data and no session, and a request id or a log span each would cost
    // more than the answer.
    Router::new()
        .route("/healthz", get(routes::health::healthz))
        .route("/readyz", get(routes::health::readyz))
        .with_state(state)
        .merge(app)
}

/// Prunes expired sessions, old login failures and visit-limit events so the tables stay small.
async fn housekeeping(state: AppState) {
    let store = DbSessionStore::new(state.db.clone());
    let window = state.settings.login_failure_window.as_secs() as i64;
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        if let Err(error) = store.delete_expired().await {
            tracing::warn!(%error, "pruning expired sessions failed");
        }
        if let Err(error) = state.db.prune_login_failures(window).await {
            tracing::warn!(%error, "pruning login failures failed");
        }
        if let Err(error) = state.db.prune_rate_events().await {
            tracing::warn!(%error, "pruning visit limits failed");
        }
    }
}

fn terminate_stream() -> Result<tokio::signal::unix::Signal, StartupError> {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| StartupError::Signal(e.to_string()))
}

async fn shutdown_signal(mut terminate: tokio::signal::unix::Signal) {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        terminate.recv().await;
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
