//! weft-tokio's simulated build: tokio code run inside weft.

use std::time::Duration;
use weft::{strategy::Random, Config, NetConfig, Sim, Source};
use weft_tokio as tokio;
use weft_tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use weft_tokio::net::{TcpListener, TcpStream};

fn sim(seed: u64, cfg: Config) -> Sim {
    Sim::new(
        cfg,
        Source::generate(Box::new(Random::new(seed, Default::default()))),
    )
}

/// A line echo server written as for tokio.
async fn echo_server() {
    let listener = TcpListener::bind("0.0.0.0:7000").await.unwrap();
    loop {
        let (stream, _) = listener.accept().await.unwrap();
        tokio::spawn(async move {
            let (read, mut write) = stream.into_split();
            let mut lines = BufReader::new(read).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                write
                    .write_all(format!("{line}!\n").as_bytes())
                    .await
                    .unwrap();
            }
        });
    }
}

#[test]
fn a_stream_carries_bytes_in_order_between_nodes() {
    let mut s = sim(1, Config::default());
    s.add_node("server", echo_server);
    let (report, out) = s.run(async {
        let mut stream = TcpStream::connect("server:7000").await.unwrap();
        assert_eq!(stream.peer_addr().unwrap().to_string(), "10.0.0.1:7000");
        let big = "x".repeat(100_000);
        stream
            .write_all(format!("hello\n{big}\n").as_bytes())
            .await
            .unwrap();
        let mut reader = BufReader::new(stream);
        let mut first = String::new();
        reader.read_line(&mut first).await.unwrap();
        let mut second = String::new();
        reader.read_line(&mut second).await.unwrap();
        (first, second.len())
    });
    assert!(report.outcome.failure().is_none(), "{:?}", report.outcome);
    assert_eq!(out, Some(("hello!\n".to_string(), 100_002)));
}

#[test]
fn loss_duplication_and_reordering_do_not_break_the_stream() {
    let cfg = Config {
        net: NetConfig {
            latency_min_ns: 1_000_000,
            latency_max_ns: 50_000_000,
            latency_buckets: 8,
            drop: true,
            duplicate: true,
            reorder: true,
        },
        ..Config::default()
    };
    for seed in 0..20 {
        let mut s = sim(seed, cfg.clone());
        s.add_node("server", echo_server);
        let (report, out) = s.run(async {
            let stream = TcpStream::connect("10.0.0.1:7000").await?;
            let (read, mut write) = stream.into_split();
            let mut lines = BufReader::new(read).lines();
            let mut got = Vec::new();
            for i in 0..20 {
                write.write_all(format!("line {i}\n").as_bytes()).await?;
                got.push(lines.next_line().await?.unwrap_or_default());
            }
            std::io::Result::Ok(got)
        });
        assert!(
            report.outcome.failure().is_none(),
            "seed {seed}: {:?}",
            report.outcome
        );
        // Either every line came back, in order, or the connection failed with an error:
        // never a missing, repeated or reordered line.
        if let Some(Ok(got)) = out {
            let want: Vec<String> = (0..20).map(|i| format!("line {i}!")).collect();
            assert_eq!(got, want, "seed {seed}");
        }
    }
}

#[test]
fn a_partition_times_a_write_out_and_a_crashed_peer_never_answers() {
    let mut s = sim(3, Config::default());
    let server = s.add_node("server", echo_server);
    let (report, out) = s.run(async move {
        let mut stream = TcpStream::connect("server:7000").await.unwrap();
        weft::net::partition(weft::NodeId::DRIVER, server);
        stream.write_all(b"lost\n").await.unwrap(); // buffered, as in a kernel
        let started = tokio::time::Instant::now();
        let mut buf = [0u8; 16];
        let read = stream.read(&mut buf).await;
        let partitioned = (
            read.map_err(|e| e.kind()),
            started.elapsed() > Duration::from_secs(10),
        );
        weft::net::repair_all();
        weft::node::crash(server);
        tokio::time::sleep(Duration::from_millis(1)).await;
        weft::node::restart(server);
        let mut again = TcpStream::connect("server:7000").await.unwrap();
        again.write_all(b"after\n").await.unwrap();
        let mut reply = [0u8; 7];
        again.read_exact(&mut reply).await.unwrap();
        (partitioned, reply)
    });
    assert!(report.outcome.failure().is_none(), "{:?}", report.outcome);
    let ((read, waited), reply) = out.unwrap();
    assert_eq!(read, Err(std::io::ErrorKind::TimedOut));
    assert!(waited);
    assert_eq!(&reply, b"after!\n");
}

