//! One TCP connection's state and the task that drives it, as a kernel's TCP does.
//!
//! weft's network carries messages that may be delayed, lost (partitions, a crashed or closed
//! peer, drops when enabled), duplicated or reordered. A connection turns them into TCP's
//! contract: the bytes arrive complete and in order, or the connection breaks with an error.
//! Segments carry byte sequence numbers; the receiver keeps only the next in-order bytes and
//! acknowledges cumulatively; the sender retransmits everything unacknowledged (go-back-N) after
//! a timeout that doubles from 200 ms, and after 6 retransmissions without progress (about
//! 25 s of simulated time) the connection fails with `TimedOut`, as a kernel's retransmission
//! limit does (Linux waits about 15 minutes; see the README). A receiver whose buffer is full
//! takes what fits and advertises a zero window; its acknowledgements keep the sender probing
//! without counting toward that limit, and reading sends a window update, so a slow reader is
//! never mistaken for a dead one. Each connection has an id (its
//! client endpoint and the client node's incarnation), so segments of an old connection never
//! reach a new one.
//!
//! Closing: dropping every handle (or `shutdown`) sends FIN after the buffered data, which is
//! still delivered, as `close(2)` does; closing with unread received data, or receiving data
//! after closing, sends RST (the peer sees `ConnectionReset`). A crashed node's connections
//! vanish with it: the peer's next write fails with `TimedOut` after the retransmissions (no
//! host answers with RST), and a peer that only reads waits, as real TCP without keepalive does.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use weft::net::{Addr, Endpoint};

/// Largest payload of one data segment.
pub(crate) const SEGMENT_BYTES_MAX: usize = 16 * 1024;
/// Bytes a writer may have unacknowledged before `write` waits.
pub(crate) const SEND_BUFFER_MAX: usize = 256 * 1024;
/// Bytes received but not read before new segments are dropped (the window is closed).
pub(crate) const RECV_BUFFER_MAX: usize = 256 * 1024;
/// First retransmission timeout; it doubles on each retransmission.
pub(crate) const RTO_MIN: Duration = Duration::from_millis(200);
/// Longest retransmission timeout (Linux's `TCP_RTO_MAX`).
const RTO_MAX: Duration = Duration::from_secs(120);
/// Retransmissions without progress before the connection fails with `TimedOut`.
pub(crate) const RETRANSMISSIONS_MAX: u32 = 6;
/// How long a closed connection waits for the peer's FIN (Linux's `tcp_fin_timeout`).
const FIN_WAIT: Duration = Duration::from_secs(60);
/// How long a finished connection answers retransmitted FINs (TIME_WAIT).
const TIME_WAIT: Duration = Duration::from_secs(1);

/// What travels between two connection endpoints (and, for `Syn`, to a listener).
#[derive(Clone)]
pub(crate) enum Segment {
    Syn { conn: u64 },
    SynAck { conn: u64 },
    Data { conn: u64, seq: u64, bytes: Vec<u8> },
    Ack { conn: u64, ack: u64, window: u64 },
    Fin { conn: u64, seq: u64 },
    Rst { conn: u64 },
}

impl Segment {
    pub(crate) fn conn(&self) -> u64 {
        match *self {
            Segment::Syn { conn }
            | Segment::SynAck { conn }
            | Segment::Data { conn, .. }
            | Segment::Ack { conn, .. }
            | Segment::Fin { conn, .. }
            | Segment::Rst { conn } => conn,
        }
    }
}

impl fmt::Debug for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Segment::Syn { .. } => f.write_str("TCP SYN"),
            Segment::SynAck { .. } => f.write_str("TCP SYN-ACK"),
            Segment::Data { seq, bytes, .. } => {
                let shown = &bytes[..bytes.len().min(40)];
                write!(
                    f,
                    "TCP data seq {seq} ({} bytes: {:?}{})",
                    bytes.len(),
                    String::from_utf8_lossy(shown),
                    if bytes.len() > shown.len() { "..." } else { "" }
                )
            }
            Segment::Ack { ack, window, .. } => write!(f, "TCP ACK {ack} (window {window})"),
            Segment::Fin { seq, .. } => write!(f, "TCP FIN seq {seq}"),
            Segment::Rst { .. } => f.write_str("TCP RST"),
        }
    }
}

