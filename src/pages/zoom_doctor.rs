use super::zoom_admin::describe_connection;
use super::RequireRole;
use crate::api::zoom::{my_zoom_status, CheckMyZoom, ConnectionState, DisconnectZoom, MyZoomView};
use crate::components::resource::resource;
use crate::components::submission::SubmissionOf;
use crate::domain::{Role, ZoomConnectionMode};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn ZoomDoctorPage() -> impl IntoView {
    view! { <RequireRole roles=&[Role::Doctor] content=|_| view! { <MyZoom /> <super::preferences::DoctorPreferences /> } /> }
}

#[component]
fn MyZoom() -> impl IntoView {
    let disconnect = SubmissionOf::<DisconnectZoom>::new();
    let check = SubmissionOf::<CheckMyZoom>::new();
    let status = resource(
        move || (disconnect.version().get(), check.version().get()),
        |_| my_zoom_status(),
    );
    let query = use_query_map();
    let just_connected =
        move || query.with(|q| q.get("connected").is_some()) && disconnect.version().get() == 0;
    view! {
        <section class="card">
            <h1>"Your Zoom connection"</h1>
            <Show when=just_connected>
                <p class="success" role="status">"Zoom connected."</p>
            </Show>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || status.get().map(|result| match result {
                    Ok(view) => render(view, disconnect, check).into_any(),
                    Err(error) => view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any(),
                })}
            </Transition>
            <p data-testid="check-result" role="status">
                {move || check.value().get().map(|r| match r {
                    Ok(account) => format!(
                        "Zoom answered: connected as {} ({}, {} licence).",
                        account.email, account.zoom_user_id, account.licence
                    ),
                    Err(error) => error.to_string(),
                })}
            </p>
            <ul class="conflicts" data-testid="check-conflicts">
                {move || check.value().get().and_then(Result::ok).map(|account| {
                    account.conflicts.into_iter().map(|c| view! { <li class="error">{c}</li> }).collect_view()
                })}
            </ul>
            {move || disconnect.value().get().map(|result| match result {
                Ok(report) => report.warning.map(|warning| view! { <p class="error" role="alert" data-testid="disconnect-warning">{warning}</p> }.into_any()),
                Err(e) => Some(view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any()),
            })}
        </section>
    }
}

fn render(
    view: MyZoomView,
    disconnect: SubmissionOf<DisconnectZoom>,
    check: SubmissionOf<CheckMyZoom>,
) -> impl IntoView {
    match view.mode {
        None => {
            view! { <p data-testid="zoom-status">"An administrator has not set up Zoom yet."</p> }
                .into_any()
        }
        Some(ZoomConnectionMode::ServerToServer) => {
            let text = match view.mapped_zoom_user {
                Some(user) => format!("Your clinic connects Zoom for the whole account. Your visits are hosted by Zoom user {user}."),
                None => "Your clinic connects Zoom for the whole account, but no Zoom user is assigned to you yet. Ask an administrator.".into(),
            };
            view! { <p data-testid="zoom-status">{text}</p> }.into_any()
        }
        Some(ZoomConnectionMode::UserOauth) => {
            let connected = matches!(view.connection, ConnectionState::Connected { .. });
            let needs_reconnect =
                matches!(view.connection, ConnectionState::ReconnectNeeded { .. });
            view! {
                <p data-testid="zoom-status" class:error=needs_reconnect>{describe_connection(&view.connection)}</p>
                <div class="buttons">
                    {(!connected).then(|| view! {
                        // rel=external: a full navigation to the server route, not a client-side route.
                        <a class="button" href="/api/zoom/authorize" rel="external">
                            {if needs_reconnect { "Reconnect Zoom" } else { "Connect Zoom" }}
                        </a>
                    })}
                    {connected.then(|| view! {
                        <button type="button" on:click=move |_| { check.dispatch(CheckMyZoom {}); }>"Check connection"</button>
                        <button type="button" class="secondary" on:click=move |_| { disconnect.dispatch(DisconnectZoom {}); }>"Disconnect"</button>
                    })}
                </div>
            }.into_any()
        }
    }
}