#[test]
fn closing_gives_eof_and_data_after_close_resets() {
    let mut s = sim(4, Config::default());
    s.add_node("server", || async {
        let listener = TcpListener::bind("0.0.0.0:7000").await.unwrap();
        let (mut stream, _) = listener.accept().await.unwrap();
        stream.write_all(b"bye").await.unwrap();
        drop(stream); // FIN after the data
        std::future::pending::<()>().await;
    });
    let (report, out) = s.run(async {
        let mut stream = TcpStream::connect("server:7000").await.unwrap();
        let mut all = Vec::new();
        stream.read_to_end(&mut all).await.unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
        stream.write_all(b"anyone?").await.unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
        let mut buf = [0u8; 1];
        let after = stream.read(&mut buf).await.map_err(|e| e.kind());
        (all, after)
    });
    assert!(report.outcome.failure().is_none(), "{:?}", report.outcome);
    // EOF after the data; then the peer, closed, answers new data with RST, and the next read
    // reports it.
    let (all, after) = out.unwrap();
    assert_eq!(all, b"bye");
    assert_eq!(after, Err(std::io::ErrorKind::ConnectionReset));
}

#[test]
fn timers_follow_simulated_time_with_tokio_semantics() {
    let (report, out) = sim(5, Config::default()).run(async {
        let start = tokio::time::Instant::now();
        tokio::time::sleep(Duration::from_secs(600)).await;
        let slept = start.elapsed();
        let timed_out =
            tokio::time::timeout(Duration::from_millis(5), std::future::pending::<()>()).await;
        let mut interval = tokio::time::interval(Duration::from_millis(100));
        let first = interval.tick().await;
        tokio::time::sleep(Duration::from_millis(350)).await;
        // Burst (tokio's default): the missed ticks fire at once, on the original schedule.
        let mut ticks = Vec::new();
        for _ in 0..4 {
            ticks.push(interval.tick().await - first);
        }
        (slept, timed_out.is_err(), ticks)
    });
    assert!(report.outcome.failure().is_none(), "{:?}", report.outcome);
    let (slept, timed_out, ticks) = out.unwrap();
    assert_eq!(slept, Duration::from_secs(600));
    assert!(timed_out);
    let ms = |n| Duration::from_millis(n);
    assert_eq!(ticks, vec![ms(100), ms(200), ms(300), ms(400)]);
}

/// Which branch `select!` takes when both are ready: a recorded decision, so the same seed
/// gives the same choice and different seeds explore both.
fn select_choice(seed: u64) -> Vec<u8> {
    let (_, out) = sim(seed, Config::default()).run(async {
        let mut taken = Vec::new();
        for _ in 0..8 {
            let branch = tokio::select! {
                _ = std::future::ready(()) => 0,
                _ = std::future::ready(()) => 1,
            };
            taken.push(branch);
        }
        taken
    });
    out.unwrap()
}

#[test]
fn select_draws_its_branch_order_from_the_decision_stream() {
    let runs: Vec<Vec<u8>> = (0..10).map(select_choice).collect();
    for (seed, run) in runs.iter().enumerate() {
        assert_eq!(
            &select_choice(seed as u64),
            run,
            "seed {seed} does not replay"
        );
    }
    let all: Vec<u8> = runs.concat();
    assert!(all.contains(&0) && all.contains(&1), "{all:?}");
    // Preconditions and `else` go through tokio's expansion unchanged.
    let (_, out) = sim(0, Config::default()).run(async {
        let mut disabled = 0;
        tokio::select! {
            _ = std::future::ready(()), if disabled > 0 => disabled = 1,
            else => disabled = 2,
        }
        disabled
    });
    assert_eq!(out, Some(2));
    // biased; keeps tokio's fixed order.
    let (_, out) = sim(0, Config::default()).run(async {
        tokio::select! { biased; _ = std::future::ready(()) => 0, _ = std::future::ready(()) => 1 }
    });
    assert_eq!(out, Some(0));
}

