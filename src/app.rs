use crate::api::auth::{Login, Logout};
use crate::api::Me;
use crate::components::nav::Nav;
use crate::components::resource::{resource, Json};
use crate::components::submission::SubmissionOf;
use crate::error::AppError;
use crate::pages::admin_users::AdminUsersPage;
use crate::pages::audit::AuditPage;
use crate::pages::home::HomePage;
use crate::pages::login::LoginPage;
use crate::pages::outbox::OutboxPage;
use crate::pages::profile::ProfilePage;
use crate::pages::visits::{VisitPage, VisitsPage};
use crate::pages::zoom_admin::ZoomAdminPage;
use crate::pages::zoom_doctor::ZoomDoctorPage;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;
use leptos_router::{lazy_route, Lazy, LazyRoute};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    set_page_csp();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                // Named, so browsers do not ask for /favicon.ico: that request would get the app's
                // "not found" page, a wasted round trip and 2 KB on every first load.
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                // The stylesheet's name carries its content hash (cargo-leptos `hash-files`), like
                // the scripts': browsers keep it for a year and fetch a new one after a release.
                <HashedStylesheet options=options.clone() id="leptos" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// HTML pages get a CSP that admits Leptos' inline bootstrap only through this response's nonce.
#[cfg(feature = "ssr")]
fn set_page_csp() {
    if let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) {
        if let Ok(value) =
            axum::http::HeaderValue::from_str(&crate::server::http::page_csp(&nonce.to_string()))
        {
            response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, value);
        }
    }
}

/// Who is logged in, shared by every page. Refetched whenever someone logs in or out.
#[derive(Clone, Copy)]
pub struct Auth {
    pub me: Resource<Result<Option<Me>, AppError>, Json>,
    pub login: SubmissionOf<Login>,
    pub logout: SubmissionOf<Logout>,
}

impl Auth {
    pub fn use_context() -> Self {
        expect_context::<Auth>()
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let login = SubmissionOf::<Login>::new();
    let logout = SubmissionOf::<Logout>::new();
    let me = resource(
        move || (login.version().get(), logout.version().get()),
        |_| async { crate::api::auth::current_user().await },
    );
    provide_context(Auth { me, login, logout });
    crate::components::live::provide_live();

    view! {
        <Title text="Telehealth" />
        <Router>
            <Nav />
            <crate::components::live::LiveStream />
            <main class="page">
                <Routes fallback=|| view! { <p class="notice">"Page not found."</p> }>
                    <Route path=path!("/") view=HomePage />
                    <Route path=path!("/login") view=LoginPage />
                    <Route path=path!("/visits") view=VisitsPage />
                    <Route path=path!("/visits/:id") view=VisitPage />
                    <Route path=path!("/profile") view={Lazy::<ProfileRoute>::new()} />
                    <Route path=path!("/admin/users") view={Lazy::<AdminUsersRoute>::new()} />
                    <Route path=path!("/admin/zoom") view={Lazy::<ZoomAdminRoute>::new()} />
                    <Route path=path!("/zoom") view={Lazy::<ZoomDoctorRoute>::new()} />
                    <Route path=path!("/admin/audit") view={Lazy::<AuditRoute>::new()} />
                    <Route path=path!("/admin/outbox") view={Lazy::<OutboxRoute>::new()} />
                </Routes>
            </main>
        </Router>
    }
}

/// Declares a route whose page travels in a wasm chunk of its own (cargo-leptos `--split`),
/// fetched when the page is first opened or, on a server-rendered load, before hydration.
macro_rules! lazy_page {
    ($route:ident, $page:ident) => {
        #[doc = concat!("The route of [`", stringify!($page), "`], split from the main bundle.")]
        pub struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                Self
            }

            fn view(_this: Self) -> AnyView {
                view! { <$page /> }.into_any()
            }
        }
    };
}

// The main bundle holds what every visit needs: the login, the home page, the visits list and
// the join page, which patients open on phones. Staff and admin tools, and the profile page
// few people open, load on demand: the bundle a phone downloads first is a quarter smaller.
lazy_page!(ProfileRoute, ProfilePage);
lazy_page!(AdminUsersRoute, AdminUsersPage);
lazy_page!(ZoomAdminRoute, ZoomAdminPage);
lazy_page!(ZoomDoctorRoute, ZoomDoctorPage);
lazy_page!(AuditRoute, AuditPage);
lazy_page!(OutboxRoute, OutboxPage);
