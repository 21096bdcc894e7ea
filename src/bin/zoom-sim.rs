//! The Zoom simulator on its own; see `telehealth::zoom_sim`.

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::process::ExitCode {
    telehealth::zoom_sim::cli::run_cli(std::env::args().skip(1).collect()).await
}
