//! Probes executed inside a pod's network namespace.
//!
//! One long-lived thread per pod joins the sandbox's network namespace once (`setns` costs a few
//! µs; a new thread per probe costs up to 3 ms because thread exit in a foreign netns is slow,
//! reference §3.2) and then connects to `127.0.0.1:<port>` for each request. No veth, no pod IP:
//! the traffic never leaves namespaces we created.
//!
//! [`NetnsProber::submit`] queues a probe and returns at once with a [`PendingProbe`], which
//! later yields the outcome and the instant it completed: the runtime never waits for a probe.
//! One thread per pod runs that pod's probes one after another, so a probe that times out
//! delays the pod's next probe by up to its timeout.
#![allow(clippy::disallowed_methods)] // real probes complete in real time: Instant::now stamps them

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What to probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeTarget {
    /// `GET path` on `127.0.0.1:port`; success is a status in 200..400 (upstream's rule).
    Http {
        /// Port.
        port: u16,
        /// Path, e.g. `/ready`.
        path: String,
    },
    /// A TCP connect to `127.0.0.1:port`.
    Tcp {
        /// Port.
        port: u16,
    },
}

/// The result of one probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// Passed (HTTP status given for HTTP probes).
    Success(Option<u16>),
    /// Failed: a status outside 200..400, a refused connection, a timeout.
    Failure(String),
}

impl ProbeOutcome {
    /// Whether it passed.
    pub fn is_success(&self) -> bool {
        matches!(self, ProbeOutcome::Success(_))
    }
}

type Request = (ProbeTarget, Duration, mpsc::SyncSender<(ProbeOutcome, Instant)>);

/// A probe queued on a prober thread.
#[derive(Debug)]
pub struct PendingProbe {
    rx: Option<mpsc::Receiver<(ProbeOutcome, Instant)>>,
}

impl PendingProbe {
    /// The outcome and when the probe completed, once it has; `None` while it runs. A prober
    /// that went away counts as a failure now.
    pub fn try_take(&mut self) -> Option<(ProbeOutcome, Instant)> {
        let rx = self.rx.as_ref()?;
        match rx.try_recv() {
            Ok(done) => {
                self.rx = None;
                Some(done)
            }
            Err(mpsc::TryRecvError::Empty) => None,
            Err(mpsc::TryRecvError::Disconnected) => {
                self.rx = None;
                Some((ProbeOutcome::Failure("prober stopped".into()), Instant::now()))
            }
        }
    }

    /// Waits for the outcome.
    pub fn wait(mut self) -> ProbeOutcome {
        match self.rx.take().map(|rx| rx.recv()) {
            Some(Ok((outcome, _))) => outcome,
            _ => ProbeOutcome::Failure("prober stopped".into()),
        }
    }
}

/// A prober thread living in one network namespace.
#[derive(Debug)]
pub struct NetnsProber {
    tx: Option<mpsc::Sender<Request>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl NetnsProber {
    /// Starts a thread that joins `netns` (a `/proc/<pid>/ns/net` file) and serves probes.
    pub fn new(netns: File) -> io::Result<NetnsProber> {
        let (tx, rx) = mpsc::channel::<Request>();
        let (ready_tx, ready_rx) = mpsc::sync_channel::<io::Result<()>>(1);
        let thread = std::thread::Builder::new().name("ksim-prober".into()).spawn(move || {
            let joined = crate::sys::setns_net(&netns);
            let ok = joined.is_ok();
            let _ = ready_tx.send(joined);
            if !ok {
                return;
            }
            drop(netns);
            for (target, timeout, reply) in rx {
                let outcome = probe_here(&target, timeout);
                let _ = reply.send((outcome, Instant::now()));
            }
        })?;
        ready_rx.recv().map_err(|_| io::Error::other("prober thread died"))??;
        Ok(NetnsProber { tx: Some(tx), thread: Some(thread) })
    }

    /// Runs one probe (blocks up to about `timeout`).
    pub fn probe(&self, target: ProbeTarget, timeout: Duration) -> ProbeOutcome {
        self.submit(target, timeout).wait()
    }

    /// Queues one probe and returns at once.
    pub fn submit(&self, target: ProbeTarget, timeout: Duration) -> PendingProbe {
        let (reply_tx, reply_rx) = mpsc::sync_channel(1);
        if let Some(tx) = &self.tx {
            // If the thread is gone the request (and its reply sender) is dropped: the pending
            // probe then reads a disconnected channel, a failure.
            let _ = tx.send((target, timeout, reply_tx));
        }
        PendingProbe { rx: Some(reply_rx) }
    }
}

impl Drop for NetnsProber {
    fn drop(&mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Probes from the calling thread's network namespace.
pub fn probe_here(target: &ProbeTarget, timeout: Duration) -> ProbeOutcome {
    match try_probe(target, timeout) {
        Ok(outcome) => outcome,
        Err(e) => ProbeOutcome::Failure(e.to_string()),
    }
}

fn try_probe(target: &ProbeTarget, timeout: Duration) -> io::Result<ProbeOutcome> {
    let port = match target {
        ProbeTarget::Http { port, .. } | ProbeTarget::Tcp { port } => *port,
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    let ProbeTarget::Http { path, .. } = target else { return Ok(ProbeOutcome::Success(None)) };
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    // One write for the whole request (reference pitfall 10).
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: kube-probe/1.33\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes())?;
    let mut response = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        response.extend_from_slice(&buf[..n]);
        if response.len() > 10 * 1024 {
            break; // upstream reads at most 10 KiB of body
        }
    }
    let text = String::from_utf8_lossy(&response);
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no HTTP status line"))?;
    Ok(if (200..400).contains(&status) {
        ProbeOutcome::Success(Some(status))
    } else {
        ProbeOutcome::Failure(format!("HTTP probe failed with statuscode: {status}"))
    })
}
