//! The client: one connection, reopened after an error or a timeout; every request retried
//! with the same request number until it is answered.

use crate::protocol::{Op, Reply};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

/// The planted bug (off unless set in [`ClientConfig::bug`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bug {
    /// Each retry gets a new request number, so the server cannot tell it from a new request:
    /// a retried `INCR` whose first attempt arrived is applied twice.
    FreshIdOnRetry,
}

/// Timeouts, retries and the planted bug.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// The server's address (`host:port`).
    pub server: String,
    /// This client's number (the server deduplicates per client).
    pub id: u64,
    /// Wait for a reply this long before reconnecting and retrying.
    pub request_timeout: Duration,
    /// Wait for a connection this long.
    pub connect_timeout: Duration,
    /// Pause between attempts.
    pub backoff: Duration,
    /// Attempts per request before giving up.
    pub attempts: u32,
    /// The planted bug, `None` in a correct client.
    pub bug: Option<Bug>,
}

impl ClientConfig {
    /// Defaults for `server`: 500 ms per attempt, 1 s to connect, 100 ms pause, 60 attempts.
    pub fn new(server: impl Into<String>, id: u64) -> ClientConfig {
        ClientConfig {
            server: server.into(),
            id,
            request_timeout: Duration::from_millis(500),
            connect_timeout: Duration::from_secs(1),
            backoff: Duration::from_millis(100),
            attempts: 60,
            bug: None,
        }
    }
}

/// Why a request failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KvError {
    /// No answer after every attempt (the request may or may not have been applied).
    Unavailable,
    /// The server refused the request.
    Refused(String),
}

impl fmt::Display for KvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KvError::Unavailable => f.write_str("no answer from the server"),
            KvError::Refused(e) => write!(f, "refused: {e}"),
        }
    }
}

impl std::error::Error for KvError {}

type Connection = (
    BufReader<tokio::net::tcp::OwnedReadHalf>,
    tokio::net::tcp::OwnedWriteHalf,
);

/// A client. Requests from one client run one at a time.
pub struct Client {
    config: ClientConfig,
    next_request: AtomicU64,
    connection: Mutex<Option<Connection>>,
}

impl Client {
    /// A client; it connects on its first request.
    pub fn new(config: ClientConfig) -> Client {
        Client {
            config,
            next_request: AtomicU64::new(1),
            connection: Mutex::new(None),
        }
    }

    /// Sets `key` to `value`.
    pub async fn set(&self, key: &str, value: &str) -> Result<(), KvError> {
        match self.request(Op::Set(key.into(), value.into())).await? {
            Reply::Ok => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    /// Reads `key`.
    pub async fn get(&self, key: &str) -> Result<Option<String>, KvError> {
        match self.request(Op::Get(key.into())).await? {
            Reply::Value(v) => Ok(v),
            other => Err(unexpected(other)),
        }
    }

    /// Adds `delta` to `key`; returns the new value.
    pub async fn incr(&self, key: &str, delta: i64) -> Result<i64, KvError> {
        match self.request(Op::Incr(key.into(), delta)).await? {
            Reply::Int(n) => Ok(n),
            other => Err(unexpected(other)),
        }
    }

    /// Sends `op` until it is answered, with one request number for every attempt.
    pub async fn request(&self, op: Op) -> Result<Reply, KvError> {
        let mut connection = self.connection.lock().await;
        let mut number = self.next_request.fetch_add(1, Ordering::Relaxed);
        for attempt in 0..self.config.attempts {
            if attempt > 0 {
                tokio::time::sleep(self.config.backoff).await;
                if self.config.bug == Some(Bug::FreshIdOnRetry) {
                    number = self.next_request.fetch_add(1, Ordering::Relaxed);
                }
            }
            let line = format!("{} {number} {op}\n", self.config.id);
            match tokio::time::timeout(
                self.config.request_timeout,
                self.attempt(&mut connection, &line),
            )
            .await
            {
                Ok(Ok(Reply::Err(e))) => return Err(KvError::Refused(e)),
                Ok(Ok(reply)) => return Ok(reply),
                // An error or no answer in time: drop the connection and try a fresh one.
                Ok(Err(_)) | Err(_) => *connection = None,
            }
        }
        Err(KvError::Unavailable)
    }

    async fn attempt(
        &self,
        connection: &mut Option<Connection>,
        line: &str,
    ) -> std::io::Result<Reply> {
        if connection.is_none() {
            let stream = tokio::time::timeout(
                self.config.connect_timeout,
                TcpStream::connect(self.config.server.as_str()),
            )
            .await??;
            let (read, write) = stream.into_split();
            *connection = Some((BufReader::new(read), write));
        }
        let (read, write) = connection.as_mut().expect("connected above");
        write.write_all(line.as_bytes()).await?;
        let mut reply = String::new();
        if read.read_line(&mut reply).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        Reply::parse(reply.trim_end())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }
}

fn unexpected(reply: Reply) -> KvError {
    KvError::Refused(format!("unexpected reply {reply}"))
}
