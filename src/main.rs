//! The server binary: `telehealth` serves the app; `create-user` adds an account;
//! `generate-key` prints a new encryption key; `rotate-key` re-seals stored secrets;
//! `zoom-sim` runs the Zoom simulator.

/// See Cargo.toml: less memory kept and less time spent than glibc's malloc under load.
#[cfg(feature = "ssr")]
#[global_allocator]
static ALLOCATOR: telehealth::server::memory::ServerAllocator =
    telehealth::server::memory::ServerAllocator;

#[cfg(feature = "ssr")]
fn main() -> std::process::ExitCode {
    // Before the runtime's threads start: they read the allocator's options.
    telehealth::server::memory::purge_freed_memory_at_once();
    telehealth::server::memory::no_huge_pages_in_the_heap();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(run()),
        Err(error) => {
            eprintln!("cannot start the runtime: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(feature = "ssr")]
async fn run() -> std::process::ExitCode {
    use std::process::ExitCode;
    use telehealth::server::{cli, config::Settings, startup::Application, telemetry};

    let args: Vec<String> = std::env::args().skip(1).collect();
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("configuration error: {error}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(settings.log_format);
    // The subcommands that reach the database need the same transport as the server.
    if matches!(
        args.first().map(String::as_str),
        Some("create-user" | "rotate-key")
    ) {
        if let Err(error) = settings.require_secure_database() {
            eprintln!("configuration error: {error}");
            return ExitCode::from(2);
        }
    }

    match args.first().map(String::as_str) {
        Some("create-user") => {
            let command = match cli::CreateUser::parse(&args[1..]) {
                Ok(command) => command,
                Err(error) => {
                    eprintln!("{error}\n{}", cli::CREATE_USER_USAGE);
                    return ExitCode::from(2);
                }
            };
            match command.run(&settings).await {
                Ok(message) => {
                    println!("{message}");
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("create-user failed: {error}");
                    ExitCode::FAILURE
                }
            }
        }
        // The Zoom simulator from the same binary, so scripts need not build a second one.
        Some("zoom-sim") => telehealth::zoom_sim::cli::run_cli(args[1..].to_vec()).await,
        Some("generate-key") => {
            let id = args.get(1).map(String::as_str).unwrap_or("k1");
            println!("{}", telehealth::server::crypto::generate_key_spec(id));
            ExitCode::SUCCESS
        }
        Some("rotate-key") => match cli::rotate_key(&settings).await {
            Ok(message) => {
                println!("{message}");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("rotate-key failed: {error}");
                ExitCode::FAILURE
            }
        },
        None | Some("serve") => {
            let leptos_options = match leptos_options() {
                Ok(options) => options,
                Err(error) => {
                    eprintln!("leptos configuration error: {error}");
                    return ExitCode::from(2);
                }
            };
            let app = match Application::build(settings, leptos_options).await {
                Ok(app) => app,
                Err(error) => {
                    tracing::error!(%error, "startup failed");
                    return ExitCode::FAILURE;
                }
            };
            // Tests and scripts read this line to learn the port when started on port 0.
            println!("listening on http://{}", app.local_addr());
            tracing::info!(addr = %app.local_addr(), "listening");
            match app.run_until_stopped().await {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    tracing::error!(%error, "server failed");
                    ExitCode::FAILURE
                }
            }
        }
        Some(other) => {
            eprintln!("unknown command {other:?}; commands: serve (default), create-user, generate-key [id], rotate-key, zoom-sim");
            ExitCode::from(2)
        }
    }
}

/// Site settings come from Leptos.toml (kept equal to Cargo.toml's metadata by a test),
/// overridden by `LEPTOS_*` variables, which is how cargo-leptos and tests set them.
#[cfg(feature = "ssr")]
fn leptos_options(
) -> Result<leptos::config::LeptosOptions, leptos::config::errors::LeptosConfigError> {
    let file = std::path::Path::new("Leptos.toml");
    let conf = leptos::config::get_configuration(file.exists().then_some("Leptos.toml"))?;
    Ok(conf.leptos_options)
}

#[cfg(not(feature = "ssr"))]
fn main() {}
