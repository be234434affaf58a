//! `tokio-kv serve [ADDR]` runs the server (default 127.0.0.1:7000) until Ctrl-C;
//! `tokio-kv client ADDR (set KEY VALUE | get KEY | incr KEY DELTA)...` runs requests in turn.
//!
//! The runtime comes from tokio directly; everything else is the library, written against
//! `tokio` (weft-tokio). Built with weft-tokio's `weft` feature (as `cargo test` does for this
//! crate's tests) this binary still compiles, and stops at once: that build's I/O only runs
//! inside a simulation.

use std::process::ExitCode;
use tokio_kv::{serve, Client, ClientConfig};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = match tokio_runtime::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("tokio-kv: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match args.first().map(String::as_str) {
        Some("serve") => runtime.block_on(run_server(
            args.get(1).map_or("127.0.0.1:7000", String::as_str),
        )),
        Some("client") if args.len() >= 3 => runtime.block_on(run_client(&args[1], &args[2..])),
        _ => Err(
            "usage: tokio-kv serve [ADDR] | tokio-kv client ADDR (set K V | get K | incr K D)..."
                .to_string(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tokio-kv: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run_server(addr: &str) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("bind {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    println!("tokio-kv: serving on {local}");
    tokio::select! {
        served = serve(listener) => served.map_err(|e| e.to_string()),
        _ = tokio::signal::ctrl_c() => {
            println!("tokio-kv: stopped");
            Ok(())
        }
    }
}

async fn run_client(addr: &str, words: &[String]) -> Result<(), String> {
    let client = Client::new(ClientConfig::new(addr, u64::from(std::process::id())));
    let mut rest = words;
    while !rest.is_empty() {
        let (line, taken) = match rest {
            [op, k, v, ..] if op == "set" => (client.set(k, v).await.map(|()| "OK".to_string()), 3),
            [op, k, ..] if op == "get" => (
                client
                    .get(k)
                    .await
                    .map(|v| v.unwrap_or_else(|| "(none)".into())),
                2,
            ),
            [op, k, d, ..] if op == "incr" => {
                let d: i64 = d.parse().map_err(|_| format!("bad delta {d:?}"))?;
                (client.incr(k, d).await.map(|n| n.to_string()), 3)
            }
            _ => return Err(format!("cannot parse {:?}", rest.join(" "))),
        };
        println!("{}", line.map_err(|e| e.to_string())?);
        rest = &rest[taken..];
    }
    Ok(())
}