#[test]
fn join_handles_report_values_aborts_and_crashes() {
    let mut s = sim(6, Config::default());
    let (report, out) = {
        let worker = s.add_node("worker", || async { std::future::pending::<()>().await });
        s.run(async move {
            let value = tokio::spawn(async { 41 + 1 }).await.unwrap();
            let sleeper = tokio::spawn(tokio::time::sleep(Duration::from_secs(10)));
            sleeper.abort();
            let aborted = sleeper.await.unwrap_err().is_cancelled();
            // A task spawned on the worker node, joined from the driver.
            let spawner = weft::task::spawn_on(worker, "remote", async {
                Some(tokio::spawn(std::future::pending::<()>()))
            });
            let remote = spawner.await.unwrap().unwrap();
            weft::node::crash(worker);
            let crashed = remote.await.unwrap_err().is_cancelled();
            let (a, b) = tokio::join!(async { 1 }, async { 2 });
            (value, aborted, crashed, a + b)
        })
    };
    assert!(report.outcome.failure().is_none(), "{:?}", report.outcome);
    assert_eq!(out, Some((42, true, true, 3)));
}

/// std's clocks read inside a simulated task: simulated time and the node's wall clock, the
/// same on every run of a seed. Outside the simulation they are the OS's.
#[test]
fn std_clocks_inside_the_simulation_are_simulated() {
    let run = || {
        let (report, out) = sim(7, Config::default()).run(async {
            let start = std::time::Instant::now();
            let wall = std::time::SystemTime::now();
            tokio::time::sleep(Duration::from_secs(90)).await;
            let since_epoch = wall.duration_since(std::time::UNIX_EPOCH).unwrap();
            (
                start.elapsed(),
                since_epoch,
                std::time::SystemTime::now().duration_since(wall).unwrap(),
            )
        });
        assert!(report.outcome.failure().is_none(), "{:?}", report.outcome);
        out.unwrap()
    };
    let (elapsed, since_epoch, wall_elapsed) = run();
    assert_eq!(elapsed, Duration::from_secs(90));
    assert_eq!(wall_elapsed, Duration::from_secs(90));
    // weft's wall clocks start at 1,700,000,000 s after the epoch (November 2023).
    assert_eq!(since_epoch.as_secs(), 1_700_000_000);
    assert_eq!(run(), (elapsed, since_epoch, wall_elapsed));
    // Outside a simulation: the OS clock (now is long after 2023).
    let os = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    assert!(os.as_secs() > 1_700_000_000 + 90);
    let t = std::time::Instant::now();
    std::thread::sleep(Duration::from_millis(2));
    assert!(t.elapsed() >= Duration::from_millis(2));
}

/// On a node whose clock runs 10% fast, std's and tokio's clocks and tokio's timers follow the
/// node's clock: a 110 ms sleep takes 100 ms of true time, and both `Instant`s and
/// `SystemTime` see 110 ms pass.
#[test]
fn std_and_tokio_clocks_follow_a_drifting_node_clock() {
    let mut s = sim(3, Config::default());
    let fast = s.add_node("fast", || async {});
    let (report, out) = s.run(async move {
        weft::node::set_clock(fast, weft::node::ClockChange::Drift { ppm: 100_000 });
        let on_node = weft::task::spawn_on(fast, "sleeper", async {
            let (std_start, tokio_start) = (std::time::Instant::now(), tokio::time::Instant::now());
            let wall = std::time::SystemTime::now();
            let true_start = weft::time::true_now_ns();
            tokio::time::sleep(Duration::from_millis(110)).await;
            (
                std_start.elapsed(),
                tokio_start.elapsed(),
                std::time::SystemTime::now().duration_since(wall).unwrap(),
                weft::time::true_now_ns() - true_start,
            )
        });
        on_node.await.unwrap()
    });
    assert!(report.outcome.failure().is_none(), "{:?}", report.outcome);
    let (std_elapsed, tokio_elapsed, wall_elapsed, true_elapsed) = out.unwrap();
    assert_eq!(std_elapsed, Duration::from_millis(110));
    assert_eq!(tokio_elapsed, Duration::from_millis(110));
    assert_eq!(wall_elapsed, Duration::from_millis(110));
    assert_eq!(true_elapsed, 100_000_000, "110 ms on a clock 10% fast");
}

/// `getrandom(3)` inside a simulated task: the same bytes on every run, different bytes on
/// each call, and no weft decision drawn (the decision stream is the same with and without it).
#[test]
fn getrandom_inside_the_simulation_is_deterministic() {
    let draw = |call: bool| {
        let (report, out) = sim(1, Config::default()).run(async move {
            let mut a = [0u8; 16];
            let mut b = [0u8; 16];
            if call {
                unsafe {
                    libc_getrandom(a.as_mut_ptr().cast(), a.len(), 0);
                    libc_getrandom(b.as_mut_ptr().cast(), b.len(), 0);
                }
            }
            tokio::task::yield_now().await;
            (a, b)
        });
        (report.log, out.unwrap())
    };
    let (log, (a, b)) = draw(true);
    assert_ne!(a, [0; 16]);
    assert_ne!(a, b, "each call draws new bytes");
    assert_eq!(
        draw(true),
        (log.clone(), (a, b)),
        "a run draws the same bytes every time"
    );
    assert_eq!(draw(false).0, log, "no decision is drawn");
}

