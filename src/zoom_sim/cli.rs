//! `zoom-sim [--addr 127.0.0.1:3002] [--token-ttl-secs N] [--rate-limit-per-sec N]
//! [--daily-meeting-limit N] [--public-url URL] [--webhook-url URL --webhook-secret TOKEN]
//! [--webhook-retry-scale F]`.

use super::{SimConfig, Simulator};
use std::io::Write;
use std::process::ExitCode;

fn parse_args(args: Vec<String>) -> Result<(std::net::SocketAddr, SimConfig), String> {
    let mut addr = "127.0.0.1:3002".to_owned();
    let mut config = SimConfig::default();
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        let number = |v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("{flag}: {v:?} is not a number"))
        };
        match flag.as_str() {
            "--addr" => addr = value()?,
            "--token-ttl-secs" => config.token_ttl_secs = number(value()?)?,
            "--rate-limit-per-sec" => config.rate_limit_per_sec = number(value()?)? as u32,
            "--daily-meeting-limit" => config.daily_meeting_limit = number(value()?)? as u32,
            "--public-url" => config.public_url = Some(value()?.trim_end_matches('/').to_owned()),
            "--webhook-url" => config.webhooks.url = Some(value()?),
            "--webhook-secret" => config.webhooks.secret_token = Some(value()?),
            "--webhook-retry-scale" => {
                let v = value()?;
                config.webhooks.retry_scale = v
                    .parse()
                    .map_err(|_| format!("{flag}: {v:?} is not a number"))?;
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let addr = addr
        .parse()
        .map_err(|_| format!("--addr: {addr:?} is not host:port"))?;
    Ok((addr, config))
}

/// Runs the simulator from command-line arguments (without the program name) until SIGTERM
/// or Ctrl-C; shared by the `zoom-sim` binary and `telehealth zoom-sim`.
pub async fn run_cli(args: Vec<String>) -> ExitCode {
    let (addr, config) = match parse_args(args) {
        Ok(parsed) => parsed,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(2);
        }
    };
    let simulator = match Simulator::bind(addr, config).await {
        Ok(simulator) => simulator,
        Err(error) => {
            eprintln!("zoom-sim cannot listen on {addr}: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("zoom-sim listening on http://{}", simulator.local_addr());
    let _ = std::io::stdout().flush();
    let server = simulator.run();
    tokio::select! {
        result = server => if let Err(error) = result { eprintln!("zoom-sim failed: {error}"); return ExitCode::FAILURE; },
        _ = tokio::signal::ctrl_c() => {},
        _ = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => { s.recv().await; }
                Err(_) => std::future::pending::<()>().await,
            }
        } => {},
    }
    ExitCode::SUCCESS
}
