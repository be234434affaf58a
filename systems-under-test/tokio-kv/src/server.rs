//! The server: one task per connection over a shared in-memory store.

use crate::protocol::{Op, Reply};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// The store and each client's last request with its reply (in memory: a restart loses both).
#[derive(Debug, Default)]
pub struct Store {
    data: BTreeMap<String, String>,
    last: BTreeMap<u64, (u64, Reply)>,
}

impl Store {
    /// Runs request `request` of `client`, at most once: a repeat gets the remembered reply.
    pub fn execute(&mut self, client: u64, request: u64, op: Op) -> Reply {
        if let Some((last, reply)) = self.last.get(&client) {
            if request == *last {
                return reply.clone();
            }
            if request < *last {
                return Reply::Err(format!("stale request {request} (last {last})"));
            }
        }
        let reply = self.apply(op);
        self.last.insert(client, (request, reply.clone()));
        reply
    }

    fn apply(&mut self, op: Op) -> Reply {
        match op {
            Op::Set(k, v) => {
                self.data.insert(k, v);
                Reply::Ok
            }
            Op::Get(k) => Reply::Value(self.data.get(&k).cloned()),
            Op::Incr(k, d) => {
                let old = match self.data.get(&k).map(|v| v.parse::<i64>()) {
                    None => 0,
                    Some(Ok(n)) => n,
                    Some(Err(_)) => return Reply::Err(format!("{k} is not an integer")),
                };
                let new = old.wrapping_add(d);
                self.data.insert(k, new.to_string());
                Reply::Int(new)
            }
        }
    }
}

/// Serves connections from `listener` until it fails.
pub async fn serve(listener: TcpListener) -> std::io::Result<()> {
    let store = Arc::new(Mutex::new(Store::default()));
    loop {
        let (stream, _) = listener.accept().await?;
        let store = store.clone();
        tokio::spawn(async move {
            // A connection's error ends that connection only.
            let _ = connection(stream, store).await;
        });
    }
}

async fn connection(stream: TcpStream, store: Arc<Mutex<Store>>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    while let Some(line) = lines.next_line().await? {
        let reply = match parse_request(&line) {
            Ok((client, request, op)) => store.lock().unwrap().execute(client, request, op),
            Err(e) => Reply::Err(e),
        };
        write.write_all(format!("{reply}\n").as_bytes()).await?;
    }
    Ok(())
}

fn parse_request(line: &str) -> Result<(u64, u64, Op), String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let [client, request, rest @ ..] = words.as_slice() else {
        return Err(format!("bad request {line:?}"));
    };
    let client = client
        .parse()
        .map_err(|_| format!("bad client {client:?}"))?;
    let request = request
        .parse()
        .map_err(|_| format!("bad request number {request:?}"))?;
    Ok((client, request, Op::parse(rest)?))
}