extern "C" {
    #[link_name = "getrandom"]
    fn libc_getrandom(buf: *mut std::ffi::c_void, len: usize, flags: std::ffi::c_uint) -> isize;
}

#[test]
fn udp_datagrams_are_weft_messages() {
    let mut s = sim(8, Config::default());
    s.add_node("echo", || async {
        let socket = tokio::net::UdpSocket::bind("0.0.0.0:5353").await.unwrap();
        let mut buf = [0u8; 64];
        loop {
            let (n, from) = socket.recv_from(&mut buf).await.unwrap();
            socket.send_to(&buf[..n], from).await.unwrap();
        }
    });
    let (report, out) = s.run(async {
        let socket = tokio::net::UdpSocket::bind("0.0.0.0:0").await.unwrap();
        socket.connect("echo:5353").await.unwrap();
        socket.send(b"ping").await.unwrap();
        let mut buf = [0u8; 2];
        let n = socket.recv(&mut buf).await.unwrap(); // truncated, as UDP does
        (
            socket.local_addr().unwrap().to_string(),
            socket.peer_addr().unwrap().to_string(),
            buf[..n].to_vec(),
        )
    });
    assert!(report.outcome.failure().is_none(), "{:?}", report.outcome);
    assert_eq!(
        out,
        Some((
            "10.0.0.0:40000".to_string(),
            "10.0.0.1:5353".to_string(),
            b"pi".to_vec()
        ))
    );
}

/// A reader that does not read for two minutes while the writer sends 1 MiB: the window
/// closes, the writer waits (no timeout: the reader is alive), and every byte arrives.
#[test]
fn a_slow_reader_is_not_a_dead_one() {
    let mut s = sim(9, Config::default());
    s.add_node("server", || async {
        let listener = TcpListener::bind("0.0.0.0:7000").await.unwrap();
        let (mut stream, _) = listener.accept().await.unwrap();
        let data: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
        stream.write_all(&data).await.unwrap();
        stream.shutdown().await.unwrap();
        std::future::pending::<()>().await;
    });
    let (report, out) = s.run(async {
        let mut stream = TcpStream::connect("server:7000").await.unwrap();
        tokio::time::sleep(Duration::from_secs(120)).await;
        let mut all = Vec::new();
        stream.read_to_end(&mut all).await.map(|_| all)
    });
    assert!(report.outcome.failure().is_none(), "{:?}", report.outcome);
    let all = out.unwrap().expect("no error");
    assert_eq!(all.len(), 1 << 20);
    assert!(all.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
}

/// tokio-util's codecs over a simulated stream: length-delimited frames both ways.
#[test]
fn codecs_frame_a_simulated_stream() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_util::codec::{Framed, LengthDelimitedCodec};
    let mut s = sim(10, Config::default());
    s.add_node("server", || async {
        let listener = TcpListener::bind("0.0.0.0:7000").await.unwrap();
        let (stream, _) = listener.accept().await.unwrap();
        let mut frames = Framed::new(stream, LengthDelimitedCodec::new());
        while let Some(Ok(frame)) = frames.next().await {
            let mut reply = frame.to_vec();
            reply.reverse();
            frames
                .send(tokio_util::bytes::Bytes::from(reply))
                .await
                .unwrap();
        }
    });
    let (report, out) = s.run(async {
        let stream = TcpStream::connect("server:7000").await.unwrap();
        let mut frames = Framed::new(stream, LengthDelimitedCodec::new());
        let mut replies = Vec::new();
        for word in ["abc", "weft", ""] {
            frames
                .send(tokio_util::bytes::Bytes::from(word.as_bytes().to_vec()))
                .await
                .unwrap();
            let reply = frames.next().await.unwrap().unwrap();
            replies.push(String::from_utf8(reply.to_vec()).unwrap());
        }
        replies
    });
    assert!(report.outcome.failure().is_none(), "{:?}", report.outcome);
    assert_eq!(
        out,
        Some(vec!["cba".to_string(), "tfew".to_string(), String::new()])
    );
}