/// The id of a connection opened from `client` (an ephemeral endpoint of the calling node).
pub(crate) fn conn_id(client: Addr) -> u64 {
    let incarnation = weft::node::incarnation(weft::node::current());
    (u64::from(incarnation) << 32) ^ u64::from(client.port)
}

/// State shared by the connection's driver task and the user's handles.
pub(crate) struct Conn {
    pub(crate) local: SocketAddr,
    pub(crate) peer: SocketAddr,
    pub(crate) nodelay: bool,
    // Sending: `send_buffer` holds the bytes from `send_unacked` on.
    send_buffer: VecDeque<u8>,
    send_unacked: u64,
    send_next: u64,
    write_closed: bool,
    fin_sent: bool,
    fin_acked: bool,
    // Receiving: `recv_next` counts the peer's FIN as one.
    recv_buffer: VecDeque<u8>,
    recv_next: u64,
    peer_fin: bool,
    // Shared.
    error: Option<io::ErrorKind>,
    reset_on_close: bool,
    window_closed: bool,
    window_update_due: bool,
    synack_due: bool,
    handles: usize,
    read_waker: Option<Waker>,
    write_waker: Option<Waker>,
    driver_waker: Option<Waker>,
}

pub(crate) type SharedConn = Arc<Mutex<Conn>>;

pub(crate) fn lock(conn: &SharedConn) -> MutexGuard<'_, Conn> {
    conn.lock().unwrap_or_else(|e| e.into_inner())
}

impl Conn {
    pub(crate) fn new(local: SocketAddr, peer: SocketAddr, synack_due: bool) -> Conn {
        Conn {
            local,
            peer,
            nodelay: false,
            send_buffer: VecDeque::new(),
            send_unacked: 0,
            send_next: 0,
            write_closed: false,
            fin_sent: false,
            fin_acked: false,
            recv_buffer: VecDeque::new(),
            recv_next: 0,
            peer_fin: false,
            error: None,
            reset_on_close: false,
            window_closed: false,
            window_update_due: false,
            synack_due,
            handles: 1,
            read_waker: None,
            write_waker: None,
            driver_waker: None,
        }
    }

    fn wake_driver(&mut self) {
        if let Some(w) = &self.driver_waker {
            w.wake_by_ref();
        }
    }

    fn wake_user(&mut self) {
        if let Some(w) = self.read_waker.take() {
            w.wake();
        }
        if let Some(w) = self.write_waker.take() {
            w.wake();
        }
    }

    fn fail(&mut self, kind: io::ErrorKind) {
        if self.error.is_none() {
            self.error = Some(kind);
        }
        self.wake_user();
    }

    fn window(&self) -> u64 {
        RECV_BUFFER_MAX.saturating_sub(self.recv_buffer.len()) as u64
    }

    fn data_end(&self) -> u64 {
        self.send_unacked + self.send_buffer.len() as u64
    }

    // ---- the user's side ----

    pub(crate) fn poll_read(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.error == Some(io::ErrorKind::ConnectionReset) {
            return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
        }
        if !self.recv_buffer.is_empty() {
            let n = buf.remaining().min(self.recv_buffer.len());
            let (a, b) = self.recv_buffer.as_slices();
            let from_a = n.min(a.len());
            buf.put_slice(&a[..from_a]);
            buf.put_slice(&b[..n - from_a]);
            self.recv_buffer.drain(..n);
            if self.window_closed && self.recv_buffer.len() <= RECV_BUFFER_MAX / 2 {
                self.window_closed = false;
                self.window_update_due = true;
                self.wake_driver();
            }
            return Poll::Ready(Ok(()));
        }
        if self.peer_fin {
            return Poll::Ready(Ok(()));
        }
        if let Some(kind) = self.error {
            return Poll::Ready(Err(kind.into()));
        }
        self.read_waker = Some(cx.waker().clone());
        Poll::Pending
    }