/// What is not routed into the simulation is caught by weft's determinism check: std's
/// `HashMap` seeds each map differently (the thread's keys, drawn once, through `getrandom`
/// when that happens inside a simulated task, then incremented per map), so iterating one to
/// time the sends makes two runs of one seed differ, and `determinism::compare` names where.
#[test]
fn a_randomly_seeded_hash_map_is_caught_by_the_determinism_check() {
    let run = |randomized: bool| {
        let cfg = Config {
            detail: weft::Detail::Explain,
            ..Config::default()
        };
        let mut s = sim(11, cfg);
        s.add_node("sink", || async {
            let socket = tokio::net::UdpSocket::bind("0.0.0.0:9").await.unwrap();
            let mut buf = [0u8; 8];
            loop {
                socket.recv_from(&mut buf).await.unwrap();
            }
        });
        s.run(async move {
            let socket = tokio::net::UdpSocket::bind("0.0.0.0:0").await.unwrap();
            let keys: Vec<u32> = if randomized {
                let map: std::collections::HashMap<u32, ()> = (0..32).map(|k| (k, ())).collect();
                map.into_keys().collect()
            } else {
                let map: std::collections::BTreeMap<u32, ()> = (0..32).map(|k| (k, ())).collect();
                map.into_keys().collect()
            };
            for k in keys {
                socket.send_to(&k.to_le_bytes(), "sink:9").await.unwrap();
                tokio::time::sleep(Duration::from_millis(u64::from(k))).await;
            }
        })
        .0
    };
    let compare = weft::internals::determinism::compare;
    assert_eq!(compare(&run(false), &run(false)), None);
    let divergence = compare(&run(true), &run(true)).expect("the hash order differs between runs");
    println!("{divergence}");
    assert!(divergence.to_string().contains("diverge"), "{divergence}");
}

/// A `HashMap` used for lookups only is harmless: the first run on a fresh thread draws std's
/// hash keys through the intercepted `getrandom`, later runs do not, and still every run of
/// the seed is identical (same trace, same decisions).
#[test]
fn a_lookup_only_hash_map_keeps_runs_identical() {
    let fresh_thread = std::thread::spawn(|| {
        let run = || {
            let cfg = Config {
                detail: weft::Detail::Explain,
                ..Config::default()
            };
            let mut s = sim(12, cfg);
            s.add_node("server", echo_server);
            s.run(async {
                let map: std::collections::HashMap<&str, u16> = [("echo", 7000)].into();
                let port = map["echo"];
                let mut stream = TcpStream::connect(("server", port)).await.unwrap();
                stream.write_all(b"x\n").await.unwrap();
                let mut reply = [0u8; 3];
                stream.read_exact(&mut reply).await.unwrap();
            })
            .0
        };
        let first = run();
        let second = run();
        (
            weft::internals::determinism::compare(&first, &second),
            first.log == second.log,
        )
    });
    assert_eq!(fresh_thread.join().unwrap(), (None, true));
}

/// The listener answers SYNs on its own, as a kernel does: while a one-at-a-time server
/// spends a minute on its first client, a second client connects at once and its request
/// waits in the connection. Dropping the listener frees its port at once.
#[test]
fn connect_completes_while_the_server_is_busy_and_a_dropped_listener_frees_its_port() {
    let mut s = sim(13, Config::default());
    s.add_node("server", || async {
        let listener = TcpListener::bind("0.0.0.0:7000").await.unwrap();
        for _ in 0..2 {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut byte = [0u8; 1];
            stream.read_exact(&mut byte).await.unwrap();
            tokio::time::sleep(Duration::from_secs(60)).await; // one client at a time, slowly
            stream.write_all(&byte).await.unwrap();
        }
        drop(listener);
        let again = TcpListener::bind("0.0.0.0:7000").await;
        assert!(again.is_ok(), "{again:?}");
        std::future::pending::<()>().await;
    });
    let (report, out) = s.run(async {
        let mut first = TcpStream::connect("server:7000").await.unwrap();
        first.write_all(b"1").await.unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        let started = tokio::time::Instant::now();
        let mut second = TcpStream::connect("server:7000").await.unwrap();
        let connected_in = started.elapsed();
        second.write_all(b"2").await.unwrap();
        let mut reply = [0u8; 1];
        second.read_exact(&mut reply).await.unwrap();
        (
            connected_in,
            reply[0],
            started.elapsed() > Duration::from_secs(100),
        )
    });
    assert!(report.outcome.failure().is_none(), "{:?}", report.outcome);
    let (connected_in, reply, waited) = out.unwrap();
    assert!(connected_in < Duration::from_millis(10), "{connected_in:?}");
    assert_eq!((reply, waited), (b'2', true));
}