    pub(crate) fn poll_write(
        &mut self,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Some(kind) = self.error {
            return Poll::Ready(Err(kind.into()));
        }
        if self.write_closed {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let room = SEND_BUFFER_MAX - self.send_buffer.len();
        if room == 0 {
            self.write_waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = room.min(buf.len());
        self.send_buffer.extend(&buf[..n]);
        self.wake_driver();
        Poll::Ready(Ok(n))
    }

    pub(crate) fn shutdown_write(&mut self) {
        if !self.write_closed {
            self.write_closed = true;
            self.wake_driver();
        }
    }

    pub(crate) fn resend_synack(&mut self) {
        self.synack_due = true;
        self.wake_driver();
    }

    pub(crate) fn add_handle(&mut self) {
        self.handles += 1;
    }

    pub(crate) fn drop_handle(&mut self) {
        self.handles -= 1;
        if self.handles == 0 {
            self.write_closed = true;
            self.reset_on_close = !self.recv_buffer.is_empty();
            self.wake_driver();
        }
    }
}

/// The connection's driver: a weft task on the connection's node.
pub(crate) struct Driver {
    endpoint: Endpoint<Segment>,
    peer: Addr,
    id: u64,
    conn: SharedConn,
    early: Vec<Segment>,
    rto: Duration,
    retransmissions: u32,
    retransmit_at: Option<u64>,
    peer_window_zero: bool,
    linger_until: Option<u64>,
    timer: Option<(u64, weft::time::Sleep)>,
}

enum Step {
    Continue,
    Exit,
}

impl Driver {
    pub(crate) fn new(
        endpoint: Endpoint<Segment>,
        peer: Addr,
        id: u64,
        conn: SharedConn,
        early: Vec<Segment>,
    ) -> Driver {
        Driver {
            endpoint,
            peer,
            id,
            conn,
            early,
            rto: RTO_MIN,
            retransmissions: 0,
            retransmit_at: None,
            peer_window_zero: false,
            linger_until: None,
            timer: None,
        }
    }

    fn send(&self, segment: Segment) {
        self.endpoint.send(self.peer, segment);
    }

    /// Handles a segment from the peer.
    fn receive(&mut self, from: Addr, segment: Segment) -> Step {
        if from != self.peer || segment.conn() != self.id {
            return Step::Continue; // a segment of another (older) connection
        }
        match segment {
            Segment::Syn { .. } | Segment::SynAck { .. } => Step::Continue,
            Segment::Rst { .. } => {
                lock(&self.conn).fail(io::ErrorKind::ConnectionReset);
                Step::Exit
            }
            Segment::Data { seq, bytes, .. } => self.receive_data(seq, &bytes),
            Segment::Fin { seq, .. } => {
                self.receive_fin(seq);
                Step::Continue
            }
            Segment::Ack { ack, window, .. } => {
                self.receive_ack(ack, window);
                Step::Continue
            }
        }
    }

    /// Data: takes what is new and fits the receive buffer, then acknowledges; data for a
    /// socket that was closed resets the connection.
    fn receive_data(&mut self, seq: u64, bytes: &[u8]) -> Step {
        let conn = self.conn.clone();
        let mut c = lock(&conn);
        let end = seq + bytes.len() as u64;
        if seq <= c.recv_next && end > c.recv_next && !c.peer_fin {
            if c.handles == 0 {
                // Data for a socket that was closed: the kernel answers with RST.
                c.fail(io::ErrorKind::ConnectionReset);
                drop(c);
                self.send(Segment::Rst { conn: self.id });
                return Step::Exit;
            }
            let fresh = &bytes[(c.recv_next - seq) as usize..];
            // Take what fits; the rest comes again.
            let taken = fresh.len().min(c.window() as usize);
            if taken < fresh.len() {
                c.window_closed = true;
            }
            if taken > 0 {
                c.recv_buffer.extend(&fresh[..taken]);
                c.recv_next += taken as u64;
                if let Some(w) = c.read_waker.take() {
                    w.wake();
                }
            }
        }
        drop(c);
        self.acknowledge();
        Step::Continue
    }

    /// FIN: the peer sends nothing more once everything before it arrived; acknowledged.
    fn receive_fin(&mut self, seq: u64) {
        {
            let mut c = lock(&self.conn);
            if seq == c.recv_next && !c.peer_fin {
                c.peer_fin = true;
                c.recv_next += 1;
                if let Some(w) = c.read_waker.take() {
                    w.wake();
                }
            }
        }
        self.acknowledge();
    }

    /// Sends an acknowledgement of everything received so far, with the window left.
    fn acknowledge(&self) {
        let (ack, window) = {
            let c = lock(&self.conn);
            (c.recv_next, c.window())
        };
        self.send(Segment::Ack {
            conn: self.id,
            ack,
            window,
        });
    }

    /// An acknowledgement: frees what it covers, resets the retransmission timer on progress,
    /// and follows the peer's window (zero: probe on; reopened: send again what was refused).
    fn receive_ack(&mut self, ack: u64, window: u64) {
        let conn = self.conn.clone();
        let mut c = lock(&conn);
        let data_end = c.data_end();
        let mut progress = false;
        if ack > c.send_unacked {
            let n = (ack.min(data_end) - c.send_unacked) as usize;
            c.send_buffer.drain(..n);
            c.send_unacked += n as u64;
            c.send_next = c.send_next.max(c.send_unacked);
            progress = n > 0;
            if let Some(w) = c.write_waker.take() {
                w.wake();
            }
        }
        if c.fin_sent && !c.fin_acked && ack > data_end {
            c.fin_acked = true;
            progress = true;
        }
        if progress {
            self.retransmissions = 0;
            self.rto = RTO_MIN;
            self.retransmit_at = None;
        }
        if window == 0 {
            // The peer is alive and its buffer is full: keep probing, never give up.
            self.retransmissions = 0;
        } else if self.peer_window_zero && c.send_unacked < c.send_next {
            // A window update: send again what was refused, now.
            c.send_next = c.send_unacked;
            self.retransmit_at = None;
        }
        self.peer_window_zero = window == 0;
    }

    /// Sends what is new: SYN-ACK when due, data, FIN after the data; RST on an abortive close.
    fn transmit(&mut self) -> Step {
        let conn = self.conn.clone();
        let mut c = lock(&conn);
        if c.handles == 0 && c.reset_on_close {
            c.fail(io::ErrorKind::ConnectionReset);
            drop(c);
            self.send(Segment::Rst { conn: self.id });
            return Step::Exit;
        }
        let mut out = Vec::new();
        if std::mem::take(&mut c.synack_due) {
            out.push(Segment::SynAck { conn: self.id });
        }
        if std::mem::take(&mut c.window_update_due) {
            out.push(Segment::Ack {
                conn: self.id,
                ack: c.recv_next,
                window: c.window(),
            });
        }
        let data_end = c.data_end();
        while c.send_next < data_end {
            let start = (c.send_next - c.send_unacked) as usize;
            let len = (data_end - c.send_next).min(SEGMENT_BYTES_MAX as u64) as usize;
            let bytes: Vec<u8> = c.send_buffer.range(start..start + len).copied().collect();
            out.push(Segment::Data {
                conn: self.id,
                seq: c.send_next,
                bytes,
            });
            c.send_next += len as u64;
        }
        if c.write_closed && !c.fin_sent && c.send_next == data_end {
            c.fin_sent = true;
            out.push(Segment::Fin {
                conn: self.id,
                seq: data_end,
            });
        }
        drop(c);
        for segment in out {
            self.send(segment);
        }
        Step::Continue
    }

    /// Retransmission and linger deadlines; `Exit` when the connection is over.
    fn deadlines(&mut self, now: u64) -> Step {
        let conn = self.conn.clone();
        let mut c = lock(&conn);
        if c.error.is_some() {
            return Step::Exit;
        }
        let outstanding = c.send_unacked < c.send_next || (c.fin_sent && !c.fin_acked);
        if !outstanding {
            self.retransmit_at = None;
        } else if self.retransmit_at.is_some_and(|at| now >= at) {
            self.retransmissions += 1;
            if self.retransmissions > RETRANSMISSIONS_MAX {
                c.fail(io::ErrorKind::TimedOut);
                return Step::Exit;
            }
            // Go back: resend everything unacknowledged.
            c.send_next = c.send_unacked;
            c.fin_sent = false;
            self.rto = self.rto.saturating_mul(2).min(RTO_MAX);
            self.retransmit_at = None;
            drop(c);
            self.transmit();
            c = lock(&conn);
        }
        let outstanding = c.send_unacked < c.send_next || (c.fin_sent && !c.fin_acked);
        if outstanding && self.retransmit_at.is_none() {
            self.retransmit_at = Some(now + self.rto.as_nanos() as u64);
        }
        let finished = c.fin_acked && c.peer_fin;
        let abandoned = c.handles == 0 && c.fin_acked;
        if finished || abandoned {
            let wait = if finished { TIME_WAIT } else { FIN_WAIT };
            let candidate = now + wait.as_nanos() as u64;
            let until = self.linger_until.map_or(candidate, |u| u.min(candidate));
            self.linger_until = Some(until);
            if now >= until {
                return Step::Exit;
            }
        }
        Step::Continue
    }

    fn next_deadline(&self) -> Option<u64> {
        match (self.retransmit_at, self.linger_until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

impl Future for Driver {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        lock(&this.conn).driver_waker = Some(cx.waker().clone());
        for segment in std::mem::take(&mut this.early) {
            let from = this.peer;
            if let Step::Exit = this.receive(from, segment) {
                return Poll::Ready(());
            }
        }
        loop {
            loop {
                let received = {
                    let mut recv = this.endpoint.recv();
                    Pin::new(&mut recv).poll(cx)
                };
                match received {
                    Poll::Ready((from, segment)) => {
                        if let Step::Exit = this.receive(from, segment) {
                            return Poll::Ready(());
                        }
                    }
                    Poll::Pending => break,
                }
            }
            if let Step::Exit = this.transmit() {
                return Poll::Ready(());
            }
            let now = weft::time::now_ns();
            if let Step::Exit = this.deadlines(now) {
                return Poll::Ready(());
            }
            let Some(deadline) = this.next_deadline() else {
                this.timer = None;
                return Poll::Pending;
            };
            if this.timer.as_ref().map(|(at, _)| *at) != Some(deadline) {
                let sleep = weft::time::sleep(Duration::from_nanos(deadline.saturating_sub(now)));
                this.timer = Some((deadline, sleep));
            }
            let (_, sleep) = this.timer.as_mut().expect("just set");
            match Pin::new(sleep).poll(cx) {
                Poll::Ready(()) => {
                    this.timer = None;
                    continue;
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The driver ends (or its node crashed): nothing will move this connection again.
        let mut c = lock(&self.conn);
        if c.error.is_none() && !(c.fin_acked && c.peer_fin) {
            c.error = Some(io::ErrorKind::ConnectionAborted);
        }
        c.driver_waker = None;
        c.wake_user();
    }
}
